package p2p

// Headers-first sync (DESIGN.md §7), in the manner of btcd and bitcoind.
//
// Peers exchange a status on connect. When a peer claims more work than
// this node's best header, a sync round starts: the header phase asks that
// peer for headers after this node's block locator, 2000 at a time, and
// hands them to the chain, which checks proof of work, difficulty, time and
// height before storing them without bodies. As soon as the first headers
// are in, the body phase fetches the missing bodies of the best header
// chain in batches from every peer that has them, several requests in
// flight per peer, and one importer goroutine feeds them to ProcessBlock in
// height order while the next batches travel. A peer whose answer breaks
// the protocol or the rules is penalized and dropped from the round; a
// stalled request is abandoned at its deadline and its blocks are asked of
// another peer. When the round ends, every peer's status is asked again,
// since a peer may have advanced meanwhile.
//
// Goroutines: run is the main loop (owned by the Network); it starts the
// status queries and at most one round at a time, each of which starts a
// header goroutine, one goroutine per block request in flight and the
// importer, and joins them all before it returns. Stream handlers run on
// libp2p's goroutines.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// SyncStatus reports sync progress.
type SyncStatus struct {
	// Syncing is true while a sync round runs.
	Syncing bool
	// TargetHeight is the best height the peers of the round claim (0 when
	// not syncing).
	TargetHeight uint64
	// Peer is the peer headers are being fetched from (empty when not
	// syncing, or when only bodies are missing).
	Peer peer.ID
	// StartHeight is the tip height when the round started.
	StartHeight uint64
}

// The request/response protocols, as /cairn/<netID>/<name>/1: three for
// sync, two for transaction recovery (txsync.go).
const (
	protoStatus = iota
	protoHeaders
	protoBlocks
	protoTxIDs
	protoTxs
	numProtos
)

var protoNames = [numProtos]string{"status", "headers", "blocks", "txids", "txs"}

// SyncProtocol returns the protocol ID of the sync protocol name ("status",
// "headers" or "blocks") on the network netID.
func SyncProtocol(netID, name string) protocol.ID {
	return protocol.ID("/cairn/" + netID + "/" + name + "/1")
}

const (
	// penaltySyncStall is charged for a sync request that ran into its
	// deadline: light, since a slow link is not malice.
	penaltySyncStall = 10.0
	// readBufferSize is the buffer of a stream reader; a blocks answer is
	// read through it frame by frame.
	readBufferSize = 64 << 10
	// statusRequeryGap is the shortest time between two status queries to
	// one peer that a requestSync can cause.
	statusRequeryGap = 200 * time.Millisecond
)

// syncPeer is what the syncer knows of one connected peer.
type syncPeer struct {
	status    statusMsg
	hasStatus bool
	// height is the highest block the peer is known to have a body for:
	// its status's tip height, raised by the headers it served (those are
	// on its main chain).
	height uint64
	// failed drops the peer from sync until its status changes: it broke
	// the protocol, timed out, or did not deliver the work it claimed.
	failed bool
	// otherNet: the peer is on another genesis (it is being disconnected).
	otherNet bool
	// Status queries: one in flight at a time; requery asks for another
	// when it ends; notBefore spaces queries that requestSync causes
	// statusRequeryGap after the last one (lastQuery).
	querying  bool
	pending   bool
	requery   bool
	notBefore time.Time
	lastQuery time.Time
}

func (p *syncPeer) usable() bool { return p.hasStatus && !p.failed && !p.otherNet }

// syncer runs headers-first sync for a Network and serves the sync
// protocols. Its methods are safe for concurrent use.
type syncer struct {
	n *Network

	// Tunables, fixed before Start (tests shrink them).
	pollInterval  time.Duration // every peer's status is asked this often
	progressEvery time.Duration // sync progress is logged at most this often
	maxInflight   int           // block requests in flight per peer
	limits        [numProtos]rateLimit

	wake chan struct{} // capacity 1: the main loop has something to look at
	// headerWake (capacity 1) tells a running header phase that a peer's
	// status changed.
	headerWake chan struct{}
	// maxPresync is how many headers below the anti-DoS threshold one
	// peer may make this node check in a row (Config.MaxPresyncHeaders).
	maxPresync int

	mu sync.Mutex // guards everything below
	// peers are the connected peers; version counts changes to them that
	// matter to a round (connects, disconnects, statuses, failures). It is
	// written under mu and may be read without it.
	peers   map[peer.ID]*syncPeer
	version atomic.Uint64
	// again asks for another round after the running one; stalled says the
	// last round made no progress, so none starts until something changes.
	running, again, stalled bool
	// held keeps rounds from starting (tests line up peers first).
	held    bool
	st      SyncStatus
	buckets map[peer.ID]*[numProtos]bucket

	txs *txSync // transaction recovery (txsync.go)
}

