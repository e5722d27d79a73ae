package chain_test

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// sideChain is Builder.Chain with block times 1 ms later than the
// schedule, so that a branch differs from one built on the same parent.
func sideChain(g *chaintest.Builder, prefix, parent string, n int) []*types.Block {
	start := g.Get(parent).Header.Height + 1
	var out []*types.Block
	for i := 0; i < n; i++ {
		name := prefix + itoa(int(start)+i)
		out = append(out, g.Block(name, parent, func(b *chaintest.BlockGen) { b.Header.Time++ }))
		parent = name
	}
	return out
}

// blockWork is the work of one block of chaintest's parameters (every
// block is at powLimit).
func blockWork(g *chaintest.Builder) *big.Int { return consensus.CalcWork(g.Params.GenesisBits) }

// TestAntiDoSWork: the threshold is the tip's work less AntiDoSBlocks
// blocks' worth, never below zero, and never below MinChainWork.
func TestAntiDoSWork(t *testing.T) {
	g := chaintest.New(t)
	blks := g.Chain("a", "genesis", 200)
	c := g.Open(chain.Config{})
	if w := c.AntiDoSWork(); w.Sign() != 0 {
		t.Fatalf("at genesis: %s, want 0", w)
	}
	for _, b := range blks {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	want := new(big.Int).Mul(blockWork(g), big.NewInt(201-chain.AntiDoSBlocks)) // genesis counts
	if w := c.AntiDoSWork(); w.Cmp(want) != 0 {
		t.Fatalf("at height 200: %s, want %s", w, want)
	}
	min := new(big.Int).Mul(blockWork(g), big.NewInt(1000))
	c2 := g.Open(chain.Config{MinChainWork: min})
	if w := c2.AntiDoSWork(); w.Cmp(min) != 0 {
		t.Fatalf("with MinChainWork: %s, want %s", w, min)
	}
}

// TestHeadersBelowThresholdNotStored: a side branch whose end has less
// work than AntiDoSWork is refused with ErrLowWork and nothing of it is
// stored, even across a reopen; a branch that reaches it (or is proven to)
// is stored.
func TestHeadersBelowThresholdNotStored(t *testing.T) {
	g := chaintest.New(t)
	main := g.Chain("a", "genesis", 200)
	low := sideChain(g, "x", "genesis", 40) // ends at height 40: work 41 blocks < 57
	high := sideChain(g, "y", "a60", 10)    // ends at height 70: above the threshold
	dir := t.TempDir()
	c, err := chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range main {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.ProcessHeaders(headersOf(low))
	if !errors.Is(err, chain.ErrLowWork) || n != 0 {
		t.Fatalf("low branch: %d, %v; want 0, ErrLowWork", n, err)
	}
	for _, b := range low {
		if _, err := c.Header(b.Hash()); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("header %d of the low branch is indexed: %v", b.Header.Height, err)
		}
	}
	if n, err := c.ProcessHeaders(headersOf(high)); err != nil || n != 10 {
		t.Fatalf("high branch: %d, %v", n, err)
	}
	// The low branch with a proof of more work (as sync gives once the
	// branch's end passed the threshold) is stored.
	proven := new(big.Int).Mul(blockWork(g), big.NewInt(100))
	if n, err := c.ProcessHeadersProven(headersOf(low[:20]), proven); err != nil || n != 20 {
		t.Fatalf("proven: %d, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Header(low[20].Hash()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("after reopen, an unproven low header is indexed: %v", err)
	}
	for _, b := range append(high, low[:20]...) {
		if _, err := c.Header(b.Hash()); err != nil {
			t.Fatalf("after reopen, header %d lost: %v", b.Header.Height, err)
		}
	}
}

// TestCheckHeaders: a branch is checked outside the index with every
// header rule, from a cursor at its fork.
func TestCheckHeaders(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 30)
	side := sideChain(g, "x", "a10", 40)
	c := g.Open(chain.Config{})
	g.Process(c, "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10")
	cur, err := c.Cursor(g.Hash("a10"))
	if err != nil {
		t.Fatal(err)
	}
	end, n, err := c.CheckHeaders(cur, headersOf(side))
	if err != nil || n != 40 || end.Hash != side[39].Hash() || end.Height != 50 {
		t.Fatalf("CheckHeaders: %d, %v, end %d", n, err, end.Height)
	}
	want := new(big.Int).Mul(blockWork(g), big.NewInt(51))
	if end.Work.Cmp(want) != 0 {
		t.Fatalf("work %s, want %s", end.Work, want)
	}
	// In two halves, the second from the first's end: the same result.
	mid, _, err := c.CheckHeaders(cur, headersOf(side[:17]))
	if err != nil {
		t.Fatal(err)
	}
	if end2, _, err := c.CheckHeaders(mid, headersOf(side[17:])); err != nil || end2.Hash != end.Hash || end2.Work.Cmp(end.Work) != 0 {
		t.Fatalf("in halves: %v, %s", err, end2.Hash)
	}
	if _, err := c.Header(side[0].Hash()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatal("CheckHeaders stored a header")
	}
	// A gap, and a header breaking a rule, stop the check there.
	gap := append(headersOf(side[:5]), headersOf(side[6:])...)
	if _, n, err := c.CheckHeaders(cur, gap); !errors.Is(err, chain.ErrUnconnected) || n != 5 {
		t.Fatalf("gap: %d, %v", n, err)
	}
	bad := headersOf(side)
	bad[7].Bits = 0x1d00ffff
	if _, n, err := c.CheckHeaders(cur, bad); consensus.CodeOf(err) == 0 || n != 7 {
		t.Fatalf("bad bits: %d, %v", n, err)
	}
	if _, err := c.Cursor(types.Hash{1}); !errors.Is(err, chain.ErrUnconnected) {
		t.Fatalf("Cursor of an unknown header: %v", err)
	}
}

// TestUnrequestedLowWorkBlock: a gossiped block whose branch has less work
// than the tip is refused with ErrLowWork and not stored; with as much
// work it is stored; asked for by sync (requested) it is stored either
// way.
func TestUnrequestedLowWorkBlock(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 5)
	sideChain(g, "b", "a2", 3) // b3 b4 b5: b5 has the tip's work
	c := g.Open(chain.Config{})
	g.Process(c, "a1", "a2", "a3", "a4", "a5")
	gossip := chain.Origin{Peer: "p", Unrequested: true}
	if st, err := c.WantBlock(&g.Get("b3").Header); !errors.Is(err, chain.ErrLowWork) {
		t.Fatalf("WantBlock(b3) = %v, %v; want ErrLowWork", st, err)
	}
	if _, err := c.ProcessBlockFrom(g.Get("b3"), gossip); !errors.Is(err, chain.ErrLowWork) {
		t.Fatalf("b3 unrequested: %v, want ErrLowWork", err)
	}
	if c.HasBlock(g.Hash("b3")) {
		t.Fatal("low-work b3 stored")
	}
	if res, err := c.ProcessBlockFrom(g.Get("b3"), chain.Origin{Peer: "p"}); err != nil || res.Status != chain.StatusSideChain {
		t.Fatalf("b3 requested: %v, %v", res.Status, err)
	}
	if _, err := c.ProcessBlockFrom(g.Get("b4"), gossip); !errors.Is(err, chain.ErrLowWork) {
		t.Fatalf("b4 unrequested: %v, want ErrLowWork", err)
	}
	g.Process(c, "b4")
	if res, err := c.ProcessBlockFrom(g.Get("b5"), gossip); err != nil || res.Status != chain.StatusSideChain {
		t.Fatalf("b5 (the tip's work) unrequested: %v, %v", res.Status, err)
	}
	if st, err := c.WantBlock(&g.Get("b5").Header); err != nil || st != chain.StatusDuplicate {
		t.Fatalf("WantBlock(b5) once stored = %v, %v", st, err)
	}
}

