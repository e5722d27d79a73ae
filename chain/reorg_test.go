package chain_test

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"pgregory.net/rapid"
)

// Reorganisation tests (acceptance item 4). Each scenario is a script of
// named blocks drawn as a diagram; after every step the tip, its state
// (account by account, against chaintest's independent model), the state
// root recomputed from scratch and the indexes are checked (CheckTip, which
// also runs Verify). Branches carry txs, some shared between branches and
// some from a sender whose nonce sequence differs between branches, so that
// disconnecting really has to undo.

var (
	reorgAlice = chaintest.Key("alice").Address()
	reorgBob   = chaintest.Key("bob").Address()
	reorgCarol = chaintest.Key("carol").Address()
	reorgDave  = chaintest.Key("dave").Address()
)

// reorgScript is one scripted chain: a builder, a chain on an in-memory
// database and the names of the blocks built, for messages.
type reorgScript struct {
	t     *testing.T
	g     *chaintest.Builder
	c     *chain.Chain
	names map[types.Hash]string
}

func newReorgScript(t *testing.T) *reorgScript {
	g := chaintest.New(t)
	s := &reorgScript{t: t, g: g, names: map[types.Hash]string{g.Hash("genesis"): "genesis"}}
	return s
}

// open opens the chain once the blocks are built.
func (s *reorgScript) open() *chain.Chain {
	s.c = s.g.Open(chain.Config{})
	return s.c
}

// block builds the named child of parent and records its name.
func (s *reorgScript) block(name, parent string, gen func(g *chaintest.BlockGen)) *types.Block {
	s.t.Helper()
	blk := s.g.Block(name, parent, gen)
	s.names[blk.Hash()] = name
	return blk
}

// chain builds n blocks prefix+height on top of parent, calling gen (if not
// nil) with each block's height.
func (s *reorgScript) chain(prefix, parent string, n int, gen func(h uint64, g *chaintest.BlockGen)) {
	s.t.Helper()
	h := s.g.Get(parent).Header.Height
	for i := 0; i < n; i++ {
		h++
		name := fmt.Sprintf("%s%d", prefix, h)
		var f func(g *chaintest.BlockGen)
		if gen != nil {
			f = func(g *chaintest.BlockGen) { gen(h, g) }
		}
		s.block(name, parent, f)
		parent = name
	}
}

func (s *reorgScript) name(h types.Hash) string {
	if n, ok := s.names[h]; ok {
		return n
	}
	return h.String()[:12]
}

func (s *reorgScript) blockNames(blks []*types.Block) []string {
	out := make([]string, len(blks))
	for i, b := range blks {
		out[i] = s.name(b.Hash())
	}
	return out
}

// process feeds the named block and checks the status and the blocks
// disconnected (old tip first) and connected (in order).
func (s *reorgScript) process(name string, want chain.ProcessStatus, disconnected, connected []string) chain.Result {
	s.t.Helper()
	res, err := s.c.ProcessBlock(s.g.Get(name))
	if err != nil {
		s.t.Fatalf("process %s: %v", name, err)
	}
	if res.Status != want {
		s.t.Fatalf("process %s: status %v, want %v", name, res.Status, want)
	}
	if got := s.blockNames(res.Disconnected); !slices.Equal(got, disconnected) && len(got)+len(disconnected) > 0 {
		s.t.Fatalf("process %s: disconnected %v, want %v", name, got, disconnected)
	}
	if got := s.blockNames(res.Connected); !slices.Equal(got, connected) && len(got)+len(connected) > 0 {
		s.t.Fatalf("process %s: connected %v, want %v", name, got, connected)
	}
	return res
}

// connect feeds blocks that each extend the tip.
func (s *reorgScript) connect(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.process(n, chain.StatusConnected, nil, []string{n})
	}
}

// side feeds blocks that each land on a branch with no more work than the
// tip.
func (s *reorgScript) side(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.process(n, chain.StatusSideChain, nil, nil)
	}
}

// refuse feeds the named block and wants an error matching target (an
// error, or a *consensus.RuleError with the wanted code).
func (s *reorgScript) refuse(name string, target error) {
	s.t.Helper()
	res, err := s.c.ProcessBlock(s.g.Get(name))
	if !errors.Is(err, target) {
		s.t.Fatalf("process %s: %v (status %v), want %v", name, err, res.Status, target)
	}
}

