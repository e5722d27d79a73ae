package p2p

// Serving the sync protocols (DESIGN.md §7): each request is rate-limited
// per peer and kind, runs under a deadline, and is answered from the
// Backend.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// rateLimit is what one peer may ask of one sync protocol.
type rateLimit struct {
	// rate and burst are the refill rate (requests per second) and the
	// capacity of the peer's token bucket of requests.
	rate, burst float64
	// answerBytes is the budget of one answer (0: none). For blocks it
	// is the protocol's MaxBlocksAnswerBytes, which the requesting side
	// reads here too; tests shrink it on every node of a test.
	answerBytes int
}

// defaultServeLimits bound, per peer, the requests this node serves:
// statuses, header requests and block requests per second. A full-speed
// sync from this node (128 blocks per request) stays well inside them.
var defaultServeLimits = [numProtos]rateLimit{
	protoStatus:  {rate: 10, burst: 40},
	protoHeaders: {rate: 100, burst: 200},
	protoBlocks:  {rate: 500, burst: 1000, answerBytes: MaxBlocksAnswerBytes},
}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// take takes one token if there is one, refilling first.
func (b *bucket) take(now time.Time, l rateLimit) bool {
	if b.last.IsZero() {
		b.tokens = l.burst
	} else {
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// serve runs one served request: rate limit, deadline, the handler, and
// closing the stream (reset if the handler failed).
func (s *syncer) serve(st network.Stream, kind int, handle func(peer.ID, *bufio.Reader, *bufio.Writer) error) {
	p := st.Conn().RemotePeer()
	if !s.allow(p, kind) {
		s.n.log.Debug("sync request over the rate limit", "peer", p, "protocol", protoNames[kind])
		st.Reset()
		return
	}
	expired := guard(context.Background(), st, s.n.cfg.RequestTimeout)
	defer expired()
	size := 4 << 10 // a status, or one headers frame written past the buffer
	if kind == protoBlocks {
		size = readBufferSize
	}
	w := bufio.NewWriterSize(st, size)
	err := handle(p, bufio.NewReaderSize(st, 4<<10), w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		var bad badAnswer
		if errors.As(err, &bad) {
			s.n.penalize(p, fmt.Sprintf("bad %s request: %v", protoNames[kind], err), PenaltyUndecodable)
		} else {
			s.n.log.Debug("serving sync request failed", "peer", p, "protocol", protoNames[kind], "err", err)
		}
		st.Reset()
		return
	}
	st.Close()
}

// allow takes a token from p's bucket for kind.
func (s *syncer) allow(p peer.ID, kind int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[p]
	if b == nil {
		b = new([numProtos]bucket)
		s.buckets[p] = b
	}
	return b[kind].take(time.Now(), s.limits[kind])
}

// answerBudget is the budget of a blocks answer, which this node counts
// on as a requester too (MaxBlocksAnswerBytes unless a test shrank it).
func (s *syncer) answerBudget() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits[protoBlocks].answerBytes
}

// readRequest reads a request frame of at most limit bytes; a malformed
// frame is the requester's fault.
func readRequest(r *bufio.Reader, limit int) ([]byte, error) {
	b, err := readFrame(r, limit)
	return b, asBadAnswer(err)
}

func (s *syncer) serveStatus(p peer.ID, r *bufio.Reader, w *bufio.Writer) error {
	b, err := readRequest(r, maxStatusSize)
	if err != nil {
		return err
	}
	m, err := decodeStatus(b)
	if err != nil {
		return badAnswer{err}
	}
	if err := writeFrame(w, s.ourStatus().encode()); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.recordStatus(p, m) // after the answer: this may disconnect p
	return nil
}

func (s *syncer) serveHeaders(_ peer.ID, r *bufio.Reader, w *bufio.Writer) error {
	b, err := readRequest(r, maxHeadersRequestSize)
	if err != nil {
		return err
	}
	req, err := decodeHeadersRequest(b)
	if err != nil {
		return badAnswer{err}
	}
	hs := s.n.backend.HeadersAfter(req.Locator, req.Stop, MaxHeadersPerAnswer)
	return writeFrame(w, encodeHeaders(hs))
}

// serveBlocks answers a blocks request with the stored encodings: whole
// blocks in the order asked until the next would take the answer past its
// budget (the first is always sent), then an empty frame for every hash
// left; an empty frame too for a block not stored here. A request naming
// a hash twice is refused as malformed.
func (s *syncer) serveBlocks(_ peer.ID, r *bufio.Reader, w *bufio.Writer) error {
	b, err := readRequest(r, maxBlocksRequestSize)
	if err != nil {
		return err
	}
	hashes, err := decodeBlocksRequest(b)
	if err != nil {
		return badAnswer{err}
	}
	if err := checkDistinct(hashes); err != nil {
		return badAnswer{err}
	}
	budget := s.answerBudget()
	sent, full := 0, false
	for _, h := range hashes {
		var b []byte
		if !full {
			b, err = s.n.backend.BlockBytes(h)
			if err != nil {
				if !errors.Is(err, chain.ErrNotFound) {
					s.n.log.Warn("reading a block to serve failed", "hash", h, "err", err)
				}
				b = nil // not stored here (or unreadable): an empty frame
			}
			if budget > 0 && sent > 0 && sent+len(b) > budget {
				full, b = true, nil
			}
		}
		if err := writeFrame(w, b); err != nil {
			return err
		}
		sent += len(b)
	}
	return nil
}
