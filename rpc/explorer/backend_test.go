package explorer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
)

// testBackend is an rpc.Backend on a real chain (chaintest, in memory)
// and a real txpool, with fixed peers and node info and no actions.
type testBackend struct {
	c     *chain.Chain
	pool  *txpool.Pool
	peers []rpc.Peer
}

var _ rpc.Backend = (*testBackend)(nil)

func (b *testBackend) Tip() chain.Tip                                { return b.c.Tip() }
func (b *testBackend) Header(h types.Hash) (chain.HeaderInfo, error) { return b.c.Header(h) }
func (b *testBackend) HeaderByHeight(height uint64) (chain.HeaderInfo, error) {
	return b.c.HeaderByHeight(height)
}
func (b *testBackend) Tips() []chain.BranchTip                            { return b.c.Tips() }
func (b *testBackend) Block(h types.Hash) (*types.Block, error)           { return b.c.Block(h) }
func (b *testBackend) TxLocation(id types.Hash) (chain.TxLocation, error) { return b.c.TxLocation(id) }
func (b *testBackend) Account(a types.Address) (chain.Account, error)     { return b.c.Account(a) }
func (b *testBackend) History(a types.Address, before *chain.HistoryCursor, limit int) ([]chain.HistoryEntry, bool, error) {
	return b.c.History(a, before, limit)
}
func (b *testBackend) Genesis() types.Hash                      { return b.c.GenesisHash() }
func (b *testBackend) PoolTx(id types.Hash) (*types.Tx, bool)   { return b.pool.Get(id) }
func (b *testBackend) PoolTouching(a types.Address) []*types.Tx { return b.pool.Touching(a) }
func (b *testBackend) PoolStatus() rpc.PoolStatus {
	s := b.pool.Status()
	return rpc.PoolStatus{Pending: s.Pending, Queued: s.Queued, Bytes: s.Bytes}
}
func (b *testBackend) PoolContent() rpc.PoolContent { return rpc.PoolContent{} }
func (b *testBackend) NextNonce(a types.Address) uint64 {
	if n, err := b.pool.NextNonce(a); err == nil {
		return n
	}
	acc, _ := b.c.Account(a)
	return acc.Nonce
}
func (b *testBackend) SubmitTx(tx *types.Tx) (types.Hash, error) { return b.pool.Add(tx) }
func (b *testBackend) NetInfo() rpc.NetInfo                      { return rpc.NetInfo{Enabled: true, Peers: len(b.peers)} }
func (b *testBackend) Peers() []rpc.Peer                         { return b.peers }

var errReadOnly = errors.New("the explorer's test backend takes no action")

func (b *testBackend) Connect(context.Context, string) error { return errReadOnly }
func (b *testBackend) Ban(string) error                      { return errReadOnly }
func (b *testBackend) Unban(string) error                    { return errReadOnly }
func (b *testBackend) MinerStatus() rpc.MinerStatus          { return rpc.MinerStatus{} }
func (b *testBackend) MinerStart(rpc.MinerStartParams) (rpc.MinerStatus, error) {
	return rpc.MinerStatus{}, errReadOnly
}
func (b *testBackend) MinerStop() rpc.MinerStatus { return rpc.MinerStatus{} }
func (b *testBackend) NodeInfo() rpc.NodeInfo {
	tip := b.c.Tip()
	return rpc.NodeInfo{Version: "v0.0.0-test", Network: b.c.Params().Network, Genesis: b.c.GenesisHash().String(),
		Height: tip.Height, Tip: tip.Hash.String(), Peers: len(b.peers),
		Sync: rpc.SyncInfo{State: rpc.SyncSynced, Height: tip.Height, TargetHeight: tip.Height, Progress: 1}}
}

// Memos an attacker could write: each must reach the page as text.
const (
	evilMemo     = `<script>alert("memo")</script><img src=x onerror=alert(1)>`
	evilPoolMemo = `"><svg onload=alert(2)> & </textarea>`
)