// txIn checks the tx index: tx is at the named main-chain block, or, with
// block "", on no main-chain block.
func (s *reorgScript) txIn(tx *types.Tx, block string) {
	s.t.Helper()
	loc, err := s.c.TxLocation(tx.ID())
	if block == "" {
		if !errors.Is(err, chain.ErrNotFound) {
			s.t.Fatalf("tx %s: at %s (%v), want not on the main chain", tx.ID(), s.name(loc.Block), err)
		}
		return
	}
	if err != nil {
		s.t.Fatalf("tx %s: %v, want in %s", tx.ID(), err, block)
	}
	blk := s.g.Get(block)
	if loc.Block != blk.Hash() || loc.Height != blk.Header.Height || blk.Txs[loc.Index].ID() != tx.ID() {
		s.t.Fatalf("tx %s: at %s height %d index %d, want in %s", tx.ID(), s.name(loc.Block), loc.Height, loc.Index, block)
	}
}

// mainChain checks that the main chain is exactly the named blocks above
// genesis, and that each of them is marked on the main chain.
func (s *reorgScript) mainChain(names ...string) {
	s.t.Helper()
	if tip := s.c.Tip(); tip.Height != uint64(len(names)) {
		s.t.Fatalf("tip at height %d, want %d", tip.Height, len(names))
	}
	for i, n := range names {
		info, err := s.c.HeaderByHeight(uint64(i + 1))
		if err != nil || info.Hash != s.g.Hash(n) || !info.MainChain {
			s.t.Fatalf("height %d: %s (%v), want %s", i+1, s.name(info.Hash), err, n)
		}
	}
}

func reorgSeq(prefix string, from, to int) []string {
	var out []string
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
	} else {
		for i := from; i >= to; i-- {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
	}
	return out
}

// TestReorgOneBlock: a 1-block reorg.
//
//	genesis -> a1 -> a2              a2: alice->carol (tx S), bob->dave, bob->alice
//	             \-> b2 -> b3        b2: tx S again, bob->carol (bob's nonce 0 is
//	                                 another tx); b3 makes b heavier
func TestReorgOneBlock(t *testing.T) {
	s := newReorgScript(t)
	var a1tx, shared, a2bob0, a2bob1, b2bob0, b2carol, b3bob1 *types.Tx
	s.block("a1", "genesis", func(g *chaintest.BlockGen) { a1tx = g.Pay("alice", reorgBob, 1000, 10) })
	s.block("a2", "a1", func(g *chaintest.BlockGen) {
		shared = g.Pay("alice", reorgCarol, 500, 5)
		a2bob0 = g.Pay("bob", reorgDave, 100, 1)
		a2bob1 = g.Pay("bob", reorgAlice, 50, 2)
	})
	s.block("b2", "a1", func(g *chaintest.BlockGen) {
		g.Txs = append(g.Txs, shared)
		b2bob0 = g.Pay("bob", reorgCarol, 700, 3)
		b2carol = g.Pay("carol", reorgBob, 1, 1)
	})
	s.block("b3", "b2", func(g *chaintest.BlockGen) {
		b3bob1 = g.Pay("bob", reorgDave, 3, 1)
		g.Pay("alice", reorgBob, 9, 1)
	})
	c := s.open()

	s.connect("a1", "a2")
	s.g.CheckTip(c, "a2")
	s.txIn(a2bob0, "a2")
	s.side("b2")
	s.g.CheckTip(c, "a2")
	s.txIn(shared, "a2")
	s.txIn(b2carol, "")

	s.process("b3", chain.StatusConnected, []string{"a2"}, []string{"b2", "b3"})
	s.g.CheckTip(c, "b3")
	s.mainChain("a1", "b2", "b3")
	s.txIn(a1tx, "a1")
	s.txIn(shared, "b2")
	s.txIn(a2bob0, "")
	s.txIn(a2bob1, "")
	s.txIn(b2bob0, "b2")
	s.txIn(b2carol, "b2")
	s.txIn(b3bob1, "b3")
	if acc, _ := c.Account(reorgBob); acc.Nonce != 2 {
		t.Fatalf("bob's nonce %d after the reorg, want 2 (b branch)", acc.Nonce)
	}
	for name, main := range map[string]bool{"a2": false, "b2": true, "b3": true} {
		info, err := c.Header(s.g.Hash(name))
		if err != nil || info.MainChain != main || !info.Valid || !info.HasData || info.Invalid {
			t.Fatalf("Header(%s) = %+v, %v; want MainChain %v, valid, with data", name, info, err, main)
		}
	}
}

