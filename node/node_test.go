package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
)

func TestConfigValidate(t *testing.T) {
	p := chaintest.Params()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no params", Config{}, "Params is required"},
		{"mine without address", Config{Params: p, Miner: MinerConfig{Enabled: true}}, "miner address"},
		{"negative threads", Config{Params: p, Miner: MinerConfig{Threads: -1}}, "threads"},
		{"bad rpc addr", Config{Params: p, RPC: RPCConfig{Addr: "7731"}}, "rpc address"},
		{"bad metrics addr", Config{Params: p, MetricsAddr: "localhost"}, "metrics address"},
		{"bad pool", Config{Params: p, Pool: poolCfg(-1)}, "txpool"},
		{"bad bootnode", Config{Params: p, P2P: p2pCfg("/ip4/1.2.3.4/tcp/1")}, "bootnode"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
		if _, nerr := New(tc.cfg); nerr == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
	if err := (Config{Params: p}).Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// If a part fails to start, the parts already started are stopped and
// the datadir is released: the same datadir opens again at once.
func TestStartRollsBack(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		cfg     Config
		want    string
		stopped []string // log messages of the rollback, in order
	}{
		{"rpc", Config{NoNetwork: true, RPC: RPCConfig{Addr: busy.Addr().String()}}, "start rpc", nil},
		{"metrics", Config{NoNetwork: true, RPC: RPCConfig{Addr: "127.0.0.1:0"}, MetricsAddr: busy.Addr().String()},
			"start metrics", []string{"rpc stopped"}},
		{"metrics after p2p and rpc", Config{RPC: RPCConfig{Addr: "127.0.0.1:0"}, MetricsAddr: busy.Addr().String()},
			"start metrics", []string{"rpc stopped", "p2p stopped"}},
	} {
		cfg := tc.cfg
		cfg.Params, cfg.DataDir = chaintest.Params(), dir
		cfg.P2P.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.P2P.NoDHT = true
		var logs bytes.Buffer
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: Start: %v, want an error containing %q", tc.name, err, tc.want)
		}
		var stopped []string
		for _, line := range strings.Split(logs.String(), "\n") {
			for _, m := range []string{"rpc stopped", "p2p stopped"} {
				if strings.Contains(line, "msg=\""+m+"\"") {
					stopped = append(stopped, m)
				}
			}
		}
		if !slices.Equal(stopped, tc.stopped) {
			t.Fatalf("%s: rollback stopped %q, want %q in that order", tc.name, stopped, tc.stopped)
		}
		if n.Net() != nil {
			if err := n.Net().Start(context.Background()); !errors.Is(err, p2p.ErrStopped) {
				t.Fatalf("%s: the network was not stopped: Start again gave %v", tc.name, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, CookieName)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: cookie left after a failed start: %v", tc.name, err)
		}
		if err := n.Stop(); err != nil { // harmless after a failed Start
			t.Fatalf("%s: Stop after failed Start: %v", tc.name, err)
		}
	}
	n, err := New(Config{Params: chaintest.Params(), DataDir: dir, NoNetwork: true})
	if err != nil {
		t.Fatalf("datadir not released: %v", err)
	}
	n.Stop()
}

// A full node on loopback: RPC answers, metrics are served, Stop is
// bounded and idempotent, and a second Start is refused.
func TestNodeServesRPCAndMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, MetricsAddr: "127.0.0.1:0", Version: "test-1"}
	n := loopbackNode(t, &cfg)
	if err := n.Start(context.Background()); err == nil {
		t.Fatal("second Start accepted")
	}
	ctx := context.Background()
	c := rpc.NewClient(n.RPCURL())
	info, err := c.NodeInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "test-1" || info.Network != "cairn-test" || info.Genesis != cfg.Params.GenesisHash().String() {
		t.Fatalf("node_info %+v", info)
	}
	ni, err := c.NetInfo(ctx)
	if err != nil || !ni.Enabled || ni.ID == "" || len(ni.Addrs) == 0 {
		t.Fatalf("net_info %+v, %v", ni, err)
	}
	// Admin needs the cookie, which is the token.
	miner := chaintest.Key("miner").Address().String()
	if _, err := c.MinerStart(ctx, rpc.MinerStartParams{Address: miner}); err == nil {
		t.Fatal("miner_start without the token accepted")
	}
	tok, err := rpc.ReadCookie(dir)
	if err != nil || tok != n.RPCToken() {
		t.Fatalf("cookie %q, %v; token %q", tok, err, n.RPCToken())
	}
	admin := rpc.NewClient(n.RPCURL(), rpc.WithToken(tok))
	st, err := admin.MinerStart(ctx, rpc.MinerStartParams{Address: miner, Threads: 1})
	if err != nil || !st.Running || st.Address != miner {
		t.Fatalf("miner_start: %+v, %v", st, err)
	}
	waitFor(t, 20*time.Second, "a mined block", func() bool { return n.Chain().Tip().Height >= 2 })
	if st, err := admin.MinerStop(ctx); err != nil || st.Running {
		t.Fatalf("miner_stop: %+v, %v", st, err)
	}
	// The metrics endpoint is this node's registry.
	resp, err := http.Get("http://" + n.metricsSrv.ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"cairn_chain_height", "cairn_chain_work", "cairn_txpool_txs", "cairn_txpool_bytes",
		"cairn_p2p_peers", "cairn_block_import_seconds_bucket", "cairn_gossip_messages_total", "cairn_reorgs_total",
		"cairn_chain_headers", "cairn_chain_orphans", "cairn_chain_lock_max_hold_seconds", `verdict="throttled"`,
		"cairn_gossip_dropped_total", `cause="outbound_queue_full"`, `cause="peer_budget"`,
		`cairn_tx_recovery_total{what="recovered_gap"}`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	t0 := time.Now()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if _, err := c.Head(ctx); err == nil {
		t.Fatal("RPC still answering after Stop")
	}
}

