package chain

import (
	"container/list"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
)

// orphanPool holds blocks whose parent is unknown, bounded by count and
// bytes, each for at most ttl, and shared fairly between the peers that
// sent them, so that one peer's flood cannot push out another's orphans:
//
//   - Each peer may hold at most a share of the pool: max(1, maxCount/8)
//     orphans and maxBytes/8 bytes (32 blocks and 4 MiB by default; an
//     honest peer rarely has more than a couple of orphans). A peer at its
//     share makes room by losing its own oldest orphan. Its newest one is
//     always kept, even if larger than the byte share on its own, as long
//     as it fits the pool.
//   - The node's own blocks (peer "": mined, or submitted over RPC) are
//     trusted and have no share.
//   - When the pool as a whole is full, the orphan evicted is the oldest of
//     the peer holding the most of what is short: orphans if the count is
//     at its bound, else bytes, counting the new block with its sender's.
//     Among peers holding equally much, the one with the oldest orphan
//     loses it, so with a single peer this is plain oldest-first. A peer
//     holding less than another is never chosen: a flooder at its share
//     loses its own orphans first. If the sender, holding nothing else,
//     would be the heaviest with the new block alone (a block larger than
//     every other peer's holding), the new block is not kept.
//
// Peers with many identities are not told apart; each holds its own share.
//
// Orphans are kept in arrival order in one list and per peer, so adding,
// removing and expiring one is O(1) but for the scan of its siblings (the
// orphans of the same parent); expiry looks only at the oldest, as every
// orphan lives for the same ttl. Choosing whose orphan to evict when the
// pool is full scans the peers holding orphans, at most maxCount of them.
type orphanPool struct {
	maxCount  int
	maxBytes  int
	peerCount int // a peer's share: orphans
	peerBytes int // and bytes
	ttl       time.Duration

	byHash   map[types.Hash]*orphan
	byParent map[types.Hash][]*orphan
	peers    map[string]*orphanPeer // peers holding at least one orphan
	all      list.List              // of *orphan, arrival order, oldest first
	bytes    int
	seq      uint64 // arrival counter
}

type orphan struct {
	hash    types.Hash
	block   *types.Block
	size    int
	peer    string
	origin  Origin // as given to ProcessBlockFrom: the orphan is processed so when its parent comes
	seq     uint64 // arrival order
	expires time.Time
	inAll   *list.Element // in orphanPool.all
	inPeer  *list.Element // in orphanPeer.orphans
}

// orphanPeer is what one peer holds.
type orphanPeer struct {
	orphans list.List // of *orphan, oldest first
	bytes   int
}

// orphanShareDiv is the number of peers that can hold their full share at
// once: each may hold 1/orphanShareDiv of the pool.
const orphanShareDiv = 8

func newOrphanPool(maxCount, maxBytes int, ttl time.Duration) *orphanPool {
	return &orphanPool{
		maxCount: maxCount, maxBytes: maxBytes, ttl: ttl,
		peerCount: max(1, maxCount/orphanShareDiv),
		peerBytes: maxBytes / orphanShareDiv,
		byHash:    make(map[types.Hash]*orphan),
		byParent:  make(map[types.Hash][]*orphan),
		peers:     make(map[string]*orphanPeer),
	}
}

func (p *orphanPool) has(h types.Hash) bool { _, ok := p.byHash[h]; return ok }
func (p *orphanPool) len() int              { return len(p.byHash) }

// add stores blk, of size bytes, sent by peer ("" for the node itself),
// first dropping expired orphans, then making room as the type comment
// says. A block larger than the whole pool is not kept and evicts nothing.
func (p *orphanPool) add(h types.Hash, blk *types.Block, size int, origin Origin, now time.Time) {
	peer := origin.Peer
	if p.has(h) || size > p.maxBytes || p.maxCount <= 0 {
		return
	}
	p.expire(now)
	ps := p.peers[peer]
	if ps != nil && peer != "" {
		for ps.orphans.Len() > 0 && (ps.orphans.Len()+1 > p.peerCount || ps.bytes+size > p.peerBytes) {
			p.remove(ps.orphans.Front().Value.(*orphan))
		}
	}
	for len(p.byHash)+1 > p.maxCount || p.bytes+size > p.maxBytes {
		victim := p.heaviest(len(p.byHash)+1 > p.maxCount, peer, size)
		if victim == nil {
			return
		}
		p.remove(victim.orphans.Front().Value.(*orphan))
	}

	if ps = p.peers[peer]; ps == nil { // remove may have dropped it
		ps = &orphanPeer{}
		p.peers[peer] = ps
	}
	p.seq++
	o := &orphan{hash: h, block: blk, size: size, peer: peer, origin: origin, seq: p.seq, expires: now.Add(p.ttl)}
	o.inAll = p.all.PushBack(o)
	o.inPeer = ps.orphans.PushBack(o)
	ps.bytes += size
	p.byHash[h] = o
	p.byParent[blk.Header.Parent] = append(p.byParent[blk.Header.Parent], o)
	p.bytes += size
}

// heaviest returns the peer whose oldest orphan is to be evicted: the one
// holding the most orphans (byCount) or bytes, where adder holds its new
// block of size bytes too; among equals, the one whose oldest orphan is
// oldest (the new block being the newest of all). It returns nil if that
// is adder with nothing but the new block.
func (p *orphanPool) heaviest(byCount bool, adder string, size int) *orphanPeer {
	holding := func(name string, ps *orphanPeer) int {
		n, b := ps.orphans.Len(), ps.bytes
		if name == adder {
			n, b = n+1, b+size
		}
		if byCount {
			return n
		}
		return b
	}
	var best *orphanPeer
	bestHold, bestSeq := 0, uint64(0)
	if _, ok := p.peers[adder]; !ok {
		bestHold, bestSeq = holding(adder, &orphanPeer{}), p.seq+1 // the new block alone
	}
	for name, ps := range p.peers {
		hold, seq := holding(name, ps), ps.orphans.Front().Value.(*orphan).seq
		if hold > bestHold || hold == bestHold && seq < bestSeq {
			best, bestHold, bestSeq = ps, hold, seq
		}
	}
	return best
}

// remove drops o from every index.
func (p *orphanPool) remove(o *orphan) {
	if p.byHash[o.hash] != o {
		return
	}
	delete(p.byHash, o.hash)
	p.bytes -= o.size
	p.all.Remove(o.inAll)
	ps := p.peers[o.peer]
	ps.orphans.Remove(o.inPeer)
	ps.bytes -= o.size
	if ps.orphans.Len() == 0 {
		delete(p.peers, o.peer)
	}
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

// expire drops orphans whose time is up. All live for ttl, so they expire
// in arrival order (were the clock to step back, a later orphan could
// expire before an earlier one; it then waits until those before it go).
func (p *orphanPool) expire(now time.Time) {
	for e := p.all.Front(); e != nil; e = p.all.Front() {
		o := e.Value.(*orphan)
		if !now.After(o.expires) {
			return
		}
		p.remove(o)
	}
}

// takeChildren removes and returns the orphans whose parent is h.
func (p *orphanPool) takeChildren(h types.Hash) []orphanKid {
	kids := p.byParent[h]
	if len(kids) == 0 {
		return nil
	}
	out := make([]orphanKid, 0, len(kids))
	for _, o := range append([]*orphan(nil), kids...) {
		p.remove(o)
		out = append(out, orphanKid{o.block, o.origin})
	}
	return out
}

// orphanKid is a block taken from the pool, with the origin it came with.
type orphanKid struct {
	block  *types.Block
	origin Origin
}