func newSyncer(n *Network) *syncer {
	return &syncer{
		n:             n,
		pollInterval:  time.Minute,
		progressEvery: 5 * time.Second,
		maxInflight:   8,
		limits:        defaultServeLimits,
		wake:          make(chan struct{}, 1),
		headerWake:    make(chan struct{}, 1),
		maxPresync:    n.cfg.MaxPresyncHeaders,
		peers:         make(map[peer.ID]*syncPeer),
		buckets:       make(map[peer.ID]*[numProtos]bucket),
		txs:           newTxSync(n),
	}
}

func (s *syncer) proto(kind int) protocol.ID { return SyncProtocol(s.n.netID, protoNames[kind]) }

// poke wakes the main loop.
func (s *syncer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// registerHandlers sets the stream handlers of the three sync protocols
// and starts transaction recovery (its two protocols and its loop).
func (s *syncer) registerHandlers() {
	s.n.host.SetStreamHandler(s.proto(protoStatus), func(st network.Stream) { s.serve(st, protoStatus, s.serveStatus) })
	s.n.host.SetStreamHandler(s.proto(protoHeaders), func(st network.Stream) { s.serve(st, protoHeaders, s.serveHeaders) })
	s.n.host.SetStreamHandler(s.proto(protoBlocks), func(st network.Stream) { s.serve(st, protoBlocks, s.serveBlocks) })
	s.txs.start() // the tx recovery protocols' handlers and loop
}

// peerConnected queues a status exchange with p.
func (s *syncer) peerConnected(p peer.ID) {
	s.mu.Lock()
	sp := s.peerLocked(p)
	s.queueStatusLocked(sp, time.Time{})
	s.mu.Unlock()
	s.poke()
}

// peerDisconnected forgets p. Its requests in flight fail on their own.
func (s *syncer) peerDisconnected(p peer.ID) {
	s.mu.Lock()
	delete(s.peers, p)
	delete(s.buckets, p)
	s.version.Add(1)
	s.mu.Unlock()
}

// requestSync asks p for its status and syncs from it if it has more work
// (a block it gossiped has an unknown parent). While a round runs, it only
// asks for another one after it.
func (s *syncer) requestSync(p peer.ID) {
	s.mu.Lock()
	if s.running {
		s.again = true
	}
	if sp := s.peers[p]; sp != nil {
		s.queueStatusLocked(sp, sp.lastQuery.Add(statusRequeryGap))
	}
	s.mu.Unlock()
	s.poke()
}

// status returns the sync progress.
func (s *syncer) status() SyncStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *syncer) peerLocked(p peer.ID) *syncPeer {
	sp := s.peers[p]
	if sp == nil {
		sp = &syncPeer{}
		s.peers[p] = sp
		s.version.Add(1)
	}
	return sp
}

// queueStatusLocked asks for a status query of sp, spaced after the
// previous one by notBefore.
func (s *syncer) queueStatusLocked(sp *syncPeer, notBefore time.Time) {
	if sp.querying {
		sp.requery = true
		return
	}
	if !sp.pending || notBefore.Before(sp.notBefore) {
		sp.notBefore = notBefore
	}
	sp.pending = true
}

// ourStatus describes this node's chain.
func (s *syncer) ourStatus() statusMsg {
	b := s.n.backend
	tip, best := b.Tip(), b.BestHeader()
	return statusMsg{Genesis: b.Params().GenesisHash(), TipHash: tip.Hash, TipHeight: tip.Height,
		Work: tip.Work, BestHash: best.Hash, BestHeight: best.Header.Height}
}

// otherNetworkRefusal is how long a peer on another genesis is refused.
const otherNetworkRefusal = 10 * time.Minute

