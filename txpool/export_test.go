package txpool

import "fmt"

// CheckIndexes checks the pool's internal indexes against its txs, for
// the tests of package txpool_test: the counts and bytes, each sender's
// pending count and the state of each of its txs, the eviction heap (every
// sender once, by its last tx) and the time heaps (every pending tx in
// stale, every queued one in queued), each a valid heap whose members know
// their index.
func (p *Pool) CheckIndexes() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var npending, nqueued, size int
	for addr, s := range p.senders {
		if s.addr != addr || len(s.txs) == 0 {
			return fmt.Errorf("sender %s: addr %s, %d txs", addr, s.addr, len(s.txs))
		}
		if s.npending != s.pendingLen() {
			return fmt.Errorf("sender %s: npending %d, pendingLen %d", addr, s.npending, s.pendingLen())
		}
		if s.ei < 0 || s.ei >= len(p.evict) || p.evict[s.ei] != s {
			return fmt.Errorf("sender %s: not at its index %d in evict", addr, s.ei)
		}
		for i, e := range s.txs {
			want := stateQueued
			if i < s.npending {
				want = statePending
			}
			if e.state != want || p.byID[e.id] != e || e.sender != addr {
				return fmt.Errorf("sender %s nonce %d: state %d, want %d", addr, e.tx.Nonce, e.state, want)
			}
			h := p.queued
			if want == statePending {
				h = p.stale
			}
			if e.ti < 0 || e.ti >= len(h) || h[e.ti] != e {
				return fmt.Errorf("sender %s nonce %d: not at its index %d in its time heap", addr, e.tx.Nonce, e.ti)
			}
			size += e.size
		}
		npending += s.npending
		nqueued += s.nqueued()
	}
	switch {
	case len(p.byID) != npending+nqueued || p.npending != npending || p.nqueued != nqueued || p.bytes != size:
		return fmt.Errorf("counts: %d ids, %d pending, %d queued, %d bytes; senders hold %d pending, %d queued, %d bytes",
			len(p.byID), p.npending, p.nqueued, p.bytes, npending, nqueued, size)
	case len(p.evict) != len(p.senders) || len(p.stale) != npending || len(p.queued) != nqueued:
		return fmt.Errorf("heaps hold %d senders, %d pending, %d queued", len(p.evict), len(p.stale), len(p.queued))
	}
	for i := 1; i < len(p.evict); i++ {
		if p.evict.Less(i, (i-1)/2) {
			return fmt.Errorf("evict is not a heap at %d", i)
		}
	}
	for _, h := range []timeHeap{p.stale, p.queued} {
		for i := 1; i < len(h); i++ {
			if h.Less(i, (i-1)/2) {
				return fmt.Errorf("a time heap is not a heap at %d", i)
			}
		}
	}
	return nil
}
