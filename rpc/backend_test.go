package rpc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// testBackend is a deterministic Backend: a real chain built by chaintest
// and a real txpool, with fakes for the network, the miner and node info.
//
//	genesis -> b1 -> b2 (10 txs) -> b3 -> b4     main chain
//	             \-> s2                         side branch (stored)
//	                                 b4 -> h5   header only (no body)
//
// The pool holds carol's next tx (pending, with a memo) and the one after
// it (queued: a nonce gap).
type testBackend struct {
	g    *chaintest.Builder
	c    *chain.Chain
	pool *txpool.Pool

	// fixtures for the golden cases
	payTx     *types.Tx // b1's tx: alice -> bob
	pendingTx *types.Tx
	queuedTx  *types.Tx

	mu    sync.Mutex // guards miner and bans
	miner MinerStatus
	bans  map[string]bool
}

// testNow is the fixed clock of the pool and chain: an hour after genesis.
var testNow = time.UnixMilli(chaintest.Params().GenesisTime + 3600_000)

// A well-formed peer id of the fakes (net_ban, net_peers).
const (
	testPeerA = "12D3KooWAJjbRkp8FPF5MKgMU53aUTxWkqvDrs4zc1VMbwRwfsbE"
	testPeerB = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
)

func newTestBackend(t testing.TB) *testBackend {
	t.Helper()
	g := chaintest.New(t)
	b := &testBackend{g: g, bans: map[string]bool{}}
	bob, carol, dave := chaintest.Key("bob").Address(), chaintest.Key("carol").Address(), chaintest.Key("dave").Address()
	g.Block("b1", "genesis", func(bg *chaintest.BlockGen) {
		b.payTx = bg.Pay("alice", bob, 5_00000000, 2000)
	})
	g.Block("b2", "b1", func(bg *chaintest.BlockGen) {
		for i := range 10 {
			from := chaintest.Wallets[i%4]
			to := chaintest.Key(chaintest.Wallets[(i+1)%4]).Address()
			bg.Pay(from, to, uint64(i+1)*1_00000000, 1000+uint64(i))
		}
	})
	g.Block("s2", "b1", func(bg *chaintest.BlockGen) {
		bg.Header.Time++ // differs from b2
		bg.Pay("bob", dave, 1_00000000, 1000)
	})
	g.Chain("b", "b2", 2) // b3, b4
	g.Block("h5", "b4", nil)

	b.c = g.Open(chain.Config{Now: func() time.Time { return testNow }})
	g.Process(b.c, "b1", "b2", "s2", "b3", "b4")
	if _, err := b.c.ProcessHeaders([]types.Header{g.Get("h5").Header}); err != nil {
		t.Fatalf("process header h5: %v", err)
	}
	g.CheckTip(b.c, "b4")

	pool, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash(), Now: func() time.Time { return testNow }}, b.c)
	if err != nil {
		t.Fatal(err)
	}
	b.pool = pool
	acc, err := b.c.Account(carol)
	if err != nil {
		t.Fatal(err)
	}
	b.pendingTx = &types.Tx{Version: types.TxVersion, To: dave, Amount: 7_00000000, Fee: 1500, Nonce: acc.Nonce,
		Memo: []byte("thanks for the coffee")}
	chaintest.Key("carol").Sign(b.pendingTx, g.Params.GenesisHash())
	b.queuedTx = g.Tx("carol", dave, 8_00000000, 1500, acc.Nonce+2)
	for _, tx := range []*types.Tx{b.pendingTx, b.queuedTx} {
		if _, err := pool.Add(tx); err != nil {
			t.Fatalf("pool add: %v", err)
		}
	}
	b.miner = MinerStatus{Threads: 1, Address: chaintest.Key("miner").Address().String()}
	return b
}

var _ Backend = (*testBackend)(nil)

func (b *testBackend) Tip() chain.Tip                                { return b.c.Tip() }
func (b *testBackend) Header(h types.Hash) (chain.HeaderInfo, error) { return b.c.Header(h) }
func (b *testBackend) HeaderByHeight(height uint64) (chain.HeaderInfo, error) {
	return b.c.HeaderByHeight(height)
}
func (b *testBackend) Block(h types.Hash) (*types.Block, error)           { return b.c.Block(h) }
func (b *testBackend) TxLocation(id types.Hash) (chain.TxLocation, error) { return b.c.TxLocation(id) }
func (b *testBackend) Account(a types.Address) (chain.Account, error)     { return b.c.Account(a) }
func (b *testBackend) Genesis() types.Hash                                { return b.c.GenesisHash() }
func (b *testBackend) PoolTx(id types.Hash) (*types.Tx, bool)             { return b.pool.Get(id) }
func (b *testBackend) PoolTouching(a types.Address) []*types.Tx           { return b.pool.Touching(a) }
func (b *testBackend) Tips() []chain.BranchTip                            { return b.c.Tips() }
func (b *testBackend) History(a types.Address, before *chain.HistoryCursor, limit int) ([]chain.HistoryEntry, bool, error) {
	return b.c.History(a, before, limit)
}

