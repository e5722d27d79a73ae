package chain

import (
	"math/big"
	"slices"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// blockNode is one known header in the in-memory index.
type blockNode struct {
	hash     types.Hash
	header   types.Header
	parent   *blockNode
	children []*blockNode
	work     *big.Int // total work of the chain ending here
	status   uint8
	seq      uint64 // order of arrival: the first seen wins a tie
	// chainData: this block and every ancestor have their body stored, so
	// the chain ending here could be connected.
	chainData bool
}

func (n *blockNode) height() uint64 { return n.header.Height }
func (n *blockNode) invalid() bool  { return n.status&statusInvalidMask != 0 }

// ancestor returns the ancestor of n at height h (n itself if h is its
// height), or nil if h is above n.
func (n *blockNode) ancestor(h uint64) *blockNode {
	if h > n.height() {
		return nil
	}
	for n != nil && n.height() > h {
		n = n.parent
	}
	return n
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
