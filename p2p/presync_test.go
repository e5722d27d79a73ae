package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// ProcessHeaders adapts the embedded chain's ProcessHeadersProven to the
// Backend.
func (b *syncBackend) ProcessHeaders(hs []types.Header, proven *big.Int) (int, error) {
	return b.Chain.ProcessHeadersProven(hs, proven)
}

// headerCall is one ProcessHeaders call seen by a headersRecorder.
type headerCall struct {
	first, last uint64 // heights
	stored      int
	proven      bool
	err         error
}

// headersRecorder is a Backend that records ProcessHeaders calls.
type headersRecorder struct {
	*syncBackend
	mu    sync.Mutex
	calls []headerCall
}

func (r *headersRecorder) ProcessHeaders(hs []types.Header, proven *big.Int) (int, error) {
	n, err := r.syncBackend.ProcessHeaders(hs, proven)
	r.mu.Lock()
	r.calls = append(r.calls, headerCall{hs[0].Height, hs[len(hs)-1].Height, n, proven != nil, err})
	r.mu.Unlock()
	return n, err
}

func (r *headersRecorder) snapshot() []headerCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]headerCall(nil), r.calls...)
}

// sideBranch builds n empty blocks prefix+height on parent, 1 ms later
// than the schedule, so that they differ from a branch built by
// buildSyncSource on the same parent.
func sideBranch(g *chaintest.Builder, prefix, parent string, n int) []*types.Block {
	start := g.Get(parent).Header.Height + 1
	var out []*types.Block
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, start+uint64(i))
		out = append(out, g.Block(name, parent, func(b *chaintest.BlockGen) { b.Header.Time++ }))
		parent = name
	}
	return out
}

func openWith(t testing.TB, g *chaintest.Builder, blks []*types.Block) *chain.Chain {
	t.Helper()
	c := g.Open(chain.Config{})
	for _, b := range blks {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func chainBlocks(g *chaintest.Builder, prefix string, from, to int) []*types.Block {
	var out []*types.Block
	for i := from; i <= to; i++ {
		out = append(out, g.Get(fmt.Sprintf("%s%d", prefix, i)))
	}
	return out
}

// startPresyncNode is startSyncNode with a Config of the test's.
func startPresyncNode(t testing.TB, mn mocknet.Mocknet, name string, b *syncBackend, be Backend, cfg Config) *syncNode {
	t.Helper()
	h, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.NoDHT, cfg.Logger = h, true, syncLogger(t, name, slog.LevelWarn)
	n, err := New(cfg, be, b.pool)
	if err != nil {
		t.Fatal(err)
	}
	n.sync.progressEvery = time.Hour
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("%s: stop: %v", name, err)
		}
	})
	return &syncNode{name: name, backend: b, net: n, host: h}
}

// TestPresyncDeepFork: a peer on a heavier branch forked at genesis, whose
// first 2000 headers stay below the anti-DoS threshold: they are checked
// but not stored; once the second batch passes the threshold the first is
// asked for again, verified against its checkpoint and stored, and the
// node reorganises to the branch.
func TestPresyncDeepFork(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 2300)                 // a1..a2300: threshold 2301-144 = 2157 blocks
	side := sideBranch(g, "b", "genesis", 4100) // b1..b4100: batch 1 ends at 2001 blocks, batch 2 at 4001
	mn := mocknet.New()
	defer mn.Close()
	srcB := newSyncBackend(t, openWith(t, g, side))
	src := startSyncNode(t, mn, "src", srcB, syncOpts{})
	db := newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 2300)))
	rec := &headersRecorder{syncBackend: db}
	dst := startPresyncNode(t, mn, "dst", db, rec, Config{})
	syncConnect(t, mn, dst, src)
	waitSyncTip(t, dst, side[len(side)-1].Hash())
	g.CheckTip(db.Chain, "b4100")
	calls := rec.snapshot()
	// The first call found batch 1 below the threshold and stored none
	// of it; batch 1 was then stored with the proof of batch 2's end.
	if len(calls) < 3 || calls[0].stored != 0 || calls[0].first != 1 || calls[0].last != 2000 {
		t.Fatalf("calls %+v: want batch 1 refused first", calls)
	}
	if c := calls[1]; !c.proven || c.first != 1 || c.last != 2000 || c.stored != 2000 || c.err != nil {
		t.Fatalf("second call %+v: want batch 1 stored, proven", c)
	}
	if c := calls[2]; !c.proven || c.first != 2001 || c.last != 4000 || c.stored != 2000 {
		t.Fatalf("third call %+v: want batch 2 stored, proven", c)
	}
	if p := dst.net.scores.appPenalty(src.host.ID()); p != 0 {
		t.Errorf("honest peer penalized %.1f", p)
	}
}

