package chain_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

func headersOf(blks []*types.Block) []types.Header {
	hs := make([]types.Header, len(blks))
	for i, b := range blks {
		hs[i] = b.Header
	}
	return hs
}

// genesis -> a1 … a50, with txs: headers first, then bodies in random order.
func TestHeadersFirstThenBodiesAnyOrder(t *testing.T) {
	g := chaintest.New(t)
	bob := chaintest.Key("bob").Address()
	var blks []*types.Block
	parent := "genesis"
	for i := 1; i <= 50; i++ {
		name := "a" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		blks = append(blks, g.Block(name, parent, func(b *chaintest.BlockGen) { b.Pay("alice", bob, uint64(i), 1000) }))
		parent = name
	}
	src := g.Open(chain.Config{})
	for _, b := range blks {
		if _, err := src.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	dst := g.Open(chain.Config{})
	hs := src.HeadersAfter(dst.Locator(), types.Hash{}, chain.MaxHeadersPerRequest)
	if len(hs) != 50 || hs[0].Height != 1 {
		t.Fatalf("HeadersAfter gave %d headers", len(hs))
	}
	n, err := dst.ProcessHeaders(hs)
	if err != nil || n != 50 {
		t.Fatalf("ProcessHeaders: %d, %v", n, err)
	}
	if n, err := dst.ProcessHeaders(hs); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
	if bh := dst.BestHeader(); bh.Hash != blks[49].Hash() || bh.HasData {
		t.Fatalf("best header %d", bh.Header.Height)
	}
	if dst.Tip().Height != 0 {
		t.Fatal("tip moved on headers alone")
	}
	missing := dst.MissingBlocks(1000)
	if len(missing) != 50 || missing[0] != blks[0].Hash() || missing[49] != blks[49].Hash() {
		t.Fatalf("missing %d", len(missing))
	}
	if len(dst.MissingBlocks(7)) != 7 {
		t.Fatal("max ignored")
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := r.Perm(50)
	for _, i := range order {
		if _, err := dst.ProcessBlock(blks[i]); err != nil {
			t.Fatalf("body %d: %v", i+1, err)
		}
	}
	g.CheckTip(dst, "a50")
	if len(dst.MissingBlocks(10)) != 0 {
		t.Fatal("still missing after all bodies")
	}
	if src.HeadersAfter(dst.Locator(), types.Hash{}, 10) != nil {
		t.Fatal("headers after the shared tip")
	}
}

func TestHeadersRefused(t *testing.T) {
	g := chaintest.New(t)
	blks := g.Chain("a", "genesis", 5)
	bad := g.Block("x4", "a3", func(b *chaintest.BlockGen) { b.Header.Bits = 0x2000ffff })
	c := g.Open(chain.Config{})
	hs := headersOf(blks[:3])
	hs = append(hs, bad.Header)
	n, err := c.ProcessHeaders(hs)
	if n != 3 || consensus.CodeOf(err) != consensus.ErrWrongBits {
		t.Fatalf("got %d, %v", n, err)
	}
	if c.BestHeader().Hash != blks[2].Hash() {
		t.Fatal("best header should be a3")
	}
	if _, err := c.ProcessHeaders([]types.Header{blks[4].Header}); !errors.Is(err, chain.ErrUnconnected) {
		t.Fatalf("unconnected: %v", err)
	}
	// A body whose signature fails condemns its indexed header and the
	// headers built on it.
	g2 := chaintest.New(t)
	good := g2.Block("b1", "genesis", nil)
	evil := g2.Block("b2", "b1", func(b *chaintest.BlockGen) {
		tx := b.Pay("alice", chaintest.Key("bob").Address(), 1, 1000)
		tx.Sig[0] ^= 1
	})
	after := g2.Block("b3", "b2", func(b *chaintest.BlockGen) { b.Header.StateRoot = types.Hash{}; b.KeepStateRoot = true })
	c2 := g2.Open(chain.Config{})
	if _, err := c2.ProcessHeaders(headersOf([]*types.Block{good, evil, after})); err != nil {
		t.Fatal(err)
	}
	g2.Process(c2, "b1")
	if _, err := c2.ProcessBlock(evil); consensus.CodeOf(err) != consensus.ErrBadSignature {
		t.Fatalf("evil body: %v", err)
	}
	for _, h := range []types.Hash{evil.Hash(), after.Hash()} {
		if info, err := c2.Header(h); err != nil || !info.Invalid {
			t.Fatalf("header %s not marked invalid: %+v %v", h, info, err)
		}
	}
	if c2.BestHeader().Hash != good.Hash() {
		t.Fatal("best header should fall back to b1")
	}
}

func TestHeadersSurviveRestart(t *testing.T) {
	g := chaintest.New(t)
	blks := g.Chain("a", "genesis", 30)
	dir := t.TempDir()
	c, err := chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProcessHeaders(headersOf(blks)); err != nil {
		t.Fatal(err)
	}
	for _, b := range blks[:10] {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	c, err = chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Tip().Height != 10 || c.BestHeader().Hash != blks[29].Hash() {
		t.Fatalf("after restart: tip %d, best header %d", c.Tip().Height, c.BestHeader().Header.Height)
	}
	missing := c.MissingBlocks(100)
	if len(missing) != 20 || missing[0] != blks[10].Hash() {
		t.Fatalf("missing %d", len(missing))
	}
	for _, b := range blks[10:] {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	g.CheckTip(c, "a30")
}

func TestLocatorShape(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 100)
	c := g.Open(chain.Config{})
	g.Process(c, func() []string {
		var names []string
		for i := 1; i <= 100; i++ {
			names = append(names, "a"+itoa(i))
		}
		return names
	}()...)
	loc := c.Locator()
	if loc[0] != g.Hash("a100") || loc[len(loc)-1] != g.Params.GenesisHash() {
		t.Fatal("locator must start at the tip and end at genesis")
	}
	if len(loc) > 25 {
		t.Fatalf("locator of %d hashes for 100 blocks", len(loc))
	}
	for i := 0; i < 10; i++ {
		if loc[i] != g.Hash("a"+itoa(100-i)) {
			t.Fatalf("locator[%d] is not the block %d back", i, i)
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