// reorgDeepScript builds a 100-block main chain and a 101-block branch from
// genesis, both with txs:
//
//	genesis -> a1 -> a2 -> ... -> a100                (main: 100 blocks)
//	       \-> b1 -> b2 -> ... -> b100 -> b101        (heavier: 100-block reorg)
//
// alice, bob and carol send one or two txs per a-block and one to three per
// b-block, in another rotation, so their nonce sequences differ between the
// branches. dave sends only in a1 and a50, and b1 and b50 repeat those very
// txs, so they stay confirmed (at a new place) through the reorg.
func reorgDeepScript(t *testing.T) (s *reorgScript, a1tx, a50tx, a99tx *types.Tx) {
	s = newReorgScript(t)
	w := chaintest.Wallets[:3]
	atx := map[uint64]*types.Tx{}
	s.chain("a", "genesis", 100, func(h uint64, g *chaintest.BlockGen) {
		if h == 1 || h == 50 {
			atx[h] = g.Pay("dave", reorgCarol, 5000+h, 3)
		}
		from, to := w[h%3], chaintest.Key(w[(h+1)%3]).Address()
		tx := g.Pay(from, to, 1000+h, 1+h%7)
		if atx[h] == nil {
			atx[h] = tx
		}
		if h%4 == 0 {
			g.Pay(from, reorgDave, h, 1)
		}
	})
	s.chain("b", "genesis", 101, func(h uint64, g *chaintest.BlockGen) {
		if h == 1 || h == 50 {
			g.Txs = append(g.Txs, atx[h])
		}
		for k := uint64(0); k <= h%3; k++ {
			g.Pay(w[(h+k+2)%3], chaintest.Key(w[(h+k)%3]).Address(), 7*h+k, 2)
		}
	})
	if s.g.State("b50") == nil || s.g.State("b101") == nil {
		t.Fatal("the b branch is invalid in the model: the shared txs do not fit")
	}
	return s, atx[1], atx[50], atx[99]
}

// TestReorgDeep: a 100-block reorg, the branch delivered in order and, in
// a second chain, its last 34 blocks backwards (held as orphans until b67
// arrives).
func TestReorgDeep(t *testing.T) {
	t.Run("in order", func(t *testing.T) {
		s, a1tx, a50tx, a99tx := reorgDeepScript(t)
		c := s.open()
		s.connect(reorgSeq("a", 1, 100)...)
		s.g.CheckTip(c, "a100")
		s.txIn(a99tx, "a99")
		s.side(reorgSeq("b", 1, 100)...)
		s.g.CheckTip(c, "a100")
		s.process("b101", chain.StatusConnected, reorgSeq("a", 100, 1), reorgSeq("b", 1, 101))
		s.g.CheckTip(c, "b101")
		s.mainChain(reorgSeq("b", 1, 101)...)
		s.txIn(a1tx, "b1")
		s.txIn(a50tx, "b50")
		s.txIn(a99tx, "")
	})
	t.Run("branch as orphans", func(t *testing.T) {
		s, a1tx, a50tx, a99tx := reorgDeepScript(t)
		c := s.open()
		s.connect(reorgSeq("a", 1, 100)...)
		// Orphans are held only within 32 blocks of the tip's height:
		// b101 down to b68; the rest of the branch comes in order.
		for _, n := range reorgSeq("b", 101, 68) {
			s.process(n, chain.StatusOrphan, nil, nil)
		}
		if n := c.OrphanCount(); n != 34 {
			t.Fatalf("%d orphans, want 34", n)
		}
		s.side(reorgSeq("b", 1, 66)...)
		s.g.CheckTip(c, "a100")
		s.process("b67", chain.StatusConnected, reorgSeq("a", 100, 1), reorgSeq("b", 1, 101))
		if n := c.OrphanCount(); n != 0 {
			t.Fatalf("%d orphans left, want 0", n)
		}
		s.g.CheckTip(c, "b101")
		s.mainChain(reorgSeq("b", 1, 101)...)
		s.txIn(a1tx, "b1")
		s.txIn(a50tx, "b50")
		s.txIn(a99tx, "")
	})
}

