package chain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Orphans: blocks whose parent is unknown are held (bounded by count, bytes
// and age), and connected when the parent arrives.

// orphanFixture builds a1..a<n> on genesis and opens an empty chain with cfg
// and a clock one hour after genesis.
func orphanFixture(t *testing.T, n int, cfg chain.Config, gen func(name string, g *chaintest.BlockGen)) (*chaintest.Builder, *chain.Chain, *rulesClock) {
	t.Helper()
	b := chaintest.New(t)
	parent := "genesis"
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("a%d", i)
		b.Block(name, parent, func(g *chaintest.BlockGen) {
			if gen != nil {
				gen(name, g)
			}
		})
		parent = name
	}
	clock := &rulesClock{now: time.UnixMilli(b.Params.GenesisTime).Add(time.Hour)}
	cfg.Now = clock.Now
	return b, b.Open(cfg), clock
}

// offerOrphan processes the named block, which must be held as an orphan,
// and checks the pool then holds wantCount blocks.
func offerOrphan(t *testing.T, b *chaintest.Builder, c *chain.Chain, name string, wantCount int) {
	t.Helper()
	tip := c.Tip().Hash
	res, err := c.ProcessBlock(b.Get(name))
	if err != nil || res.Status != chain.StatusOrphan {
		t.Fatalf("%s: %v, %v; want orphan", name, res.Status, err)
	}
	if len(res.Connected) != 0 || len(res.Disconnected) != 0 {
		t.Fatalf("%s: orphan changed the main chain: %+v", name, res)
	}
	if got := c.OrphanCount(); got != wantCount {
		t.Fatalf("after %s: %d orphans, want %d", name, got, wantCount)
	}
	if c.Tip().Hash != tip {
		t.Fatalf("%s: orphan moved the tip", name)
	}
	if _, err := c.Block(b.Hash(name)); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("Block(orphan %s) = %v, want ErrNotFound", name, err)
	}
	if _, err := c.Header(b.Hash(name)); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("Header(orphan %s) = %v, want ErrNotFound", name, err)
	}
}

// connectParent processes the named block, which must connect together with
// the orphans listed, in that order.
func connectParent(t *testing.T, b *chaintest.Builder, c *chain.Chain, name string, wantConnected ...string) {
	t.Helper()
	res, err := c.ProcessBlock(b.Get(name))
	if err != nil || res.Status != chain.StatusConnected {
		t.Fatalf("%s: %v, %v; want connected", name, res.Status, err)
	}
	var got, want []types.Hash
	for _, blk := range res.Connected {
		got = append(got, blk.Hash())
	}
	for _, n := range wantConnected {
		want = append(want, b.Hash(n))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: connected %v, want %v = %v", name, got, wantConnected, want)
	}
	if len(res.Disconnected) != 0 {
		t.Fatalf("%s: disconnected %d blocks", name, len(res.Disconnected))
	}
}

func TestOrphansConnectWhenParentArrives(t *testing.T) {
	b, c, _ := orphanFixture(t, 5, chain.Config{}, nil)
	// Delivered child first: a5, a4, a3, a2 wait for a1.
	for i, name := range []string{"a5", "a4", "a3", "a2"} {
		offerOrphan(t, b, c, name, i+1)
	}
	b.CheckTip(c, "genesis")
	connectParent(t, b, c, "a1", "a1", "a2", "a3", "a4", "a5")
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left", n)
	}
	b.CheckTip(c, "a5")
	for i := 1; i <= 5; i++ {
		info, err := c.HeaderByHeight(uint64(i))
		if err != nil || info.Hash != b.Hash(fmt.Sprintf("a%d", i)) {
			t.Fatalf("HeaderByHeight(%d) = %s, %v", i, info.Hash, err)
		}
	}
}

// TestOrphansForkOnArrival: two orphan children of one parent; the first to
// arrive becomes the tip, the other is stored on a side branch.
//
//	genesis -> a1 -> a2 -> a3   (a2, a3 orphans; a2 arrived before b2)
//	             \-> b2         (orphan, then side chain)
func TestOrphansForkOnArrival(t *testing.T) {
	b, c, _ := orphanFixture(t, 3, chain.Config{}, nil)
	bob := chaintest.Key("bob").Address()
	b.Block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("alice", bob, 1, 1) })
	offerOrphan(t, b, c, "a3", 1)
	offerOrphan(t, b, c, "a2", 2)
	offerOrphan(t, b, c, "b2", 3)
	connectParent(t, b, c, "a1", "a1", "a2", "a3")
	b.CheckTip(c, "a3")
	info, err := c.Header(b.Hash("b2"))
	if err != nil || info.MainChain || !info.HasData {
		t.Fatalf("Header(b2) = %+v, %v; want a stored side-chain block", info, err)
	}
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left", n)
	}
}

func TestOrphanPoolBoundedByCount(t *testing.T) {
	b, c, _ := orphanFixture(t, 5, chain.Config{MaxOrphans: 3}, nil)
	offerOrphan(t, b, c, "a5", 1)
	offerOrphan(t, b, c, "a4", 2)
	offerOrphan(t, b, c, "a3", 3)
	offerOrphan(t, b, c, "a2", 3) // evicts a5, the oldest
	connectParent(t, b, c, "a1", "a1", "a2", "a3", "a4")
	b.CheckTip(c, "a4")
	if _, err := c.Block(b.Hash("a5")); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("evicted a5 was connected: %v", err)
	}
	connectParent(t, b, c, "a5", "a5")
	b.CheckTip(c, "a5")
}

