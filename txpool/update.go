package txpool

import (
	"bytes"
	"cmp"
	"container/heap"
	"slices"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Update brings the pool in line with a new tip: txs of connected blocks
// leave, txs of disconnected blocks (old tip first) that the new chain did
// not include come back without their signatures being checked again, and
// every sender the change touched is re-read from the chain so that txs now
// invalid in nonce order go. It also expires queued txs and drops queued
// txs over the caps. Call it after every chain.ProcessBlock that moved the
// tip, with the Result's lists. Safe for concurrent use. It holds the pool's lock throughout, its reads of the
// chain included: an Add sees the pool either before it, and then has its
// sender brought up to date by it, or after it (see Pool.epoch).
func (p *Pool) Update(connected, disconnected []*types.Block) {
	included := make(map[types.Hash]struct{})
	touched := make(map[types.Address]struct{})
	for _, b := range connected {
		touched[b.Header.Miner] = struct{}{}
		for _, tx := range b.Txs {
			included[tx.ID()] = struct{}{}
			touched[tx.Sender()] = struct{}{}
			touched[tx.To] = struct{}{}
		}
	}
	type back struct {
		tx     *types.Tx
		id     types.Hash
		sender types.Address
	}
	var readmit []back
	for _, b := range disconnected {
		touched[b.Header.Miner] = struct{}{}
		for _, tx := range b.Txs {
			touched[tx.Sender()] = struct{}{}
			touched[tx.To] = struct{}{}
			if id := tx.ID(); !isIn(included, id) {
				readmit = append(readmit, back{tx, id, tx.Sender()})
			}
		}
	}
	// Re-admit each sender's txs in nonce order.
	slices.SortFunc(readmit, func(a, b back) int {
		if c := bytes.Compare(a.sender[:], b.sender[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.tx.Nonce, b.tx.Nonce)
	})

	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
	affected := make(map[*senderTxs]struct{})
	for id := range included {
		if e, ok := p.byID[id]; ok {
			affected[p.senders[e.sender]] = struct{}{}
			p.removeEntry(e)
		}
	}
	for addr := range touched {
		s := p.senders[addr]
		if s == nil {
			continue
		}
		affected[s] = struct{}{}
		acct, err := p.state.Account(addr)
		if err != nil {
			continue // keep the last known account; the next Update retries
		}
		s.acct = acct
		p.dropUncovered(s)
	}
	for s := range affected {
		p.reindex(s)
	}
	for _, r := range readmit {
		acct, err := p.state.Account(r.sender)
		if err != nil {
			continue
		}
		_ = p.insert(r.tx, r.id, r.sender, acct) // refused ones are simply gone
	}
	p.trimQueued(affected)
	p.expire()
}

// trimQueued drops queued txs over the caps, which a reorganisation can
// leave behind (an account's nonce goes back, and txs that were pending
// wait for nonces that did not come back): each sender's highest nonces
// over MaxQueuedPerSender, then the cheapest queued txs over MaxQueued.
// Only senders in affected can be over their cap. p.mu must be held.
func (p *Pool) trimQueued(affected map[*senderTxs]struct{}) {
	for s := range affected {
		for len(s.txs) > 0 && s.nqueued() > p.cfg.MaxQueuedPerSender {
			p.removeEntry(s.txs[len(s.txs)-1])
		}
	}
	for p.nqueued > p.cfg.MaxQueued {
		s := p.evict[0] // a queued tx is the first candidate while there is one
		p.removeEntry(s.txs[len(s.txs)-1])
	}
}

func isIn(set map[types.Hash]struct{}, id types.Hash) bool {
	_, ok := set[id]
	return ok
}

// Expire drops the txs that have been queued for longer than QueuedTTL.
// Pending txs stay: they are executable and only wait for a block (Stale
// lists those that have waited long). Safe for concurrent use.
func (p *Pool) Expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire()
}

// expire is Expire with p.mu held. Dropping a queued tx changes the state
// of no other: the txs after it were queued already.
func (p *Pool) expire() {
	deadline := p.cfg.Now().Add(-p.cfg.QueuedTTL)
	for len(p.queued) > 0 && p.queued[0].at.Before(deadline) {
		p.removeEntry(p.queued[0])
	}
}

// Template returns the txs for a new block, at most maxBytes of encoded
// txs: highest fee first, each sender's txs in nonce order starting at its
// account nonce, ties broken by tx id so that the same pool always gives
// the same template. Safe for concurrent use.
func (p *Pool) Template(maxBytes int) []*types.Tx {
	p.mu.RLock()
	defer p.mu.RUnlock()
	h := make(headHeap, 0, len(p.senders))
	for _, s := range p.senders {
		if s.npending > 0 {
			h = append(h, head{fee: s.txs[0].tx.Fee, e: s.txs[0], s: s, n: s.npending})
		}
	}
	heap.Init(&h)
	out := make([]*types.Tx, 0, min(len(p.byID), max(maxBytes, 0)/types.MinTxSize))
	left := maxBytes
	for len(h) > 0 {
		top := &h[0]
		if top.e.size > left {
			heap.Pop(&h) // the sender's later txs need this one first
			continue
		}
		out = append(out, top.e.tx)
		left -= top.e.size
		if top.i++; top.i < top.n {
			top.e = top.s.txs[top.i]
			top.fee = top.e.tx.Fee
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return out
}

// head is a sender's next tx in template order: e = s.txs[i], of n
// pending; fee is e's, kept here for cheap comparisons.
type head struct {
	fee  uint64
	e    *entry
	s    *senderTxs
	i, n int
}

// headHeap orders heads by fee, highest first, then by tx id.
type headHeap []head

func (h headHeap) Len() int { return len(h) }
func (h headHeap) Less(a, b int) bool {
	if h[a].fee != h[b].fee {
		return h[a].fee > h[b].fee
	}
	return bytes.Compare(h[a].e.id[:], h[b].e.id[:]) < 0
}
func (h headHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *headHeap) Push(x any)   { *h = append(*h, x.(head)) }

// Pop drops the last head; Template never uses the value, so none is
// returned (boxing it would allocate).
func (h *headHeap) Pop() any {
	*h = (*h)[:len(*h)-1]
	return nil
}