// reorgBreak makes a block invalid in a way only the state check finds:
// its header and body rules all pass.
type reorgBreak struct {
	name string
	gen  func(s *reorgScript, g *chaintest.BlockGen)
	code consensus.ErrorCode
}

var reorgBreaks = []reorgBreak{
	{"insufficient balance", func(s *reorgScript, g *chaintest.BlockGen) {
		g.Pay("carol", reorgBob, 5, 1)
		g.Pay("dave", reorgAlice, 3*chaintest.GenesisFunds, 1)
	}, consensus.ErrInsufficientBalance},
	{"wrong nonce", func(s *reorgScript, g *chaintest.BlockGen) {
		g.Pay("carol", reorgBob, 5, 1)
		g.Txs = append(g.Txs, s.g.Tx("alice", reorgBob, 1, 1, 7))
	}, consensus.ErrWrongNonce},
	{"wrong state root", func(s *reorgScript, g *chaintest.BlockGen) {
		g.Pay("carol", reorgBob, 5, 1)
		g.KeepStateRoot = true
		g.Header.StateRoot = types.Sum([]byte("not the state"))
	}, consensus.ErrBadStateRoot},
}

// TestReorgInvalidInHeavierBranch: the heavier branch has an invalid block
// in its middle; the node ends on the best valid chain, the invalid block
// and its descendants are marked invalid and a later child is refused.
func TestReorgInvalidInHeavierBranch(t *testing.T) {
	for _, br := range reorgBreaks {
		// The valid prefix b2-b3 has less work than a4: the node stays on
		// a4. The branch is stored block by block (each with no more work
		// than a4) until b5 makes it heavier; the reorg then connects b2 and
		// b3 and finds b4 invalid. Later c4-c5, a valid sibling, wins.
		//
		//	genesis -> a1 -> a2 -> a3 -> a4                 (main, stays)
		//	             \-> b2 -> b3 -> b4 -> b5 -> b6     (b4 invalid; b6 comes later)
		//	                          \-> c4 -> c5          (valid: reorg to c5)
		t.Run(br.name+"/valid prefix lighter", func(t *testing.T) {
			s := newReorgScript(t)
			s.chain("a", "genesis", 4, func(h uint64, g *chaintest.BlockGen) { g.Pay("alice", reorgCarol, h, 1) })
			s.block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("alice", reorgDave, 20, 2) })
			s.block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 30, 2) })
			s.block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			s.block("b5", "b4", func(g *chaintest.BlockGen) { g.Pay("dave", reorgCarol, 1, 1) })
			s.block("b6", "b5", nil)
			s.block("c4", "b3", func(g *chaintest.BlockGen) { g.Pay("carol", reorgAlice, 40, 3) })
			s.block("c5", "c4", func(g *chaintest.BlockGen) { g.Pay("alice", reorgCarol, 50, 3) })
			c := s.open()

			s.connect("a1", "a2", "a3", "a4")
			s.side("b2", "b3", "b4")
			s.refuse("b5", &consensus.RuleError{Code: consensus.ErrInvalidAncestor})
			s.g.CheckTip(c, "a4")
			for name, invalid := range map[string]bool{"b2": false, "b3": false, "b4": true, "b5": true} {
				info, err := c.Header(s.g.Hash(name))
				if err != nil || info.Invalid != invalid || info.MainChain {
					t.Fatalf("Header(%s) = %+v, %v; want Invalid %v, off the main chain", name, info, err, invalid)
				}
			}
			s.refuse("b6", &consensus.RuleError{Code: consensus.ErrInvalidAncestor})
			s.refuse("b6", chain.ErrKnownInvalid)
			s.refuse("b5", chain.ErrKnownInvalid)
			s.refuse("b4", chain.ErrKnownInvalid)
			s.g.CheckTip(c, "a4")

			s.side("c4")
			s.process("c5", chain.StatusConnected, []string{"a4", "a3", "a2"}, []string{"b2", "b3", "c4", "c5"})
			s.g.CheckTip(c, "c5")
			s.mainChain("a1", "b2", "b3", "c4", "c5")
		})

		// The valid prefix b2-b3 has more work than a2: the node ends on b3.
		// The branch arrives backwards (as from a peer answering out of
		// order): b6..b3 wait as orphans, b2 connects them; b3 wins, b4 is
		// found invalid on top of it and its waiting descendants are refused.
		//
		//	genesis -> a1 -> a2                           (main until b3)
		//	             \-> b2 -> b3 -> b4 -> b5 -> b6   (b4 invalid: tip b3)
		t.Run(br.name+"/valid prefix heavier", func(t *testing.T) {
			s := newReorgScript(t)
			s.chain("a", "genesis", 2, func(h uint64, g *chaintest.BlockGen) { g.Pay("bob", reorgCarol, h, 1) })
			s.block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 20, 2) })
			s.block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 30, 2) })
			s.block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			s.block("b5", "b4", nil)
			s.block("b6", "b5", nil)
			s.block("b5x", "b4", func(g *chaintest.BlockGen) { g.Header.Time++ })
			c := s.open()

			s.connect("a1", "a2")
			for _, n := range []string{"b6", "b5", "b4", "b3"} {
				s.process(n, chain.StatusOrphan, nil, nil)
			}
			s.process("b2", chain.StatusConnected, []string{"a2"}, []string{"b2", "b3"})
			s.g.CheckTip(c, "b3")
			if n := c.OrphanCount(); n != 0 {
				t.Fatalf("%d orphans left: descendants of the invalid b4 are still held", n)
			}
			s.refuse("b4", chain.ErrKnownInvalid)
			s.refuse("b5", chain.ErrKnownInvalid)
			s.refuse("b5x", &consensus.RuleError{Code: consensus.ErrInvalidAncestor})
			if n := c.OrphanCount(); n != 0 {
				t.Fatalf("%d orphans: a child of the invalid b4 was held", n)
			}
			s.g.CheckTip(c, "b3")
			s.mainChain("a1", "b2", "b3")
		})
	}

	// The invalid block itself is the one that makes its branch heavier:
	// ProcessBlock refuses it with its own rule code.
	//
	//	genesis -> a1 -> a2 -> a3
	//	             \-> b2 -> b3 -> b4     (b4 invalid)
	for _, br := range reorgBreaks {
		t.Run(br.name+"/invalid block is the heaviest", func(t *testing.T) {
			s := newReorgScript(t)
			s.chain("a", "genesis", 3, nil)
			s.block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("alice", reorgDave, 20, 2) })
			s.block("b3", "b2", nil)
			s.block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			c := s.open()
			s.connect("a1", "a2", "a3")
			s.side("b2", "b3")
			s.refuse("b4", &consensus.RuleError{Code: br.code})
			s.refuse("b4", chain.ErrKnownInvalid)
			s.g.CheckTip(c, "a3")
			if info, err := c.Header(s.g.Hash("b4")); err != nil || !info.Invalid {
				t.Fatalf("Header(b4) = %+v, %v; want Invalid", info, err)
			}
		})
	}
}

