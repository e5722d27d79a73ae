package p2p

// Transaction recovery (docs/PROTOCOL.md §24, Transaction recovery).
//
// GossipSub may lose a tx: a queue overflows, a validation is throttled,
// and since the message is then marked seen, copies from other peers are
// dropped too. Nothing in GossipSub sends it again, and a re-publish of
// the same bytes within the seen-cache TTL (2 minutes) is dropped even by
// the publishing node. A lost tx strands its sender's later nonces, which
// wait queued behind the gap. Three mechanisms recover, over two stream
// protocols served like the sync protocols (serve.go: per-peer rate
// limits, a cap of requests at once, the request-frame deadline):
//
//   - Nonce gaps. A gossiped tx that the pool holds as queued is ignored
//     (not relayed), and after gapDelay the node asks the peer that
//     relayed it for the sender's missing nonces (TxPool.Missing), unless
//     they arrived meanwhile. Asks are limited per sender (one per
//     gapRetry) and per peer (a token bucket, maxGapsInflight in flight).
//   - Reconciliation. On connect and every reconcileEvery (jittered),
//     the node asks each peer for the ids of its pending txs (at most
//     MaxPendingIDs, highest fee first) and fetches those it lacks, at
//     most maxFetchPerRound per peer and round, in requests of at most
//     MaxTxsPerRequest; after a round that hit that limit the next comes
//     after catchUpEvery. What is recovered this way is not gossiped:
//     every node reconciles for itself.
//   - Announcements. AnnounceTxs (node.SubmitTx of a tx the pool holds
//     already) and, every staleEvery, the pending txs that no block has
//     included for staleAge (TxPool.Stale, which also returns queued txs
//     that became pending and were never relayed) are announced by id to
//     every peer, which fetches the ids it lacks from the announcer.
//
// Every tx fetched is checked against what was asked (its id, or its
// sender and nonce) and then verified by the pool before it is added; an
// answer that breaks the protocol costs the peer PenaltyBadSyncAnswer, an
// invalid tx PenaltyInvalidTx, a request that runs into its deadline
// penaltySyncStall. None of them drops the peer from block sync.
//
// Goroutines: run (owned by the Network) is the loop; it starts one
// goroutine per exchange and joins them before it returns. At most one
// fetch (a reconciliation round or a fetch of announced ids),
// maxGapsInflight nonce-gap requests and one announcement run per peer at
// once. Stream handlers run on libp2p's goroutines, registered with the
// Network as the sync protocols' are (serve.go).

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Defaults of the tunables and fixed limits of transaction recovery.
const (
	defaultReconcileEvery = 30 * time.Second
	defaultStaleEvery     = 2 * time.Second
	defaultStaleAge       = time.Minute
	defaultGapDelay       = 500 * time.Millisecond
	defaultGapRetry       = 3 * time.Second

	// peerPollInterval is how often the syncer's peers are checked for
	// changes: a peer's first round starts at most this long after its
	// status arrived.
	peerPollInterval = 100 * time.Millisecond

	// staleMax is the most stale txs announced per staleEvery.
	staleMax = 128
	// maxFetchPerRound is the most txs one reconciliation round fetches
	// from one peer.
	maxFetchPerRound = 1024
	// catchUpEvery is when the next round with a peer is due after a
	// round that fetched a full maxFetchPerRound: the node is far behind
	// that peer's pool (gossip lost a burst), and waiting reconcileEvery
	// would leave thousands of txs missing for minutes. It matches the
	// txids serving rate (one request per 5 s per peer, after a burst).
	catchUpEvery = 5 * time.Second
	// maxAnnouncedPerPeer is the most ids a peer announced that wait to
	// be fetched; more are dropped.
	maxAnnouncedPerPeer = 1024
	// maxOutPerPeer is the most ids waiting to be announced to one peer.
	maxOutPerPeer = 4096
	// maxGapQueue is the most nonce-gap requests waiting for their delay;
	// maxGapSenders the most senders remembered as asked for.
	maxGapQueue   = 1024
	maxGapSenders = 8192
	// Nonce-gap requests to one peer: a token bucket (per second, burst)
	// and at most maxGapsInflight at once. A relay that lost a burst of
	// gossip leaves a gap at every sender of the burst (a load test: 300
	// senders stuck at once); at 4 a second they took 75 s to fill. The
	// serving side admits 50 txs requests a second, 6 at once.
	gapRate, gapBurst = 40, 160
	maxGapsInflight   = 4
	// refusedTTL is how long a tx the pool refused (for a reason of this
	// node's view) is not fetched again; at most maxRefused are
	// remembered.
	refusedTTL = 2 * time.Minute
	maxRefused = 16384
)

