package chain

import (
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
)

// orphanPool holds blocks whose parent is unknown, bounded by count and
// bytes, each for at most ttl. The oldest is evicted first.
type orphanPool struct {
	maxCount int
	maxBytes int
	ttl      time.Duration

	byHash   map[types.Hash]*orphan
	byParent map[types.Hash][]*orphan
	order    []*orphan // arrival order, oldest first (may hold removed ones)
	bytes    int
}

type orphan struct {
	hash    types.Hash
	block   *types.Block
	size    int
	expires time.Time
	removed bool
}

func newOrphanPool(maxCount, maxBytes int, ttl time.Duration) *orphanPool {
	return &orphanPool{
		maxCount: maxCount, maxBytes: maxBytes, ttl: ttl,
		byHash:   make(map[types.Hash]*orphan),
		byParent: make(map[types.Hash][]*orphan),
	}
}

func (p *orphanPool) has(h types.Hash) bool { _, ok := p.byHash[h]; return ok }
func (p *orphanPool) len() int              { return len(p.byHash) }

// add stores blk, evicting expired and then the oldest orphans to make room.
// A block larger than the whole pool is not kept.
func (p *orphanPool) add(h types.Hash, blk *types.Block, size int, peer string, now time.Time) {
	if p.has(h) || size > p.maxBytes || p.maxCount <= 0 {
		return
	}
	p.expire(now)
	for len(p.byHash) >= p.maxCount || p.bytes+size > p.maxBytes {
		p.evictOldest()
	}
	o := &orphan{hash: h, block: blk, size: size, expires: now.Add(p.ttl)}
	p.byHash[h] = o
	p.byParent[blk.Header.Parent] = append(p.byParent[blk.Header.Parent], o)
	p.order = append(p.order, o)
	p.bytes += size
}

func (p *orphanPool) remove(o *orphan) {
	if o.removed {
		return
	}
	o.removed = true
	delete(p.byHash, o.hash)
	p.bytes -= o.size
	parent := o.block.Header.Parent
	sib := p.byParent[parent]
	for i, s := range sib {
		if s == o {
			sib = append(sib[:i], sib[i+1:]...)
			break
		}
	}
	if len(sib) == 0 {
		delete(p.byParent, parent)
	} else {
		p.byParent[parent] = sib
	}
}

func (p *orphanPool) evictOldest() {
	for len(p.order) > 0 {
		o := p.order[0]
		p.order = p.order[1:]
		if !o.removed {
			p.remove(o)
			return
		}
	}
}

// expire drops orphans whose time is up and compacts the arrival list.
func (p *orphanPool) expire(now time.Time) {
	live := p.order[:0]
	for _, o := range p.order {
		if !o.removed && now.After(o.expires) {
			p.remove(o)
		}
		if !o.removed {
			live = append(live, o)
		}
	}
	clear(p.order[len(live):])
	p.order = live
}

// takeChildren removes and returns the orphans whose parent is h.
func (p *orphanPool) takeChildren(h types.Hash) []*types.Block {
	kids := p.byParent[h]
	if len(kids) == 0 {
		return nil
	}
	out := make([]*types.Block, 0, len(kids))
	for _, o := range append([]*orphan(nil), kids...) {
		p.remove(o)
		out = append(out, o.block)
	}
	return out
}
