package nodetest_test

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/p2p"
)

// The arithmetic WorkParams documents: honest blocks on schedule cost
// ~256 hashes, powLimit 2, and a parent must lag by WorkCheapLag for its
// child to be at powLimit.
func TestWorkParams(t *testing.T) {
	p := nodetest.WorkParams(1_700_000_000_000)
	limit := consensus.BigToCompact(p.PowLimit)
	if limit != nodetest.WorkPowLimitBits || p.GenesisBits != nodetest.WorkGenesisBits {
		t.Fatalf("bits %08x / %08x", p.GenesisBits, limit)
	}
	if w := consensus.CalcWork(p.GenesisBits); w.Cmp(big.NewInt(256)) < 0 || w.Cmp(big.NewInt(257)) > 0 {
		t.Fatalf("genesis work %v, want ≈ 256", w)
	}
	if w := consensus.CalcWork(limit); w.Cmp(big.NewInt(2)) != 0 {
		t.Fatalf("powLimit work %v, want 2", w)
	}
	for _, h := range []uint64{0, 1, 10, 1000, 100_000} {
		if b := p.NextBits(h, nodetest.ScheduledTime(p, h)); b != p.GenesisBits {
			t.Fatalf("on schedule at height %d: bits %08x, want genesis %08x", h, b, p.GenesisBits)
		}
	}
	lagging := func(lag int64) uint32 { return p.NextBits(7, nodetest.ScheduledTime(p, 7)+lag) }
	if b := lagging(nodetest.WorkCheapLag); b != limit {
		t.Fatalf("lag %d: bits %08x, want powLimit", int64(nodetest.WorkCheapLag), b)
	}
	if b := lagging(nodetest.WorkCheapLag - 1); b == limit {
		t.Fatalf("lag %d already at powLimit: WorkCheapLag is not the least", int64(nodetest.WorkCheapLag-1))
	}
	// One half-life of lag doubles the target.
	half := consensus.CompactToBig(lagging(nodetest.WorkHalfLife))
	if want := new(big.Int).Lsh(consensus.CompactToBig(p.GenesisBits), 1); half.Cmp(want) != 0 {
		t.Fatalf("one half-life of lag: target %x, want %x", half, want)
	}
}

// BuildChain makes an on-schedule chain at the genesis target that a
// chain accepts block by block as its tip.
func TestBuildChain(t *testing.T) {
	p := nodetest.WorkParamsEndingNow(40)
	miner := chaintest.Key("builder").Address()
	blocks := nodetest.BuildChain(t, p, 40, miner)
	if len(blocks) != 41 || blocks[0].Hash() != p.GenesisHash() {
		t.Fatalf("%d blocks, first %s", len(blocks), blocks[0].Hash())
	}
	c := openChain(t, p)
	for i, blk := range blocks[1:] {
		h := uint64(i + 1)
		if blk.Header.Height != h || blk.Header.Time != nodetest.ScheduledTime(p, h) || blk.Header.Bits != p.GenesisBits || blk.Header.Miner != miner {
			t.Fatalf("block %d: height %d time %d bits %08x", h, blk.Header.Height, blk.Header.Time, blk.Header.Bits)
		}
		if res, err := c.ProcessBlock(blk); err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("block %d: %v %v", h, res.Status, err)
		}
	}
}

func openChain(t testing.TB, p *consensus.Params) *chain.Chain {
	t.Helper()
	c, err := chain.OpenMemory(chain.Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Verify(); err != nil {
			t.Errorf("chain inconsistent: %v", err)
		}
		c.Close()
	})
	return c
}

// checkInRow checks every header against its predecessor (the fork for
// the first) with CheckHeader at local time now, keeping the median-time
// window itself.
func checkInRow(t testing.TB, p *consensus.Params, fork nodetest.Fork, hs []types.Header, now int64) {
	t.Helper()
	parent := fork.Hash
	info := fork.ParentInfo()
	times := append([]int64(nil), fork.Times...)
	for i := range hs {
		h := &hs[i]
		if h.Parent != parent {
			t.Fatalf("header %d: parent %s, want %s", i, h.Parent, parent)
		}
		if err := p.CheckHeader(h, h.Hash(), info, now); err != nil {
			t.Fatalf("header %d (height %d): %v", i, h.Height, err)
		}
		parent = h.Hash()
		times = append(times, h.Time)
		info = consensus.ParentInfo{Height: h.Height, Time: h.Time, MedianTimePast: consensus.MedianTimePast(times)}
	}
}

