package chain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

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

// Fairness between peers: each peer holds at most its share of the pool
// (max(1, MaxOrphans/8) orphans and MaxOrphanBytes/8 bytes, its newest one
// always), a peer over its share loses its own oldest, and a full pool
// evicts from the peer holding the most. The node's own blocks (peer "",
// as ProcessBlock sends them; the tests above) have no share.

// siblingOrphans builds n children of a1, named prefix+"1" … prefix+n,
// each with its own miner (so each is a distinct block) and txs txs (an
// empty block is 149 bytes, each tx adds 142).
func siblingOrphans(b *chaintest.Builder, prefix string, n, txs int) []string {
	bob := chaintest.Key("bob").Address()
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		b.Block(name, "a1", func(g *chaintest.BlockGen) {
			m := types.Sum([]byte("orphan miner " + name))
			copy(g.Header.Miner[:], m[:])
			for j := 0; j < txs; j++ {
				g.Pay(chaintest.Wallets[j%len(chaintest.Wallets)], bob, 1, 1)
			}
		})
		names = append(names, name)
	}
	return names
}

// offerFrom processes the named block as sent by peer; it must be held as
// an orphan, leaving wantCount orphans in the pool.
func offerFrom(t *testing.T, b *chaintest.Builder, c *chain.Chain, peer, name string, wantCount int) {
	t.Helper()
	res, err := c.ProcessBlockFrom(b.Get(name), chain.Origin{Peer: peer})
	if err != nil || res.Status != chain.StatusOrphan {
		t.Fatalf("%s from %q: %v, %v; want orphan", name, peer, res.Status, err)
	}
	if got := c.OrphanCount(); got != wantCount {
		t.Fatalf("after %s from %q: %d orphans, want %d", name, peer, got, wantCount)
	}
}

// checkHeld checks that each named block is in the orphan pool: offered
// again, it is a duplicate. (Offering a block that is not held would add
// it, so this is only for blocks that must be there.)
func checkHeld(t *testing.T, b *chaintest.Builder, c *chain.Chain, names ...string) {
	t.Helper()
	n := c.OrphanCount()
	for _, name := range names {
		res, err := c.ProcessBlockFrom(b.Get(name), chain.Origin{Peer: "probe"})
		if err != nil || res.Status != chain.StatusDuplicate {
			t.Fatalf("%s: %v, %v; want it held (duplicate)", name, res.Status, err)
		}
	}
	if c.OrphanCount() != n {
		t.Fatalf("probing changed the pool: %d orphans, were %d", c.OrphanCount(), n)
	}
}

// checkStored checks, after a1 connected, which of the named siblings were
// still held then (stored now, as the tip or beside it) and which had been
// evicted (unknown).
func checkStored(t *testing.T, b *chaintest.Builder, c *chain.Chain, stored map[string]bool, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := c.Header(b.Hash(name))
		switch {
		case stored[name] && err != nil:
			t.Errorf("%s was held but is not stored: %v", name, err)
		case !stored[name] && !errors.Is(err, chain.ErrNotFound):
			t.Errorf("%s was evicted but is known: %v", name, err)
		}
	}
}

// TestOrphanFloodKeepsOtherPeers: peer A floods 30 orphans into a pool of
// 16 (a share of 2 each); B's single orphan, sent first, stays, and A only
// ever holds its 2 newest. When a1 arrives, B's block connects after it.
func TestOrphanFloodKeepsOtherPeers(t *testing.T) {
	b, c, _ := orphanFixture(t, 1, chain.Config{MaxOrphans: 16}, nil)
	honest := siblingOrphans(b, "h", 1, 0)[0]
	flood := siblingOrphans(b, "x", 30, 0)
	offerFrom(t, b, c, "B", honest, 1)
	for i, name := range flood {
		offerFrom(t, b, c, "A", name, 1+min(i+1, 2))
		checkHeld(t, b, c, honest)
	}
	checkHeld(t, b, c, flood[28], flood[29])

	connectParent(t, b, c, "a1", "a1", honest)
	b.CheckTip(c, honest)
	stored := map[string]bool{honest: true, flood[28]: true, flood[29]: true}
	checkStored(t, b, c, stored, append([]string{honest}, flood...)...)
	if n := c.OrphanCount(); n != 0 {
		t.Fatalf("%d orphans left", n)
	}
}

// TestOrphanOwnBlocksHaveNoShare: the node's own orphans (peer "") are not
// held to a peer's share; a peer's are.
func TestOrphanOwnBlocksHaveNoShare(t *testing.T) {
	b, c, _ := orphanFixture(t, 1, chain.Config{MaxOrphans: 16}, nil)
	own := siblingOrphans(b, "o", 5, 0)
	peer := siblingOrphans(b, "p", 5, 0)
	for i, name := range own {
		offerOrphan(t, b, c, name, i+1)
	}
	for i, name := range peer {
		offerFrom(t, b, c, "P", name, 5+min(i+1, 2))
	}
	checkHeld(t, b, c, append(own, peer[3], peer[4])...)
}

