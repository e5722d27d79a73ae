package txpool

import (
	"bytes"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Eviction. When an admission would pass a cap, the pool evicts the
// cheapest evictable txs. Only a sender's last tx (highest nonce) is
// evictable, so that eviction never leaves a sender with a gap, and never
// one of the incoming tx's sender, which may depend on it. The candidates
// are ordered by evictBefore: queued txs first (whatever their fee: they
// cannot be mined now and are not relayed), then by fee, lowest first.
//
// Fee, not fee per byte: the template takes txs by fee, the minimum relay
// fee and the replacement rule are per tx, and the cap that binds is the
// count (65,536 txs of at most 206 bytes are 13.5 MiB, well under the
// 32 MiB byte cap), so a pooled tx's cost to the pool is a slot, whatever
// its size.
//
// The candidates live in a heap of senders keyed by their last tx
// (Pool.evict), kept up to date on every change to a sender, so that
// making room costs O(log n) per victim and never scans the senders.

// evictBefore reports whether a is evicted before b: a queued tx before a
// pending one, then the lower fee, then the higher id.
func evictBefore(a, b *entry) bool {
	if aq, bq := a.state == stateQueued, b.state == stateQueued; aq != bq {
		return aq
	}
	if a.tx.Fee != b.tx.Fee {
		return a.tx.Fee < b.tx.Fee
	}
	return bytes.Compare(a.id[:], b.id[:]) > 0
}

// evicts reports whether the incoming tx e, queued or not, may evict the
// candidate c: a pending tx evicts any queued one and a pending one of a
// lower fee; a queued tx evicts only a queued one of a lower fee, never a
// pending one.
func evicts(e *entry, queued bool, c *entry) bool {
	if c.state == stateQueued && !queued {
		return true
	}
	if c.state == statePending && queued {
		return false
	}
	return c.tx.Fee < e.tx.Fee
}

// makeRoom returns the txs to evict so that e, which will be queued or
// pending as queued says, fits under the caps in place of old (if not
// nil), or ReasonPoolFull if that takes evicting what e may not evict.
// Nothing is changed. p.mu must be held.
func (p *Pool) makeRoom(e, old *entry, queued bool) ([]*entry, error) {
	count, size, nq := len(p.byID)+1, p.bytes+e.size, p.nqueued
	if queued {
		nq++
	}
	if old != nil {
		count, size = count-1, size-old.size
		if queued {
			nq--
		}
	}
	over := func() bool {
		return count > p.cfg.MaxTxs || size > p.cfg.MaxBytes || queued && nq > p.cfg.MaxQueued
	}
	if !over() {
		return nil, nil
	}
	it := evictIter{p: p, skip: e.sender}
	it.start()
	var victims []*entry
	for over() {
		c, ok := it.next()
		if !ok || !evicts(e, queued, c.e) {
			what := "the cheapest evictable tx"
			if !ok {
				what = "any evictable tx (only the sender's own are left)"
			}
			if count <= p.cfg.MaxTxs && size <= p.cfg.MaxBytes {
				return nil, reject(ReasonPoolFull, "the pool holds %d queued txs, its cap; queued fee %d does not beat %s", p.nqueued, e.tx.Fee, what)
			}
			if queued {
				what += "; a queued tx evicts only queued txs of lower fee"
			}
			return nil, reject(ReasonPoolFull, "the pool holds %d txs, %d bytes; fee %d does not beat %s", len(p.byID), p.bytes, e.tx.Fee, what)
		}
		it.take(c)
		victims = append(victims, c.e)
		count, size = count-1, size-c.e.size
		if c.e.state == stateQueued {
			nq--
		}
	}
	return victims, nil
}

// evictIter lists the eviction candidates in evictBefore order without
// changing the pool: a best-first walk of the heap Pool.evict (a node
// comes out before its children, so the walk yields the heap's elements
// in order), merged with the txs that taking a candidate exposes (the
// sender's previous one). Senders equal to skip are passed over. Each
// step costs O(log k) for k steps so far.
type evictIter struct {
	p    *Pool
	skip types.Address
	aux  []cand // a heap by evictBefore of e
}

// cand is one candidate: e = s.txs[i]; node is its sender's index in
// Pool.evict if it came from there (its children are still to visit), or
// -1 if taking a later tx of s exposed it.
type cand struct {
	e    *entry
	s    *senderTxs
	i    int
	node int
}

func (it *evictIter) start() {
	if len(it.p.evict) > 0 {
		it.pushNode(0)
	}
}

func (it *evictIter) pushNode(n int) {
	s := it.p.evict[n]
	it.push(cand{e: s.txs[len(s.txs)-1], s: s, i: len(s.txs) - 1, node: n})
}

// next returns the next candidate, if any.
func (it *evictIter) next() (cand, bool) {
	for len(it.aux) > 0 {
		c := it.pop()
		if c.node >= 0 {
			for _, ch := range []int{2*c.node + 1, 2*c.node + 2} {
				if ch < len(it.p.evict) {
					it.pushNode(ch)
				}
			}
		}
		if c.s.addr != it.skip {
			return c, true
		}
	}
	return cand{}, false
}

// take records that c is evicted: the sender's previous tx becomes a
// candidate.
func (it *evictIter) take(c cand) {
	if c.i > 0 {
		it.push(cand{e: c.s.txs[c.i-1], s: c.s, i: c.i - 1, node: -1})
	}
}

func (it *evictIter) push(c cand) {
	it.aux = append(it.aux, c)
	for j := len(it.aux) - 1; j > 0; {
		parent := (j - 1) / 2
		if !evictBefore(it.aux[j].e, it.aux[parent].e) {
			break
		}
		it.aux[j], it.aux[parent] = it.aux[parent], it.aux[j]
		j = parent
	}
}

func (it *evictIter) pop() cand {
	h := it.aux
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for j := 0; ; {
		l, r, m := 2*j+1, 2*j+2, j
		if l < len(h) && evictBefore(h[l].e, h[m].e) {
			m = l
		}
		if r < len(h) && evictBefore(h[r].e, h[m].e) {
			m = r
		}
		if m == j {
			break
		}
		h[j], h[m] = h[m], h[j]
		j = m
	}
	it.aux = h
	return top
}

// evictHeap is every sender with pooled txs, ordered by evictBefore of
// their last txs; each sender knows its index (ei).
type evictHeap []*senderTxs

func (h evictHeap) Len() int { return len(h) }
func (h evictHeap) Less(a, b int) bool {
	return evictBefore(h[a].txs[len(h[a].txs)-1], h[b].txs[len(h[b].txs)-1])
}
func (h evictHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].ei, h[b].ei = a, b
}
func (h *evictHeap) Push(x any) {
	s := x.(*senderTxs)
	s.ei = len(*h)
	*h = append(*h, s)
}
func (h *evictHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	s.ei = -1
	*h = old[:len(old)-1]
	return s
}

// timeHeap is entries ordered by at, oldest first, then by id; each entry
// knows its index (ti).
type timeHeap []*entry

func (h timeHeap) Len() int { return len(h) }
func (h timeHeap) Less(a, b int) bool {
	if !h[a].at.Equal(h[b].at) {
		return h[a].at.Before(h[b].at)
	}
	return bytes.Compare(h[a].id[:], h[b].id[:]) < 0
}
func (h timeHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].ti, h[b].ti = a, b
}
func (h *timeHeap) Push(x any) {
	e := x.(*entry)
	e.ti = len(*h)
	*h = append(*h, e)
}
func (h *timeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.ti = -1
	*h = old[:len(old)-1]
	return e
}
