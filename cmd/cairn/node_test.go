package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// aliceFunds is alice's genesis allocation in the node-backed tests.
const aliceFunds = 1000 * wallet.BaseUnitsPerCRN

// testNode is a cairnd process started for a test.
type testNode struct {
	rpcURL  string
	datadir string
	genesis string // the genesis.json file of its network
	params  *consensus.Params
	miner   types.Address // the address the node mines to
}

// testParams are easy parameters: half of all hashes meet the genesis
// target, 1 s spacing, and a short ASERT half-life so that the difficulty
// catches up with one mining thread within a few seconds.
func testParams(t *testing.T, alloc []consensus.Alloc) *consensus.Params {
	t.Helper()
	p := &consensus.Params{
		Network:         "cairn-clitest",
		GenesisTime:     time.Now().UnixMilli() - 1000,
		GenesisBits:     0x207fffff,
		PowLimit:        consensus.CompactToBig(0x207fffff),
		TargetSpacing:   1000,
		HalfLife:        2000,
		InitialSubsidy:  50 * wallet.BaseUnitsPerCRN,
		HalvingInterval: 10_000,
		MaxBlockSize:    1 << 20,
		MaxFutureDrift:  15_000,
		Alloc:           alloc,
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// startNode starts cairnd with a fresh genesis that gives aliceFunds to
// alloc, mining to a fresh address, and waits until its RPC answers. The
// node is stopped (SIGINT, then SIGKILL after a deadline) at cleanup.
func startNode(t *testing.T, c *runner, alloc types.Address) *testNode {
	t.Helper()
	return launchNode(t, c, testParams(t, []consensus.Alloc{{Address: alloc, Amount: aliceFunds}}), nodeOptions{mine: true})
}

// nodeOptions are how launchNode runs cairnd besides its network.
type nodeOptions struct {
	// mine starts the miner at once; without it, the node has a miner
	// address, and `cairn miner start` starts it.
	mine bool
	// bootnodes are the multiaddrs of nodes to connect to.
	bootnodes []string
}

// launchNode starts cairnd on the network p, as startNode does.
func launchNode(t *testing.T, c *runner, p *consensus.Params, o nodeOptions) *testNode {
	t.Helper()
	if cairndSkip != "" {
		t.Skip(cairndSkip)
	}
	if cairndErr != "" {
		t.Fatal(cairndErr)
	}
	mk, err := wallet.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.MarshalGenesis()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	genesis := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(genesis, g, 0o644); err != nil {
		t.Fatal(err)
	}
	n := &testNode{datadir: filepath.Join(dir, "node"), genesis: genesis, params: p, miner: mk.Address()}
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	n.rpcURL = "http://" + addr
	logPath := filepath.Join(dir, "cairnd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := []string{
		"--datadir", n.datadir,
		"--genesis", genesis,
		"--rpc.addr", addr,
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0",
		"--p2p.nodht",
		"--miner.address", n.miner.String(), "--miner.threads", "1",
		"--log.level", "info",
	}
	if o.mine {
		args = append(args, "--mine")
	}
	for _, b := range o.bootnodes {
		args = append(args, "--bootnodes", b)
	}
	cmd := exec.Command(cairndBin, args...)
	cmd.Env = c.environ(nil)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	dumpLog := func() {
		if b, err := os.ReadFile(logPath); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("cairnd log (last %d lines):\n%s", min(len(lines), 40), strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLog()
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("cairnd did not stop within 10 s of SIGINT; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Wait for the RPC server, bounded.
	cl := rpc.NewClient(n.rpcURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		info, err := cl.NodeInfo(ctx)
		cancel()
		if err == nil {
			if info.Genesis != p.GenesisHash().String() {
				t.Fatalf("node_info genesis %s, want %s", info.Genesis, p.GenesisHash())
			}
			break
		}
		select {
		case err := <-exited:
			dumpLog()
			t.Fatalf("cairnd exited before its RPC answered: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cairnd's RPC did not answer within 30 s: %v", err)
		}
	}
	return n
}

// waitHeight polls the node until its tip is at least h.
func (n *testNode) waitHeight(t *testing.T, h uint64) {
	t.Helper()
	cl := rpc.NewClient(n.rpcURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := cl.Head(context.Background())
		if err == nil && head.Height >= h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tip did not reach height %d within 30 s (last: %+v, %v)", h, head, err)
		}
		time.Sleep(100 * time.Millisecond) // polling under the deadline above
	}
}

// field returns the value of the "key:" line of human output.
func field(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s+(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", key, out)
	}
	return strings.TrimSpace(m[1])
}

func jsonOut[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	return v
}

// aliceAndBob makes the wallets alice and bob, starts a node that funds
// alice (startNode), points c's commands at its RPC and waits for its
// first block; it returns their addresses and the node.
func aliceAndBob(t *testing.T, c *runner) (alice, bob string, n *testNode) {
	t.Helper()
	c.ok("wallet", "new", "alice")
	c.ok("wallet", "new", "bob")
	alice, bob = c.showJSON("alice").Address, c.showJSON("bob").Address
	aliceAddr, _ := types.ParseAddress(alice)
	n = startNode(t, c, aliceAddr)
	c.env = append(c.env, "CAIRN_RPC="+n.rpcURL)
	n.waitHeight(t, 1)
	return alice, bob, n
}

// TestNode runs the node-backed commands against one cairnd: send --wait
// moves the balances, and status, block, tx, peers, mempool and miner show
// what the node knows.
func TestNode(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	alice, bob, n := aliceAndBob(t, c)
	c.env = append(c.env, "CAIRN_DATADIR="+n.datadir)

	t.Run("status", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("status")
		if got := field(t, out, "genesis"); got != n.params.GenesisHash().String() {
			t.Errorf("status genesis %s, want %s", got, n.params.GenesisHash())
		}
		if h, err := strconv.ParseUint(field(t, out, "height"), 10, 64); err != nil || h < 1 {
			t.Errorf("status height %q", field(t, out, "height"))
		}
		for _, k := range []string{"network", "tip", "peers", "sync", "mining"} {
			field(t, out, k)
		}
		// The test's node has no peer: it must not say it is synced.
		if p, s := field(t, out, "peers"), field(t, out, "sync"); p == "0" && s != "no peers" {
			t.Errorf("a node without peers: sync %q, want \"no peers\"", s)
		}
		st := jsonOut[struct {
			Node rpc.NodeInfo `json:"node"`
			Head rpc.Head     `json:"head"`
		}](t, c.ok("--json", "status"))
		if st.Node.Genesis != n.params.GenesisHash().String() || !st.Node.Mining || st.Head.Hash == "" {
			t.Errorf("status --json = %+v", st)
		}
	})

	t.Run("balance", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("balance", "alice")
		if got := field(t, out, "balance"); got != "1000.00000000 CRN" {
			t.Errorf("alice's balance %q, want 1000.00000000 CRN", got)
		}
		if got := field(t, out, "address"); got != alice {
			t.Errorf("balance address %s, want %s", got, alice)
		}
		if got := field(t, c.ok("balance", bob), "balance"); got != "0.00000000 CRN" {
			t.Errorf("bob's balance %q", got)
		}
	})

	var txID string
	var txHeight uint64
	t.Run("send --wait", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("send", "--from", "alice", "--to", "bob", "--amount", "1.5", "--memo", "lunch", "--wait", "--timeout", "40s")
		txID = field(t, out, "id")
		if got := field(t, out, "status"); got != "confirmed" {
			t.Fatalf("send --wait status %q, want confirmed:\n%s", got, out)
		}
		h, err := strconv.ParseUint(field(t, out, "height"), 10, 64)
		if err != nil || h < 1 {
			t.Errorf("send --wait height %q", field(t, out, "height"))
		}
		txHeight = h
		if conf, err := strconv.ParseUint(field(t, out, "confirmations"), 10, 64); err != nil || conf < 1 {
			t.Errorf("send --wait confirmations %q", field(t, out, "confirmations"))
		}

		if got := field(t, c.ok("balance", "bob"), "balance"); got != "1.50000000 CRN" {
			t.Errorf("bob's balance after the send %q, want 1.50000000 CRN", got)
		}
		acct := jsonOut[rpc.Account](t, c.ok("--json", "balance", "alice"))
		want := strconv.FormatUint(aliceFunds-150_000_000-10_000, 10)
		if acct.Balance != want || acct.Nonce != 1 || acct.PendingNonce != 1 {
			t.Errorf("alice after the send: %+v, want balance %s, nonce 1", acct, want)
		}
	})
	if txID == "" {
		t.Fatal("no confirmed tx to look at")
	}

	t.Run("tx", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("tx", txID)
		for k, want := range map[string]string{"status": "confirmed", "from": alice, "to": bob, "amount": "1.50000000 CRN", "fee": "0.00010000 CRN", "memo": `"lunch"`, "height": strconv.FormatUint(txHeight, 10)} {
			if got := field(t, out, k); got != want {
				t.Errorf("tx %s: %q, want %q", k, got, want)
			}
		}
		c.fails(c.run("tx", strings.Repeat("ab", 32)), "cairn: no transaction "+strings.Repeat("ab", 32)+" (neither pending nor on the main chain)")
	})

	t.Run("block", func(t *testing.T) {
		c := *c
		c.t = t
		h := strconv.FormatUint(txHeight, 10)
		out := c.ok("block", h)
		if !strings.Contains(out, txID) || field(t, out, "height") != h {
			t.Errorf("block %s does not list tx %s:\n%s", h, txID, out)
		}
		hash := field(t, out, "hash")
		b := jsonOut[rpc.Block](t, c.ok("block", "--txs", "--json", hash))
		if b.Hash != hash || b.Height != txHeight || len(b.Txs) == 0 {
			t.Fatalf("block --txs --json %s = %+v", hash, b)
		}
		found := false
		for _, tx := range b.Txs {
			found = found || tx.ID == txID
		}
		if !found {
			t.Errorf("block --txs %s lacks tx %s", hash, txID)
		}
		if out := c.ok("block", "--txs", h); !strings.Contains(out, "1.50000000 CRN") {
			t.Errorf("block --txs shows no amounts:\n%s", out)
		}
		c.fails(c.run("block", "99999999"), "cairn: no block at height 99999999")
	})

	t.Run("rejected", func(t *testing.T) {
		c := *c
		c.t = t
		args := []string{"send", "--from", "alice", "--to", "bob", "--amount", "1", "--fee", "0.00000001"}
		c.fails(c.run(args...), "cairn: transaction rejected: fee-too-low: …", args...)
		args = []string{"send", "--from", "bob", "--to", "alice", "--amount", "5"}
		r := c.run(args...)
		c.fails(r, "cairn: transaction rejected: insufficient-balance: bob has …", args...)
		if !strings.Contains(r.stderr, " CRN; this transfer costs 5.") {
			t.Errorf("insufficient balance not in CRN: %s", r.stderr)
		}
	})

	t.Run("send --json and mempool", func(t *testing.T) {
		c := *c
		c.t = t
		res := jsonOut[rpc.SendResult](t, c.ok("--json", "send", "--from", "alice", "--to", bob, "--amount", "0.25"))
		if _, err := types.ParseHash(res.ID); err != nil {
			t.Fatalf("send --json id %q: %v", res.ID, err)
		}
		tx := jsonOut[rpc.Tx](t, c.ok("tx", "--json", res.ID))
		if tx.Status != "pending" && tx.Status != "confirmed" {
			t.Errorf("tx status %q", tx.Status)
		}
		out := c.ok("mempool")
		for _, k := range []string{"pending", "queued", "bytes"} {
			field(t, out, k)
		}
		mp := jsonOut[struct {
			Status  rpc.PoolStatus  `json:"status"`
			Content rpc.PoolContent `json:"content"`
		}](t, c.ok("mempool", "--json"))
		if mp.Status.Pending < 0 {
			t.Errorf("mempool --json = %+v", mp)
		}
	})

	t.Run("peers", func(t *testing.T) {
		c := *c
		c.t = t
		c.ok("peers")
		if ps := jsonOut[[]rpc.Peer](t, c.ok("--json", "peers")); len(ps) != 0 {
			t.Errorf("a lone node has peers: %+v", ps)
		}
	})

	t.Run("miner", func(t *testing.T) {
		c := *c
		c.t = t
		out := c.ok("miner", "status")
		if field(t, out, "running") != "yes" || field(t, out, "address") != n.miner.String() {
			t.Errorf("miner status:\n%s", out)
		}
		// Without the node's datadir there is no cookie.
		args := []string{"--datadir", t.TempDir(), "miner", "stop"}
		c.fails(c.run(args...), "cairn: cannot read the RPC cookie …", args...)

		if out := c.ok("miner", "stop"); field(t, out, "running") != "no" {
			t.Errorf("miner stop:\n%s", out)
		}
		if got := field(t, c.ok("status"), "mining"); got != "no" {
			t.Errorf("status after miner stop: mining %q", got)
		}
		out = c.ok("miner", "start", "--threads", "1", "--address", "bob")
		if field(t, out, "running") != "yes" || field(t, out, "address") != bob || field(t, out, "threads") != "1" {
			t.Errorf("miner start --address bob:\n%s", out)
		}
		st := jsonOut[rpc.MinerStatus](t, c.ok("--json", "miner", "status"))
		if !st.Running || st.Address != bob {
			t.Errorf("miner status --json = %+v", st)
		}
	})
}