// TestOrphanFullPoolEvictsHeaviestPeer fills a pool of 16 (share 2) with
// seven flooding peers holding 2 each and two honest peers holding 1 each.
// The flooders' further orphans push out only their own; newcomers push
// out the oldest orphan of a peer holding 2, one flooder after another.
// Only when every peer holds 1 does the oldest orphan of all, B's, go.
func TestOrphanFullPoolEvictsHeaviestPeer(t *testing.T) {
	b, c, _ := orphanFixture(t, 1, chain.Config{MaxOrphans: 16}, nil)
	hb := siblingOrphans(b, "hb", 1, 0)[0]
	hc := siblingOrphans(b, "hc", 1, 0)[0]
	offerFrom(t, b, c, "B", hb, 1)
	offerFrom(t, b, c, "C", hc, 2)
	flooders := make([][]string, 7)
	for i := range flooders {
		flooders[i] = siblingOrphans(b, fmt.Sprintf("f%d-", i), 4, 0)
	}
	for i, f := range flooders { // 2 each: the pool is full
		offerFrom(t, b, c, fmt.Sprintf("A%d", i), f[0], 2+2*i+1)
		offerFrom(t, b, c, fmt.Sprintf("A%d", i), f[1], 2+2*i+2)
	}
	for i, f := range flooders { // each pushes out its own oldest
		offerFrom(t, b, c, fmt.Sprintf("A%d", i), f[2], 16)
		offerFrom(t, b, c, fmt.Sprintf("A%d", i), f[3], 16)
		checkHeld(t, b, c, hb, hc, f[2], f[3])
	}
	// Seven newcomers: each evicts the oldest orphan of the flooder whose
	// oldest is oldest among those holding 2, so f[2] of A0, A1, … in turn.
	newcomers := siblingOrphans(b, "n", 8, 0)
	for i := range 7 {
		offerFrom(t, b, c, fmt.Sprintf("N%d", i), newcomers[i], 16)
		checkHeld(t, b, c, hb, hc, flooders[i][3])
		for j := i + 1; j < 7; j++ {
			checkHeld(t, b, c, flooders[j][2])
		}
	}
	// Everyone holds 1 now: the oldest orphan of all, B's, goes.
	offerFrom(t, b, c, "N7", newcomers[7], 16)
	checkHeld(t, b, c, hc)
	for i := range 7 {
		checkHeld(t, b, c, flooders[i][3], newcomers[i])
	}

	connectParent(t, b, c, "a1", "a1", hc)
	stored := map[string]bool{hc: true}
	all := []string{hb, hc}
	for i, f := range flooders {
		stored[f[3]] = true
		stored[newcomers[i]] = true
		all = append(all, f...)
	}
	stored[newcomers[7]] = true
	checkStored(t, b, c, stored, append(all, newcomers...)...)
}

// TestOrphanByteShare: with MaxOrphanBytes 2000 a peer's share is 250
// bytes: one empty block (149), or a single larger one. A's second orphan
// pushes out its first; when the pool is full by bytes, the peer holding
// the most bytes loses its oldest; and a block that alone would be the
// heaviest holding is not kept at all, so it evicts nobody.
func TestOrphanByteShare(t *testing.T) {
	b, c, _ := orphanFixture(t, 1, chain.Config{MaxOrphanBytes: 2000}, nil)
	small := siblingOrphans(b, "s", 9, 0) // 149 bytes
	big := siblingOrphans(b, "g", 4, 2)   // 433 bytes
	if s := b.Get(big[0]).EncodedSize(); s != 433 {
		t.Fatalf("big orphan is %d bytes", s)
	}
	offerFrom(t, b, c, "A", big[0], 1)   // over the share alone: kept
	offerFrom(t, b, c, "A", small[0], 1) // 433 + 149 > 250: big[0] goes
	checkHeld(t, b, c, small[0])
	offerFrom(t, b, c, "A", big[1], 1) // 149 + 433 > 250: small[0] goes
	checkHeld(t, b, c, big[1])

	// B, C, D, E hold 149 each, F and G 433 each: 433 + 4×149 + 2×433 = 1895.
	for i, p := range []string{"B", "C", "D", "E"} {
		offerFrom(t, b, c, p, small[1+i], 2+i)
	}
	offerFrom(t, b, c, "F", big[2], 6)
	offerFrom(t, b, c, "G", big[3], 7)
	// H's 149 makes 2044 > 2000: of the 433-byte holders, A's is oldest.
	offerFrom(t, b, c, "H", small[5], 7)
	checkHeld(t, b, c, small[1], small[2], small[3], small[4], small[5], big[2], big[3])

	// A newcomer's 575-byte block: 1611 + 575 > 2000, and alone it would
	// be the heaviest holding (the others are 149 or 433), so it is not
	// kept and evicts nobody.
	huge := siblingOrphans(b, "u", 1, 3)[0]
	if s := b.Get(huge).EncodedSize(); s != 575 {
		t.Fatalf("huge orphan is %d bytes", s)
	}
	res, err := c.ProcessBlockFrom(b.Get(huge), chain.Origin{Peer: "U"})
	if err != nil || res.Status != chain.StatusOrphan {
		t.Fatalf("huge: %v, %v", res.Status, err)
	}
	if n := c.OrphanCount(); n != 7 {
		t.Fatalf("%d orphans after the huge block, want 7 (it evicts nobody)", n)
	}
	checkHeld(t, b, c, small[1], small[2], small[3], small[4], small[5], big[2], big[3])
}

