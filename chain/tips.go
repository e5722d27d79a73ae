package chain

import (
	"cmp"
	"slices"

	"github.com/cairn-ledger/cairn/chain/types"
)

// The statuses of a branch tip (Bitcoin Core's getchaintips).
const (
	TipActive       = "active"        // the main chain's tip
	TipValidFork    = "valid-fork"    // off the main chain, every block connected once: fully validated
	TipValidHeaders = "valid-headers" // every block stored, not all validated
	TipHeadersOnly  = "headers-only"  // some blocks' bodies not stored
	TipInvalid      = "invalid"       // the tip or an ancestor broke a rule
)

// BranchTip is one tip of the block tree.
type BranchTip struct {
	Hash   types.Hash
	Height uint64
	// BranchLen is the number of blocks from the fork point with the
	// main chain to the tip (0 for the active tip).
	BranchLen uint64
	Status    string
}

// Tips returns every branch tip the index knows — the main chain's tip
// and every header without children — the active one first, then by
// height, highest first (ties by hash). Safe for concurrent use.
func (c *Chain) Tips() []BranchTip {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := []BranchTip{{Hash: c.tip.hash, Height: c.tip.height(), Status: TipActive}}
	var rest []BranchTip
	for n := range c.allLeaves() {
		if n == c.tip {
			continue
		}
		fork := findFork(n, c.tip)
		t := BranchTip{Hash: n.hash, Height: n.height(), BranchLen: n.height() - fork.height()}
		switch {
		case c.isInvalid(n):
			t.Status = TipInvalid
		case n.status&statusValid != 0:
			t.Status = TipValidFork
		case n.chainData:
			t.Status = TipValidHeaders
		default:
			t.Status = TipHeadersOnly
		}
		rest = append(rest, t)
	}
	slices.SortFunc(rest, func(a, b BranchTip) int {
		if c := cmp.Compare(b.Height, a.Height); c != 0 {
			return c
		}
		return cmp.Compare(a.Hash.String(), b.Hash.String())
	})
	return append(out, rest...)
}

// allLeaves yields the headers without children, invalid ones included.
// Callers hold c.mu, at least for reading.
func (c *Chain) allLeaves() func(yield func(*blockNode) bool) {
	return func(yield func(*blockNode) bool) {
		for _, set := range []map[*blockNode]struct{}{c.leaves, c.deadLeaves} {
			for n := range set {
				if !yield(n) {
					return
				}
			}
		}
	}
}