// loopbackNode starts a node of cfg with RPC and p2p on free loopback
// ports (no DHT), stopped at the end of the test; cfg gets the defaults it
// was started with.
func loopbackNode(t *testing.T, cfg *Config) *Node {
	t.Helper()
	cfg.Params = chaintest.Params()
	cfg.RPC.Addr = "127.0.0.1:0"
	cfg.P2P.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.P2P.NoDHT = true
	return startNode(t, *cfg)
}

// Restarting on the same datadir keeps the chain.
func TestRestartKeepsChain(t *testing.T) {
	dir := t.TempDir()
	miner := chaintest.Key("miner").Address()
	cfg := Config{Params: chaintest.Params(), DataDir: dir, NoNetwork: true,
		Miner: MinerConfig{Enabled: true, Address: miner}}
	n := testNode(t, cfg)
	waitFor(t, 20*time.Second, "5 blocks", func() bool { return n.Chain().Tip().Height >= 5 })
	n.Stop()
	tip := n.Chain().Tip()
	cfg.Miner.Enabled = false
	n2 := testNode(t, cfg)
	if got := n2.Chain().Tip(); got.Hash != tip.Hash {
		t.Fatalf("tip after restart %s (height %d), want %s (%d)", got.Hash, got.Height, tip.Hash, tip.Height)
	}
	acc, err := n2.Chain().Account(miner)
	var want uint64
	for h := uint64(1); h <= tip.Height; h++ {
		want += cfg.Params.Subsidy(h)
	}
	if err != nil || acc.Balance != want {
		t.Fatalf("miner account %+v, %v", acc, err)
	}
}

func poolCfg(maxTxs int) txpool.Config { return txpool.Config{MaxTxs: maxTxs} }

func p2pCfg(bootnode string) p2p.Config { return p2p.Config{Bootnodes: []string{bootnode}} }