// TestReorgEqualWorkTie: on equal work the block seen first stays the tip;
// one more block on the other branch switches.
//
//	genesis -> a1 -> a2
//	             \-> b2 -> b3
func TestReorgEqualWorkTie(t *testing.T) {
	build := func(t *testing.T) *reorgScript {
		s := newReorgScript(t)
		s.block("a1", "genesis", func(g *chaintest.BlockGen) { g.Pay("alice", reorgBob, 10, 1) })
		s.block("a2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgCarol, 3, 1) })
		s.block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 4, 1); g.Pay("bob", reorgDave, 5, 1) })
		s.block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("dave", reorgCarol, 6, 1) })
		s.open()
		s.connect("a1")
		return s
	}
	t.Run("a2 first", func(t *testing.T) {
		s := build(t)
		s.connect("a2")
		s.side("b2")
		s.g.CheckTip(s.c, "a2")
		s.process("b3", chain.StatusConnected, []string{"a2"}, []string{"b2", "b3"})
		s.g.CheckTip(s.c, "b3")
	})
	t.Run("b2 first", func(t *testing.T) {
		s := build(t)
		s.connect("b2")
		s.side("a2")
		s.g.CheckTip(s.c, "b2")
		s.connect("b3")
		s.g.CheckTip(s.c, "b3")
	})
}