// TxRecoveryStats counts what transaction recovery did since Start.
type TxRecoveryStats struct {
	// Rounds counts reconciliation rounds whose ids answer arrived.
	Rounds uint64
	// Recovered txs the pool admitted, by the mechanism that fetched them.
	FromReconcile, FromAnnounce, FromGap uint64
	// GapRequests counts nonce-gap requests sent.
	GapRequests uint64
	// Announced counts tx ids announced to peers (once per peer).
	Announced uint64
	// Dropped counts ids and nonce-gap asks dropped because a queue was
	// full.
	Dropped uint64
}

// TxRecoveryStats returns the counters of transaction recovery. Safe for
// concurrent use.
func (n *Network) TxRecoveryStats() TxRecoveryStats {
	c := &n.sync.txs.stats
	return TxRecoveryStats{
		Rounds: c.rounds.Load(), FromReconcile: c.fromReconcile.Load(), FromAnnounce: c.fromAnnounce.Load(),
		FromGap: c.fromGap.Load(), GapRequests: c.gapRequests.Load(), Announced: c.announced.Load(),
		Dropped: c.dropped.Load(),
	}
}

// AnnounceTxs announces the txs with ids, which the pool holds pending, to
// every connected peer, which fetches those it lacks from this node. It
// is the re-announcement that gossip cannot do (a re-published tx is
// dropped as seen for 2 minutes). It returns at once; at most
// maxOutPerPeer ids wait per peer, more are dropped. Safe for concurrent
// use; a no-op unless the Network runs.
func (n *Network) AnnounceTxs(ids []types.Hash) {
	if !n.started.Load() || n.stopped.Load() || len(ids) == 0 {
		return
	}
	n.sync.txs.enqueueAnnounce(ids)
}

type txCounters struct {
	rounds, fromReconcile, fromAnnounce, fromGap, gapRequests, announced, dropped atomic.Uint64
}

// txPeer is what transaction recovery keeps of one peer.
type txPeer struct {
	// usable: the peer's status is known and of this network.
	usable bool
	// nextRound is when the next reconciliation round is due (zero: as
	// soon as the peer is usable).
	nextRound time.Time
	// busy: a reconciliation round or a fetch of announced ids runs.
	busy bool
	// announced are ids the peer announced that this node lacked, to be
	// fetched from it.
	announced []types.Hash
	annSet    map[types.Hash]struct{}
	// out are ids to announce to the peer; announcing: an announcement
	// to it is in flight.
	out        []types.Hash
	outSet     map[types.Hash]struct{}
	announcing bool
	// Nonce-gap requests to the peer.
	gapBucket    tokenBucket
	gapsInflight int
}

// gapAsk is a nonce-gap request waiting for its delay.
type gapAsk struct {
	sender types.Address
	peer   peer.ID
	due    time.Time
}

// txSync runs transaction recovery for a Network. Its methods are safe
// for concurrent use.
type txSync struct {
	s     *syncer // whose requests, serving and peer table it uses
	pool  TxPool
	judge peerJudge
	log   *slog.Logger

	// Tunables, fixed before Start (tests shrink them).
	reconcileEvery time.Duration // reconciliation with each peer, ± 25 %
	staleEvery     time.Duration // stale txs are looked for this often
	staleAge       time.Duration // a pending tx is stale after this long
	gapDelay       time.Duration // a nonce-gap request waits this long
	gapRetry       time.Duration // one nonce-gap request per sender per this
	fetchPerRound  int           // txs one reconciliation round fetches, at most
	catchUp        time.Duration // next round after one that fetched fetchPerRound

	wake  chan struct{} // capacity 1: the loop has something to look at
	stats txCounters

	mu        sync.Mutex // guards everything below
	peers     map[peer.ID]*txPeer
	gapAsked  map[types.Address]time.Time // sender → when its gap was last queued
	gapQueue  []gapAsk
	fetching  map[types.Hash]struct{} // ids being fetched from some peer
	refused   map[types.Hash]time.Time
	nextStale time.Time
	nextPrune time.Time
}