// Admin calls with bad arguments are -32602 with the reason; calls the
// node cannot carry out are -32003.
func TestAdminErrorCodes(t *testing.T) {
	n := loopbackNode(t, &Config{})
	c := rpc.NewClient(n.RPCURL(), rpc.WithToken(n.RPCToken()))
	ctx := context.Background()
	code := func(err error) int {
		var e *rpc.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *rpc.Error", err)
		}
		return e.Code
	}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"ban bad id", c.Ban(ctx, "not-a-peer"), rpc.CodeInvalidParams},
		{"unban bad id", c.Unban(ctx, "12D3"), rpc.CodeInvalidParams},
		{"connect bad multiaddr", c.Connect(ctx, "/ip4/1.2.3.4/tcp/1"), rpc.CodeInvalidParams},
		{"connect unreachable", c.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWFoQzk8WUMfeSgZje8YMSsVSBADPe52wDTVRz8ZpZGxMa"), rpc.CodeUnavailable},
		{"miner without address", func() error { _, err := c.MinerStart(ctx, rpc.MinerStartParams{}); return err }(), rpc.CodeInvalidParams},
		{"miner bad address", func() error { _, err := c.MinerStart(ctx, rpc.MinerStartParams{Address: "cairn1xyz"}); return err }(), rpc.CodeInvalidParams},
	} {
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if got := code(tc.err); got != tc.want {
			t.Errorf("%s: code %d (%v), want %d", tc.name, got, tc.err, tc.want)
		}
	}
}

// A datadir held by a running node is refused with a message that says so.
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	n := testNode(t, Config{DataDir: dir})
	_, err := New(Config{Params: n.cfg.Params, DataDir: dir, NoNetwork: true})
	if err == nil || !strings.Contains(err.Error(), "in use by another cairnd") {
		t.Fatalf("second node on the datadir: %v", err)
	}
}

