package txpool

import (
	"bytes"
	"container/heap"
	"slices"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
)

// What the node and the p2p layer ask of the pool to relay txs and to
// recover missing ones from peers.
//
// Relaying: only pending txs are relayed. After Add admits a tx, the
// caller asks IsPending: a p2p validator accepts (relays) a pending tx and
// ignores a queued one; node.SubmitTx publishes a pending tx only. A
// queued tx that becomes pending later (its missing nonces arrived) was
// never relayed: Stale returns it on its next call, and the node
// announces it then, as it does the pending txs that have waited long.

// IsPending reports whether the pool holds the tx with id and it is
// executable now: its sender's nonces from the account's are complete up
// to it. false for a queued tx and for one the pool does not hold. Safe
// for concurrent use.
func (p *Pool) IsPending(id types.Hash) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	e, ok := p.byID[id]
	return ok && e.state == statePending
}

// PendingIDs returns the ids of at most max pending txs, highest fee
// first, ties by id (for reconciling pools between peers). It holds the
// pool's read lock only to copy the list of pending txs into a reused
// buffer (about 15 µs for 65,536), then selects from the copy, O(n log
// max), about 5 ms for 65,536 (BenchmarkPendingIDs65536). Safe for
// concurrent use.
func (p *Pool) PendingIDs(max int) []types.Hash {
	if max <= 0 {
		return nil
	}
	buf := entryBufs.Get().(*[]*entry)
	p.mu.RLock()
	all := append((*buf)[:0], p.stale...)
	p.mu.RUnlock()
	defer func() {
		clear(all) // hold no removed entry
		*buf = all[:0]
		entryBufs.Put(buf)
	}()
	// An entry's tx and id never change once it is pooled: they may be
	// read without the lock.
	top := make(feeHeap, 0, min(max, len(all)))
	for _, e := range all {
		switch {
		case len(top) < max:
			heap.Push(&top, e)
		case feeAbove(e, top[0]):
			top[0] = e
			heap.Fix(&top, 0)
		}
	}
	slices.SortFunc(top, func(a, b *entry) int {
		if feeAbove(a, b) {
			return -1
		}
		return 1
	})
	ids := make([]types.Hash, len(top))
	for i, e := range top {
		ids[i] = e.id
	}
	return ids
}

// entryBufs are buffers for PendingIDs: a fresh one of 65,536 pointers
// costs page faults while the lock is held (0.4 ms).
var entryBufs = sync.Pool{New: func() any { return new([]*entry) }}

// feeAbove orders txs by fee, highest first, then by id.
func feeAbove(a, b *entry) bool {
	if a.tx.Fee != b.tx.Fee {
		return a.tx.Fee > b.tx.Fee
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// feeHeap keeps the max highest by feeAbove: its root is the lowest.
type feeHeap []*entry

func (h feeHeap) Len() int           { return len(h) }
func (h feeHeap) Less(a, b int) bool { return feeAbove(h[b], h[a]) }
func (h feeHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *feeHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *feeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// BySenderNonce returns the pooled tx of sender with nonce, pending or
// queued. Safe for concurrent use.
func (p *Pool) BySenderNonce(sender types.Address, nonce uint64) (*types.Tx, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := p.senders[sender]
	if s == nil {
		return nil, false
	}
	if i, ok := s.find(nonce); ok {
		return s.txs[i].tx, true
	}
	return nil, false
}

// Missing reports the nonces that keep sender's queued txs from being
// executable: [from, to) runs from the sender's next nonce (its account's
// nonce, as the pool last read it, plus its pending txs) to the nonce of
// its first queued tx. ok is false if the sender has no queued tx. A peer
// may hold the missing txs (BySenderNonce on its side). Safe for
// concurrent use.
func (p *Pool) Missing(sender types.Address) (from, to uint64, ok bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := p.senders[sender]
	if s == nil || s.nqueued() == 0 {
		return 0, 0, false
	}
	return s.acct.Nonce + uint64(s.npending), s.txs[s.npending].tx.Nonce, true
}

// Stale returns at most max pending txs that were announced more than age
// ago, oldest first, and marks them announced now, so that each comes back
// only after another age. A tx counts as announced when it is admitted
// pending (the caller relays it) and when Stale returns it; a tx promoted
// from queued to pending was never relayed and is returned by the next
// call, whatever age. The node calls it periodically and announces what it
// returns again. A negative age counts as 0. Safe for concurrent use.
func (p *Pool) Stale(age time.Duration, max int) []*types.Tx {
	if max <= 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if age < 0 {
		age = 0
	}
	now := p.cfg.Now()
	cutoff := now.Add(-age)
	var out []*types.Tx
	for len(out) < max && len(p.stale) > 0 && p.stale[0].at.Before(cutoff) {
		e := p.stale[0]
		out = append(out, e.tx)
		e.at = now
		heap.Fix(&p.stale, 0)
	}
	return out
}
