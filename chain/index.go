package chain

import (
	"math/big"
	"slices"
	"sync/atomic"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// blockNode is one known header in the in-memory index.
type blockNode struct {
	hash     types.Hash
	header   types.Header
	parent   *blockNode
	skip     *blockNode // an ancestor further back, at skipHeight(height); see ancestor
	children []*blockNode
	work     *big.Int // total work of the chain ending here
	status   uint8
	seq      uint64 // order of arrival: the first seen wins a tie
	// chainData: this block and every ancestor have their body stored, so
	// the chain ending here could be connected.
	chainData bool
	// invalidCache is Chain.isInvalid's answer: epoch<<1 | invalid.
	invalidCache atomic.Uint32
}

func (n *blockNode) height() uint64 { return n.header.Height }

// ancestor returns the ancestor of n at height h (n itself if h is its
// height), or nil if h is above n. It follows skip pointers, so it takes
// O(log n) steps (Bitcoin Core's CBlockIndex::GetAncestor).
func (n *blockNode) ancestor(h uint64) *blockNode {
	if h > n.height() {
		return nil
	}
	m := n
	for m.height() != h {
		hs, hsPrev := skipHeight(m.height()), skipHeight(m.height()-1)
		// Take the skip unless the parent's skip gets closer without
		// overshooting.
		if m.skip != nil && (hs == h || hs > h && !(hsPrev+2 < hs && hsPrev >= h)) {
			m = m.skip
		} else {
			m = m.parent
		}
	}
	return m
}

// setSkip sets n's skip pointer; n's parent must be set (and its own).
func (n *blockNode) setSkip() {
	if n.parent != nil {
		n.skip = n.parent.ancestor(skipHeight(n.height()))
	}
}

// skipHeight is the height a node at height h skips back to: clearing low
// bits of h gives a skip list with O(log n) steps to any ancestor.
func skipHeight(h uint64) uint64 {
	if h < 2 {
		return 0
	}
	invertLowest := func(x uint64) uint64 { return x & (x - 1) }
	if h&1 == 1 {
		return invertLowest(invertLowest(h-1)) + 1
	}
	return invertLowest(h)
}

// medianTimePast is the median time of n and its 10 predecessors.
func (n *blockNode) medianTimePast() int64 {
	var times [consensus.MedianTimeBlocks]int64
	k := 0
	for it := n; it != nil && k < len(times); it = it.parent {
		times[k] = it.header.Time
		k++
	}
	slices.Reverse(times[:k])
	return consensus.MedianTimePast(times[:k])
}

func (n *blockNode) parentInfo() consensus.ParentInfo {
	return consensus.ParentInfo{Height: n.height(), Time: n.header.Time, MedianTimePast: n.medianTimePast()}
}

// findFork returns the last common ancestor of a and b.
func findFork(a, b *blockNode) *blockNode {
	if a.height() > b.height() {
		a = a.ancestor(b.height())
	} else {
		b = b.ancestor(a.height())
	}
	for a != b {
		a, b = a.parent, b.parent
	}
	return a
}

// betterThan reports whether n should be preferred to m as the tip: more
// work, or equal work and seen first.
func (n *blockNode) betterThan(m *blockNode) bool {
	if c := n.work.Cmp(m.work); c != 0 {
		return c > 0
	}
	return n.seq < m.seq
}
