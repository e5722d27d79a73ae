package p2p

// Headers-first sync (docs/PROTOCOL.md §23, Headers-first sync), in the
// manner of btcd and bitcoind.
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
// libp2p's goroutines, each registered with the Network (acquire and
// release) so that Stop waits for it.

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
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
	// PeersHeard counts the connected peers on this network that have
	// answered a status request, and BestPeerHeight is the best height
	// any of them is known to have (0 when none has answered).
	PeersHeard     int
	BestPeerHeight uint64
}

// What the syncer needs of the Network that runs it, declared here so
// that sync does not reach into *Network: the Network judges peers and
// owns goroutines, and its libp2p host carries the streams.

// peerJudge charges peers for what they did (the Network's scoring).
type peerJudge interface {
	// penalize charges p points for reason; enough of them ban p.
	penalize(p peer.ID, reason string, points float64)
	// refuse disconnects p and refuses it for d, without a penalty.
	refuse(p peer.ID, d time.Duration)
}

// goroutineOwner runs goroutines, and registers work done on goroutines
// it does not own, so that its Stop waits for both: goFunc runs f in an
// owned goroutine; acquire registers work and release ends it. Once Stop
// has begun, goFunc and acquire refuse (and report false).
type goroutineOwner interface {
	goFunc(f func()) bool
	acquire() bool
	release()
}

// streamHost is the part of the libp2p host that sync uses.
type streamHost interface {
	NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error)
	SetStreamHandler(pid protocol.ID, handler network.StreamHandler)
	Network() network.Network
}

var (
	_ peerJudge      = (*Network)(nil)
	_ goroutineOwner = (*Network)(nil)
	_ streamHost     = host.Host(nil)
)

// syncer runs headers-first sync for a Network and serves the sync
// protocols. Its methods are safe for concurrent use.
type syncer struct {
	// Fixed by newSyncer.
	chain   Backend
	judge   peerJudge
	owner   goroutineOwner
	log     *slog.Logger
	netID   string
	timeout time.Duration // of one request (Config.RequestTimeout)
	// maxPresync is how many headers below the anti-DoS threshold one
	// peer may make this node check in a row (Config.MaxPresyncHeaders).
	maxPresync int

	// Set by start, before anything that reads them runs.
	ctx  context.Context // the Network's: ends when it stops
	host streamHost

	// Tunables, fixed before Start (tests shrink them).
	pollInterval  time.Duration // every peer's status is asked this often
	progressEvery time.Duration // sync progress is logged at most this often
	// preverifyMinTxs: the importer preverifies blocks of at least this
	// many txs (importer.go).
	preverifyMinTxs int
	finished        func(blocks uint64) // Config.SyncFinished
	maxInflight     int                 // block requests in flight per peer
	limits          [numProtos]rateLimit

	wake chan struct{} // capacity 1: the main loop has something to look at
	// headerWake (capacity 1) tells a running header phase that a peer's
	// status changed.
	headerWake chan struct{}

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

	// preverifyHigh is the most blocks any round's importer preverified
	// at once (the high-water mark of fetcher.preverifying), for tests.
	preverifyHigh atomic.Int32
}

// newSyncer builds the syncer of a Network with cfg (defaults applied)
// over chain and pool; judge and owner are the Network.
func newSyncer(cfg Config, chain Backend, pool TxPool, judge peerJudge, owner goroutineOwner) *syncer {
	s := &syncer{
		chain:           chain,
		judge:           judge,
		owner:           owner,
		log:             cfg.Logger,
		finished:        cfg.SyncFinished,
		netID:           chain.Params().NetID(),
		timeout:         cfg.RequestTimeout,
		maxPresync:      cfg.MaxPresyncHeaders,
		pollInterval:    time.Minute,
		progressEvery:   5 * time.Second,
		preverifyMinTxs: preverifyMinTxs,
		maxInflight:     8,
		limits:          defaultServeLimits,
		wake:            make(chan struct{}, 1),
		headerWake:      make(chan struct{}, 1),
		peers:           make(map[peer.ID]*syncPeer),
		buckets:         make(map[peer.ID]*[numProtos]bucket),
	}
	s.txs = newTxSync(s, pool)
	return s
}

func (s *syncer) proto(kind int) protocol.ID { return SyncProtocol(s.netID, protoNames[kind]) }

// poke wakes the main loop.
func (s *syncer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start sets the stream handlers of the three sync protocols on h and
// starts transaction recovery (its two protocols and its loop). ctx is
// the Network's: it ends when the Network stops.
func (s *syncer) start(ctx context.Context, h streamHost) {
	s.ctx, s.host = ctx, h
	s.handle(protoStatus, s.serveStatus)
	s.handle(protoHeaders, s.serveHeaders)
	s.handle(protoBlocks, s.serveBlocks)
	s.txs.start() // the tx recovery protocols' handlers and loop
}

// status returns the sync progress.
func (s *syncer) status() SyncStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	for _, sp := range s.peers {
		if sp.hasStatus && !sp.otherNet {
			st.PeersHeard++
			st.BestPeerHeight = max(st.BestPeerHeight, sp.height)
		}
	}
	return st
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

// shouldSync reports whether a round should start now, and marks it
// running if so: a usable peer claims more work than the best header, or
// bodies of the best header chain are missing.
func (s *syncer) shouldSync() bool {
	best := s.chain.BestHeader()
	tip := s.chain.Tip()
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

// syncRound runs one round and reports whether it made progress (new
// headers or blocks).
func (s *syncer) syncRound(parent context.Context) bool {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	b := s.chain
	tip0, best0 := b.Tip(), b.BestHeader()
	s.mu.Lock()
	s.st = SyncStatus{Syncing: true, StartHeight: tip0.Height, TargetHeight: best0.Header.Height}
	s.mu.Unlock()
	s.log.Debug("sync round started", "height", tip0.Height, "best header", best0.Header.Height)

	progress := make(chan struct{}, 1) // the header phase accepted headers
	hdone := make(chan struct{})
	go func() {
		defer close(hdone)
		s.headerPhase(ctx, progress)
	}()
	f := newFetcher(s, tip0)
	err := f.run(ctx, progress, hdone)
	cancel()
	<-hdone

	tip, best := b.Tip(), b.BestHeader()
	took := time.Since(f.start)
	switch {
	case parent.Err() != nil: // stopping
	case err != nil:
		s.log.Warn("sync round failed", "height", tip.Height, "err", err)
	case f.imported < 100 && took < s.progressEvery:
		s.log.Debug("sync round finished", "height", tip.Height, "blocks", f.imported, "took", took.Round(time.Millisecond))
	case tip.Hash == best.Hash:
		s.log.Info("sync finished", "height", tip.Height, "hash", tip.Hash,
			"blocks", f.imported, "took", took.Round(time.Millisecond), "blocks/s", rate(f.imported, took))
		if s.finished != nil {
			s.finished(f.imported)
		}
	default:
		s.log.Info("sync round ended short of the best header", "height", tip.Height, "best header", best.Header.Height,
			"blocks", f.imported, "took", took.Round(time.Millisecond))
	}
	return tip.Work.Cmp(tip0.Work) > 0 || best.Work.Cmp(best0.Work) > 0
}

func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int64(float64(n)/d.Seconds()*10)) / 10
}