func (b *testBackend) PoolStatus() PoolStatus {
	s := b.pool.Status()
	return PoolStatus{Pending: s.Pending, Queued: s.Queued, Bytes: s.Bytes}
}

func (b *testBackend) PoolContent() PoolContent {
	out := PoolContent{Senders: []PoolSender{}}
	for _, s := range b.pool.Content() {
		ps := PoolSender{Sender: s.Sender.String(), Pending: []*Tx{}, Queued: []*Tx{}}
		for _, tx := range s.Pending {
			ps.Pending = append(ps.Pending, NewTx(tx))
		}
		for _, tx := range s.Queued {
			ps.Queued = append(ps.Queued, NewTx(tx))
		}
		out.Senders = append(out.Senders, ps)
	}
	return out
}

func (b *testBackend) NextNonce(a types.Address) uint64 {
	n, err := b.pool.NextNonce(a)
	if err != nil {
		return 0
	}
	return n
}

// SubmitTx is node.SubmitTx without a network: a tx the pool holds
// already is not refused (the node announces it again).
func (b *testBackend) SubmitTx(tx *types.Tx) (types.Hash, error) {
	id, err := b.pool.Add(tx)
	if txpool.ReasonOf(err) == txpool.ReasonDuplicate {
		return id, nil
	}
	return id, err
}

func (b *testBackend) NetInfo() NetInfo {
	tip := b.c.Tip()
	return NetInfo{
		Enabled: true,
		ID:      testPeerA,
		Addrs:   []string{"/ip4/127.0.0.1/tcp/7730/p2p/" + testPeerA},
		Peers:   1,
		Sync:    SyncInfo{State: SyncSynced, Height: tip.Height, TargetHeight: tip.Height, Progress: 1},
		Gossip: GossipCounts{BlocksAccepted: 4, BlocksIgnored: 1, TxsAccepted: 12,
			TxsRejected: 1},
		BlockMesh: 1,
		TxMesh:    1,
	}
}

func (b *testBackend) Peers() []Peer {
	h := uint64(4)
	return []Peer{
		{ID: testPeerB, Addr: "/ip4/127.0.0.1/tcp/7740", Direction: "outbound", Score: 12.5, Height: &h},
	}
}

// Connect accepts multiaddrs ending /p2p/<id>; "/slow" blocks until the
// request's context ends; "/unreachable/…" fails to dial.
func (b *testBackend) Connect(ctx context.Context, addr string) error {
	switch {
	case addr == "/slow":
		<-ctx.Done()
		return ctx.Err()
	case len(addr) > 13 && addr[:13] == "/unreachable/":
		return fmt.Errorf("dial %s: connection refused", addr)
	case len(addr) < 5 || addr[0] != '/':
		return fmt.Errorf("%w: %q is not a multiaddr", ErrInvalidArgument, addr)
	}
	return nil
}

func (b *testBackend) checkPeer(id string) error {
	if id != testPeerA && id != testPeerB {
		if len(id) != len(testPeerA) {
			return fmt.Errorf("%w: %q is not a peer id", ErrInvalidArgument, id)
		}
	}
	return nil
}

func (b *testBackend) Ban(id string) error {
	if err := b.checkPeer(id); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bans[id] = true
	return nil
}

func (b *testBackend) Unban(id string) error {
	if err := b.checkPeer(id); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.bans, id) // unbanning a peer that is not banned is no error
	return nil
}

func (b *testBackend) MinerStatus() MinerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.miner
}

func (b *testBackend) MinerStart(p MinerStartParams) (MinerStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Threads > 0 {
		b.miner.Threads = p.Threads
	}
	if p.Address != "" {
		b.miner.Address = p.Address
	}
	b.miner.Running = true
	return b.miner, nil
}

func (b *testBackend) MinerStop() MinerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.miner.Running = false
	return b.miner
}

func (b *testBackend) NodeInfo() NodeInfo {
	tip := b.c.Tip()
	b.mu.Lock()
	mining := b.miner.Running
	b.mu.Unlock()
	return NodeInfo{
		Version:  "v0.1.0-test",
		Network:  b.g.Params.Network,
		Genesis:  b.c.GenesisHash().String(),
		Height:   tip.Height,
		Tip:      tip.Hash.String(),
		Sync:     SyncInfo{State: SyncSynced, Height: tip.Height, TargetHeight: tip.Height, Progress: 1},
		Peers:    1,
		Mining:   mining,
		UptimeMs: 61_000,
	}
}
