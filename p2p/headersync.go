package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The header phase of a sync round, and the round itself (see sync.go).

// requestHeaders asks p for the headers after locator.
func (s *syncer) requestHeaders(ctx context.Context, p peer.ID, locator []types.Hash) ([]types.Header, error) {
	if len(locator) > MaxLocatorHashes {
		// Keep the densest part near the tip and genesis at the end.
		locator = append(slices.Clone(locator[:MaxLocatorHashes-1]), locator[len(locator)-1])
	}
	req := headersRequest{Locator: locator}
	var hs []types.Header
	err := s.request(ctx, p, protoHeaders, req.encode(), func(r *bufio.Reader) error {
		b, err := readFrame(r, maxHeadersResponseSize)
		if err != nil {
			return asBadAnswer(err)
		}
		hs, err = decodeHeadersResponse(b)
		if err != nil {
			return badAnswer{err}
		}
		return nil
	})
	return hs, err
}

// asBadAnswer marks a framing error (not an I/O one) as the peer's fault.
func asBadAnswer(err error) error {
	if err != nil && errors.Is(err, types.ErrTooLarge) || errors.Is(err, types.ErrNonMinimalUvarint) || errors.Is(err, types.ErrUvarintOverflow) {
		return badAnswer{err}
	}
	return err
}

// syncRound runs one round and reports whether it made progress (new
// headers or blocks).
func (s *syncer) syncRound(parent context.Context) bool {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	b := s.n.backend
	tip0, best0 := b.Tip(), b.BestHeader()
	s.mu.Lock()
	s.st = SyncStatus{Syncing: true, StartHeight: tip0.Height, TargetHeight: best0.Header.Height}
	s.mu.Unlock()
	s.n.log.Debug("sync round started", "height", tip0.Height, "best header", best0.Header.Height)

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
		s.n.log.Warn("sync round failed", "height", tip.Height, "err", err)
	case f.imported < 100 && took < s.progressEvery:
		s.n.log.Debug("sync round finished", "height", tip.Height, "blocks", f.imported, "took", took.Round(time.Millisecond))
	case tip.Hash == best.Hash:
		s.n.log.Info("sync finished", "height", tip.Height, "hash", tip.Hash,
			"blocks", f.imported, "took", took.Round(time.Millisecond), "blocks/s", rate(f.imported, took))
	default:
		s.n.log.Info("sync round ended short of the best header", "height", tip.Height, "best header", best.Header.Height,
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

// headerPhase fetches headers from the peer with the most work until it
// has no more, trying the next best peer when one fails.
func (s *syncer) headerPhase(ctx context.Context, progress chan<- struct{}) {
	exclude := make(map[peer.ID]bool)
	for ctx.Err() == nil {
		best := s.n.backend.BestHeader()
		p, sp, ok := s.bestPeer(best.Work, exclude)
		if !ok {
			return
		}
		s.mu.Lock()
		s.st.Peer = p
		s.st.TargetHeight = max(s.st.TargetHeight, sp.status.TipHeight)
		s.mu.Unlock()
		err := s.headersFrom(ctx, p, sp.status.Work, progress)
		if err == nil || ctx.Err() != nil {
			return
		}
		var local localError
		if errors.As(err, &local) {
			s.n.log.Warn("sync: storing headers failed", "err", err)
			return
		}
		s.n.log.Debug("header sync from peer failed", "peer", p, "err", err)
		s.punish(p, "headers", err)
		exclude[p] = true
	}
}

// localError wraps a failure of this node (storage), not of the peer.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// errFutureHeaders: a peer's headers are ahead of the local clock.
var errFutureHeaders = errors.New("headers from the future")

// headersFrom fetches headers from p, which claimed work, until an answer
// is short.
func (s *syncer) headersFrom(ctx context.Context, p peer.ID, claimed *big.Int, progress chan<- struct{}) error {
	b := s.n.backend
	for {
		before := b.BestHeader()
		hs, err := s.requestHeaders(ctx, p, b.Locator())
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			if claimed.Cmp(before.Work) > 0 {
				return badAnswer{fmt.Errorf("no headers after our best header at height %d, but claimed more work", before.Header.Height)}
			}
			return nil
		}
		n, err := b.ProcessHeaders(hs)
		if n > 0 {
			last := hs[len(hs)-1].Height
			s.mu.Lock()
			if sp := s.peers[p]; sp != nil {
				sp.height = max(sp.height, last)
			}
			s.st.TargetHeight = max(s.st.TargetHeight, last)
			s.version.Add(1)
			s.mu.Unlock()
			select {
			case progress <- struct{}{}:
			default:
			}
		}
		if err != nil {
			switch {
			case consensus.CodeOf(err) == consensus.ErrTimeTooNew:
				return fmt.Errorf("%w: %w", errFutureHeaders, err)
			case errors.Is(err, chain.ErrUnconnected), consensus.IsRuleError(err), errors.Is(err, chain.ErrKnownInvalid):
				return badAnswer{err}
			default:
				return localError{err}
			}
		}
		after := b.BestHeader()
		if n == 0 && after.Work.Cmp(before.Work) <= 0 && claimed.Cmp(after.Work) > 0 {
			return badAnswer{fmt.Errorf("%d headers from height %d bring nothing new", len(hs), hs[0].Height)}
		}
		if len(hs) < MaxHeadersPerAnswer {
			if claimed.Cmp(after.Work) > 0 {
				return badAnswer{fmt.Errorf("headers end at height %d short of the work claimed", hs[len(hs)-1].Height)}
			}
			return nil
		}
	}
}

// noteHeight records that p has the block at height h (it relayed it).
func (s *syncer) noteHeight(p peer.ID, h uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp := s.peers[p]; sp != nil && sp.hasStatus {
		sp.height = max(sp.height, h)
	}
}

// peerHeight returns the best height p is known to have bodies for.
func (s *syncer) peerHeight(p peer.ID) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.peers[p]
	if sp == nil || !sp.hasStatus {
		return 0, false
	}
	return sp.height, true
}
