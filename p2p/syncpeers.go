package p2p

// The syncer's peer table: what each connected peer told in its status,
// the status queries (one in flight per peer, spaced when a gossiped
// block asks for one), and what the rounds learn of the peers.

import (
	"bufio"
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// statusRequeryGap is the shortest time between two status queries to
// one peer that a requestSync can cause.
const statusRequeryGap = 200 * time.Millisecond

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
			s.log.Debug("status query failed", "peer", p, "err", err)
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

// ourStatus describes this node's chain.
func (s *syncer) ourStatus() statusMsg {
	b := s.chain
	tip, best := b.Tip(), b.BestHeader()
	return statusMsg{Genesis: b.Params().GenesisHash(), TipHash: tip.Hash, TipHeight: tip.Height,
		Work: tip.Work, BestHash: best.Hash, BestHeight: best.Header.Height}
}

// otherNetworkRefusal is how long a peer on another genesis is refused.
const otherNetworkRefusal = 10 * time.Minute

// recordStatus stores the status p sent. A peer on another genesis is
// disconnected and refused for otherNetworkRefusal.
func (s *syncer) recordStatus(p peer.ID, m statusMsg) {
	if m.Genesis != s.chain.Params().GenesisHash() {
		s.log.Info("disconnecting peer on another network", "peer", p, "genesis", m.Genesis)
		s.mu.Lock()
		if sp := s.peers[p]; sp != nil {
			sp.otherNet = true
		}
		s.mu.Unlock()
		// Refused for a while rather than only disconnected: GossipSub,
		// which heard of the peer too, would dial it straight back.
		s.judge.refuse(p, otherNetworkRefusal)
		return
	}
	if s.host.Network().Connectedness(p) != network.Connected {
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
	s.log.Debug("peer status", "peer", p, "height", m.TipHeight, "tip", m.TipHash, "work", m.Work)
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

// noteHeaders records that p served headers up to height (they are on its
// main chain) and tells the body phase.
func (s *syncer) noteHeaders(p peer.ID, height uint64, progress chan<- struct{}) {
	s.mu.Lock()
	if sp := s.peers[p]; sp != nil {
		sp.height = max(sp.height, height)
	}
	s.st.TargetHeight = max(s.st.TargetHeight, height)
	s.version.Add(1)
	s.mu.Unlock()
	select {
	case progress <- struct{}{}:
	default:
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

// txPeers returns the syncer's connected peers, each with whether it is
// usable for transaction recovery: its status known and of this network.
func (s *syncer) txPeers() map[peer.ID]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[peer.ID]bool, len(s.peers))
	for p, sp := range s.peers {
		out[p] = sp.hasStatus && !sp.otherNet
	}
	return out
}

func (s *syncer) currentVersion() uint64 { return s.version.Load() }

// usablePeers returns the version of the peer table and its usable peers,
// each with the height it is known to have bodies to.
func (s *syncer) usablePeers() (uint64, map[peer.ID]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	heights := make(map[peer.ID]uint64, len(s.peers))
	for p, sp := range s.peers {
		if sp.usable() {
			heights[p] = sp.height
		}
	}
	return s.version.Load(), heights
}