// TestOrphanRules: an orphan is held only near the tip and with a target
// close to the tip's next one.
func TestOrphanRules(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 100)
	c := g.Open(chain.Config{})
	for i := 1; i <= 60; i++ {
		g.Process(c, "a"+itoa(i))
	}
	gossip := chain.Origin{Peer: "p", Unrequested: true}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"a62", true}, {"a92", true}, {"a93", false}, {"a100", false}} {
		res, err := c.ProcessBlockFrom(g.Get(tc.name), gossip)
		if tc.ok && (err != nil || res.Status != chain.StatusOrphan) {
			t.Errorf("%s: %v, %v; want held", tc.name, res.Status, err)
		}
		if !tc.ok && !errors.Is(err, chain.ErrLowWork) {
			t.Errorf("%s: %v, %v; want ErrLowWork", tc.name, res.Status, err)
		}
	}
	if n := c.OrphanCount(); n != 2 {
		t.Fatalf("%d orphans, want 2", n)
	}
}

// TestOrphanEasyBitsRefused: an orphan declaring a much easier target than
// the tip's next block needs is not held (its proof of work would cost
// nothing), on parameters where blocks have real work.
func TestOrphanEasyBitsRefused(t *testing.T) {
	p := chaintest.Params()
	p.GenesisBits = 0x2000ffff // 2^248: 256 hashes a block; powLimit 2^255
	p.GenesisTime = time.Now().UnixMilli() - 10_000
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	g := chaintest.NewWithParams(t, p)
	g.Chain("a", "genesis", 3)
	easy := g.Block("easy", "a2", func(b *chaintest.BlockGen) {
		b.Header.Bits = 0x207fffff // powLimit: about 2 hashes
	})
	c := g.Open(chain.Config{})
	g.Process(c, "a1")
	// "easy" descends from a2, unknown to c: an orphan at height 3.
	if _, err := c.ProcessBlockFrom(easy, chain.Origin{Peer: "p", Unrequested: true}); !errors.Is(err, chain.ErrLowWork) {
		t.Fatalf("easy orphan: %v, want ErrLowWork", err)
	}
	if res, err := c.ProcessBlockFrom(g.Get("a3"), chain.Origin{Peer: "p", Unrequested: true}); err != nil || res.Status != chain.StatusOrphan {
		t.Fatalf("a3: %v, %v; want held", res.Status, err)
	}
}

