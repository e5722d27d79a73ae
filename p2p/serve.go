package p2p

// Serving the sync protocols (the limits are listed in
// docs/PROTOCOL.md §22, Serving requests). A stream a peer opens is
// admitted against that peer's limits for its protocol: a token bucket of
// requests and a cap on the requests served at once; over either, it is
// reset at once. Its request frame must then arrive within a short
// deadline (a silent stream costs the peer PenaltySilentStream), and the
// whole answer go out within the request deadline. A blocks answer is the
// stored block encodings, whole blocks in order up to the answer budget
// (MaxBlocksAnswerBytes), paced by a per-peer token bucket of bytes.

import (
	"bufio"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PenaltySilentStream is charged for a sync stream whose request frame
// did not arrive within its deadline (rateLimit.frameWait): an honest
// requester writes it as soon as the stream is open. Ten such streams
// within a minute get a peer banned (110 points, less what decays); nine
// alone never do.
const PenaltySilentStream = 11.0

// rateLimit is what one peer may ask of one sync protocol.
type rateLimit struct {
	// rate and burst are the refill rate (requests per second) and the
	// capacity of the peer's token bucket of requests.
	rate, burst float64
	// active is the most requests of the peer served at once (0: no cap).
	active int
	// frameWait is the deadline of the request frame, from the moment
	// the stream is handed to the handler (0: the request deadline only).
	frameWait time.Duration
	// answerBytes is the budget of one answer (0: none). For blocks it
	// is the protocol's MaxBlocksAnswerBytes, which the requesting side
	// reads here too; tests shrink it on every node of a test.
	answerBytes int
	// byteRate and byteBurst are the refill rate (bytes per second) and
	// the capacity of the peer's token bucket of answer bytes (0 rate:
	// no byte limit). An answer that would overdraw the bucket is paced
	// (each block waits for its bytes), not refused.
	byteRate, byteBurst float64
}

// requestFrameWait is the default deadline of a request frame: generous,
// since an honest requester writes its frame right after opening the
// stream, but well short of the request deadline.
const requestFrameWait = 2 * time.Second

// defaultServeLimits bound, per peer, the requests this node serves. A
// full-speed sync from this node (one status and one headers request and
// 8 blocks requests of at most 128 blocks in flight) stays well inside
// them: at most 2 status, 2 headers and 12 blocks requests of a peer are
// served at once (16 in all; the spare places cover requests the peer has
// abandoned but this node has not noticed yet), and its blocks answers
// may carry 64 MiB/s after a burst of 128 MiB (8 full answers).
var defaultServeLimits = [numProtos]rateLimit{
	protoStatus:  {rate: 10, burst: 40, active: 2, frameWait: requestFrameWait},
	protoHeaders: {rate: 100, burst: 200, active: 2, frameWait: requestFrameWait},
	protoBlocks: {rate: 500, burst: 1000, active: 12, frameWait: requestFrameWait,
		answerBytes: MaxBlocksAnswerBytes, byteRate: 64 << 20, byteBurst: 128 << 20},
	// Transaction recovery (txsync.go): an honest peer asks for pending
	// ids once per reconciliation round (every 30 s ± 25 %, and on
	// connect), and has at most 4 txs requests in flight (a fetch, 2
	// nonce-gap requests, an announcement). A txs answer carries at most
	// 256 txs (52 KiB), paced at 1 MiB/s after a burst of 2 MiB.
	protoTxIDs: {rate: 0.2, burst: 4, active: 1, frameWait: requestFrameWait},
	protoTxs: {rate: 50, burst: 100, active: 6, frameWait: requestFrameWait,
		byteRate: 1 << 20, byteBurst: 2 << 20},
}

// tokenBucket is a token bucket; it starts full. Its tokens may go
// negative (a debt) when taken with reserve.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// refill adds what rate brought since the last refill, up to burst.
func (b *tokenBucket) refill(now time.Time, rate, burst float64) {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
}

// take takes one token if there is one.
func (b *tokenBucket) take(now time.Time, rate, burst float64) bool {
	b.refill(now, rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// reserve takes n tokens, going into debt if need be, and returns how
// long until the debt is paid: the n tokens may be spent only then. So
// what is spent by any time t after the bucket started is at most
// burst + rate·t.
func (b *tokenBucket) reserve(now time.Time, rate, burst, n float64) time.Duration {
	b.refill(now, rate, burst)
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / rate * float64(time.Second))
}

// bucket is what this node keeps of one peer's use of one sync protocol.
// The syncer guards it with its mutex.
type bucket struct {
	requests tokenBucket
	bytes    tokenBucket // answer bytes
	active   int         // requests being served
}

// servedRequest is one request being served.
type servedRequest struct {
	peer     peer.ID
	payload  []byte // the request frame
	limit    rateLimit
	state    *bucket
	deadline time.Time // of the request
}

// requestLimit is the largest request frame of each protocol.
var requestLimit = [numProtos]int{
	protoStatus:  maxStatusSize,
	protoHeaders: maxHeadersRequestSize,
	protoBlocks:  maxBlocksRequestSize,
	protoTxIDs:   maxTxIDsRequestSize,
	protoTxs:     maxTxsRequestSize,
}

// handle sets the stream handler of protocol kind, which answers each
// request with answer. A stream is served as work registered with the
// owner, so that Stop waits for it (and, ending the Network's context,
// resets its stream); once Stop has begun a stream is reset unanswered.
func (s *syncer) handle(kind int, answer func(*servedRequest, *bufio.Writer) error) {
	s.host.SetStreamHandler(s.proto(kind), func(st network.Stream) {
		if !s.owner.acquire() {
			st.Reset()
			return
		}
		defer s.owner.release()
		s.serve(st, kind, answer)
	})
}

// serve runs one served request: admission, the request frame under its
// deadline, the handler under the request deadline, and closing the
// stream (reset if anything failed, or when the Network stops).
func (s *syncer) serve(st network.Stream, kind int, handle func(*servedRequest, *bufio.Writer) error) {
	p := st.Conn().RemotePeer()
	state, l, refusal := s.admit(p, kind)
	if refusal != "" {
		s.log.Debug("sync request refused", "peer", p, "protocol", protoNames[kind], "why", refusal)
		st.Reset()
		return
	}
	left := false
	defer func() {
		if !left {
			s.leave(state)
		}
	}()
	q := &servedRequest{peer: p, limit: l, state: state, deadline: time.Now().Add(s.timeout)}
	expired := guard(s.ctx, st, s.timeout)
	defer expired()

	var silent *time.Timer
	if l.frameWait > 0 {
		silent = time.AfterFunc(l.frameWait, func() { st.Reset() })
	}
	req, err := readFrame(bufio.NewReaderSize(st, 4<<10), requestLimit[kind])
	if silent != nil && !silent.Stop() {
		s.judge.penalize(p, fmt.Sprintf("no %s request within %v", protoNames[kind], l.frameWait), PenaltySilentStream)
		st.Reset()
		return
	}
	if err == nil {
		q.payload = req
		size := 4 << 10 // a status, or one headers frame written past the buffer
		if kind == protoBlocks {
			size = readBufferSize
		}
		w := bufio.NewWriterSize(st, size)
		err = handle(q, w)
		if err == nil {
			err = w.Flush()
		}
	} else {
		err = asBadAnswer(err) // a malformed frame is the requester's fault
	}
	if err != nil {
		var bad badAnswer
		if errors.As(err, &bad) {
			s.judge.penalize(p, fmt.Sprintf("bad %s request: %v", protoNames[kind], err), PenaltyUndecodable)
		} else {
			s.log.Debug("serving sync request failed", "peer", p, "protocol", protoNames[kind], "err", err)
		}
		st.Reset()
		return
	}
	// The request is over before the requester can see its end: one that
	// waits for the whole answer and asks again at once must find its
	// place free.
	s.leave(state)
	left = true
	st.Close()
}

// admit admits a request of kind from p: a place among the requests of p
// served at once, and a token from its bucket. It returns p's state for
// kind and the limits that apply, or why the request is refused.
func (s *syncer) admit(p peer.ID, kind int) (*bucket, rateLimit, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[p]
	if b == nil {
		b = new([numProtos]bucket)
		s.buckets[p] = b
	}
	l, k := s.limits[kind], &b[kind]
	if l.active > 0 && k.active >= l.active {
		return nil, l, fmt.Sprintf("%d requests served at once already", k.active)
	}
	if !k.requests.take(time.Now(), l.rate, l.burst) {
		return nil, l, "over the rate limit"
	}
	k.active++
	return k, l, ""
}

// leave ends a request admitted by admit.
func (s *syncer) leave(k *bucket) {
	s.mu.Lock()
	k.active--
	s.mu.Unlock()
}

// answerBudget is the budget of a blocks answer, which this node counts
// on as a requester too (MaxBlocksAnswerBytes unless a test shrank it).
func (s *syncer) answerBudget() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits[protoBlocks].answerBytes
}

// errTooSlow ends an answer that the peer's byte rate would not let out
// before the request deadline.
var errTooSlow = errors.New("answer would pass the request deadline at the peer's byte rate")

// spend waits until q's peer may be sent n more answer bytes. It fails,
// taking nothing, if that would pass the request deadline.
func (s *syncer) spend(q *servedRequest, n int) error {
	l := q.limit
	if l.byteRate <= 0 || n == 0 {
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	wait := q.state.bytes.reserve(now, l.byteRate, l.byteBurst, float64(n))
	if wait > 0 && !now.Add(wait).Before(q.deadline) {
		q.state.bytes.tokens += float64(n)
		s.mu.Unlock()
		return errTooSlow
	}
	s.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *syncer) serveStatus(q *servedRequest, w *bufio.Writer) error {
	m, err := decodeStatus(q.payload)
	if err != nil {
		return badAnswer{err}
	}
	if err := writeFrame(w, s.ourStatus().encode()); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.recordStatus(q.peer, m) // after the answer: this may disconnect p
	return nil
}

// serveHeaders answers a headers request. A locator naming a hash twice
// is allowed: it costs no more than one naming it once.
func (s *syncer) serveHeaders(q *servedRequest, w *bufio.Writer) error {
	req, err := decodeHeadersRequest(q.payload)
	if err != nil {
		return badAnswer{err}
	}
	hs := s.chain.HeadersAfter(req.Locator, req.Stop, MaxHeadersPerAnswer)
	return writeFrame(w, encodeHeaders(hs))
}

// serveBlocks answers a blocks request with the stored encodings: whole
// blocks in the order asked until the next would take the answer past its
// budget (the first is always sent), then an empty frame for every hash
// left; an empty frame too for a block not stored here. A request naming
// a hash twice is refused as malformed.
func (s *syncer) serveBlocks(q *servedRequest, w *bufio.Writer) error {
	hashes, err := decodeBlocksRequest(q.payload)
	if err != nil {
		return badAnswer{err}
	}
	if err := checkDistinct(hashes); err != nil {
		return badAnswer{err}
	}
	budget := q.limit.answerBytes
	sent, full := 0, false
	for _, h := range hashes {
		var b []byte
		if !full {
			b, err = s.chain.BlockBytes(h)
			if err != nil {
				if !errors.Is(err, chain.ErrNotFound) {
					s.log.Warn("reading a block to serve failed", "hash", h, "err", err)
				}
				b = nil // not stored here (or unreadable): an empty frame
			}
			if budget > 0 && sent > 0 && sent+len(b) > budget {
				full, b = true, nil
			}
		}
		if err := s.spend(q, len(b)); err != nil {
			return err
		}
		if err := writeFrame(w, b); err != nil {
			return err
		}
		sent += len(b)
	}
	return nil
}
