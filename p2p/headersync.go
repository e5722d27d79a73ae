package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The header phase of a sync round (see sync.go).

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

// maxHeaderPeers is how many peers the header phase syncs headers from at
// once: a peer that claims much work and delivers slowly or cheaply cannot
// hold up a round while honest peers wait.
const maxHeaderPeers = 3

// headerPhase fetches headers from the peers that claim more work than the
// best header, most claimed work first, up to maxHeaderPeers at a time. A
// peer that was synced from, or failed, is not asked again in this round;
// a peer that turns up or announces more work meanwhile is.
func (s *syncer) headerPhase(ctx context.Context, progress chan<- struct{}) {
	type result struct {
		p   peer.ID
		err error
	}
	done := make(chan result)
	exclude := make(map[peer.ID]bool)
	running := 0
	for {
		for ctx.Err() == nil && running < maxHeaderPeers {
			best := s.chain.BestHeader()
			p, sp, ok := s.bestPeer(best.Work, exclude)
			if !ok {
				break
			}
			exclude[p] = true
			running++
			s.mu.Lock()
			s.st.Peer = p
			s.st.TargetHeight = max(s.st.TargetHeight, sp.status.TipHeight)
			s.mu.Unlock()
			go func() { done <- result{p, s.headersFrom(ctx, p, sp.status.Work, progress)} }()
		}
		if running == 0 {
			return
		}
		select {
		case r := <-done:
			running--
			if r.err == nil || ctx.Err() != nil {
				continue
			}
			var local localError
			if errors.As(r.err, &local) {
				s.log.Warn("sync: storing headers failed", "err", r.err)
				continue
			}
			s.log.Debug("header sync from peer failed", "peer", r.p, "err", r.err)
			s.punish(r.p, "headers", r.err)
		case <-s.headerWake:
		case <-ctx.Done():
		}
	}
}

// localError wraps a failure of this node (storage), not of the peer.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// errPeerMoved: a peer's answer continues from another header than the
// one asked after: its chain changed under a presync.
var errPeerMoved = errors.New("the peer's chain moved during the header presync")

// errFutureHeaders: a peer's headers are ahead of the local clock.
var errFutureHeaders = errors.New("headers from the future")

// lyingPeer marks a peer whose headers cannot substantiate the work its
// status claimed: it is banned.
type lyingPeer struct{ err error }

func (e lyingPeer) Error() string { return e.err.Error() }
func (e lyingPeer) Unwrap() error { return e.err }

// maxStalledBatches is how many stored batches in a row may fail to raise
// the best header's work before the peer is taken for lying about its
// work.
const maxStalledBatches = 3

// presync is the state of a header branch checked outside the index (the
// anti-DoS presync, see chain.AntiDoSWork): where it left the index, the
// cursor at its end, and the hash of the last header of every full batch
// checked, against which the branch is verified when it is downloaded
// again to be stored.
type presync struct {
	fork        types.Hash
	cur         chain.HeaderCursor
	checkpoints []types.Hash
	count       int
}