// TestReorgBackAndForth: the tip moves between two branches four times,
// each time over an equal-work block of the other branch first. On a, alice
// pays bob once per block; on b, alice pays carol twice per block, so
// alice's nonce sequences differ; a2 and b2 share dave's tx.
//
//	genesis -> a1 -> a2 -> a3 -> a4 -> a5 -> a6 -> a7
//	             \-> b2 -> b3 -> b4 -> b5 -> b6
func TestReorgBackAndForth(t *testing.T) {
	s := newReorgScript(t)
	var shared *types.Tx
	s.block("a1", "genesis", func(g *chaintest.BlockGen) { g.Pay("carol", reorgDave, 77, 1) })
	s.chain("a", "a1", 6, func(h uint64, g *chaintest.BlockGen) {
		if h == 2 {
			shared = g.Pay("dave", reorgCarol, 1234, 4)
		}
		g.Pay("alice", reorgBob, 100*h, 1)
	})
	s.chain("b", "a1", 5, func(h uint64, g *chaintest.BlockGen) {
		if h == 2 {
			g.Txs = append(g.Txs, shared)
		}
		g.Pay("alice", reorgCarol, 10*h, 2)
		g.Pay("alice", reorgCarol, 10*h+1, 2)
		if h == 4 {
			g.Pay("dave", reorgBob, 5, 1)
		}
	})
	c := s.open()

	s.connect("a1", "a2", "a3")
	s.side("b2", "b3")
	s.g.CheckTip(c, "a3")
	s.process("b4", chain.StatusConnected, []string{"a3", "a2"}, []string{"b2", "b3", "b4"})
	s.g.CheckTip(c, "b4")
	s.txIn(shared, "b2")

	s.side("a4")
	s.process("a5", chain.StatusConnected, []string{"b4", "b3", "b2"}, []string{"a2", "a3", "a4", "a5"})
	s.g.CheckTip(c, "a5")
	s.txIn(shared, "a2")

	s.side("b5")
	s.process("b6", chain.StatusConnected, []string{"a5", "a4", "a3", "a2"}, []string{"b2", "b3", "b4", "b5", "b6"})
	s.g.CheckTip(c, "b6")
	s.mainChain("a1", "b2", "b3", "b4", "b5", "b6")

	s.side("a6")
	s.process("a7", chain.StatusConnected, []string{"b6", "b5", "b4", "b3", "b2"}, reorgSeq("a", 2, 7))
	s.g.CheckTip(c, "a7")
	s.mainChain(reorgSeq("a", 1, 7)...)
	s.txIn(shared, "a2")
	if acc, _ := c.Account(reorgAlice); acc.Nonce != 6 {
		t.Fatalf("alice's nonce %d, want 6 (one tx in each of a2..a7)", acc.Nonce)
	}
}

// rapidTB lets chaintest report through a rapid.T: failures go to rapid
// (so that it can shrink), the rest to the enclosing test.
type rapidTB struct {
	testing.TB
	rt *rapid.T
}

func (r rapidTB) Helper()                   { r.rt.Helper() }
func (r rapidTB) Fatalf(f string, a ...any) { r.rt.Fatalf(f, a...) }
func (r rapidTB) Fatal(a ...any)            { r.rt.Fatal(a...) }
func (r rapidTB) Errorf(f string, a ...any) { r.rt.Errorf(f, a...) }
func (r rapidTB) Error(a ...any)            { r.rt.Error(a...) }
func (r rapidTB) Logf(f string, a ...any)   { r.rt.Logf(f, a...) }