func newTxSync(s *syncer, pool TxPool) *txSync {
	return &txSync{
		s:              s,
		pool:           pool,
		judge:          s.judge,
		log:            s.log,
		reconcileEvery: defaultReconcileEvery,
		staleEvery:     defaultStaleEvery,
		staleAge:       defaultStaleAge,
		gapDelay:       defaultGapDelay,
		gapRetry:       defaultGapRetry,
		fetchPerRound:  maxFetchPerRound,
		catchUp:        catchUpEvery,
		wake:           make(chan struct{}, 1),
		peers:          make(map[peer.ID]*txPeer),
		gapAsked:       make(map[types.Address]time.Time),
		fetching:       make(map[types.Hash]struct{}),
		refused:        make(map[types.Hash]time.Time),
	}
}

// start sets the handlers of the two protocols and starts the loop
// (called by the syncer's start, with its context and host set).
func (t *txSync) start() {
	t.s.handle(protoTxIDs, t.serveTxIDs)
	t.s.handle(protoTxs, t.serveTxs)
	ctx := t.s.ctx
	t.s.owner.goFunc(func() { t.run(ctx) })
}

func (t *txSync) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Serving.

// serveTxIDs answers a txids request with the ids of the pool's pending
// txs, highest fee first.
func (t *txSync) serveTxIDs(q *servedRequest, w *bufio.Writer) error {
	max, err := decodeTxIDsRequest(q.payload)
	if err != nil {
		return badAnswer{err}
	}
	ids := t.pool.PendingIDs(max)
	if len(ids) > max {
		ids = ids[:max]
	}
	return writeFrame(w, encodeTxIDs(ids))
}

// serveTxs answers a txs request: the txs asked for by id or by sender
// and nonce (an empty frame for each the pool does not hold), paced by
// the peer's byte bucket; an announcement is answered with nothing and
// queues the ids this node lacks to be fetched from the peer.
func (t *txSync) serveTxs(q *servedRequest, w *bufio.Writer) error {
	req, err := decodeTxRequest(q.payload)
	if err != nil {
		return badAnswer{err}
	}
	var frames [][]byte
	switch req.Type {
	case txReqAnnounce:
		t.noteAnnounced(q.peer, req.IDs)
		return nil
	case txReqByID:
		frames = make([][]byte, len(req.IDs))
		for i, id := range req.IDs {
			if tx, ok := t.pool.Get(id); ok {
				frames[i] = tx.Encode()
			}
		}
	case txReqBySender:
		frames = make([][]byte, req.Count)
		for i := range frames {
			if tx, ok := t.pool.BySenderNonce(req.Sender, req.From+uint64(i)); ok {
				frames[i] = tx.Encode()
			}
		}
	}
	size := 0
	for _, f := range frames {
		size += len(f)
	}
	if err := t.s.spend(q, size); err != nil {
		return err
	}
	for _, f := range frames {
		if err := writeFrame(w, f); err != nil {
			return err
		}
	}
	return nil
}

// noteAnnounced queues the ids p announced that the pool lacks, to be
// fetched from p.
func (t *txSync) noteAnnounced(p peer.ID, ids []types.Hash) {
	lack := ids[:0:0]
	for _, id := range ids {
		if !t.pool.Has(id) {
			lack = append(lack, id)
		}
	}
	if len(lack) == 0 {
		return
	}
	t.mu.Lock()
	tp := t.peerLocked(p)
	if tp.annSet == nil {
		tp.annSet = make(map[types.Hash]struct{})
	}
	for _, id := range lack {
		if _, dup := tp.annSet[id]; dup {
			continue
		}
		if len(tp.announced) >= maxAnnouncedPerPeer {
			t.stats.dropped.Add(1)
			continue
		}
		tp.annSet[id] = struct{}{}
		tp.announced = append(tp.announced, id)
	}
	t.mu.Unlock()
	t.poke()
}