// recordStatus stores the status p sent. A peer on another genesis is
// disconnected and refused for otherNetworkRefusal.
func (s *syncer) recordStatus(p peer.ID, m statusMsg) {
	if m.Genesis != s.n.backend.Params().GenesisHash() {
		s.n.log.Info("disconnecting peer on another network", "peer", p, "genesis", m.Genesis)
		s.mu.Lock()
		if sp := s.peers[p]; sp != nil {
			sp.otherNet = true
		}
		s.mu.Unlock()
		// Refused for a while rather than only disconnected: GossipSub,
		// which heard of the peer too, would dial it straight back.
		s.n.refuse(p, otherNetworkRefusal)
		return
	}
	if s.n.host.Network().Connectedness(p) != network.Connected {
		return // gone already; do not resurrect it
	}
	s.mu.Lock()
	sp := s.peerLocked(p)
	if !sp.hasStatus || sp.status.TipHash != m.TipHash {
		// New information: worth another try, after the running round if
		// there is one.
		sp.failed = false
		s.stalled = false
		if s.running {
			s.again = true
		}
	}
	sp.status, sp.hasStatus = m, true
	sp.height = max(sp.height, m.TipHeight)
	s.version.Add(1)
	s.mu.Unlock()
	s.n.log.Debug("peer status", "peer", p, "height", m.TipHeight, "tip", m.TipHash, "work", m.Work)
	s.poke()
	select {
	case s.headerWake <- struct{}{}:
	default:
	}
}

// dropPeer takes p out of sync until its status changes.
func (s *syncer) dropPeer(p peer.ID) {
	s.mu.Lock()
	if sp := s.peers[p]; sp != nil {
		sp.failed = true
	}
	s.version.Add(1)
	s.mu.Unlock()
}

// run is the main loop: status queries, sync rounds, periodic polls.
func (s *syncer) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	poll := time.NewTicker(s.pollInterval)
	defer poll.Stop()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	roundDone := make(chan bool, 1)
	for {
		next := s.startQueries(ctx, &wg)
		if !next.IsZero() {
			retry.Reset(time.Until(next))
		}
		if s.shouldSync() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				roundDone <- s.syncRound(ctx)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-retry.C:
		case progress := <-roundDone:
			s.endRound(progress)
		case <-poll.C:
			s.pollAll()
		}
	}
}

// startQueries starts the status queries that are due and returns when
// the next deferred one is (zero if none).
func (s *syncer) startQueries(ctx context.Context, wg *sync.WaitGroup) time.Time {
	now := time.Now()
	var due []peer.ID
	var next time.Time
	s.mu.Lock()
	for p, sp := range s.peers {
		if !sp.pending || sp.querying {
			continue
		}
		if sp.notBefore.After(now) {
			if next.IsZero() || sp.notBefore.Before(next) {
				next = sp.notBefore
			}
			continue
		}
		sp.pending, sp.querying, sp.lastQuery = false, true, now
		due = append(due, p)
	}
	s.mu.Unlock()
	for _, p := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.queryStatus(ctx, p)
		}()
	}
	return next
}

// queryStatus exchanges statuses with p as the opener.
func (s *syncer) queryStatus(ctx context.Context, p peer.ID) {
	var m statusMsg
	err := s.request(ctx, p, protoStatus, s.ourStatus().encode(), func(r *bufio.Reader) error {
		b, err := readFrame(r, maxStatusSize)
		if err != nil {
			return asBadAnswer(err)
		}
		m, err = decodeStatus(b)
		if err != nil {
			return badAnswer{err}
		}
		return nil
	})
	s.mu.Lock()
	if sp := s.peers[p]; sp != nil {
		sp.querying = false
		if sp.requery {
			sp.requery = false
			s.queueStatusLocked(sp, sp.lastQuery.Add(statusRequeryGap))
		}
	}
	s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			s.n.log.Debug("status query failed", "peer", p, "err", err)
			s.punish(p, "status", err)
		}
		s.poke()
		return
	}
	s.recordStatus(p, m)
}

// pollAll queues a status query of every peer and forgets rate-limit
// buckets of peers that are gone.
func (s *syncer) pollAll() {
	s.mu.Lock()
	for _, sp := range s.peers {
		s.queueStatusLocked(sp, time.Time{})
	}
	for p := range s.buckets {
		if _, ok := s.peers[p]; !ok {
			delete(s.buckets, p)
		}
	}
	s.mu.Unlock()
}

// shouldSync reports whether a round should start now, and marks it
// running if so: a usable peer claims more work than the best header, or
// bodies of the best header chain are missing.
func (s *syncer) shouldSync() bool {
	best := s.n.backend.BestHeader()
	tip := s.n.backend.Tip()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.stalled || s.held {
		return false
	}
	usable := false
	for _, sp := range s.peers {
		if !sp.usable() {
			continue
		}
		usable = true
		if sp.status.Work.Cmp(best.Work) > 0 {
			s.running, s.again = true, false
			return true
		}
	}
	if usable && tip.Hash != best.Hash {
		s.running, s.again = true, false
		return true
	}
	return false
}