func TestOrphanPoolBoundedByBytes(t *testing.T) {
	bob := chaintest.Key("bob").Address()
	// An empty block is 149 bytes; a2 holds two txs (149 + 2 × 142 = 433)
	// and a6 three (575), more than the whole pool.
	const maxBytes = 500
	b, c, _ := orphanFixture(t, 6, chain.Config{MaxOrphanBytes: maxBytes}, func(name string, g *chaintest.BlockGen) {
		switch name {
		case "a2":
			g.Pay("alice", bob, 1, 1)
			g.Pay("carol", bob, 1, 1)
		case "a6":
			g.Pay("alice", bob, 1, 1)
			g.Pay("carol", bob, 1, 1)
			g.Pay("dave", bob, 1, 1)
		}
	})
	if s := b.Get("a2").EncodedSize(); s != 433 {
		t.Fatalf("a2 is %d bytes", s)
	}
	if s := b.Get("a6").EncodedSize(); s <= maxBytes {
		t.Fatalf("a6 is %d bytes", s)
	}
	offerOrphan(t, b, c, "a5", 1)
	offerOrphan(t, b, c, "a4", 2)
	offerOrphan(t, b, c, "a3", 3) // 447 bytes
	offerOrphan(t, b, c, "a2", 1) // 433 bytes: a5, a4 and a3 make room
	// A block larger than the whole pool is not kept, and evicts nothing.
	offerOrphan(t, b, c, "a6", 1)
	connectParent(t, b, c, "a1", "a1", "a2")
	b.CheckTip(c, "a2")
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left", n)
	}
}

func TestOrphanExpiry(t *testing.T) {
	const ttl = time.Minute
	b, c, clock := orphanFixture(t, 5, chain.Config{OrphanTTL: ttl}, nil)
	offerOrphan(t, b, c, "a3", 1)
	clock.now = clock.now.Add(ttl) // at the TTL exactly it is still kept
	offerOrphan(t, b, c, "a4", 2)
	clock.now = clock.now.Add(time.Millisecond) // a3 is now too old
	offerOrphan(t, b, c, "a5", 2)
	connectParent(t, b, c, "a1", "a1")
	connectParent(t, b, c, "a2", "a2")
	if _, err := c.Block(b.Hash("a3")); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("expired a3 was connected: %v", err)
	}
	if n := c.OrphanCount(); n != 2 {
		t.Fatalf("%d orphans, want a4 and a5", n)
	}
	// a3 arrives again: a4 and a5, still fresh, follow it.
	connectParent(t, b, c, "a3", "a3", "a4", "a5")
	b.CheckTip(c, "a5")
}

func TestOrphanDuplicate(t *testing.T) {
	b, c, _ := orphanFixture(t, 3, chain.Config{}, nil)
	offerOrphan(t, b, c, "a3", 1)
	res, err := c.ProcessBlock(b.Get("a3"))
	if err != nil || res.Status != chain.StatusDuplicate {
		t.Fatalf("orphan offered again: %v, %v; want duplicate", res.Status, err)
	}
	if n := c.OrphanCount(); n != 1 {
		t.Fatalf("%d orphans, want 1", n)
	}
	b.Process(c, "a1")
	connectParent(t, b, c, "a2", "a2", "a3")
	// A block already on the chain is a duplicate too.
	res, err = c.ProcessBlock(b.Get("a3"))
	if err != nil || res.Status != chain.StatusDuplicate {
		t.Fatalf("connected block offered again: %v, %v; want duplicate", res.Status, err)
	}
	b.CheckTip(c, "a3")
}

// TestOrphanRefusedWithoutContext: what can be checked without the parent is
// checked before a block is held: a claim to be a second genesis, and proof
// of work (otherwise the pool could be filled with junk at no cost).
func TestOrphanRefusedWithoutContext(t *testing.T) {
	b, c, _ := orphanFixture(t, 3, chain.Config{}, nil)
	b.Block("badpow", "a2", func(g *chaintest.BlockGen) { g.BadPoW = true })
	b.Block("height0", "a2", func(g *chaintest.BlockGen) { g.Header.Height = 0 })
	for name, want := range map[string]consensus.ErrorCode{
		"badpow":  consensus.ErrBadPoW,
		"height0": consensus.ErrBadGenesis,
	} {
		if _, err := c.ProcessBlock(b.Get(name)); consensus.CodeOf(err) != want {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
	}
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans, want none", n)
	}
	b.CheckTip(c, "genesis")
}

// TestOrphanInvalidDropped: an orphan that turns out invalid when its parent
// arrives is dropped; the parent stays connected and the valid siblings
// still connect.
func TestOrphanInvalidDropped(t *testing.T) {
	b, c, _ := orphanFixture(t, 2, chain.Config{}, nil)
	bob := chaintest.Key("bob").Address()
	b.Block("b2", "a1", func(g *chaintest.BlockGen) {
		g.Txs = append(g.Txs, b.Tx("alice", bob, 1, 1, 3)) // wrong nonce
	})
	offerOrphan(t, b, c, "b2", 1)
	offerOrphan(t, b, c, "a2", 2)
	connectParent(t, b, c, "a1", "a1", "a2")
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left", n)
	}
	if _, err := c.Block(b.Hash("b2")); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("invalid orphan stored: %v", err)
	}
	b.CheckTip(c, "a2")
}