// TestReorgRandomTree is a property test: a random tree of blocks with
// random txs, some blocks invalid (found only by the state check), is
// delivered in a random order, orphans included. At the end the tip must be
// the most-work valid block, the first stored on a tie, and its state must
// be the model's.
//
// The expected tip is computed here from the delivery order alone. A block
// is stored when it and its parent are both delivered, its waiting orphans
// right after it, breadth first; invalid blocks and their descendants never
// count. Among valid blocks of the most work, the first stored wins.
func TestReorgRandomTree(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		g := chaintest.New(rapidTB{TB: t, rt: rt})
		n := rapid.IntRange(1, 24).Draw(rt, "blocks")
		names := []string{"genesis"}
		parent := []int{-1}
		valid := []bool{true}
		work := []*big.Int{new(big.Int)}
		index := map[types.Hash]int{g.Hash("genesis"): 0}
		for i := 1; i <= n; i++ {
			p := i - 1
			if !rapid.Bool().Draw(rt, fmt.Sprintf("extend%d", i)) {
				p = rapid.IntRange(0, i-1).Draw(rt, fmt.Sprintf("parent%d", i))
			}
			ntx := rapid.IntRange(0, 3).Draw(rt, fmt.Sprintf("txs%d", i))
			bad := rapid.IntRange(0, 9).Draw(rt, fmt.Sprintf("bad%d", i)) == 0
			name := fmt.Sprintf("n%d", i)
			blk := g.Block(name, names[p], func(bg *chaintest.BlockGen) {
				// A miner of its own keeps siblings with the same txs apart.
				mh := types.Sum([]byte(name))
				bg.Header.Miner = types.Address(mh[:types.AddressSize])
				for k := 0; k < ntx; k++ {
					from := rapid.SampledFrom(chaintest.Wallets).Draw(rt, "from")
					to := chaintest.Key(rapid.SampledFrom(chaintest.Wallets).Draw(rt, "to")).Address()
					bg.Pay(from, to, rapid.Uint64Range(1, 1000).Draw(rt, "amount"), rapid.Uint64Range(0, 3).Draw(rt, "fee"))
				}
				if bad {
					bg.Pay("carol", reorgBob, 2*chaintest.GenesisFunds, 1)
				}
			})
			names = append(names, name)
			index[blk.Hash()] = i
			parent = append(parent, p)
			valid = append(valid, valid[p] && !bad && g.State(name) != nil)
			work = append(work, new(big.Int).Add(work[p], consensus.CalcWork(blk.Header.Bits)))
		}
		order := rapid.Permutation(seqInts(1, n)).Draw(rt, "order")

		c, err := chain.OpenMemory(chain.Config{Params: g.Params})
		if err != nil {
			rt.Fatal(err)
		}
		defer c.Close()

		stored := map[int]bool{0: true}
		waiting := map[int][]int{}
		var storeOrder []int
		for _, i := range order {
			res, err := c.ProcessBlock(g.Get(names[i]))
			rt.Logf("deliver %s (parent %s, valid %v): %v, %v; tip at %d", names[i], names[parent[i]], valid[i], res.Status, err, c.Tip().Height)
			if valid[i] && err != nil {
				rt.Fatalf("valid %s (parent %s): %v", names[i], names[parent[i]], err)
			}
			for _, b := range res.Connected {
				if j, ok := index[b.Hash()]; !ok || !valid[j] {
					rt.Fatalf("delivering %s connected invalid block %s", names[i], b.Hash())
				}
			}
			if !valid[i] {
				continue
			}
			if !stored[parent[i]] {
				waiting[parent[i]] = append(waiting[parent[i]], i)
				continue
			}
			queue := []int{i}
			for len(queue) > 0 {
				j := queue[0]
				queue = queue[1:]
				stored[j] = true
				storeOrder = append(storeOrder, j)
				queue = append(queue, waiting[j]...)
				delete(waiting, j)
			}
		}
		best := 0
		for _, j := range storeOrder {
			if work[j].Cmp(work[best]) > 0 {
				best = j
			}
		}
		if tip := c.Tip(); tip.Hash != g.Hash(names[best]) {
			got, ok := index[tip.Hash]
			rt.Fatalf("tip %s (%d, %v) at height %d, want %s (store order %v)", tip.Hash, got, ok, tip.Height, names[best], storeOrder)
		}
		g.CheckTip(c, names[best])
		for i := 1; i <= n; i++ {
			info, err := c.Header(g.Hash(names[i]))
			switch {
			case valid[i] && (err != nil || info.Invalid || !info.HasData):
				rt.Fatalf("valid %s: %+v, %v", names[i], info, err)
			case !valid[i] && err == nil && info.Valid:
				rt.Fatalf("invalid %s is marked valid", names[i])
			}
		}
		if n := c.OrphanCount(); n != 0 {
			rt.Fatalf("%d orphans left though every block was delivered", n)
		}
		if err := c.Verify(); err != nil {
			rt.Fatal(err)
		}
	})
}

func seqInts(from, to int) []int {
	out := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}