// endRound records the end of a round. After one that made progress, every
// peer's status is asked again (a peer may have advanced); after one that
// did not, no round starts until a status changes or another is asked for.
func (s *syncer) endRound(progress bool) {
	s.mu.Lock()
	s.running = false
	s.st = SyncStatus{}
	if progress || s.again {
		for _, sp := range s.peers {
			s.queueStatusLocked(sp, time.Time{})
		}
	}
	s.stalled = !progress && !s.again
	s.again = false
	s.mu.Unlock()
}

// bestPeer returns the usable peer, not in exclude, with the most work
// above work.
func (s *syncer) bestPeer(work *big.Int, exclude map[peer.ID]bool) (peer.ID, *syncPeer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bp peer.ID
	var best *syncPeer
	for p, sp := range s.peers {
		if sp.usable() && !exclude[p] && sp.status.Work.Cmp(work) > 0 && (best == nil || sp.status.Work.Cmp(best.status.Work) > 0) {
			bp, best = p, sp
		}
	}
	if best == nil {
		return "", nil, false
	}
	cp := *best
	return bp, &cp, true
}

// badAnswer marks an error as the peer's fault: a malformed or
// contradictory answer.
type badAnswer struct{ err error }

func (e badAnswer) Error() string { return e.err.Error() }
func (e badAnswer) Unwrap() error { return e.err }

// errTimeout is returned for a request that ran into its deadline.
var errTimeout = errors.New("sync request timed out")

// punish penalizes p for a failed request according to the error and, for
// a bad answer, a timeout or headers from the future, drops it from sync
// until its status changes. It reports whether it dropped p; other
// failures (a refused or reset stream, a peer gone) only cost p its place
// in the current round, which the caller handles.
func (s *syncer) punish(p peer.ID, what string, err error) bool {
	var bad badAnswer
	switch {
	case errors.As(err, new(lyingPeer)):
		s.n.penalize(p, fmt.Sprintf("lied about its work: %v", err), PenaltyLyingPeer)
	case errors.As(err, &bad):
		s.n.penalize(p, fmt.Sprintf("bad %s answer: %v", what, err), PenaltyBadSyncAnswer)
	case errors.Is(err, errTimeout):
		s.n.penalize(p, what+" request timed out", penaltySyncStall)
	case errors.Is(err, errPeerMoved):
		s.n.penalize(p, err.Error(), penaltySyncStall)
	case errors.Is(err, errFutureHeaders):
	default:
		return false
	}
	s.dropPeer(p)
	return true
}

// request opens a stream of the given kind to p, writes req as one frame,
// and lets read consume the answer, all within the request deadline. An
// answer that ran into the deadline returns errTimeout; one read cut short
// by a cancelled ctx returns ctx's error.
func (s *syncer) request(ctx context.Context, p peer.ID, kind int, req []byte, read func(*bufio.Reader) error) error {
	timeout := s.n.cfg.RequestTimeout
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Sync talks only to connected peers: without WithNoDial, a query
	// queued before a peer was dropped (say, for being on another
	// genesis) would dial it again and bring it back.
	st, err := s.n.host.NewStream(network.WithNoDial(octx, "sync request"), p, s.proto(kind))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if octx.Err() != nil {
			return errTimeout
		}
		return fmt.Errorf("open %s stream: %w", protoNames[kind], err)
	}
	expired := guard(ctx, st, timeout)
	err = func() error {
		w := bufio.NewWriterSize(st, len(req)+binaryMaxVarintLen)
		if err := writeFrame(w, req); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := st.CloseWrite(); err != nil {
			return err
		}
		size := readBufferSize
		if kind == protoStatus {
			size = 4 << 10
		}
		return read(bufio.NewReaderSize(st, size))
	}()
	timedOut := expired()
	if err != nil {
		st.Reset()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case timedOut || isTimeout(err):
			return errTimeout
		}
		return err
	}
	st.Close()
	return nil
}

const binaryMaxVarintLen = 10