// TestPresyncLyingPeer: a peer claiming huge work whose headers stay below
// the anti-DoS threshold for MaxPresyncHeaders is banned; none of its
// headers is stored; an honest peer offering more blocks is synced from
// meanwhile.
func TestPresyncLyingPeer(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 2600)
	junk := sideBranch(g, "x", "genesis", 2000) // 2001 blocks of work < 2301-144
	mn := mocknet.New()
	defer mn.Close()
	lb := newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 100)))
	lb.claimWork = new(big.Int).Lsh(big.NewInt(1), 255)
	var asked sync.Map // locator hashes the liar was asked after
	lb.headersAfter = func(loc []types.Hash, stop types.Hash, max int) []types.Header {
		asked.Store(loc[0], true)
		return headersOf(junk) // whatever was asked: the junk branch from genesis
	}
	liar := startSyncNode(t, mn, "liar", lb, syncOpts{})
	honest := startSyncNode(t, mn, "honest", newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 2600))), syncOpts{})
	db := newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 2300)))
	dst := startPresyncNode(t, mn, "dst", db, db, Config{MaxPresyncHeaders: 2000})
	syncConnect(t, mn, dst, liar)
	eventually(t, dst, "a ban of the liar", func() bool { return dst.net.Banned(liar.host.ID()) })
	syncConnect(t, mn, dst, honest)
	waitSyncTip(t, dst, g.Hash("a2600"))
	for _, b := range junk {
		if _, err := db.Header(b.Hash()); err == nil {
			t.Fatalf("junk header %d stored", b.Header.Height)
		}
	}
	if p := dst.net.scores.appPenalty(honest.host.ID()); p != 0 {
		t.Errorf("honest peer penalized %.1f", p)
	}
}

// TestHeaderPhaseParallel: a peer that claims the most work but answers
// slowly does not hold up the sync from an honest peer: headers are
// fetched from both at once.
func TestHeaderPhaseParallel(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 400)
	mn := mocknet.New()
	defer mn.Close()
	slow := newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 10)))
	slow.claimWork = new(big.Int).Lsh(big.NewInt(1), 255)
	release := make(chan struct{})
	slow.headersAfter = func(loc []types.Hash, stop types.Hash, max int) []types.Header {
		<-release // held until the honest sync is done
		return nil
	}
	defer close(release)
	liar := startSyncNode(t, mn, "slow", slow, syncOpts{timeout: time.Minute})
	honest := startSyncNode(t, mn, "honest", newSyncBackend(t, openWith(t, g, chainBlocks(g, "a", 1, 400))), syncOpts{})
	db := newSyncBackend(t, g.Open(chain.Config{}))
	dst := startPresyncNode(t, mn, "dst", db, db, Config{RequestTimeout: time.Minute})
	syncConnect(t, mn, dst, liar)
	eventually(t, dst, "a header request to the slow peer", func() bool {
		st := dst.net.SyncStatus()
		return st.Syncing && st.Peer == liar.host.ID()
	})
	syncConnect(t, mn, dst, honest)
	waitSyncTip(t, dst, g.Hash("a400"))
}

func headersOf(blks []*types.Block) []types.Header {
	hs := make([]types.Header, len(blks))
	for i, b := range blks {
		hs[i] = b.Header
	}
	return hs
}