// A cheap branch from an old on-schedule block: every header passes the
// rules in a row; the first costs the fork's target, the next CheapBudget
// (or one more) are at powLimit (work 2), then the target falls, halving
// every 60 headers.
func TestCheapBranch(t *testing.T) {
	// The schedule is at height 600 now, the chain only as far as the fork
	// (the rest of it does not matter to the branch).
	const height, forkAt = 600, 50
	p := nodetest.WorkParamsEndingNow(height)
	blocks := nodetest.BuildChain(t, p, forkAt, chaintest.Key("honest").Address())
	fork := nodetest.ForkOf(blocks, forkAt)
	now := time.Now().UnixMilli()
	budget := nodetest.CheapBudget(p, forkAt, now)
	// The fork lags (600 − 51) s at the first header, 420 s are needed.
	if budget < 120 || budget > 140 {
		t.Fatalf("budget %d, want about 600 − 51 − 420", budget)
	}
	n := budget + 200
	hs := nodetest.CheapBranch(p, fork, n, now)
	if len(hs) != n {
		t.Fatalf("%d headers", len(hs))
	}
	checkInRow(t, p, fork, hs, now)
	limit := consensus.BigToCompact(p.PowLimit)
	cheapWork := consensus.CalcWork(limit)
	if hs[0].Bits != p.GenesisBits {
		t.Fatalf("first header bits %08x, want the fork's %08x", hs[0].Bits, p.GenesisBits)
	}
	cheap := 0
	for cheap+1 < n && hs[cheap+1].Bits == limit {
		cheap++
	}
	if cheap != budget && cheap != budget+1 {
		t.Fatalf("%d headers at powLimit after the first, budget %d", cheap, budget)
	}
	for i := 1; i < n; i++ {
		w := consensus.CalcWork(hs[i].Bits)
		if i <= cheap && w.Cmp(cheapWork) != 0 {
			t.Fatalf("header %d at powLimit: work %v, want %v", i, w, cheapWork)
		}
		if i > cheap && hs[i].Bits == limit {
			t.Fatalf("header %d back at powLimit", i)
		}
	}
	// 70 headers (more than a half-life) later the target is at most half.
	after := consensus.CompactToBig(hs[cheap+70].Bits)
	if bound := new(big.Int).Rsh(p.PowLimit, 1); after.Cmp(bound) > 0 {
		t.Fatalf("target %x 70 headers past the budget, want ≤ %x", after, bound)
	}
	for i := range hs {
		if hs[i].Time > now+p.MaxFutureDrift || hs[i].Time < now {
			t.Fatalf("header %d time %d outside [now, now+drift]", i, hs[i].Time)
		}
	}
	t.Logf("branch of %d headers from height %d: %d at powLimit, time advanced %d ms", n, forkAt, cheap, hs[n-1].Time-hs[0].Time)

	// ForkAt reads the same fork from a chain's index.
	c := openChain(t, p)
	for _, blk := range blocks[1:] {
		if _, err := c.ProcessBlock(blk); err != nil {
			t.Fatal(err)
		}
	}
	f2, err := nodetest.ForkAt(c, fork.Hash)
	if err != nil || f2.String() != fork.String() || !slices.Equal(f2.Times, fork.Times) || len(f2.Times) != consensus.MedianTimeBlocks {
		t.Fatalf("ForkAt: %v %v, ForkOf: %v", f2, err, fork)
	}
}

// Junk never runs dry: three answers of 2000 headers from a fork at
// genesis, all valid against their parents (the fork, or the header
// before), all at powLimit but the first header of each branch.
func TestJunkEndless(t *testing.T) {
	// Genesis 20 min ago: a branch from it stays cheap for ~780 headers.
	p := nodetest.WorkParams(time.Now().UnixMilli() - 20*60*1000)
	fork := nodetest.ForkOf([]*types.Block{p.Genesis()}, 0)
	j := nodetest.NewJunk(p, fork)
	limit := consensus.BigToCompact(p.PowLimit)
	infos := map[types.Hash]consensus.ParentInfo{fork.Hash: fork.ParentInfo()}
	windows := map[types.Hash][]int64{fork.Hash: fork.Times}
	dear := 0
	for round := 0; round < 3; round++ {
		now := time.Now().UnixMilli()
		hs := j.Headers(p2p.MaxHeadersPerAnswer, now)
		for i := range hs {
			h := &hs[i]
			info, ok := infos[h.Parent]
			if !ok {
				t.Fatalf("round %d header %d: unknown parent", round, i)
			}
			if err := p.CheckHeader(h, h.Hash(), info, now); err != nil {
				t.Fatalf("round %d header %d: %v", round, i, err)
			}
			if h.Bits != limit {
				dear++
			}
			w := append(append([]int64(nil), windows[h.Parent]...), h.Time)
			if len(w) > consensus.MedianTimeBlocks {
				w = w[1:]
			}
			infos[h.Hash()] = consensus.ParentInfo{Height: h.Height, Time: h.Time, MedianTimePast: consensus.MedianTimePast(w)}
			windows[h.Hash()] = w
		}
	}
	made, branches := j.Stats()
	if made != 3*p2p.MaxHeadersPerAnswer || branches < 5 || dear != branches {
		t.Fatalf("made %d in %d branches, %d headers above powLimit (want one per branch)", made, branches, dear)
	}
	t.Logf("%d headers in %d branches", made, branches)
}

