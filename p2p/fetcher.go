package p2p

// The body phase of a sync round (see sync.go).
//
// The fetcher tracks a window of the best header chain's missing blocks
// (MissingBlocks), requests them in batches from the peers that have them,
// least loaded first, several requests per peer in flight, and hands the
// received blocks to the importer goroutine (importer.go) in height order.
// Batches and the window shrink for big blocks, so that what is buffered
// stays bounded in bytes.

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Sizes and timings of the body phase.
const (
	batchBytes  = 2 << 20  // aim of one blocks answer
	windowBytes = 16 << 20 // aim of the blocks tracked at once
	minWindow   = 64
	maxWindow   = 4096
	// initialAvgSize is the block size assumed before any arrived: on the
	// large side, so that the first window, requested before the first
	// answer, does not hold more than windowBytes of full blocks.
	initialAvgSize = 256 << 10
	importQueue    = 1024 // blocks handed to the importer ahead
	housekeeping   = 250 * time.Millisecond
)

type itemState uint8

const (
	itemQueued    itemState = iota // to be requested
	itemInflight                   // requested
	itemReady                      // received, waiting for its turn to import
	itemImporting                  // handed to the importer
	itemDead                       // no peer can supply it in this round
)

// fetchItem is one missing block.
type fetchItem struct {
	hash   types.Hash
	height uint64 // 0 if not known
	pos    int    // index in fetcher.order
	gen    uint64 // the refill that last saw it missing
	state  itemState
	req    *blockReq // the request in flight for it
	block  *types.Block
	from   peer.ID
	tried  []peer.ID // peers that lacked it or failed to deliver it
}

func (it *fetchItem) triedBy(p peer.ID) bool { return slices.Contains(it.tried, p) }

// fetchPeer is a peer as the fetcher uses it.
type fetchPeer struct {
	id       peer.ID
	height   uint64
	inflight int
	dropped  bool // out of this round
}

type importResult struct {
	it  *fetchItem
	err error
}

type fetcher struct {
	s      *syncer
	chain  Backend
	start  time.Time
	tip0   chain.Tip
	maxBlk int

	items   map[types.Hash]*fetchItem
	order   []*fetchItem // the tracked window in height order
	cursor  int          // order[:cursor] are importing, imported or dead
	queue   []*fetchItem // items to request, by pos
	peers   []*fetchPeer // usable in this round
	all     map[peer.ID]*fetchPeer
	version uint64 // syncer version the peers were read at
	dirty   bool   // the window may have moved: refill
	gen     uint64 // refills so far
	avgSize float64

	inflight, importing int
	imported            uint64
	sinceRefill         int // blocks imported since the last refill
	headersDone         bool
	// quiet: a refill after everything settled found nothing new.
	quiet   bool
	lastLog time.Time

	respCh   chan blockResp
	importCh chan *fetchItem
	resultCh chan importResult
	// headerNews: the header phase stored headers; headersEnd is closed
	// when it ends (and nil once seen).
	headerNews, headersEnd <-chan struct{}
	jobs                   sync.WaitGroup // the importer and the requests
	// preverifying counts the blocks being preverified ahead of their
	// import (importer): never more than preverifyLookahead.
	preverifying atomic.Int32
}

func newFetcher(s *syncer, tip0 chain.Tip) *fetcher {
	f := &fetcher{
		s: s, chain: s.chain, start: time.Now(), tip0: tip0,
		maxBlk:   s.chain.Params().MaxBlockSize,
		items:    make(map[types.Hash]*fetchItem),
		all:      make(map[peer.ID]*fetchPeer),
		dirty:    true,
		avgSize:  initialAvgSize,
		version:  ^uint64(0),
		lastLog:  time.Now(),
		respCh:   make(chan blockResp),
		importCh: make(chan *fetchItem, importQueue),
		resultCh: make(chan importResult, importQueue),
	}
	return f
}

func (f *fetcher) batchSize() int {
	return min(MaxBlocksPerRequest, max(1, int(batchBytes/f.avgSize)))
}

func (f *fetcher) window() int {
	return min(maxWindow, max(minWindow, int(windowBytes/f.avgSize)))
}

// run fetches and imports until nothing more can be done in this round:
// the header phase is over and every missing block is imported or no
// peer can supply it. progress tells of headers the header phase stored,
// hdone of its end. It returns an error only for a failure of this node.
func (f *fetcher) run(ctx context.Context, progress, hdone <-chan struct{}) error {
	f.headerNews, f.headersEnd = progress, hdone
	work, cancel := context.WithCancel(ctx)
	f.startImporter(work)
	defer f.finish(cancel)
	tick := time.NewTicker(housekeeping)
	defer tick.Stop()
	for {
		f.dispatch(work)
		if f.idle() {
			switch f.settle() {
			case lookAgain:
				continue
			case roundOver:
				return nil
			}
		}
		if more, err := f.await(ctx, tick.C); !more {
			return err
		}
	}
}

// finish ends the body phase: it abandons the requests in flight
// (cancel), takes back from the importer what it was handed and did not
// start, and joins the fetcher's goroutines.
func (f *fetcher) finish(cancel context.CancelFunc) {
	cancel()
	close(f.importCh)
	for f.inflight > 0 || f.importing > 0 {
		select {
		case <-f.respCh:
			f.inflight--
		case r := <-f.resultCh:
			f.importing--
			if r.err == nil {
				f.imported++
			}
		}
	}
	f.jobs.Wait()
}

