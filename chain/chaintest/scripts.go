package chaintest

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/consensus"
)

// ScriptCase names a script and builds it for a test.
type ScriptCase struct {
	Name  string
	Build func(t testing.TB) *Script
}

// Scripts returns the consensus scripts that every way of delivering
// blocks is tested with: the chain directly (chain tests), gossip and
// headers-first sync (node/nodetest).
func Scripts() []ScriptCase {
	return []ScriptCase{
		{"extend", ExtendScript},
		{"side branch", SideBranchScript},
		{"reorg", ReorgScript},
		{"invalid side branch", InvalidSideBranchScript},
		{"orphan then parent", OrphanScript},
	}
}

var (
	alice = Key("alice").Address()
	bob   = Key("bob").Address()
	carol = Key("carol").Address()
	dave  = Key("dave").Address()
)

// ExtendScript: three blocks with txs, each extending the tip.
//
//	genesis -> a1 -> a2 -> a3
func ExtendScript(t testing.TB) *Script {
	s := NewScript(t, "extend")
	s.Block("a1", "genesis", func(g *BlockGen) { g.Pay("alice", bob, 1000, 10) })
	s.Block("a2", "a1", func(g *BlockGen) {
		g.Pay("bob", carol, 500, 5)
		g.Pay("alice", dave, 7, 1)
	})
	s.Block("a3", "a2", func(g *BlockGen) { g.Pay("carol", alice, 100, 2) })

	s.Connect("a1")
	s.ExpectTip("a1")
	s.Connect("a2", "a3")
	s.ExpectTip("a3")
	return s
}

// SideBranchScript: b2 has as much work as a2, which came first and stays
// the tip; a3 then extends a2. bob's nonce 0 is another tx on each branch.
//
//	genesis -> a1 -> a2 -> a3     (main)
//	             \-> b2           (side branch)
func SideBranchScript(t testing.TB) *Script {
	s := NewScript(t, "side branch")
	s.Block("a1", "genesis", func(g *BlockGen) { g.Pay("alice", bob, 1000, 10) })
	s.Block("a2", "a1", func(g *BlockGen) { g.Pay("bob", carol, 300, 3) })
	s.Block("b2", "a1", func(g *BlockGen) {
		g.Pay("bob", dave, 400, 4)
		g.Pay("carol", alice, 50, 1)
	})
	s.Block("a3", "a2", func(g *BlockGen) { g.Pay("bob", alice, 20, 2) })

	s.Connect("a1", "a2")
	s.Side("b2")
	s.ExpectTip("a2")
	s.Connect("a3")
	s.ExpectTip("a3")
	return s
}

// ReorgScript: a branch from a1 overtakes the main chain, a reorganisation
// three blocks deep. On a, alice pays bob once a block; on b, she pays
// carol twice, so her nonces differ between the branches; dave's tx is in
// a2 and in b2, and stays confirmed at its new place.
//
//	genesis -> a1 -> a2 -> a3 -> a4              (main until b5)
//	             \-> b2 -> b3 -> b4 -> b5        (heavier: reorg to b5)
func ReorgScript(t testing.TB) *Script {
	s := NewScript(t, "reorg")
	s.Block("a1", "genesis", func(g *BlockGen) { g.Pay("carol", dave, 77, 1) })
	shared := s.Tx("dave", carol, 1234, 4, 0)
	s.Branch("a", "a1", 3, func(h uint64, g *BlockGen) {
		if h == 2 {
			g.Txs = append(g.Txs, shared)
		}
		g.Pay("alice", bob, 100*h, 1)
	})
	s.Branch("b", "a1", 4, func(h uint64, g *BlockGen) {
		if h == 2 {
			g.Txs = append(g.Txs, shared)
		}
		g.Pay("alice", carol, 10*h, 2)
		g.Pay("alice", carol, 10*h+1, 2)
	})

	s.Connect(Seq("a", 1, 4)...)
	s.ExpectTip("a4")
	s.Side("b2", "b3", "b4")
	s.Reorg("b5", Seq("a", 4, 2), Seq("b", 2, 5))
	s.ExpectTip("b5")
	return s
}

// InvalidSideBranchScript: b3 overspends, which only connecting it shows;
// it makes its branch heavier than the main chain, so the branch is tried
// and b3 refused with its own rule. Its child and grandchild are refused
// for their ancestry, b3 again as known invalid, and the main chain goes
// on.
//
//	genesis -> a1 -> a2 -> a3                 (main)
//	             \-> b2 -> b3 -> b4 -> b5     (b3 invalid)
func InvalidSideBranchScript(t testing.TB) *Script {
	s := NewScript(t, "invalid side branch")
	s.Block("a1", "genesis", func(g *BlockGen) { g.Pay("alice", bob, 1000, 10) })
	s.Block("a2", "a1", func(g *BlockGen) { g.Pay("bob", carol, 300, 3) })
	s.Block("b2", "a1", func(g *BlockGen) { g.Pay("bob", dave, 400, 4) })
	s.Block("b3", "b2", func(g *BlockGen) {
		g.Pay("carol", bob, 5, 1)
		g.Pay("dave", alice, 3*GenesisFunds, 1)
	})
	s.Chain("b", "b3", 2)
	s.Block("a3", "a2", func(g *BlockGen) { g.Pay("dave", bob, 9, 1) })

	s.Connect("a1", "a2")
	s.Side("b2")
	s.Reject("b3", consensus.ErrInsufficientBalance)
	s.Reject("b4", consensus.ErrInvalidAncestor)
	s.Reject("b5", consensus.ErrInvalidAncestor)
	s.RejectKnown("b3")
	s.ExpectTip("a2")
	s.Connect("a3")
	s.ExpectTip("a3")
	return s
}

// OrphanScript: blocks that arrive before their parent are held, and
// connected when it comes, on the main chain and on a side branch.
//
//	genesis -> a1 -> a2 -> a3 -> a4     (a3, a4 before a2)
//	             \-> b2 -> b3           (b3 before b2)
func OrphanScript(t testing.TB) *Script {
	s := NewScript(t, "orphan then parent")
	s.Block("a1", "genesis", func(g *BlockGen) { g.Pay("alice", bob, 1000, 10) })
	s.Branch("a", "a1", 3, func(h uint64, g *BlockGen) { g.Pay("bob", carol, 10*h, 1) })
	s.Branch("b", "a1", 2, func(h uint64, g *BlockGen) { g.Pay("carol", dave, 10*h, 1) })

	s.Connect("a1")
	s.Orphan("a3", "a4")
	s.Accept("a2", chain.StatusConnected, nil, Seq("a", 2, 4))
	s.ExpectTip("a4")
	s.Orphan("b3")
	s.Side("b2")
	s.ExpectTip("a4")
	return s
}