// headersFrom fetches headers from p, which claimed work, until an answer
// is short. Headers whose branch has enough work (chain.AntiDoSWork) are
// stored at once. A branch below it is checked by every header rule but
// kept only as a presync (a cursor and a checkpoint hash per batch) until
// it passes the threshold; then it is asked for again from where it left
// the index, verified against the checkpoints and stored. A peer whose
// presync runs past maxPresync headers, or whose headers end below what it
// claimed, is lying about its work.
func (s *syncer) headersFrom(ctx context.Context, p peer.ID, claimed *big.Int, progress chan<- struct{}) (err error) {
	b := s.chain
	if best0 := b.BestHeader(); claimed.Cmp(best0.Work) > 0 {
		// A malformed or invalid answer from a peer that claimed more work
		// than ours leaves its claim unbacked: it lied.
		defer func() {
			if errors.As(err, new(badAnswer)) && !errors.As(err, new(lyingPeer)) {
				err = lyingPeer{err}
			}
		}()
	}
	var ps *presync
	stalled := 0
	loc := b.Locator()
	for {
		before := b.BestHeader()
		hs, err := s.requestHeaders(ctx, p, loc)
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			if claimed.Cmp(before.Work) > 0 {
				return badAnswer{fmt.Errorf("no headers after our best header at height %d, but claimed more work", before.Header.Height)}
			}
			return nil
		}
		if ps == nil {
			n, err := b.ProcessHeaders(hs, nil)
			if errors.Is(err, chain.ErrLowWork) {
				cur, cerr := b.Cursor(hs[0].Parent)
				if cerr != nil {
					return badAnswer{cerr}
				}
				ps = &presync{fork: hs[0].Parent, cur: cur}
				s.log.Debug("header presync started", "peer", p, "fork", hs[0].Parent, "height", cur.Height)
			} else {
				if n > 0 {
					s.noteHeaders(p, hs[len(hs)-1].Height, progress)
				}
				if err != nil {
					return classifyHeadersErr(err)
				}
				after := b.BestHeader()
				if after.Work.Cmp(before.Work) <= 0 && claimed.Cmp(after.Work) > 0 {
					if n == 0 {
						return badAnswer{fmt.Errorf("%d headers from height %d bring nothing new", len(hs), hs[0].Height)}
					}
					if stalled++; stalled >= maxStalledBatches {
						return lyingPeer{fmt.Errorf("%d batches in a row up to height %d did not raise the best header's work", stalled, hs[len(hs)-1].Height)}
					}
				} else {
					stalled = 0
				}
				if len(hs) < MaxHeadersPerAnswer {
					if claimed.Cmp(after.Work) > 0 {
						return badAnswer{fmt.Errorf("headers end at height %d short of the work claimed", hs[len(hs)-1].Height)}
					}
					return nil
				}
				loc = b.Locator()
				continue
			}
		}
		// Presync: check without storing.
		end, k, err := b.CheckHeaders(ps.cur, hs)
		if err != nil {
			if _, known := b.Cursor(hs[0].Parent); k == 0 && errors.Is(err, chain.ErrUnconnected) && known == nil {
				// The answer leaves from another header we know: the
				// peer's chain moved since the last batch.
				return errPeerMoved
			}
			return classifyHeadersErr(err)
		}
		ps.cur = end
		ps.count += len(hs)
		if end.Work.Cmp(b.AntiDoSWork()) >= 0 {
			if err := s.storePresynced(ctx, p, ps, hs, progress); err != nil {
				return err
			}
			s.log.Debug("header presync passed the anti-DoS threshold", "peer", p, "headers", ps.count, "height", end.Height)
			ps = nil
			if len(hs) < MaxHeadersPerAnswer {
				if after := b.BestHeader(); claimed.Cmp(after.Work) > 0 {
					return badAnswer{fmt.Errorf("headers end at height %d short of the work claimed", end.Height)}
				}
				return nil
			}
			loc = b.Locator()
			continue
		}
		if len(hs) < MaxHeadersPerAnswer {
			if claimed.Cmp(before.Work) > 0 {
				return lyingPeer{fmt.Errorf("headers end at height %d below the anti-DoS threshold, short of the work claimed", end.Height)}
			}
			return nil // a branch with less work than ours: nothing to do
		}
		if ps.count >= s.maxPresync {
			return lyingPeer{fmt.Errorf("%d headers from height %d stay below the anti-DoS threshold", ps.count, ps.cur.Height-uint64(ps.count)+1)}
		}
		ps.checkpoints = append(ps.checkpoints, end.Hash)
		loc = []types.Hash{end.Hash}
	}
}

// storePresynced stores a presynced branch that has just passed the
// anti-DoS threshold: the batches before last are asked for again from the
// fork and must end at the checkpoints, then last is stored.
func (s *syncer) storePresynced(ctx context.Context, p peer.ID, ps *presync, last []types.Header, progress chan<- struct{}) error {
	b := s.chain
	proven := ps.cur.Work
	loc := []types.Hash{ps.fork}
	for _, cp := range ps.checkpoints {
		hs, err := s.requestHeaders(ctx, p, loc)
		if err != nil {
			return err
		}
		if len(hs) != MaxHeadersPerAnswer || hs[len(hs)-1].Hash() != cp {
			return badAnswer{fmt.Errorf("headers asked for again do not end at the presynced header %s", cp)}
		}
		n, err := b.ProcessHeaders(hs, proven)
		if n > 0 {
			s.noteHeaders(p, hs[len(hs)-1].Height, progress)
		}
		if err != nil {
			return classifyHeadersErr(err)
		}
		loc = []types.Hash{cp}
	}
	n, err := b.ProcessHeaders(last, proven)
	if n > 0 {
		s.noteHeaders(p, last[len(last)-1].Height, progress)
	}
	if err != nil {
		return classifyHeadersErr(err)
	}
	return nil
}

// classifyHeadersErr says whose fault a failure to check or store headers
// is.
func classifyHeadersErr(err error) error {
	switch {
	case consensus.CodeOf(err) == consensus.ErrTimeTooNew:
		return fmt.Errorf("%w: %w", errFutureHeaders, err)
	case errors.Is(err, chain.ErrUnconnected), consensus.IsRuleError(err), errors.Is(err, chain.ErrKnownInvalid),
		errors.Is(err, chain.ErrLowWork):
		return badAnswer{err}
	default:
		return localError{err}
	}
}