// The start-up check: a stored state that does not commit to the tip's
// stateRoot stops the node from starting, with the reason.
func TestStartRefusesStateNotMatchingTip(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Params: chaintest.Params(), DataDir: dir, NoNetwork: true,
		Miner: MinerConfig{Enabled: true, Address: chaintest.Key("miner").Address()}}
	n := testNode(t, cfg)
	waitFor(t, 20*time.Second, "3 blocks", func() bool { return n.Chain().Tip().Height >= 3 })
	n.Stop()
	db, err := leveldb.OpenFile(filepath.Join(dir, "chain"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := db.Get([]byte("mlthash"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lt[0] ^= 1
	if err := db.Put([]byte("mlthash"), lt, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfg.Miner.Enabled = false
	_, err = New(cfg)
	if !errors.Is(err, chain.ErrCorrupt) || !strings.Contains(err.Error(), "stateRoot") {
		t.Fatalf("New on a state that does not match the tip: %v", err)
	}
}

// TestOnBlockSeesSideBlocks: OnBlock hears of every block the chain takes —
// one that extends the tip and one stored on a side branch — and not of a
// block it already has or refuses; OnTipChange hears only of the first.
func TestOnBlockSeesSideBlocks(t *testing.T) {
	g := chaintest.New(t)
	n, err := New(Config{Params: g.Params, DataDir: t.TempDir(), NoNetwork: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	type seen struct {
		hash   types.Hash
		status chain.ProcessStatus
	}
	var blocks []seen
	tips := 0
	n.OnBlock(func(b *types.Block, r chain.Result) { blocks = append(blocks, seen{b.Hash(), r.Status}) })
	n.OnTipChange(func(chain.Result) { tips++ })
	a := g.Block("a", "genesis", nil)
	b := g.Block("b", "genesis", func(bg *chaintest.BlockGen) { bg.Header.Time++ })
	bad := g.Block("bad", "a", func(bg *chaintest.BlockGen) { bg.BadPoW = true })
	for _, blk := range []*types.Block{a, b, a, bad} {
		_, _ = n.SubmitBlock(blk)
	}
	want := []seen{{a.Hash(), chain.StatusConnected}, {b.Hash(), chain.StatusSideChain}}
	if !slices.Equal(blocks, want) {
		t.Errorf("OnBlock saw %v, want %v", blocks, want)
	}
	if tips != 1 {
		t.Errorf("OnTipChange called %d times, want 1", tips)
	}
}

// TestWrongNetworkTx: a node on another network names a tx signed for the
// built-in network as such (wrong-network), not as a bad signature.
func TestWrongNetworkTx(t *testing.T) {
	n := testNode(t, Config{})
	alice := chaintest.Key(chaintest.Wallets[0])
	tx := &types.Tx{Version: types.TxVersion, From: alice.Pub, To: chaintest.Key(chaintest.Wallets[1]).Address(), Amount: 12345, Fee: 2000}
	alice.Sign(tx, DefaultParams().GenesisHash())
	_, err := n.SubmitTx(tx)
	if txpool.ReasonOf(err) != txpool.ReasonWrongNetwork {
		t.Fatalf("a tx signed for cairn-dev on a test network: %v, want wrong-network", err)
	}
	// Signed for a network the node does not know: a bad signature.
	alice.Sign(tx, types.Sum([]byte("some other genesis")))
	if _, err := n.SubmitTx(tx); txpool.ReasonOf(err) != txpool.ReasonBadSignature {
		t.Fatalf("a tx signed for an unknown network: %v, want bad-signature", err)
	}
}

// TestSyncState: a node that has heard no peer says "no peers", never
// "synced"; once a peer of its network has answered and the tip is at the
// height it claimed, "synced"; behind it, "syncing".
func TestSyncState(t *testing.T) {
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	p := chaintest.Params()
	start := func() *Node {
		h, err := mn.GenPeer()
		if err != nil {
			t.Fatal(err)
		}
		return startNode(t, Config{Params: p, P2P: p2p.Config{Host: h, NoDHT: true}})
	}
	state := func(n *Node) string { return (*rpcBackend)(n).syncInfo().State }
	a := start()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) { // a lone node, watched for a second
		if s := state(a); s != rpc.SyncNoPeers {
			t.Fatalf("a node without peers says %q, want %q", s, rpc.SyncNoPeers)
		}
		runtime.Gosched()
	}
	b := start()
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a synced with its peer", func() bool { return state(a) == rpc.SyncSynced })
	// b gets ahead; a learns its height and catches up.
	blk, err := b.Chain().NewBlockTemplate(nil, chaintest.Key("miner").Address(), time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	for consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, p.PowLimit) != nil {
		blk.Header.Nonce++
	}
	if _, err := b.SubmitBlock(blk); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a at b's tip and synced", func() bool {
		return a.Chain().Tip().Hash == blk.Hash() && state(a) == rpc.SyncSynced
	})
}

// TestSyncStateDamaged: a node whose store scan meets damage says
// "damaged", naming it and the repair, and Faulted closes; its chain
// stores nothing more.
func TestSyncStateDamaged(t *testing.T) {
	g := chaintest.New(t)
	blocks := g.Payments("a", "genesis", 300, 10)
	datadir := t.TempDir()
	g.Store(filepath.Join(datadir, "chain"), blocks)
	chaintest.FlipInBody(t, filepath.Join(datadir, "chain"), blocks[149].Txs[0])
	n := startNode(t, Config{Params: g.Params, DataDir: datadir, NoNetwork: true})
	select {
	case <-n.Faulted():
	case <-time.After(10 * time.Second):
		t.Fatal("the store scan met no damage in 10 s")
	}
	s := (*rpcBackend)(n).syncInfo()
	if s.State != rpc.SyncDamaged || !strings.Contains(s.Reason, ".ldb") || !strings.Contains(s.Reason, "reindex") {
		t.Fatalf("sync state %q (%s), want damaged naming the table and the repair", s.State, s.Reason)
	}
	if !errors.Is(n.Fault(), chain.ErrCorrupt) {
		t.Fatalf("Fault() = %v", n.Fault())
	}
	next := g.Block("next", "a300", nil)
	if _, err := n.SubmitBlock(next); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("SubmitBlock on a damaged node: %v", err)
	}
}