// guard puts st under a deadline: SetDeadline for transports that honour
// it, and a timer that resets the stream for those that do not (mocknet);
// a cancelled ctx resets it too. The returned func releases the guard and
// reports whether the deadline had passed.
func guard(ctx context.Context, st network.Stream, d time.Duration) func() bool {
	st.SetDeadline(time.Now().Add(d))
	var fired atomic.Bool
	t := time.AfterFunc(d, func() { fired.Store(true); st.Reset() })
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	return func() bool {
		t.Stop()
		stop()
		return fired.Load()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// The body phase.
//
// The fetcher tracks a window of the best header chain's missing blocks
// (MissingBlocks), requests them in batches from the peers that have them,
// least loaded first, several requests per peer in flight, and hands the
// received blocks to the importer goroutine in height order. Batches and
// the window shrink for big blocks, so that what is buffered stays bounded
// in bytes.
const (
	batchBytes     = 2 << 20  // aim of one blocks answer
	windowBytes    = 64 << 20 // aim of the blocks tracked at once
	minWindow      = 64
	maxWindow      = 4096
	initialAvgSize = 64 << 10 // assumed block size before any arrived
	importQueue    = 1024     // blocks handed to the importer ahead
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

type importResult struct {
	it  *fetchItem
	err error
}

type fetcher struct {
	s      *syncer
	b      Backend
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
	headersDone         bool
	// quiet: a refill after everything settled found nothing new.
	quiet   bool
	lastLog time.Time

	respCh   chan blockResp
	importCh chan *fetchItem
	resultCh chan importResult
}

func newFetcher(s *syncer, tip0 chain.Tip) *fetcher {
	f := &fetcher{
		s: s, b: s.n.backend, start: time.Now(), tip0: tip0,
		maxBlk:   s.n.params.MaxBlockSize,
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
// peer can supply it. It returns an error only for a failure of this node.
func (f *fetcher) run(ctx context.Context, progress <-chan struct{}, hdone <-chan struct{}) (err error) {
	fctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.importer(fctx)
	}()
	defer func() {
		// Abandon the requests in flight, take back from the importer what
		// it was handed and did not start, and join everything.
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
		wg.Wait()
	}()
	tick := time.NewTicker(housekeeping)
	defer tick.Stop()
	for {
		if f.version != f.s.currentVersion() {
			f.refreshPeers()
		}
		if f.dirty && (f.idle() || len(f.queue) < f.batchSize()*f.s.maxInflight*max(1, len(f.peers))) {
			f.refill()
		}
		f.assign(fctx, &wg)
		f.feed()
		if f.idle() {
			if f.dirty {
				continue // refill first
			}
			if f.headersDone {
				if len(f.queue) == 0 && f.cursor == len(f.order) {
					if !f.quiet {
						// One more look: the window may have moved on.
						f.quiet, f.dirty = true, true
						continue
					}
					return nil
				}
				// What is queued cannot be had from any peer: skip it and
				// import what arrived beyond it.
				for _, it := range f.queue {
					it.state = itemDead
				}
				f.queue = f.queue[:0]
				f.feed()
				if f.idle() {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-f.respCh:
			f.handleResponse(r)
		case r := <-f.resultCh:
			if err := f.handleImport(r); err != nil {
				return err
			}
			for more := true; more; { // take what else is there in one go
				select {
				case r := <-f.resultCh:
					if err := f.handleImport(r); err != nil {
						return err
					}
				default:
					more = false
				}
			}
			f.logProgress()
		case <-progress:
			f.dirty = true
		case <-hdone:
			hdone = nil
			f.headersDone, f.dirty = true, true
		case <-tick.C:
			f.logProgress()
		}
	}
}

// idle: nothing in flight, nothing being imported, nothing ready to hand
// over.
func (f *fetcher) idle() bool {
	return f.inflight == 0 && f.importing == 0 && (f.cursor == len(f.order) || f.order[f.cursor].state != itemReady)
}

func (s *syncer) currentVersion() uint64 { return s.version.Load() }

// refreshPeers brings the fetcher's peers up to date with the syncer's.
func (f *fetcher) refreshPeers() {
	s := f.s
	s.mu.Lock()
	f.version = s.version.Load()
	f.peers = f.peers[:0]
	for p, sp := range s.peers {
		if !sp.usable() {
			continue
		}
		fp := f.all[p]
		if fp == nil {
			fp = &fetchPeer{id: p}
			f.all[p] = fp
		}
		fp.height = sp.height
		if !fp.dropped {
			f.peers = append(f.peers, fp)
		}
	}
	s.mu.Unlock()
	f.dirty = true
}

// refill re-reads the window of missing blocks: new ones are queued,
// tracked ones no longer missing (imported, or off the best header chain)
// are forgotten.
func (f *fetcher) refill() {
	f.dirty = false
	missing := f.b.MissingBlocks(f.window())
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
		if hi, err := f.b.Header(h); err == nil {
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

// assign hands batches from the queue to the least-loaded peers with room.
func (f *fetcher) assign(ctx context.Context, wg *sync.WaitGroup) {
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
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		f.s.n.log.Debug("block request failed", "peer", fp.id, "blocks", len(r.req.items), "err", r.err)
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

// feed hands ready blocks to the importer in height order.
func (f *fetcher) feed() {
	for f.cursor < len(f.order) {
		it := f.order[f.cursor]
		switch it.state {
		case itemImporting, itemDead:
			f.cursor++
			continue
		case itemReady:
		default:
			return
		}
		select {
		case f.importCh <- it:
			it.state = itemImporting
			f.importing++
			f.cursor++
		default:
			return
		}
	}
}

// importer imports the blocks it is handed, in order, until ctx ends; then
// it only hands them back, so that a stopping node does not import what
// was queued.
//
// The Network's stopped flag is checked as well as ctx: a context reports
// its cancellation before its descendants do (Err is set before the
// children are cancelled, one by one), and a block imported after Stop has
// begun would be imported after the caller was told the node stopped.
func (f *fetcher) importer(ctx context.Context) {
	for it := range f.importCh {
		if ctx.Err() != nil || f.s.n.stopped.Load() {
			f.resultCh <- importResult{it: it, err: context.Canceled}
			continue
		}
		_, err := f.b.ProcessBlock(it.block, chain.Origin{Peer: string(it.from)})
		f.resultCh <- importResult{it: it, err: err}
	}
}

// handleImport files an import result: a body that does not fit its
// header or breaks a rule costs its supplier a penalty and its place in
// the round; a body-only fault is asked of another peer.
func (f *fetcher) handleImport(r importResult) error {
	f.importing--
	it := r.it
	it.block = nil
	if r.err == nil {
		f.imported++
		if f.items[it.hash] == it {
			delete(f.items, it.hash)
		}
		if f.imported%uint64(f.window()/4+1) == 0 {
			f.dirty = true
		}
		return nil
	}
	code := consensus.CodeOf(r.err)
	switch {
	case code == consensus.ErrTimeTooNew:
		f.s.n.log.Debug("synced block is from the future", "hash", it.hash, "err", r.err)
		it.state = itemDead
		return nil
	case code != 0 || errors.Is(r.err, chain.ErrKnownInvalid):
	default:
		return fmt.Errorf("import block %s: %w", it.hash, r.err)
	}
	// One penalty per peer and round: the other blocks of its answers
	// are likely bad too.
	if fp := f.all[it.from]; fp != nil && !fp.dropped {
		fp.dropped = true
		f.s.n.penalize(it.from, fmt.Sprintf("synced block %s: %v", it.hash, r.err), PenaltyBadSyncAnswer)
		f.s.dropPeer(it.from)
	}
	switch code {
	case consensus.ErrBlockTooBig, consensus.ErrBadTxRoot, consensus.ErrDuplicateTx:
		// The body does not match its header: ask someone else.
		if f.items[it.hash] == it {
			it.tried = append(it.tried, it.from)
			f.requeue(it)
			f.cursor = min(f.cursor, it.pos)
		}
	default:
		// The block is invalid and the chain has condemned it: the best
		// header chain is another one now.
		delete(f.items, it.hash)
		f.dirty = true
	}
	return nil
}

// logProgress logs the sync progress (DESIGN.md §13), at most every
// progressEvery.
func (f *fetcher) logProgress() {
	if time.Since(f.lastLog) < f.s.progressEvery {
		return
	}
	f.lastLog = time.Now()
	tip, best := f.b.Tip(), f.b.BestHeader()
	target := max(best.Header.Height, f.s.status().TargetHeight)
	done := tip.Height - min(tip.Height, f.tip0.Height)
	total := target - min(target, f.tip0.Height)
	pct := 100.0
	if total > 0 {
		pct = float64(int64(float64(done)/float64(total)*1000)) / 10
	}
	el := time.Since(f.start)
	eta := "unknown"
	if done > 0 && target > tip.Height {
		d := time.Duration(float64(el) / float64(done) * float64(target-tip.Height))
		eta = d.Round(time.Second).String()
		if d < 10*time.Second {
			eta = d.Round(100 * time.Millisecond).String()
		}
	}
	f.s.n.log.Info("sync progress", "height", tip.Height, "target", target, "percent", pct,
		"blocks/s", rate(f.imported, el), "eta", eta)
}