// TestInvalidRootOfLongBranch: a bad body at the root of a long header
// branch condemns the whole branch without walking it under the lock:
// the lock is held for less than 10 ms, every descendant reads invalid
// (also after a reopen), the best header falls back, and a child of the
// branch is refused. BenchmarkInvalidRootOfLongBranch runs it on 300,000
// headers.
func TestInvalidRootOfLongBranch(t *testing.T) {
	hold, wait := invalidRootOfBranch(t, 20_000)
	t.Logf("condemning the root of 20,000 headers: lock held at most %v, Tip waited at most %v", hold, wait)
	if hold > 10*time.Millisecond {
		t.Errorf("the chain lock was held for %v", hold)
	}
}

func BenchmarkInvalidRootOfLongBranch(b *testing.B) {
	for i := 0; i < b.N; i++ {
		hold, wait := invalidRootOfBranch(b, 300_000)
		b.ReportMetric(float64(hold.Microseconds())/1000, "max-lock-hold-ms")
		b.ReportMetric(float64(wait.Microseconds())/1000, "max-tip-wait-ms")
	}
}

// invalidRootOfBranch stores a branch of depth headers whose first block
// has a bad signature, delivers that block, checks the branch is invalid
// as a whole (also after reopening), and returns the longest hold of the
// chain lock and the longest wait of a concurrent reader meanwhile.
func invalidRootOfBranch(tb testing.TB, depth int) (hold, readerWait time.Duration) {
	g := chaintest.New(tb)
	g.Chain("a", "genesis", 3)
	bob := chaintest.Key("bob").Address()
	root := g.Block("x4", "a3", func(b *chaintest.BlockGen) {
		tx := b.Pay("alice", bob, 5, 1000)
		tx.Sig[0] ^= 1 // the txRoot commits to the bad signature
	})
	branch := append([]*types.Block{root}, g.Chain("x", "x4", depth-1)...)
	dir := tb.TempDir()
	c, err := chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		tb.Fatal(err)
	}
	g.Process(c, "a1", "a2", "a3")
	hs := headersOf(branch)
	for i := 0; i < len(hs); i += chain.MaxHeadersPerRequest {
		if _, err := c.ProcessHeaders(hs[i:min(i+chain.MaxHeadersPerRequest, len(hs))]); err != nil {
			tb.Fatal(err)
		}
	}
	if bh := c.BestHeader(); bh.Hash != branch[depth-1].Hash() {
		tb.Fatalf("best header at %d", bh.Header.Height)
	}
	c.MaxLockHold(true)
	stop := make(chan struct{})
	worst := make(chan time.Duration)
	go func() { // a reader all along: how long does Tip wait?
		var w time.Duration
		for {
			select {
			case <-stop:
				worst <- w
				return
			default:
			}
			t0 := time.Now()
			c.Tip()
			w = max(w, time.Since(t0))
		}
	}()
	_, err = c.ProcessBlock(root)
	close(stop)
	readerWait = <-worst
	if consensus.CodeOf(err) != consensus.ErrBadSignature {
		tb.Fatalf("root: %v, want ErrBadSignature", err)
	}
	hold = c.MaxLockHold(false)
	check := func(c *chain.Chain) {
		tb.Helper()
		for _, i := range []int{0, 1, depth / 2, depth - 1} {
			if info, err := c.Header(branch[i].Hash()); err != nil || !info.Invalid {
				tb.Fatalf("header %d of the branch: %+v, %v; want invalid", i, info.Invalid, err)
			}
		}
		if bh := c.BestHeader(); bh.Hash != g.Hash("a3") {
			tb.Fatalf("best header at %d, want a3", bh.Header.Height)
		}
		if n := len(c.MissingBlocks(10)); n != 0 {
			tb.Fatalf("%d blocks missing: the invalid branch is still wanted", n)
		}
	}
	check(c)
	child := g.Block("child", "x"+itoa(3+depth), nil)
	if _, err := c.ProcessHeaders([]types.Header{child.Header}); consensus.CodeOf(err) != consensus.ErrInvalidAncestor && !errors.Is(err, chain.ErrKnownInvalid) {
		tb.Fatalf("child of the branch: %v", err)
	}
	if err := c.Close(); err != nil {
		tb.Fatal(err)
	}
	c, err = chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	check(c)
	return hold, readerWait
}