// TestOrphanExpiryPerPeer: orphans of every peer expire after the TTL as
// before, which frees the peer's share.
func TestOrphanExpiryPerPeer(t *testing.T) {
	const ttl = time.Minute
	b, c, clock := orphanFixture(t, 1, chain.Config{MaxOrphans: 16, OrphanTTL: ttl}, nil)
	xs := siblingOrphans(b, "x", 4, 0)
	hb := siblingOrphans(b, "hb", 1, 0)[0]
	offerFrom(t, b, c, "A", xs[0], 1)
	offerFrom(t, b, c, "B", hb, 2)
	clock.now = clock.now.Add(ttl / 2)
	offerFrom(t, b, c, "A", xs[1], 3)
	clock.now = clock.now.Add(ttl/2 + time.Millisecond) // xs[0] and hb are too old
	offerFrom(t, b, c, "A", xs[2], 2)                   // A holds 2: its share
	checkHeld(t, b, c, xs[1], xs[2])
	clock.now = clock.now.Add(ttl) // xs[1] too; xs[2] exactly at its TTL
	offerFrom(t, b, c, "A", xs[3], 2)
	checkHeld(t, b, c, xs[2], xs[3])
}

// TestOrphanFloodProperty: whatever the bounds (at least 3 orphans and 447
// bytes, room for two honest orphans and a third) and whatever a single
// flooding peer sends (blocks of 149 to 575 bytes, in any order), the
// orphans of two honest peers, sent first, stay, and the flooder never
// holds more than its share of orphans.
func TestOrphanFloodProperty(t *testing.T) {
	b, _, _ := orphanFixture(t, 1, chain.Config{}, nil)
	hb := siblingOrphans(b, "hb", 1, 0)[0]
	hc := siblingOrphans(b, "hc", 1, 0)[0]
	var flood []string
	for txs := range 4 {
		flood = append(flood, siblingOrphans(b, fmt.Sprintf("x%d-", txs), 12, txs)...)
	}
	start := time.UnixMilli(b.Params.GenesisTime).Add(time.Hour)
	rapid.Check(t, func(rt *rapid.T) {
		maxCount := rapid.IntRange(3, 40).Draw(rt, "maxCount")
		maxBytes := rapid.IntRange(447, 6000).Draw(rt, "maxBytes")
		order := rapid.Permutation(flood).Draw(rt, "flood")
		c, err := chain.OpenMemory(chain.Config{Params: b.Params, MaxOrphans: maxCount, MaxOrphanBytes: maxBytes,
			Now: func() time.Time { return start }})
		if err != nil {
			rt.Fatal(err)
		}
		defer c.Close()
		held := func(name string) bool {
			res, err := c.ProcessBlockFrom(b.Get(name), chain.Origin{Peer: "probe"})
			return err == nil && res.Status == chain.StatusDuplicate
		}
		for _, h := range []struct{ peer, name string }{{"B", hb}, {"C", hc}} {
			if res, err := c.ProcessBlockFrom(b.Get(h.name), chain.Origin{Peer: h.peer}); err != nil || res.Status != chain.StatusOrphan {
				rt.Fatalf("%s: %v, %v", h.name, res.Status, err)
			}
		}
		share := max(1, maxCount/8)
		for i, name := range order {
			if res, err := c.ProcessBlockFrom(b.Get(name), chain.Origin{Peer: "A"}); err != nil || res.Status != chain.StatusOrphan {
				rt.Fatalf("flood %d (%s): %v, %v", i, name, res.Status, err)
			}
			if !held(hb) || !held(hc) {
				rt.Fatalf("after flood %d (%s, %d bytes): an honest orphan was evicted", i, name, b.Get(name).EncodedSize())
			}
			if a := c.OrphanCount() - 2; a < 0 || a > share {
				rt.Fatalf("after flood %d: the flooder holds %d orphans, share %d", i, a, share)
			}
		}
	})
}