// The loop.

func (t *txSync) peerLocked(p peer.ID) *txPeer {
	tp := t.peers[p]
	if tp == nil {
		tp = &txPeer{}
		t.peers[p] = tp
	}
	return tp
}

func (t *txSync) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	now := time.Now()
	t.mu.Lock()
	t.nextStale, t.nextPrune = now.Add(t.staleEvery), now.Add(t.gapRetry)
	t.mu.Unlock()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// The syncer's peers are looked at when its version moves (a peer
	// connected, sent its status or left): polled, as it tells no one.
	peerPoll := time.NewTicker(peerPollInterval)
	defer peerPoll.Stop()
	version := t.s.currentVersion()
	for {
		next := t.step(ctx, &wg, time.Now())
		timer.Reset(time.Until(next))
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
				break wait
			case <-timer.C:
				break wait
			case <-peerPoll.C:
				if v := t.s.currentVersion(); v != version {
					version = v
					break wait
				}
			}
		}
	}
}

// jitter returns d ± 25 %.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

// step starts the exchanges that are due and returns when the next one
// will be.
func (t *txSync) step(ctx context.Context, wg *sync.WaitGroup, now time.Time) time.Time {
	usable := t.s.txPeers()
	var jobs []func()
	next := now.Add(time.Hour)
	t.mu.Lock()
	for p := range t.peers {
		if _, ok := usable[p]; !ok {
			delete(t.peers, p)
		}
	}
	anyUsable := false
	for p, ok := range usable {
		tp := t.peerLocked(p)
		tp.usable = ok
		if !ok {
			continue
		}
		anyUsable = true
		if !tp.busy {
			switch {
			case len(tp.announced) > 0:
				ids := takeIDs(&tp.announced, tp.annSet, MaxTxsPerRequest)
				tp.busy = true
				jobs = append(jobs, func() { t.fetchAnnounced(ctx, p, tp, ids) })
			case !tp.nextRound.After(now):
				tp.busy = true
				tp.nextRound = now.Add(jitter(t.reconcileEvery))
				jobs = append(jobs, func() { t.reconcile(ctx, p, tp) })
			case tp.nextRound.Before(next):
				next = tp.nextRound
			}
		}
		if !tp.announcing && len(tp.out) > 0 {
			ids := takeIDs(&tp.out, tp.outSet, MaxTxsPerRequest)
			tp.announcing = true
			jobs = append(jobs, func() { t.announce(ctx, p, tp, ids) })
		}
	}
	rest := t.gapQueue[:0]
	for _, g := range t.gapQueue {
		if g.due.After(now) {
			rest = append(rest, g)
			next = minTime(next, g.due)
			continue
		}
		tp := t.peers[g.peer]
		if tp == nil || tp.gapsInflight >= maxGapsInflight || !tp.gapBucket.take(now, gapRate, gapBurst) {
			// Dropped: the sender is asked for again, of the next peer
			// that relays a queued tx of it, after gapRetry.
			t.stats.dropped.Add(1)
			continue
		}
		tp.gapsInflight++
		jobs = append(jobs, func() { t.fillGap(ctx, g.peer, tp, g.sender) })
	}
	clear(t.gapQueue[len(rest):])
	t.gapQueue = rest
	stale := false
	if !now.Before(t.nextStale) {
		stale = anyUsable
		t.nextStale = now.Add(t.staleEvery)
	}
	next = minTime(next, t.nextStale)
	if !now.Before(t.nextPrune) {
		t.pruneLocked(now)
		t.nextPrune = now.Add(t.gapRetry)
	}
	next = minTime(next, t.nextPrune)
	t.mu.Unlock()
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j()
		}()
	}
	if stale {
		if txs := t.pool.Stale(t.staleAge, staleMax); len(txs) > 0 {
			ids := make([]types.Hash, len(txs))
			for i, tx := range txs {
				ids[i] = tx.ID()
			}
			t.log.Debug("announcing stale txs", "count", len(ids))
			t.enqueueAnnounce(ids)
		}
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// pruneLocked forgets senders asked for longer than gapRetry ago and
// refusals older than refusedTTL.
func (t *txSync) pruneLocked(now time.Time) {
	for s, at := range t.gapAsked {
		if now.Sub(at) >= t.gapRetry {
			delete(t.gapAsked, s)
		}
	}
	for id, at := range t.refused {
		if now.Sub(at) >= refusedTTL {
			delete(t.refused, id)
		}
	}
}

// takeIDs takes up to max ids from the front of *q, removing them from
// set.
func takeIDs(q *[]types.Hash, set map[types.Hash]struct{}, max int) []types.Hash {
	k := min(max, len(*q))
	ids := slices.Clone((*q)[:k])
	for _, id := range ids {
		delete(set, id)
	}
	rest := (*q)[k:]
	if len(rest) == 0 {
		*q = nil
	} else {
		*q = slices.Clone(rest)
	}
	return ids
}

// enqueueAnnounce queues ids to be announced to every usable peer.
func (t *txSync) enqueueAnnounce(ids []types.Hash) {
	t.mu.Lock()
	for _, tp := range t.peers {
		if !tp.usable {
			continue
		}
		if tp.outSet == nil {
			tp.outSet = make(map[types.Hash]struct{})
		}
		for _, id := range ids {
			if _, dup := tp.outSet[id]; dup {
				continue
			}
			if len(tp.out) >= maxOutPerPeer {
				t.stats.dropped.Add(1)
				continue
			}
			tp.outSet[id] = struct{}{}
			tp.out = append(tp.out, id)
		}
	}
	t.mu.Unlock()
	t.poke()
}

// noteGap asks, after gapDelay, the peer p that relayed a queued tx of
// sender for the sender's missing nonces, unless the sender was asked for
// within gapRetry or the queue is full.
func (t *txSync) noteGap(p peer.ID, sender types.Address) { t.noteGapAfter(p, sender, t.gapDelay) }

// noteGapAfter is noteGap with a delay of d.
func (t *txSync) noteGapAfter(p peer.ID, sender types.Address, d time.Duration) {
	now := time.Now()
	t.mu.Lock()
	if at, ok := t.gapAsked[sender]; ok && now.Sub(at) < t.gapRetry {
		t.mu.Unlock()
		return
	}
	if len(t.gapQueue) >= maxGapQueue || len(t.gapAsked) >= maxGapSenders {
		t.mu.Unlock()
		t.stats.dropped.Add(1)
		return
	}
	t.gapAsked[sender] = now
	t.gapQueue = append(t.gapQueue, gapAsk{sender: sender, peer: p, due: now.Add(d)})
	t.mu.Unlock()
	t.poke()
}

// The exchanges.

// reconcile runs one reconciliation round with p: its pending ids, then
// the txs this node lacks, at most maxFetchPerRound.
func (t *txSync) reconcile(ctx context.Context, p peer.ID, tp *txPeer) {
	behind := false
	defer t.done(func() {
		tp.busy = false
		if behind {
			tp.nextRound = time.Now().Add(jitter(t.catchUp))
		}
	})
	var ids []types.Hash
	err := t.s.request(ctx, p, protoTxIDs, encodeTxIDsRequest(MaxPendingIDs), func(r *bufio.Reader) error {
		b, err := readFrame(r, maxTxIDsAnswerSize)
		if err != nil {
			return asBadAnswer(err)
		}
		if ids, err = decodeTxIDs(b, MaxPendingIDs); err != nil {
			return badAnswer{err}
		}
		return expectEnd(r)
	})
	if err != nil {
		t.punish(p, "txids", err)
		return
	}
	t.stats.rounds.Add(1)
	want := t.claim(ids, t.fetchPerRound)
	defer t.release(want)
	behind = len(want) == t.fetchPerRound
	txs, err := t.fetch(ctx, p, want)
	if err != nil {
		t.punish(p, "txs", err)
	}
	if n := t.add(p, txs, &t.stats.fromReconcile); n > 0 {
		t.log.Debug("reconciled txs", "peer", p, "ids", len(ids), "fetched", len(txs), "added", n)
	}
}

// fetchAnnounced fetches from p ids it announced.
func (t *txSync) fetchAnnounced(ctx context.Context, p peer.ID, tp *txPeer, ids []types.Hash) {
	defer t.done(func() { tp.busy = false })
	want := t.claim(ids, len(ids))
	defer t.release(want)
	txs, err := t.fetch(ctx, p, want)
	if err != nil {
		t.punish(p, "txs", err)
	}
	t.add(p, txs, &t.stats.fromAnnounce)
}

// fillGap asks p for the nonces of sender that the pool misses, if it
// still misses them.
func (t *txSync) fillGap(ctx context.Context, p peer.ID, tp *txPeer, sender types.Address) {
	defer t.done(func() { tp.gapsInflight-- })
	from, to, ok := t.pool.Missing(sender)
	if !ok || to <= from {
		return // filled meanwhile
	}
	count := min(to-from, MaxTxsPerSender)
	t.stats.gapRequests.Add(1)
	req := txRequest{Type: txReqBySender, Sender: sender, From: from, Count: int(count)}
	var txs []*types.Tx
	err := t.s.request(ctx, p, protoTxs, req.encode(), func(r *bufio.Reader) error {
		for i := range count {
			b, err := readFrame(r, maxTxFrameSize)
			if err != nil {
				return asBadAnswer(err)
			}
			if len(b) == 0 {
				continue
			}
			tx, err := types.DecodeTx(b)
			if err != nil {
				return badAnswer{err}
			}
			if tx.Nonce != from+i || tx.Sender() != sender {
				return badAnswer{fmt.Errorf("asked for nonce %d of %s, got nonce %d of %s", from+i, sender, tx.Nonce, tx.Sender())}
			}
			txs = append(txs, tx)
		}
		return expectEnd(r)
	})
	if err != nil {
		t.punish(p, "nonce-gap", err)
		return
	}
	n := t.add(p, txs, &t.stats.fromGap)
	if n == 0 {
		return
	}
	t.log.Debug("filled nonce gap", "peer", p, "sender", sender, "from", from, "to", to, "added", n)
	if _, _, ok := t.pool.Missing(sender); ok {
		// Another gap further on (nothing may come to reveal it): ask
		// again at once. Each round adds a tx, so this ends.
		t.mu.Lock()
		delete(t.gapAsked, sender)
		t.mu.Unlock()
		t.noteGapAfter(p, sender, 0)
	}
}

// announce sends an announcement of ids to p.
func (t *txSync) announce(ctx context.Context, p peer.ID, tp *txPeer, ids []types.Hash) {
	defer t.done(func() { tp.announcing = false })
	req := txRequest{Type: txReqAnnounce, IDs: ids}
	if err := t.s.request(ctx, p, protoTxs, req.encode(), expectEnd); err != nil {
		t.punish(p, "announce", err)
		return
	}
	t.stats.announced.Add(uint64(len(ids)))
}

// done ends an exchange: f updates the peer's state under the lock, and
// the loop looks again.
func (t *txSync) done(f func()) {
	t.mu.Lock()
	f()
	t.mu.Unlock()
	t.poke()
}

// claim returns, of ids, at most max that the pool lacks, that no other
// exchange is fetching and that the pool did not refuse lately, and marks
// them as being fetched (release unmarks them).
func (t *txSync) claim(ids []types.Hash, max int) []types.Hash {
	var lack []types.Hash
	for _, id := range ids {
		if len(lack) == max {
			break
		}
		if !t.pool.Has(id) {
			lack = append(lack, id)
		}
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := lack[:0]
	for _, id := range lack {
		if _, busy := t.fetching[id]; busy {
			continue
		}
		if at, ok := t.refused[id]; ok && now.Sub(at) < refusedTTL {
			continue
		}
		t.fetching[id] = struct{}{}
		out = append(out, id)
	}
	return out
}

func (t *txSync) release(ids []types.Hash) {
	t.mu.Lock()
	for _, id := range ids {
		delete(t.fetching, id)
	}
	t.mu.Unlock()
}

// fetch asks p for the txs with ids, MaxTxsPerRequest at a time, and
// returns those it sent, each checked against its id, with the error
// that ended the fetch, if any.
func (t *txSync) fetch(ctx context.Context, p peer.ID, ids []types.Hash) ([]*types.Tx, error) {
	var txs []*types.Tx
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), MaxTxsPerRequest)]
		ids = ids[len(chunk):]
		req := txRequest{Type: txReqByID, IDs: chunk}
		var got []*types.Tx
		err := t.s.request(ctx, p, protoTxs, req.encode(), func(r *bufio.Reader) error {
			for _, id := range chunk {
				b, err := readFrame(r, maxTxFrameSize)
				if err != nil {
					return asBadAnswer(err)
				}
				if len(b) == 0 {
					continue // not held (any more)
				}
				if h := types.Sum(b); h != id {
					return badAnswer{fmt.Errorf("asked for tx %s, got %s", id, h)}
				}
				tx, err := types.DecodeTx(b)
				if err != nil {
					return badAnswer{err}
				}
				got = append(got, tx)
			}
			return expectEnd(r)
		})
		if err != nil {
			return txs, err
		}
		txs = append(txs, got...)
	}
	return txs, nil
}

