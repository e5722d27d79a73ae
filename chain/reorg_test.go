package chain_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"pgregory.net/rapid"
)

// Reorganisation tests (acceptance item 4). Each scenario is a script of
// named blocks drawn as a diagram (chaintest.Script): steps say what each
// delivery must do, and ExpectTip steps check the tip, its state (account
// by account, against chaintest's independent model), the state root
// recomputed from scratch and the indexes (CheckTip, which also runs
// Verify). Branches carry txs, some shared between branches and some from
// a sender whose nonce sequence differs between branches, so that
// disconnecting really has to undo.

var (
	reorgAlice = chaintest.Key("alice").Address()
	reorgBob   = chaintest.Key("bob").Address()
	reorgCarol = chaintest.Key("carol").Address()
	reorgDave  = chaintest.Key("dave").Address()
)

// TestScripts replays chaintest's shared consensus scripts against a chain
// directly; node/nodetest replays the same ones through gossip and sync.
func TestScripts(t *testing.T) {
	for _, sc := range chaintest.Scripts() {
		t.Run(sc.Name, func(t *testing.T) {
			s := sc.Build(t)
			s.Play(s.Open(chain.Config{}))
		})
	}
}

// TestReorgOneBlock: a 1-block reorg.
//
//	genesis -> a1 -> a2              a2: alice->carol (tx S), bob->dave, bob->alice
//	             \-> b2 -> b3        b2: tx S again, bob->carol (bob's nonce 0 is
//	                                 another tx); b3 makes b heavier
func TestReorgOneBlock(t *testing.T) {
	s := chaintest.NewScript(t, "one-block reorg")
	var a1tx, shared, a2bob0, a2bob1, b2bob0, b2carol, b3bob1 *types.Tx
	s.Block("a1", "genesis", func(g *chaintest.BlockGen) { a1tx = g.Pay("alice", reorgBob, 1000, 10) })
	s.Block("a2", "a1", func(g *chaintest.BlockGen) {
		shared = g.Pay("alice", reorgCarol, 500, 5)
		a2bob0 = g.Pay("bob", reorgDave, 100, 1)
		a2bob1 = g.Pay("bob", reorgAlice, 50, 2)
	})
	s.Block("b2", "a1", func(g *chaintest.BlockGen) {
		g.Txs = append(g.Txs, shared)
		b2bob0 = g.Pay("bob", reorgCarol, 700, 3)
		b2carol = g.Pay("carol", reorgBob, 1, 1)
	})
	s.Block("b3", "b2", func(g *chaintest.BlockGen) {
		b3bob1 = g.Pay("bob", reorgDave, 3, 1)
		g.Pay("alice", reorgBob, 9, 1)
	})
	c := s.Open(chain.Config{})

	s.Connect("a1", "a2")
	s.ExpectTip("a2")
	s.Play(c)
	s.CheckTx(c, a2bob0, "a2")
	s.Side("b2")
	s.ExpectTip("a2")
	s.Play(c)
	s.CheckTx(c, shared, "a2")
	s.CheckTx(c, b2carol, "")

	s.Reorg("b3", []string{"a2"}, []string{"b2", "b3"})
	s.ExpectTip("b3")
	s.Play(c)
	s.CheckMainChain(c, "a1", "b2", "b3")
	s.CheckTx(c, a1tx, "a1")
	s.CheckTx(c, shared, "b2")
	s.CheckTx(c, a2bob0, "")
	s.CheckTx(c, a2bob1, "")
	s.CheckTx(c, b2bob0, "b2")
	s.CheckTx(c, b2carol, "b2")
	s.CheckTx(c, b3bob1, "b3")
	if acc, _ := c.Account(reorgBob); acc.Nonce != 2 {
		t.Fatalf("bob's nonce %d after the reorg, want 2 (b branch)", acc.Nonce)
	}
	for name, main := range map[string]bool{"a2": false, "b2": true, "b3": true} {
		info, err := c.Header(s.Hash(name))
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
func reorgDeepScript(t *testing.T) (s *chaintest.Script, a1tx, a50tx, a99tx *types.Tx) {
	s = chaintest.NewScript(t, "100-block reorg")
	w := chaintest.Wallets[:3]
	atx := map[uint64]*types.Tx{}
	s.Branch("a", "genesis", 100, func(h uint64, g *chaintest.BlockGen) {
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
	s.Branch("b", "genesis", 101, func(h uint64, g *chaintest.BlockGen) {
		if h == 1 || h == 50 {
			g.Txs = append(g.Txs, atx[h])
		}
		for k := uint64(0); k <= h%3; k++ {
			g.Pay(w[(h+k+2)%3], chaintest.Key(w[(h+k)%3]).Address(), 7*h+k, 2)
		}
	})
	if s.State("b50") == nil || s.State("b101") == nil {
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
		c := s.Open(chain.Config{})
		s.Connect(chaintest.Seq("a", 1, 100)...)
		s.ExpectTip("a100")
		s.Play(c)
		s.CheckTx(c, a99tx, "a99")
		s.Side(chaintest.Seq("b", 1, 100)...)
		s.ExpectTip("a100")
		s.Reorg("b101", chaintest.Seq("a", 100, 1), chaintest.Seq("b", 1, 101))
		s.ExpectTip("b101")
		s.Play(c)
		s.CheckMainChain(c, chaintest.Seq("b", 1, 101)...)
		s.CheckTx(c, a1tx, "b1")
		s.CheckTx(c, a50tx, "b50")
		s.CheckTx(c, a99tx, "")
	})
	t.Run("branch as orphans", func(t *testing.T) {
		s, a1tx, a50tx, a99tx := reorgDeepScript(t)
		c := s.Open(chain.Config{})
		s.Connect(chaintest.Seq("a", 1, 100)...)
		// Orphans are held only within 32 blocks of the tip's height:
		// b101 down to b68; the rest of the branch comes in order.
		s.Orphan(chaintest.Seq("b", 101, 68)...)
		s.Play(c)
		if n := c.OrphanCount(); n != 34 {
			t.Fatalf("%d orphans, want 34", n)
		}
		s.Side(chaintest.Seq("b", 1, 66)...)
		s.ExpectTip("a100")
		s.Reorg("b67", chaintest.Seq("a", 100, 1), chaintest.Seq("b", 1, 101))
		s.ExpectTip("b101")
		s.Play(c)
		if n := c.OrphanCount(); n != 0 {
			t.Fatalf("%d orphans left, want 0", n)
		}
		s.CheckMainChain(c, chaintest.Seq("b", 1, 101)...)
		s.CheckTx(c, a1tx, "b1")
		s.CheckTx(c, a50tx, "b50")
		s.CheckTx(c, a99tx, "")
	})
}

// reorgBreak makes a block invalid in a way only the state check finds:
// its header and body rules all pass.
type reorgBreak struct {
	name string
	gen  func(s *chaintest.Script, g *chaintest.BlockGen)
	code consensus.ErrorCode
}

var reorgBreaks = []reorgBreak{
	{"insufficient balance", func(s *chaintest.Script, g *chaintest.BlockGen) {
		g.Pay("carol", reorgBob, 5, 1)
		g.Pay("dave", reorgAlice, 3*chaintest.GenesisFunds, 1)
	}, consensus.ErrInsufficientBalance},
	{"wrong nonce", func(s *chaintest.Script, g *chaintest.BlockGen) {
		g.Pay("carol", reorgBob, 5, 1)
		g.Txs = append(g.Txs, s.Tx("alice", reorgBob, 1, 1, 7))
	}, consensus.ErrWrongNonce},
	{"wrong state root", func(s *chaintest.Script, g *chaintest.BlockGen) {
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
			s := chaintest.NewScript(t, br.name)
			s.Branch("a", "genesis", 4, func(h uint64, g *chaintest.BlockGen) { g.Pay("alice", reorgCarol, h, 1) })
			s.Block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("alice", reorgDave, 20, 2) })
			s.Block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 30, 2) })
			s.Block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			s.Block("b5", "b4", func(g *chaintest.BlockGen) { g.Pay("dave", reorgCarol, 1, 1) })
			s.Block("b6", "b5", nil)
			s.Block("c4", "b3", func(g *chaintest.BlockGen) { g.Pay("carol", reorgAlice, 40, 3) })
			s.Block("c5", "c4", func(g *chaintest.BlockGen) { g.Pay("alice", reorgCarol, 50, 3) })
			c := s.Open(chain.Config{})

			s.Connect("a1", "a2", "a3", "a4")
			s.Side("b2", "b3", "b4")
			s.Reject("b5", consensus.ErrInvalidAncestor)
			s.ExpectTip("a4")
			s.Play(c)
			for name, invalid := range map[string]bool{"b2": false, "b3": false, "b4": true, "b5": true} {
				info, err := c.Header(s.Hash(name))
				if err != nil || info.Invalid != invalid || info.MainChain {
					t.Fatalf("Header(%s) = %+v, %v; want Invalid %v, off the main chain", name, info, err, invalid)
				}
			}
			s.Reject("b6", consensus.ErrInvalidAncestor)
			s.RejectKnown("b6")
			s.RejectKnown("b5")
			s.RejectKnown("b4")
			s.ExpectTip("a4")

			s.Side("c4")
			s.Reorg("c5", []string{"a4", "a3", "a2"}, []string{"b2", "b3", "c4", "c5"})
			s.ExpectTip("c5")
			s.Play(c)
			s.CheckMainChain(c, "a1", "b2", "b3", "c4", "c5")
		})

		// The valid prefix b2-b3 has more work than a2: the node ends on b3.
		// The branch arrives backwards (as from a peer answering out of
		// order): b6..b3 wait as orphans, b2 connects them; b3 wins, b4 is
		// found invalid on top of it and its waiting descendants are refused.
		//
		//	genesis -> a1 -> a2                           (main until b3)
		//	             \-> b2 -> b3 -> b4 -> b5 -> b6   (b4 invalid: tip b3)
		t.Run(br.name+"/valid prefix heavier", func(t *testing.T) {
			s := chaintest.NewScript(t, br.name)
			s.Branch("a", "genesis", 2, func(h uint64, g *chaintest.BlockGen) { g.Pay("bob", reorgCarol, h, 1) })
			s.Block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 20, 2) })
			s.Block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 30, 2) })
			s.Block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			s.Block("b5", "b4", nil)
			s.Block("b6", "b5", nil)
			s.Block("b5x", "b4", func(g *chaintest.BlockGen) { g.Header.Time++ })
			c := s.Open(chain.Config{})

			s.Connect("a1", "a2")
			s.Orphan("b6", "b5", "b4", "b3")
			s.Reorg("b2", []string{"a2"}, []string{"b2", "b3"})
			s.ExpectTip("b3")
			s.Play(c)
			if n := c.OrphanCount(); n != 0 {
				t.Fatalf("%d orphans left: descendants of the invalid b4 are still held", n)
			}
			s.RejectKnown("b4")
			s.RejectKnown("b5")
			s.Reject("b5x", consensus.ErrInvalidAncestor)
			s.Play(c)
			if n := c.OrphanCount(); n != 0 {
				t.Fatalf("%d orphans: a child of the invalid b4 was held", n)
			}
			s.ExpectTip("b3")
			s.Play(c)
			s.CheckMainChain(c, "a1", "b2", "b3")
		})
	}

	// The invalid block itself is the one that makes its branch heavier:
	// ProcessBlock refuses it with its own rule code.
	//
	//	genesis -> a1 -> a2 -> a3
	//	             \-> b2 -> b3 -> b4     (b4 invalid)
	for _, br := range reorgBreaks {
		t.Run(br.name+"/invalid block is the heaviest", func(t *testing.T) {
			s := chaintest.NewScript(t, br.name)
			s.Chain("a", "genesis", 3)
			s.Block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("alice", reorgDave, 20, 2) })
			s.Block("b3", "b2", nil)
			s.Block("b4", "b3", func(g *chaintest.BlockGen) { br.gen(s, g) })
			c := s.Open(chain.Config{})
			s.Connect("a1", "a2", "a3")
			s.Side("b2", "b3")
			s.Reject("b4", br.code)
			s.RejectKnown("b4")
			s.ExpectTip("a3")
			s.Play(c)
			if info, err := c.Header(s.Hash("b4")); err != nil || !info.Invalid {
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
	build := func(t *testing.T) (*chaintest.Script, *chain.Chain) {
		s := chaintest.NewScript(t, "tie")
		s.Block("a1", "genesis", func(g *chaintest.BlockGen) { g.Pay("alice", reorgBob, 10, 1) })
		s.Block("a2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgCarol, 3, 1) })
		s.Block("b2", "a1", func(g *chaintest.BlockGen) { g.Pay("bob", reorgDave, 4, 1); g.Pay("bob", reorgDave, 5, 1) })
		s.Block("b3", "b2", func(g *chaintest.BlockGen) { g.Pay("dave", reorgCarol, 6, 1) })
		s.Connect("a1")
		return s, s.Open(chain.Config{})
	}
	t.Run("a2 first", func(t *testing.T) {
		s, c := build(t)
		s.Connect("a2")
		s.Side("b2")
		s.ExpectTip("a2")
		s.Reorg("b3", []string{"a2"}, []string{"b2", "b3"})
		s.ExpectTip("b3")
		s.Play(c)
	})
	t.Run("b2 first", func(t *testing.T) {
		s, c := build(t)
		s.Connect("b2")
		s.Side("a2")
		s.ExpectTip("b2")
		s.Connect("b3")
		s.ExpectTip("b3")
		s.Play(c)
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
	s := chaintest.NewScript(t, "back and forth")
	var shared *types.Tx
	s.Block("a1", "genesis", func(g *chaintest.BlockGen) { g.Pay("carol", reorgDave, 77, 1) })
	s.Branch("a", "a1", 6, func(h uint64, g *chaintest.BlockGen) {
		if h == 2 {
			shared = g.Pay("dave", reorgCarol, 1234, 4)
		}
		g.Pay("alice", reorgBob, 100*h, 1)
	})
	s.Branch("b", "a1", 5, func(h uint64, g *chaintest.BlockGen) {
		if h == 2 {
			g.Txs = append(g.Txs, shared)
		}
		g.Pay("alice", reorgCarol, 10*h, 2)
		g.Pay("alice", reorgCarol, 10*h+1, 2)
		if h == 4 {
			g.Pay("dave", reorgBob, 5, 1)
		}
	})
	c := s.Open(chain.Config{})

	s.Connect("a1", "a2", "a3")
	s.Side("b2", "b3")
	s.ExpectTip("a3")
	s.Reorg("b4", []string{"a3", "a2"}, []string{"b2", "b3", "b4"})
	s.ExpectTip("b4")
	s.Play(c)
	s.CheckTx(c, shared, "b2")

	s.Side("a4")
	s.Reorg("a5", []string{"b4", "b3", "b2"}, []string{"a2", "a3", "a4", "a5"})
	s.ExpectTip("a5")
	s.Play(c)
	s.CheckTx(c, shared, "a2")

	s.Side("b5")
	s.Reorg("b6", []string{"a5", "a4", "a3", "a2"}, []string{"b2", "b3", "b4", "b5", "b6"})
	s.ExpectTip("b6")
	s.Play(c)
	s.CheckMainChain(c, "a1", "b2", "b3", "b4", "b5", "b6")

	s.Side("a6")
	s.Reorg("a7", []string{"b6", "b5", "b4", "b3", "b2"}, chaintest.Seq("a", 2, 7))
	s.ExpectTip("a7")
	s.Play(c)
	s.CheckMainChain(c, chaintest.Seq("a", 1, 7)...)
	s.CheckTx(c, shared, "a2")
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
