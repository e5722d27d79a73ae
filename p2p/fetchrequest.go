package p2p

// The body phase's requests (see fetcher.go): queued blocks are handed
// out in batches to the least-loaded peers that claim them, each batch a
// blocks request on its own goroutine, and each answer is filed: blocks
// that arrived wait for their turn to import, the rest are asked again,
// of another peer unless the answer's budget may have cut them.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-ledger/cairn/chain/types"
)

type blockReq struct {
	peer   *fetchPeer
	items  []*fetchItem
	hashes []types.Hash
}

type blockResp struct {
	req    *blockReq
	blocks []*types.Block // as many as arrived; nil for a block the peer lacks
	err    error
}

// assign hands batches from the queue to the least-loaded peers with room.
func (f *fetcher) assign(ctx context.Context) {
	var busy map[*fetchPeer]bool // peers with nothing to take
	for len(f.queue) > 0 {
		var fp *fetchPeer
		for _, c := range f.peers {
			if !c.dropped && !busy[c] && c.inflight < f.s.maxInflight && (fp == nil || c.inflight < fp.inflight) {
				fp = c
			}
		}
		if fp == nil {
			return
		}
		n := f.batchSize()
		req := &blockReq{peer: fp}
		rest := f.queue[:0]
		for i, it := range f.queue {
			if len(req.items) < n && f.canServe(fp, it) {
				it.state, it.req = itemInflight, req
				req.items = append(req.items, it)
				req.hashes = append(req.hashes, it.hash)
				continue
			}
			if len(req.items) >= n {
				rest = append(rest, f.queue[i:]...)
				break
			}
			rest = append(rest, it)
		}
		f.queue = rest
		if len(req.items) == 0 {
			if busy == nil {
				busy = make(map[*fetchPeer]bool)
			}
			busy[fp] = true
			continue
		}
		fp.inflight++
		f.inflight++
		f.jobs.Add(1)
		go func() {
			defer f.jobs.Done()
			f.respCh <- f.fetch(ctx, req)
		}()
	}
}

// fetch runs one blocks request. An answer whose blocks pass the answer
// budget beyond its first block is a bad answer.
func (f *fetcher) fetch(ctx context.Context, req *blockReq) blockResp {
	resp := blockResp{req: req}
	budget := f.s.answerBudget()
	resp.err = f.s.request(ctx, req.peer.id, protoBlocks, encodeBlocksRequest(req.hashes), func(r *bufio.Reader) error {
		var buf []byte // DecodeBlock copies what it keeps
		got := 0       // bytes of blocks in the answer so far
		for _, h := range req.hashes {
			b, err := readFrameInto(r, f.maxBlk, buf)
			if err != nil {
				return asBadAnswer(err)
			}
			if len(b) == 0 {
				resp.blocks = append(resp.blocks, nil)
				continue
			}
			if budget > 0 && got > 0 && got+len(b) > budget {
				return badAnswer{fmt.Errorf("blocks answer passes its budget of %d bytes", budget)}
			}
			got += len(b)
			buf = b
			blk, err := types.DecodeBlock(b, f.maxBlk)
			if err != nil {
				return badAnswer{err}
			}
			if got := blk.Hash(); got != h {
				return badAnswer{fmt.Errorf("asked for block %s, got %s", h, got)}
			}
			resp.blocks = append(resp.blocks, blk)
		}
		return nil
	})
	return resp
}

// handleResponse files the blocks of an answer and requeues the rest. An
// empty frame after got > 0 bytes of blocks, where a block of the largest
// size would have taken the answer past its budget, may be a block the
// peer did not send now (see syncproto.go): it is asked again, of this
// peer too. Each answer settles at least its first block, so asking again
// ends.
func (f *fetcher) handleResponse(r blockResp) {
	fp := r.req.peer
	fp.inflight--
	f.inflight--
	if r.err != nil && !fp.dropped && !errors.Is(r.err, context.Canceled) {
		// Only the first failure of a peer in a round costs it.
		f.s.log.Debug("block request failed", "peer", fp.id, "blocks", len(r.req.items), "err", r.err)
		fp.dropped = true
		f.s.punish(fp.id, "blocks", r.err)
	}
	budget := f.s.answerBudget()
	got := 0 // bytes of blocks in the answer before item i
	for i, it := range r.req.items {
		var blk *types.Block
		if i < len(r.blocks) {
			blk = r.blocks[i]
		}
		size := 0
		if blk != nil {
			size = blk.EncodedSize() // the frame's length: encodings are canonical
		}
		before := got
		got += size
		if f.items[it.hash] != it || it.req != r.req || it.state != itemInflight {
			continue // forgotten or reassigned meanwhile
		}
		switch {
		case blk != nil:
			it.state, it.block, it.from, it.req = itemReady, blk, fp.id, nil
			f.avgSize += (float64(size) - f.avgSize) / 16
		case i < len(r.blocks) && budget > 0 && before > 0 && before+f.maxBlk > budget:
			f.requeue(it) // perhaps cut by the answer budget: not tried
		default: // lacked, or not delivered
			it.tried = append(it.tried, fp.id)
			f.requeue(it)
		}
	}
}

// canServe reports whether fp should be asked for it: not tried yet, and
// claiming its height, unless no untried peer does.
func (f *fetcher) canServe(fp *fetchPeer, it *fetchItem) bool {
	if it.triedBy(fp.id) {
		return false
	}
	if it.height == 0 || fp.height >= it.height {
		return true
	}
	return !slices.ContainsFunc(f.peers, func(o *fetchPeer) bool {
		return !o.dropped && o.height >= it.height && !it.triedBy(o.id)
	})
}

// requeue puts it back in the queue in height order, or marks it dead if
// no peer is left to ask.
func (f *fetcher) requeue(it *fetchItem) {
	it.req, it.block = nil, nil
	if !slices.ContainsFunc(f.peers, func(fp *fetchPeer) bool { return !fp.dropped && !it.triedBy(fp.id) }) {
		it.state = itemDead
		f.advance()
		return
	}
	it.state = itemQueued
	i, _ := slices.BinarySearchFunc(f.queue, it.pos, func(q *fetchItem, pos int) int { return q.pos - pos })
	f.queue = slices.Insert(f.queue, i, it)
}
