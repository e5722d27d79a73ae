package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// writeGenesis writes p's genesis.json into dir and returns its path.
func writeGenesis(t *testing.T, p *consensus.Params, dir string) string {
	t.Helper()
	g, err := p.MarshalGenesis()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, "genesis-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(g); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// otherNetwork returns the parameters of p renamed cairn-other: another
// network, with another genesis hash.
func otherNetwork(t *testing.T, p *consensus.Params) *consensus.Params {
	t.Helper()
	g, err := p.MarshalGenesis()
	if err != nil {
		t.Fatal(err)
	}
	q, err := consensus.ParseGenesis([]byte(strings.Replace(string(g), `"`+p.Network+`"`, `"cairn-other"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if q.GenesisHash() == p.GenesisHash() {
		t.Fatal("the renamed network has the same genesis hash")
	}
	return q
}

// builtinGenesisFile is node/genesis.json, the built-in network.
func builtinGenesisFile(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "..", "node", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBuiltinNetwork: the built-in network's hash that cairn knows
// without linking the node is the one of node/genesis.json, which
// node.DefaultParams embeds.
func TestBuiltinNetwork(t *testing.T) {
	b, err := os.ReadFile(builtinGenesisFile(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := consensus.ParseGenesis(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Network != builtinNetwork.name || p.GenesisHash().String() != builtinNetwork.genesis {
		t.Errorf("node/genesis.json is %s with genesis %s; cmd/cairn's builtinNetwork says %s, %s",
			p.Network, p.GenesisHash(), builtinNetwork.name, builtinNetwork.genesis)
	}
}

// decodeJSON runs tx decode --json.
func (c *runner) decodeJSON(args ...string) decodedTx {
	c.t.Helper()
	return jsonOut[decodedTx](c.t, c.ok(append([]string{"--json", "tx", "decode"}, args...)...))
}

// TestTxSignOffline: tx sign needs no node (the RPC address is dead), and
// tx decode tells which network a signature is for.
func TestTxSignOffline(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	c.ok("wallet", "new", "bob")
	alice, bob := c.showJSON("alice").Address, c.showJSON("bob").Address
	down := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	c.env = append(c.env, "CAIRN_RPC="+down)
	p := testParams(t, nil)
	dir := t.TempDir()
	genesis, other := writeGenesis(t, p, dir), writeGenesis(t, otherNetwork(t, p), dir)
	builtin := builtinGenesisFile(t)

	sign := []string{"tx", "sign", "--from", "alice", "--to", "bob", "--amount", "2.5", "--fee", "0.0002", "--nonce", "7", "--memo", "rent"}
	out := c.ok(append(sign, "--genesis", genesis)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("tx sign printed %d lines, want the raw hex and the id:\n%s", len(lines), out)
	}
	raw, id := lines[0], lines[1]
	b, err := hex.DecodeString(raw)
	if err != nil {
		t.Fatalf("tx sign: first line is not hex: %v", err)
	}
	tx, err := types.DecodeTx(b)
	if err != nil {
		t.Fatalf("tx sign: %v", err)
	}
	if tx.ID().String() != id {
		t.Errorf("tx sign: id %s, but the raw tx's is %s", id, tx.ID())
	}
	if tx.Sender().String() != alice || tx.To.String() != bob || tx.Amount != 250_000_000 || tx.Fee != 20_000 || tx.Nonce != 7 || string(tx.Memo) != "rent" {
		t.Errorf("tx sign made %+v", tx)
	}
	if !consensus.VerifySignature(tx.From, tx.SigningDigest(p.GenesisHash()), tx.Sig) {
		t.Error("tx sign: the signature does not verify for --genesis's network")
	}
	js := jsonOut[signedTxJSON](t, c.ok(append(sign, "--genesis", genesis, "--json")...))
	if js.Raw != raw || js.ID != id { // ed25519 signatures are deterministic
		t.Errorf("tx sign --json = %+v, want raw %s…, id %s", js, raw[:16], id)
	}

	t.Run("decode", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("tx", "decode", raw, "--genesis", genesis)
		for k, want := range map[string]string{
			"id": id, "from": alice, "to": bob, "amount": "2.50000000 CRN", "fee": "0.00020000 CRN",
			"nonce": "7", "memo": `"rent"`, "sender key": hex.EncodeToString(tx.From[:]), "size": "146 bytes", "verifies": "yes",
		} {
			if got := field(t, out, k); got != want {
				t.Errorf("tx decode %s: %q, want %q", k, got, want)
			}
		}
		if got := field(t, out, "network"); !strings.HasPrefix(got, "cairn-clitest (genesis "+p.GenesisHash().String()) {
			t.Errorf("tx decode network: %q", got)
		}
		d := c.decodeJSON(raw, "--genesis", genesis)
		if d.Tx.ID != id || d.Tx.Raw != raw || d.Signature.Status != "valid" || d.Signature.Genesis != p.GenesisHash().String() || len(d.Warnings) != 0 {
			t.Errorf("tx decode --json = %+v", d)
		}

		// Another network: nothing tells a tx signed for it from a bad
		// signature, and decode says both.
		out = c.ok("tx", "decode", raw, "--genesis", other)
		if got := field(t, out, "verifies"); got != "NO: it was signed for another network, or its signature is invalid" {
			t.Errorf("tx decode for another network: verifies %q", got)
		}
		if d := c.decodeJSON(raw, "--genesis", other); d.Signature.Status != "bad-signature" || d.Signature.Network != "cairn-other" {
			t.Errorf("tx decode --json for another network: %+v", d.Signature)
		}

		// Signed for the built-in network, the one other network every
		// node knows: decode names it, as the pool does (wrong-network).
		devRaw := strings.Split(c.ok(append(sign, "--genesis", builtin)...), "\n")[0]
		out = c.ok("tx", "decode", devRaw, "--genesis", genesis)
		if got, want := field(t, out, "verifies"), "NO: it was signed for another network, cairn-dev (genesis "+builtinNetwork.genesis+")"; got != want {
			t.Errorf("tx decode of a cairn-dev tx: verifies %q, want %q", got, want)
		}
		if d := c.decodeJSON(devRaw, "--genesis", genesis); d.Signature.Status != "wrong-network" || d.Signature.SignedFor != "cairn-dev" {
			t.Errorf("tx decode --json of a cairn-dev tx: %+v", d.Signature)
		}
		if d := c.decodeJSON(devRaw, "--genesis", builtin); d.Signature.Status != "valid" {
			t.Errorf("tx decode --json of a cairn-dev tx for cairn-dev: %+v", d.Signature)
		}

		// No genesis, and no node to ask.
		out = c.ok("tx", "decode", raw)
		if got, want := field(t, out, "verifies"), fmt.Sprintf("not checked: no --genesis given, and cannot reach cairnd at %s (is it running?)", down); got != want {
			t.Errorf("tx decode without a genesis or a node: verifies %q, want %q", got, want)
		}
		if d := c.decodeJSON(raw); d.Signature.Status != "unchecked" {
			t.Errorf("tx decode --json without a genesis or a node: %+v", d.Signature)
		}
	})

	t.Run("warnings", func(t *testing.T) {
		c := *c
		c.t = t
		// A tx no pool admits, made by hand: a zero fee and amount.
		tx := *tx
		tx.Fee, tx.Amount = 0, 0
		d := c.decodeJSON(hex.EncodeToString(tx.Encode()), "--genesis", genesis)
		if d.Signature.Status != "bad-signature" || len(d.Warnings) != 2 ||
			!strings.HasPrefix(d.Warnings[0], "fee-too-low: ") || !strings.HasPrefix(d.Warnings[1], "amount-too-low: ") {
			t.Errorf("tx decode of a changed tx: %+v, %q", d.Signature, d.Warnings)
		}
	})
}

// TestTxErrors: each bad argument of the tx subcommands (and send
// --nonce) is one clear line, refused before the node is asked, and the
// commands that need a node say plainly that there is none.
func TestTxErrors(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	c.ok("wallet", "new", "bob")
	down := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	unreachable := fmt.Sprintf("cairn: cannot reach cairnd at %s (is it running?)", down)
	c.env = append(c.env, "CAIRN_RPC="+down)
	p := testParams(t, nil)
	genesis := writeGenesis(t, p, t.TempDir())
	notGenesis := filepath.Join(t.TempDir(), "notes.json")
	if err := os.WriteFile(notGenesis, []byte(`{"network": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sign := []string{"tx", "sign", "--from", "alice", "--to", "bob", "--amount", "1", "--fee", "0.0001"}
	signed := slices.Clip(append(sign, "--nonce", "0", "--genesis", genesis))
	raw := strings.Split(c.ok(signed...), "\n")[0]
	id := strings.Repeat("ab", 32)

	cases := []struct {
		name string
		env  []string
		args []string
		code int // 0: any non-zero
		want string
	}{
		{name: "sign: missing fee", args: sign[:8:8], code: exitUsage, want: "cairn: missing --fee (usage: " + signUsage + ")"},
		{name: "sign: missing nonce", args: sign, code: exitUsage, want: "cairn: missing --nonce (usage: " + signUsage + ")"},
		{name: "sign: missing genesis", args: append(sign, "--nonce", "0"), code: exitUsage, want: "cairn: missing --genesis (usage: " + signUsage + ")"},
		{name: "sign: negative nonce", args: append(sign, "--genesis", genesis, "--nonce", "-1"), code: exitUsage,
			want: "cairn: --nonce -1: a nonce is 0 or more"},
		{name: "sign: nonce not a number", args: append(sign, "--genesis", genesis, "--nonce", "next"), code: exitUsage,
			want: `cairn: --nonce "next": want a whole number, the count of the sender's earlier transactions`},
		{name: "sign: nonce too large", args: append(sign, "--genesis", genesis, "--nonce", "18446744073709551616"), code: exitUsage,
			want: "cairn: --nonce 18446744073709551616: too large (at most 18446744073709551615)"},
		{name: "sign: fee below the relay minimum", args: append(sign[:8:8], "--fee", "0.000009", "--genesis", genesis, "--nonce", "0"),
			want: `cairn: --fee "0.000009": below the minimum relay fee of 0.00001000 CRN, which every node's pool asks`},
		{name: "sign: zero amount", args: []string{"tx", "sign", "--from", "alice", "--to", "bob", "--amount", "0", "--fee", "0.0001", "--nonce", "0", "--genesis", genesis},
			want: `cairn: --amount "0": below the minimum transfer of 0.00000001 CRN`},
		{name: "sign: memo too long", args: append(signed, "--memo", strings.Repeat("m", 65)),
			want: "cairn: --memo: 65 bytes, at most 64 allowed"},
		{name: "sign: unknown wallet", args: append([]string{"tx", "sign", "--from", "zed"}, signed[4:]...),
			want: `cairn: no wallet named "zed" (see cairn wallet list)`},
		{name: "sign: no genesis file", args: append(sign, "--nonce", "0", "--genesis", filepath.Join(c.home, "none.json")),
			want: fmt.Sprintf("cairn: --genesis %s: no such file or directory", filepath.Join(c.home, "none.json"))},
		{name: "sign: not a genesis", args: append(sign, "--nonce", "0", "--genesis", notGenesis),
			want: fmt.Sprintf("cairn: --genesis %s: genesis: …", notGenesis)},
		{name: "sign: wrong passphrase", env: []string{"CAIRN_PASSWORD=wrong"}, args: signed,
			want: `cairn: wallet "alice": wrong passphrase`},
		{name: "decode: no argument", args: []string{"tx", "decode"}, code: exitUsage,
			want: "cairn: missing HEX (usage: " + decodeUsage + ")"},
		{name: "decode: not hex", args: []string{"tx", "decode", "0xzz"}, code: exitUsage,
			want: "cairn: raw transaction: not hex: 'z' at character 1"},
		{name: "decode: short", args: []string{"tx", "decode", raw[:100]}, code: exitUsage,
			want: "cairn: raw transaction: 50 bytes, cut short in the recipient (to): a transaction is 142 to 206 bytes"},
		{name: "decode: a tx id", args: []string{"tx", "decode", id}, code: exitUsage,
			want: "cairn: raw transaction: 32 bytes, the size of a transaction id, not of a transaction (142 to 206 bytes); cairn tx ID shows a transaction by id"},
		{name: "decode: bad genesis", args: []string{"tx", "decode", raw, "--genesis", notGenesis},
			want: fmt.Sprintf("cairn: --genesis %s: genesis: …", notGenesis)},
		{name: "broadcast: trailing bytes", args: []string{"tx", "broadcast", raw + "00"}, code: exitUsage,
			want: "cairn: raw transaction: 143 bytes, 1 more than the transaction: with its 0-byte memo it is 142 bytes"},
		{name: "broadcast: node down", args: []string{"tx", "broadcast", raw}, want: unreachable},
		{name: "bump: no id", args: []string{"tx", "bump"}, code: exitUsage, want: "cairn: missing ID (usage: cairn tx bump ID [--fee CRN])"},
		{name: "bump: bad id", args: []string{"tx", "bump", "abc"}, code: exitUsage,
			want: `cairn: "abc" is not a transaction id: …`},
		{name: "bump: bad fee", args: []string{"tx", "bump", id, "--fee", "1.5CRN"},
			want: `cairn: --fee "1.5CRN": not a decimal amount (want digits or digits.digits)`},
		{name: "bump: node down", args: []string{"tx", "bump", id}, want: unreachable},
		{name: "cancel: extra argument", args: []string{"tx", "cancel", id, id}, code: exitUsage,
			want: fmt.Sprintf(`cairn: unexpected argument %q after ID (usage: cairn tx cancel ID [--fee CRN])`, id)},
		{name: "cancel: node down", args: []string{"tx", "cancel", id, "--fee", "1"}, want: unreachable},
		{name: "send: bad nonce", args: []string{"send", "--from", "alice", "--to", "bob", "--amount", "1", "--nonce", "1.5"}, code: exitUsage,
			want: `cairn: --nonce "1.5": want a whole number, the count of the sender's earlier transactions`},
		{name: "send --nonce: node down", args: []string{"send", "--from", "alice", "--to", "bob", "--amount", "1", "--nonce", "3"}, want: unreachable},
		{name: "tx: neither id nor command", args: []string{"tx", "sing"}, code: exitUsage,
			want: `cairn: "sing" is neither a transaction id (64 hex digits) nor a command (see cairn tx --help)`},
		{name: "tx: node down", args: []string{"tx", id, "--json"}, want: unreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			r := c.runWith("", tc.env, tc.args...)
			c.fails(r, tc.want, tc.args...)
			if tc.code != 0 && r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}

	// cairn tx alone shows its subcommands.
	out := c.ok("tx")
	for _, sub := range []string{"sign", "decode", "broadcast", "bump", "cancel"} {
		if !strings.Contains(out, sub) {
			t.Errorf("cairn tx does not list %s:\n%s", sub, out)
		}
	}
}

// FuzzParseNonce: parseNonce never panics, accepts exactly the decimal
// form of a uint64 (leading zeros aside), and refuses anything else as a
// usage mistake, on one line.
func FuzzParseNonce(f *testing.F) {
	for _, s := range []string{"0", "7", "007", "-1", "18446744073709551615", "18446744073709551616", "1.5", "", "0x10", "+3", " 4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseNonce("--nonce", s)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) || strings.ContainsAny(err.Error(), "\r\n") || !strings.HasPrefix(err.Error(), "--nonce ") {
				t.Fatalf("parseNonce(%q): %q, want one usage line naming --nonce", s, err)
			}
			return
		}
		if strings.TrimLeft(s, "0") != strings.TrimLeft(strconv.FormatUint(n, 10), "0") || strings.Trim(s, "0123456789") != "" {
			t.Fatalf("parseNonce(%q) = %d", s, n)
		}
	})
}