// dispatch brings the peers and the window up to date and hands out the
// work there is: batches to the peers with room, ready blocks to the
// importer.
func (f *fetcher) dispatch(ctx context.Context) {
	if f.version != f.s.currentVersion() {
		f.refreshPeers()
	}
	if f.dirty && (f.idle() || f.queueLow()) {
		f.refill()
	}
	f.assign(ctx)
	f.feed()
}

// queueLow reports whether the queue holds less than a full load of
// requests for every peer.
func (f *fetcher) queueLow() bool {
	return len(f.queue) < f.batchSize()*f.s.maxInflight*max(1, len(f.peers))
}

// idleStep is what an idle fetcher does next.
type idleStep int

const (
	keepWaiting idleStep = iota // for an answer, an import, the header phase
	lookAgain                   // the window may have moved: dispatch again
	roundOver                   // nothing more can be done in this round
)

// settle decides what an idle fetcher does next: look at the window again
// if it may have moved; wait while the header phase runs; after it, take
// one more look once everything settled and then end, or skip what no
// peer can supply and import what arrived beyond it.
func (f *fetcher) settle() idleStep {
	switch {
	case f.dirty:
		return lookAgain
	case !f.headersDone:
		return keepWaiting
	case len(f.queue) == 0 && f.cursor == len(f.order):
		if f.quiet {
			return roundOver
		}
		// One more look: the window may have moved on.
		f.quiet, f.dirty = true, true
		return lookAgain
	}
	// What is queued cannot be had from any peer: skip it and import
	// what arrived beyond it.
	for _, it := range f.queue {
		it.state = itemDead
	}
	f.queue = f.queue[:0]
	f.feed()
	if f.idle() {
		return roundOver
	}
	return keepWaiting
}

// await waits for the next event and handles it: an answer, import
// results, news from the header phase, the housekeeping tick. It reports
// false when ctx ends, or when an import failed for a reason of this node
// (the error).
func (f *fetcher) await(ctx context.Context, tick <-chan time.Time) (bool, error) {
	select {
	case <-ctx.Done():
		return false, nil
	case r := <-f.respCh:
		f.handleResponse(r)
	case r := <-f.resultCh:
		if err := f.handleImports(r); err != nil {
			return false, err
		}
		f.logProgress()
	case <-f.headerNews:
		f.dirty = true
	case <-f.headersEnd:
		f.headersEnd = nil
		f.headersDone, f.dirty = true, true
	case <-tick:
		f.logProgress()
	}
	return true, nil
}

// idle: nothing in flight, nothing being imported, nothing ready to hand
// over.
func (f *fetcher) idle() bool {
	return f.inflight == 0 && f.importing == 0 && (f.cursor == len(f.order) || f.order[f.cursor].state != itemReady)
}

// refreshPeers brings the fetcher's peers up to date with the syncer's.
func (f *fetcher) refreshPeers() {
	var heights map[peer.ID]uint64
	f.version, heights = f.s.usablePeers()
	f.peers = f.peers[:0]
	for p, h := range heights {
		fp := f.all[p]
		if fp == nil {
			fp = &fetchPeer{id: p}
			f.all[p] = fp
		}
		fp.height = h
		if !fp.dropped {
			f.peers = append(f.peers, fp)
		}
	}
	f.dirty = true
}

// refill re-reads the window of missing blocks: new ones are queued,
// tracked ones no longer missing (imported, or off the best header chain)
// are forgotten.
func (f *fetcher) refill() {
	f.dirty, f.sinceRefill = false, 0
	missing := f.chain.MissingBlocks(f.window())
	heightOf := f.heights(missing)
	f.gen++
	order := make([]*fetchItem, 0, len(missing))
	for i, h := range missing {
		it := f.items[h]
		if it == nil {
			it = &fetchItem{hash: h, state: itemQueued, height: heightOf(i)}
			f.items[h] = it
			f.quiet = false
		}
		it.pos, it.gen = len(order), f.gen
		order = append(order, it)
	}
	for h, it := range f.items {
		if it.gen != f.gen && it.state != itemImporting {
			delete(f.items, h) // a response for it is ignored
		}
	}
	f.order, f.cursor = order, 0
	f.queue = f.queue[:0]
	for _, it := range order {
		if it.state == itemQueued {
			f.queue = append(f.queue, it)
		}
	}
	f.advance()
}

// heights returns the height of missing[i], 0 if unknown. Missing blocks
// are usually consecutive: then the first and last heights give them all.
func (f *fetcher) heights(missing []types.Hash) func(i int) uint64 {
	if len(missing) == 0 {
		return func(int) uint64 { return 0 }
	}
	height := func(h types.Hash) uint64 {
		if hi, err := f.chain.Header(h); err == nil {
			return hi.Header.Height
		}
		return 0
	}
	first, last := height(missing[0]), height(missing[len(missing)-1])
	if first > 0 && last == first+uint64(len(missing)-1) {
		return func(i int) uint64 { return first + uint64(i) }
	}
	return func(i int) uint64 { return height(missing[i]) }
}

// advance moves the cursor past items that need no more handling here.
func (f *fetcher) advance() {
	for f.cursor < len(f.order) {
		st := f.order[f.cursor].state
		if st != itemImporting && st != itemDead {
			return
		}
		f.cursor++
	}
}