// fixture is the explorer's test chain:
//
//	genesis -> b1 -> b2 (10 txs) -> b3 -> b4     main chain
//	             \-> s2                         side branch (stored)
//	                                 b4 -> h5   header only (no body)
//
// b1 carries alice's payment to bob with an evil memo; the pool holds
// carol's next tx to dave (pending, an evil memo) and the one after it
// (queued: a nonce gap).
type fixture struct {
	g         *chaintest.Builder
	b         *testBackend
	payTx     *types.Tx
	pendingTx *types.Tx
	queuedTx  *types.Tx
}

// fixtureNow is the fixed clock of the pool and chain: an hour after
// genesis.
var fixtureNow = time.UnixMilli(chaintest.Params().GenesisTime + 3600_000)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	g := chaintest.New(t)
	f := &fixture{g: g}
	bob, dave := chaintest.Key("bob").Address(), chaintest.Key("dave").Address()
	g.Block("b1", "genesis", func(bg *chaintest.BlockGen) {
		f.payTx = &types.Tx{Version: types.TxVersion, To: bob, Amount: 5_00000000, Fee: 2000, Memo: []byte(evilMemo)}
		chaintest.Key("alice").Sign(f.payTx, g.Params.GenesisHash())
		bg.Txs = append(bg.Txs, f.payTx)
	})
	g.Block("b2", "b1", func(bg *chaintest.BlockGen) {
		for i := range 10 {
			to := chaintest.Key(chaintest.Wallets[(i+1)%4]).Address()
			bg.Pay(chaintest.Wallets[i%4], to, uint64(i+1)*1_00000000, 1000+uint64(i))
		}
	})
	g.Block("s2", "b1", func(bg *chaintest.BlockGen) {
		bg.Header.Time++ // differs from b2
		bg.Pay("bob", dave, 1_00000000, 1000)
	})
	g.Chain("b", "b2", 2) // b3, b4
	g.Block("h5", "b4", nil)

	c := g.Open(chain.Config{Now: func() time.Time { return fixtureNow }})
	g.Process(c, "b1", "b2", "s2", "b3", "b4")
	if _, err := c.ProcessHeaders([]types.Header{g.Get("h5").Header}); err != nil {
		t.Fatalf("process header h5: %v", err)
	}
	g.CheckTip(c, "b4")
	f.b = &testBackend{c: c, pool: newPool(t, g, c), peers: testPeers(4)}

	carol := chaintest.Key("carol").Address()
	acc, err := c.Account(carol)
	if err != nil {
		t.Fatal(err)
	}
	f.pendingTx = &types.Tx{Version: types.TxVersion, To: dave, Amount: 7_00000000, Fee: 1500, Nonce: acc.Nonce,
		Memo: []byte(evilPoolMemo)}
	chaintest.Key("carol").Sign(f.pendingTx, g.Params.GenesisHash())
	f.queuedTx = g.Tx("carol", dave, 8_00000000, 1500, acc.Nonce+2)
	for _, tx := range []*types.Tx{f.pendingTx, f.queuedTx} {
		if _, err := f.b.pool.Add(tx); err != nil {
			t.Fatalf("pool add: %v", err)
		}
	}
	return f
}

func newPool(t testing.TB, g *chaintest.Builder, c *chain.Chain) *txpool.Pool {
	t.Helper()
	pool, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash(), Now: func() time.Time { return fixtureNow }}, c)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// testPeers are two peers, one at height h and one whose height is not
// known yet.
func testPeers(h uint64) []rpc.Peer {
	return []rpc.Peer{
		{ID: "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", Addr: "/ip4/127.0.0.1/tcp/7740", Direction: "outbound", Score: 12.5, Height: &h},
		{ID: "12D3KooWAJjbRkp8FPF5MKgMU53aUTxWkqvDrs4zc1VMbwRwfsbE", Addr: "/ip4/127.0.0.1/tcp/7741", Direction: "inbound"},
	}
}
