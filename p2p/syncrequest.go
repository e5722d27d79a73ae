package p2p

// The requesting side of the sync protocols: one request on its own
// stream under the request deadline, and what a failed request costs the
// peer.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// penaltySyncStall is charged for a sync request that ran into its
	// deadline: light, since a slow link is not malice.
	penaltySyncStall = 10.0
	// readBufferSize is the buffer of a stream reader; a blocks answer is
	// read through it frame by frame.
	readBufferSize = 64 << 10
)

// request opens a stream of the given kind to p, writes req as one frame,
// and lets read consume the answer, all within the request deadline. An
// answer that ran into the deadline returns errTimeout; one read cut short
// by a cancelled ctx returns ctx's error.
func (s *syncer) request(ctx context.Context, p peer.ID, kind int, req []byte, read func(*bufio.Reader) error) error {
	timeout := s.timeout
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Sync talks only to connected peers: without WithNoDial, a query
	// queued before a peer was dropped (say, for being on another
	// genesis) would dial it again and bring it back.
	st, err := s.host.NewStream(network.WithNoDial(octx, "sync request"), p, s.proto(kind))
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

// badAnswer marks an error as the peer's fault: a malformed or
// contradictory answer.
type badAnswer struct{ err error }

func (e badAnswer) Error() string { return e.err.Error() }

func (e badAnswer) Unwrap() error { return e.err }

// asBadAnswer marks a framing error (not an I/O one) as the peer's fault.
func asBadAnswer(err error) error {
	if err != nil && errors.Is(err, types.ErrTooLarge) || errors.Is(err, types.ErrNonMinimalUvarint) || errors.Is(err, types.ErrUvarintOverflow) {
		return badAnswer{err}
	}
	return err
}

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
		s.judge.penalize(p, fmt.Sprintf("lied about its work: %v", err), PenaltyLyingPeer)
	case errors.As(err, &bad):
		s.judge.penalize(p, fmt.Sprintf("bad %s answer: %v", what, err), PenaltyBadSyncAnswer)
	case errors.Is(err, errTimeout):
		s.judge.penalize(p, what+" request timed out", penaltySyncStall)
	case errors.Is(err, errPeerMoved):
		s.judge.penalize(p, err.Error(), penaltySyncStall)
	case errors.Is(err, errFutureHeaders):
	default:
		return false
	}
	s.dropPeer(p)
	return true
}
