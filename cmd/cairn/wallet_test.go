package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/internal/version"
)

var seedRE = regexp.MustCompile(`^[0-9a-f]{64}\n$`)

// showJSON returns `wallet show NAME --json`.
func (c *runner) showJSON(name string) walletInfo {
	c.t.Helper()
	var w walletInfo
	out := c.ok("--json", "wallet", "show", name)
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		c.t.Fatalf("wallet show --json: %v\n%s", err, out)
	}
	return w
}

func TestWalletNewListShow(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	out := c.ok("wallet", "new", "alice")
	w := c.showJSON("alice")
	if _, err := types.ParseAddress(w.Address); err != nil {
		t.Fatalf("wallet show: address %q: %v", w.Address, err)
	}
	for _, want := range []string{"alice", w.Address} {
		if !strings.Contains(out, want) {
			t.Errorf("wallet new output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(c.home, "wallet", "alice.json")); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", fi.Mode().Perm())
	}

	list := c.ok("wallet", "list")
	if !regexp.MustCompile(`(?m)^alice\s+` + w.Address + `$`).MatchString(list) {
		t.Errorf("wallet list does not show alice and its address:\n%s", list)
	}
	show := c.ok("wallet", "show", "alice")
	if !regexp.MustCompile(`(?m)^address:\s+` + w.Address + `$`).MatchString(show) {
		t.Errorf("wallet show:\n%s", show)
	}

	var ws []walletInfo
	if err := json.Unmarshal([]byte(c.ok("wallet", "list", "--json")), &ws); err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Name != "alice" || ws[0].Address != w.Address {
		t.Errorf("wallet list --json = %+v", ws)
	}
}

func TestWalletListEmpty(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	if out := c.ok("--json", "wallet", "list"); strings.TrimSpace(out) != "[]" {
		t.Errorf("wallet list --json with no wallets = %q, want []", out)
	}
	if out := c.ok("wallet", "list"); !strings.Contains(out, "no wallets") {
		t.Errorf("wallet list with no wallets = %q", out)
	}
}

func TestWalletExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	addr := c.showJSON("alice").Address

	r := c.run("wallet", "export", "alice")
	if r.code != 0 || !seedRE.MatchString(r.stdout) {
		t.Fatalf("wallet export: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning") {
		t.Errorf("wallet export gives no warning on stderr: %q", r.stderr)
	}
	seed := r.stdout

	// From standard input, under another passphrase.
	r = c.runWith(seed, []string{"CAIRN_PASSWORD=another one"}, "wallet", "import", "bob")
	if r.code != 0 {
		t.Fatalf("wallet import from stdin: exit %d: %s", r.code, r.stderr)
	}
	if got := c.showJSON("bob").Address; got != addr {
		t.Errorf("imported from stdin: address %s, want %s", got, addr)
	}
	// The new passphrase opens it, and the export is the same seed.
	r = c.runWith("", []string{"CAIRN_PASSWORD=another one"}, "wallet", "export", "bob")
	if r.code != 0 || r.stdout != seed {
		t.Errorf("export of the import: exit %d, %q, want %q (%s)", r.code, r.stdout, seed, r.stderr)
	}

	// From --seed-file, and with --password-file.
	seedFile := filepath.Join(t.TempDir(), "seed")
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(seedFile, []byte(strings.ToUpper(strings.TrimSpace(seed))+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passFile, []byte("from a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("--password-file", passFile, "wallet", "import", "--seed-file", seedFile, "carol")
	if got := c.showJSON("carol").Address; got != addr {
		t.Errorf("imported from --seed-file: address %s, want %s", got, addr)
	}
	var ex walletInfo
	if err := json.Unmarshal([]byte(c.ok("--password-file", passFile, "--json", "wallet", "export", "carol")), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Seed+"\n" != seed || ex.Address != addr {
		t.Errorf("export --json = %+v", ex)
	}
}

// TestErrorsAreOneLine checks that each bad argument gives exactly one
// clear line on stderr and a non-zero exit, before any node is needed.
func TestErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	c.ok("wallet", "new", "bob")
	alice := c.showJSON("alice").Address
	// A mistyped address: one character changed, so the checksum fails.
	mistyped := []byte(alice)
	i := len(mistyped) - 3
	if mistyped[i] == 'q' {
		mistyped[i] = 'p'
	} else {
		mistyped[i] = 'q'
	}
	down := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	unreachable := fmt.Sprintf("cairn: cannot reach cairnd at %s (is it running?)", down)
	send := []string{"send", "--from", "alice", "--to", "bob"}

	cases := []struct {
		name  string
		env   []string
		args  []string
		code  int // 0: any non-zero
		want  string
		stdin string
	}{
		{name: "mistyped address", args: append(send[:3:3], "--to", string(mistyped), "--amount", "1"),
			want: fmt.Sprintf("cairn: --to %q: invalid address: checksum mismatch (mistyped?)", mistyped)},
		{name: "short address", args: append(send[:3:3], "--to", "cairn1xyz", "--amount", "1"),
			want: `cairn: --to "cairn1xyz": invalid address: …`},
		{name: "neither address nor wallet", args: append(send[:3:3], "--to", "zed", "--amount", "1"),
			want: `cairn: --to "zed": not an address, and no wallet named "zed" (see cairn wallet list)`},
		{name: "too many places", args: append(send, "--amount", "1.123456789"),
			want: `cairn: --amount "1.123456789": more than 8 decimal places`},
		{name: "negative", args: append(send, "--amount", "-1"),
			want: `cairn: --amount "-1": negative amounts are not allowed`},
		{name: "exponent", args: append(send, "--amount", "1e5"),
			want: `cairn: --amount "1e5": exponent notation is not allowed`},
		{name: "overflow", args: append(send, "--amount", "184467440738"),
			want: `cairn: --amount "184467440738": amount exceeds 2^64-1 base units (184467440737.09551615 CRN)`},
		{name: "grouping", args: append(send, "--amount", "1,5"),
			want: `cairn: --amount "1,5": not a decimal amount (want digits or digits.digits)`},
		{name: "unit suffix", args: append(send, "--amount", "1.5CRN"),
			want: `cairn: --amount "1.5CRN": not a decimal amount (want digits or digits.digits)`},
		{name: "empty amount", args: append(send, "--amount", ""),
			want: `cairn: --amount "": not a decimal amount (want digits or digits.digits): empty`},
		{name: "bad fee", args: append(send, "--amount", "1", "--fee", "0.1.2"),
			want: `cairn: --fee "0.1.2": not a decimal amount (want digits or digits.digits)`},
		{name: "zero amount", args: append([]string{"--rpc", down}, append(send, "--amount", "0")...),
			want: `cairn: --amount "0": below the minimum transfer of 0.00000001 CRN`},
		{name: "missing amount", args: send, code: exitUsage, want: "cairn: missing --amount (usage: " + sendUsage + ")"},
		{name: "unknown sender", args: []string{"send", "--from", "zed", "--to", "bob", "--amount", "1"},
			want: `cairn: no wallet named "zed" (see cairn wallet list)`},
		{name: "unknown wallet", args: []string{"wallet", "show", "zed"},
			want: `cairn: no wallet named "zed" (see cairn wallet list)`},
		{name: "unknown wallet export", args: []string{"wallet", "export", "zed"},
			want: `cairn: no wallet named "zed" (see cairn wallet list)`},
		{name: "bad wallet name", args: []string{"wallet", "new", "a/b"},
			want: `cairn: invalid wallet name "a/b": only letters, digits, '_' and '-' are allowed`},
		{name: "existing wallet", args: []string{"wallet", "new", "alice"},
			want: `cairn: a wallet named "alice" already exists`},
		{name: "wrong passphrase", env: []string{"CAIRN_PASSWORD=wrong"}, args: []string{"wallet", "export", "alice"},
			want: `cairn: wallet "alice": wrong passphrase`},
		{name: "no passphrase and no terminal", env: []string{"CAIRN_PASSWORD="}, args: []string{"wallet", "new", "carol"},
			want: "cairn: standard input is not a terminal: use --password-file or CAIRN_PASSWORD"},
		{name: "bad seed", stdin: "xyz\n", args: []string{"wallet", "import", "carol"},
			want: `cairn: seed: …`},
		{name: "node down: status", args: []string{"--rpc", down, "status"}, want: unreachable},
		{name: "node down: balance", args: []string{"--rpc", down, "balance", "alice"}, want: unreachable},
		{name: "node down: send", args: append([]string{"--rpc", down}, append(send, "--amount", "1.5")...), want: unreachable},
		{name: "node down: block", args: []string{"--rpc", down, "block", "1"}, want: unreachable},
		{name: "node down: miner status", args: []string{"--rpc", down, "miner", "status"}, want: unreachable},
		{name: "no cookie", args: []string{"--rpc", down, "--datadir", c.home, "miner", "stop"},
			want: fmt.Sprintf("cairn: cannot read the RPC cookie %s: no such file or directory (admin calls need --datadir set to cairnd's data directory)", filepath.Join(c.home, "rpc.cookie"))},
		{name: "bad rpc url", args: []string{"--rpc", "ftp://x", "status"}, code: exitUsage,
			want: `cairn: --rpc "ftp://x": want a URL like http://127.0.0.1:7731`},
		{name: "too many miner threads", args: []string{"--rpc", down, "miner", "start", "--threads", "257"}, code: exitUsage,
			want: `cairn: --threads 257: want 1 to 256`},
		{name: "bad block ref", args: []string{"--rpc", down, "block", "tip"}, code: exitUsage,
			want: `cairn: "tip" is neither a block height (0, 1, 2, …) nor a block hash (64 hex digits)`},
		{name: "bad tx id", args: []string{"--rpc", down, "tx", "abc"}, code: exitUsage,
			want: `cairn: "abc" is not a transaction id: …`},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage,
			want: `cairn: unknown command "frobnicate" (see cairn --help)`},
		{name: "unknown subcommand", args: []string{"wallet", "frobnicate"}, code: exitUsage,
			want: `cairn: unknown command "frobnicate" (see cairn wallet --help)`},
		{name: "unknown flag", args: []string{"status", "--frobnicate"}, code: exitUsage,
			want: `cairn: flag provided but not defined: -frobnicate (see cairn status --help)`},
		{name: "missing argument", args: []string{"balance"}, code: exitUsage,
			want: `cairn: missing ADDR|NAME (usage: cairn balance ADDR|NAME)`},
		{name: "extra argument", args: []string{"wallet", "show", "alice", "bob"}, code: exitUsage,
			want: `cairn: unexpected argument "bob" after NAME (usage: cairn wallet show NAME)`},
		{name: "bad duration", args: append(send, "--amount", "1", "--timeout", "soon"), code: exitUsage,
			want: `cairn: invalid value "soon" for flag -timeout: …`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			r := c.runWith(tc.stdin, tc.env, tc.args...)
			c.fails(r, tc.want, tc.args...)
			if tc.code != 0 && r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	// cairn and cairnd report the same version (internal/version), and
	// --version works as the command does.
	if out := c.ok("version"); !strings.HasPrefix(out, "cairn "+version.String()+" ") {
		t.Errorf("version = %q, want cairn %s", out, version.String())
	}
	if out := c.ok("--version"); !strings.Contains(out, version.String()) {
		t.Errorf("--version = %q, want %s", out, version.String())
	}
	help := c.ok("--help")
	for _, cmd := range []string{"wallet", "balance", "send", "status", "block", "tx", "peers", "mempool", "miner", "version", "--rpc", "--home", "--datadir", "--json", "--password-file"} {
		if !strings.Contains(help, cmd) {
			t.Errorf("--help does not mention %s", cmd)
		}
	}
	if out := c.ok("wallet"); !strings.Contains(out, "export") {
		t.Errorf("cairn wallet shows no help:\n%s", out)
	}
}

// TestRunInProcess drives newApp through run without the binary: the
// exit status and the one-line error are run's doing.
func TestRunInProcess(t *testing.T) {
	t.Parallel()
	var out, errb strings.Builder
	ctx := t.Context()
	if code := run(ctx, []string{"cairn", "--json", "version"}, &out, &errb, strings.NewReader("")); code != 0 {
		t.Fatalf("version: exit %d: %s", code, errb.String())
	}
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.Version == "" || v.Go == "" {
		t.Errorf("version --json = %q (%v)", out.String(), err)
	}
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"cairn", "--home", t.TempDir(), "balance"}, &out, &errb, strings.NewReader("")); code != exitUsage {
		t.Errorf("balance without an argument: exit %d, want %d", code, exitUsage)
	}
	if got, want := errb.String(), "cairn: missing ADDR|NAME (usage: cairn balance ADDR|NAME)\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}