// add hands fetched txs to the pool, each sender's in nonce order, and
// returns how many it admitted (counted in via). A tx invalid whatever
// the state costs p PenaltyInvalidTx and ends the batch; one refused for
// a lasting reason of this node's view (fee, amount, nonce too low,
// balance, replacement) is not fetched again for refusedTTL; one
// admitted as queued makes p be asked for the sender's missing nonces.
func (t *txSync) add(p peer.ID, txs []*types.Tx, via *atomic.Uint64) int {
	type item struct {
		tx     *types.Tx
		sender types.Address
	}
	items := make([]item, len(txs))
	for i, tx := range txs {
		items[i] = item{tx, tx.Sender()}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := bytes.Compare(a.sender[:], b.sender[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.tx.Nonce, b.tx.Nonce)
	})
	added := 0
	for _, it := range items {
		id, err := t.pool.Add(it.tx)
		if err == nil {
			added++
			via.Add(1)
			if !t.pool.IsPending(id) {
				t.noteGap(p, it.sender)
			}
			continue
		}
		switch classifyRefusal(err) {
		case refusedUndecodable, refusedInvalid:
			t.judge.penalize(p, fmt.Sprintf("recovered tx %s: %v", id, err), PenaltyInvalidTx)
			return added
		case refusedForNow:
			// Not remembered: a gap filling (perhaps by another fetch
			// running now) or a block may lift these soon.
		case notRefused:
			t.log.Warn("add recovered tx", "id", id, "peer", p, "err", err)
		case refusedByView:
			t.mu.Lock()
			if len(t.refused) < maxRefused {
				t.refused[id] = time.Now()
			}
			t.mu.Unlock()
		}
	}
	return added
}

// punish penalizes p for a failed exchange: a bad answer (or request) as
// in sync, a timeout as a stall. Unlike sync's punish it does not drop p
// from block sync.
func (t *txSync) punish(p peer.ID, what string, err error) {
	var bad badAnswer
	switch {
	case errors.As(err, &bad):
		t.judge.penalize(p, fmt.Sprintf("bad %s answer: %v", what, err), PenaltyBadSyncAnswer)
	case errors.Is(err, errTimeout):
		t.judge.penalize(p, what+" request timed out", penaltySyncStall)
	default:
		t.log.Debug("tx recovery request failed", "peer", p, "request", what, "err", err)
	}
}

// errExtraFrames refuses an answer with more frames than asked for.
var errExtraFrames = errors.New("answer has more frames than asked for")

// expectEnd reads the end of an answer: anything more is a bad answer.
func expectEnd(r *bufio.Reader) error {
	_, err := r.ReadByte()
	switch {
	case err == nil:
		return badAnswer{errExtraFrames}
	case err == io.EOF:
		return nil
	}
	return err
}
