package chain

import (
	"math/rand/v2"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// TestAncestorSkip: ancestor by skip pointers finds the same node as a
// walk up the parents, in O(log n) steps, on a trunk with side branches.
func TestAncestorSkip(t *testing.T) {
	var nodes []*blockNode
	mk := func(parent *blockNode) *blockNode {
		n := &blockNode{parent: parent}
		if parent != nil {
			n.header.Height = parent.height() + 1
		}
		n.hash = types.Hash{byte(len(nodes)), byte(len(nodes) >> 8), byte(len(nodes) >> 16)}
		n.setSkip()
		nodes = append(nodes, n)
		return n
	}
	tip := mk(nil)
	for i := 0; i < 5000; i++ {
		tip = mk(tip)
		if i%97 == 0 { // a side branch of a few blocks
			b := tip
			for j := 0; j < 1+i%7; j++ {
				b = mk(b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := nodes[rng.IntN(len(nodes))]
		h := rng.Uint64N(n.height() + 2) // one above n too: nil
		want := n
		for want != nil && want.height() > h {
			want = want.parent
		}
		if h > n.height() {
			want = nil
		}
		if got := n.ancestor(h); got != want {
			t.Fatalf("ancestor(%d) of the node at %d: wrong node", h, n.height())
		}
	}
	// Steps: count them on the longest walk.
	steps := 0
	for m := tip; m.height() != 1; steps++ {
		hs, hsPrev := skipHeight(m.height()), skipHeight(m.height()-1)
		if m.skip != nil && (hs == 1 || hs > 1 && !(hsPrev+2 < hs && hsPrev >= 1)) {
			m = m.skip
		} else {
			m = m.parent
		}
	}
	if steps > 100 {
		t.Fatalf("%d steps from height %d to 1", steps, tip.height())
	}
}