// Orphans pass the only check a node makes of a block with an unknown
// parent (proof of work), decode, have their txRoot right and pad to the
// size asked; chained ones link up.
func TestOrphans(t *testing.T) {
	p := nodetest.WorkParamsEndingNow(0)
	plain := nodetest.Orphans(p, 3, nodetest.OrphanOptions{Seed: 1})
	fat := nodetest.Orphans(p, 2, nodetest.OrphanOptions{Seed: 2, Pad: 100_000})
	chained := nodetest.Orphans(p, 3, nodetest.OrphanOptions{Seed: 3, Height: 50, Chained: true})
	for i, blk := range slices.Concat(plain, fat, chained) {
		if err := consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, p.PowLimit); err != nil {
			t.Fatalf("orphan %d: %v", i, err)
		}
		if blk.Header.TxRoot != types.MerkleRoot(blk.TxIDs()) {
			t.Fatalf("orphan %d: txRoot", i)
		}
		if _, err := types.DecodeBlock(blk.Encode(), p.MaxBlockSize); err != nil {
			t.Fatalf("orphan %d does not decode: %v", i, err)
		}
	}
	for i, blk := range fat {
		if s := blk.EncodedSize(); s < 100_000 || s > 100_000+types.MaxTxSize {
			t.Fatalf("fat orphan %d: %d bytes", i, s)
		}
	}
	parents := map[types.Hash]bool{}
	for _, blk := range slices.Concat(plain, fat, chained[:1]) {
		parents[blk.Header.Parent] = true
	}
	if len(parents) != 6 {
		t.Fatal("orphans share a parent")
	}
	if chained[0].Header.Height != 50 || chained[2].Header.Parent != chained[1].Hash() || chained[2].Header.Height != 52 {
		t.Fatal("chained orphans do not link")
	}
}

// Side blocks: CheapBlocks have valid headers in a row and bodies that
// match them; ValidBranch blocks connect in full on a chain of their own.
func TestSideBlocks(t *testing.T) {
	const height, forkAt = 30, 10
	p := nodetest.WorkParamsEndingNow(height)
	blocks := nodetest.BuildChain(t, p, height, chaintest.Key("honest").Address())
	now := time.Now().UnixMilli()
	fork := nodetest.ForkOf(blocks, forkAt)
	side := nodetest.CheapBlocks(p, fork, 5, now)
	hs := make([]types.Header, len(side))
	for i, blk := range side {
		hs[i] = blk.Header
		if err := p.CheckBlockBody(blk, blk.TxIDs(), blk.EncodedSize()); err != nil {
			t.Fatalf("side block %d: %v", i, err)
		}
	}
	checkInRow(t, p, fork, hs, now)

	miner := chaintest.Key("forker").Address()
	branch := nodetest.ValidBranch(t, p, blocks[:forkAt+1], 5, now, miner)
	c := openChain(t, p)
	for _, blk := range append(blocks[1:forkAt+1:forkAt+1], branch...) {
		if res, err := c.ProcessBlock(blk); err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("block %d: %v %v", blk.Header.Height, res.Status, err)
		}
	}
	if acc, _ := c.Account(miner); acc.Balance == 0 {
		t.Fatal("the branch's miner was not paid")
	}
	if branch[0].Header.Time < now {
		t.Fatalf("branch dated %d, before now %d", branch[0].Header.Time, now)
	}
}

// How fast junk headers come: a few hundred thousand a second at powLimit.
func BenchmarkCheapBranch(b *testing.B) {
	p := nodetest.WorkParams(time.Now().UnixMilli() - 48*3600*1000) // cheap for ~170 000 headers
	fork := nodetest.ForkOf([]*types.Block{p.Genesis()}, 0)
	br := nodetest.NewBranch(p, fork, types.Address{})
	now := time.Now().UnixMilli()
	br.Next(now) // the first header costs the genesis target
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if !br.Cheap() {
			br = nodetest.NewBranch(p, fork, types.Address{byte(br.Made())})
			br.Next(now)
		}
		br.Next(now)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "headers/s")
}
