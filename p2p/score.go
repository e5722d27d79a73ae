package p2p

import (
	"math"
	"net"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// Application-level penalty points. A peer collects points for what the
// node itself finds wrong with it (on top of GossipSub's own scoring);
// the points halve every PenaltyHalfLife, and a peer whose total reaches
// BanThreshold is disconnected and refused for Config.BanDuration.
const (
	// PenaltyInvalidBlock is charged for a block that breaks a consensus
	// rule: one is enough for a ban, since no honest peer relays one.
	PenaltyInvalidBlock = 100.0
	// PenaltyInvalidTx is charged for a tx that is invalid whatever the
	// state (bad signature, wrong network, stateless rule).
	PenaltyInvalidTx = 20.0
	// PenaltyUndecodable is charged for bytes that are not a canonical
	// encoding.
	PenaltyUndecodable = 50.0
	// PenaltyBadSyncAnswer is charged by the sync protocol for an answer
	// that is malformed, unasked for or contradicts itself.
	PenaltyBadSyncAnswer = 50.0
	// PenaltyLyingPeer is charged to a peer whose headers cannot back the
	// work its status claimed (they end short of it, stay below the
	// anti-DoS threshold for too long, or stop raising the best header):
	// a ban, since such a peer only wastes the node's time.
	PenaltyLyingPeer = 100.0
	// BanThreshold is the total at which a peer is banned.
	BanThreshold = 100.0
	// PenaltyHalfLife is how fast penalty points are forgiven.
	PenaltyHalfLife = 10 * time.Minute
)

// IP colocation scoring (P6, see peerScoreParams): up to 10 peers per IP
// are free; 11 cost -20 each, 14 cost -320 each (graylisted).
const (
	ipColocationThreshold = 10
	ipColocationWeight    = -20
)

// colocationExempt are the networks P6 ignores: loopback and the IPv6
// discard prefix (RFC 6666) that mocknet gives its peers.
var colocationExempt = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
	{IP: net.ParseIP("100::"), Mask: net.CIDRMask(64, 128)},
}

// GossipSub score thresholds (see peerScoreThresholds).
const (
	gossipThreshold   = -100
	publishThreshold  = -200
	graylistThreshold = -300
)

// peerScoreParams returns GossipSub's peer scoring, for networks from a
// handful of nodes to about 1,000. Invalid deliveries (a validator
// returned Reject) weigh heavily and are forgotten over an hour. The
// mesh-delivery penalties (P3, P3b) are off: a topic carries one block
// every few seconds, too few messages for a delivery-rate threshold to
// tell a slow honest mesh peer from a freeloader, and with few peers an
// honest one often delivers nothing first. IP colocation (P6) is on for
// public addresses: more than ipColocationThreshold peers behind one IPv4
// address (or one IPv6 /64, as GossipSub groups them) cost each of them
// ipColocationWeight times the square of the surplus, so that one host's
// many identities are pruned from meshes and, past 14, graylisted;
// loopback, where local testnets run every node, and the IPv6 discard
// prefix 100::/64 of in-process test networks (mocknet) are exempt. The
// application's own penalties enter as P5.
func peerScoreParams(blockTopic, txTopic string, appScore func(peer.ID) float64) *pubsub.PeerScoreParams {
	decay := pubsub.ScoreParameterDecay // per 1 s DecayInterval, down to 0.01
	topic := func(firstWeight, firstCap, invalidWeight float64) *pubsub.TopicScoreParams {
		return &pubsub.TopicScoreParams{
			TopicWeight: 1,
			// P1: a little credit for staying in the mesh, up to +10.
			TimeInMeshWeight:  1.0 / 6,
			TimeInMeshQuantum: time.Minute,
			TimeInMeshCap:     60,
			// P2: credit for first deliveries.
			FirstMessageDeliveriesWeight: firstWeight,
			FirstMessageDeliveriesDecay:  decay(time.Hour),
			FirstMessageDeliveriesCap:    firstCap,
			// P3, P3b: off (see above).
			MeshMessageDeliveriesWeight: 0,
			MeshFailurePenaltyWeight:    0,
			// P4: counter squared times the weight.
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  decay(time.Hour),
		}
	}
	return &pubsub.PeerScoreParams{
		Topics: map[string]*pubsub.TopicScoreParams{
			// One invalid block costs 10 (on top of the ban it earns);
			// invalid txs are cheaper per message so that the application
			// penalty, not the graylist, decides first: four of them cost
			// 4²·2 = 32 here and 80 of the 100 penalty points.
			blockTopic: topic(1, 20, -10),
			txTopic:    topic(0.05, 200, -2),
		},
		TopicScoreCap:     50,
		AppSpecificScore:  appScore,
		AppSpecificWeight: 1,
		// P6: see above.
		IPColocationFactorWeight:    ipColocationWeight,
		IPColocationFactorThreshold: ipColocationThreshold,
		IPColocationFactorWhitelist: colocationExempt,
		// P7: re-grafting too early, broken IWANT promises.
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     decay(10 * time.Minute),
		DecayInterval:             pubsub.DefaultDecayInterval,
		DecayToZero:               pubsub.DefaultDecayToZero,
		// A peer that reconnects keeps its score for a while.
		RetainScore: 10 * time.Minute,
	}
}

// peerScoreThresholds go with peerScoreParams: below -100 a peer gets no
// gossip, below -200 no published messages, below -300 it is ignored.
// Peer exchange is accepted only from peers that earned some credit.
func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 3,
	}
}

// penalty is a peer's application penalty as of a time.
type penalty struct {
	points float64
	at     time.Time
}

// scorer keeps the application penalties and bans, and the latest
// GossipSub scores for Peers. It is the connection gater of a host built
// by the Network and the blacklist of its GossipSub. Safe for concurrent
// use.
type scorer struct {
	banFor time.Duration
	now    func() time.Time

	mu        sync.Mutex // guards the maps
	penalties map[peer.ID]penalty
	bans      map[peer.ID]time.Time // peer -> banned until
	gossip    map[peer.ID]float64   // GossipSub scores, last inspection
}

func newScorer(banFor time.Duration, now func() time.Time) *scorer {
	return &scorer{
		banFor:    banFor,
		now:       now,
		penalties: make(map[peer.ID]penalty),
		bans:      make(map[peer.ID]time.Time),
		gossip:    make(map[peer.ID]float64),
	}
}

// decayed returns the points of pen at now.
func decayed(pen penalty, now time.Time) float64 {
	dt := now.Sub(pen.at)
	if dt <= 0 {
		return pen.points
	}
	return pen.points * math.Exp2(-float64(dt)/float64(PenaltyHalfLife))
}

// add charges p with points and returns its total; banned reports whether
// this charge banned it (a peer already banned is not banned again).
func (s *scorer) add(p peer.ID, points float64) (total float64, banned bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	total = decayed(s.penalties[p], now) + points
	s.penalties[p] = penalty{points: total, at: now}
	if total >= BanThreshold && !s.bannedLocked(p, now) {
		s.bans[p] = now.Add(s.banFor)
		return total, true
	}
	return total, false
}

// ban bans p now, whatever its penalty; it reports whether p was not
// banned already.
func (s *scorer) ban(p peer.ID) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bannedLocked(p, now) {
		return false
	}
	s.bans[p] = now.Add(s.banFor)
	return true
}

// appPenalty returns p's current penalty points.
func (s *scorer) appPenalty(p peer.ID) float64 {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return decayed(s.penalties[p], now)
}

// banned reports whether p is banned now.
func (s *scorer) banned(p peer.ID) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bannedLocked(p, now)
}

func (s *scorer) bannedLocked(p peer.ID, now time.Time) bool {
	until, ok := s.bans[p]
	return ok && now.Before(until)
}

// setGossipScores records the scores GossipSub reports.
func (s *scorer) setGossipScores(m map[peer.ID]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.gossip)
	for p, v := range m {
		s.gossip[p] = v
	}
}

// score returns p's score for Peers: GossipSub's if it reported one (it
// includes the application penalty), else minus the application penalty.
func (s *scorer) score(p peer.ID) float64 {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.gossip[p]; ok {
		return v
	}
	return -decayed(s.penalties[p], now)
}

// prune forgets expired bans and penalties that have decayed to nothing.
func (s *scorer) prune() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, until := range s.bans {
		if !now.Before(until) {
			delete(s.bans, p)
		}
	}
	for p, pen := range s.penalties {
		if decayed(pen, now) < 0.5 {
			delete(s.penalties, p)
		}
	}
}

// The connection gater refuses banned peers wherever their identity is
// known: before dialling them and once an inbound connection is secured.
var _ connmgr.ConnectionGater = (*scorer)(nil)

func (s *scorer) InterceptPeerDial(p peer.ID) bool { return !s.banned(p) }

func (s *scorer) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return !s.banned(p) }

// InterceptAccept allows every inbound connection: its peer is not known
// until the security handshake (InterceptSecured).
func (s *scorer) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (s *scorer) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !s.banned(p)
}

func (s *scorer) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !s.banned(c.RemotePeer()), 0
}

// blacklist is the scorer seen as GossipSub's blacklist, so that a banned
// peer's messages are dropped even on a host without the gater (one given
// in Config.Host).
type blacklist struct{ s *scorer }

var _ pubsub.Blacklist = blacklist{}

func (b blacklist) Add(p peer.ID) bool      { return b.s.ban(p) }
func (b blacklist) Contains(p peer.ID) bool { return b.s.banned(p) }

// penalize charges peer p with points for reason (see the Penalty
// constants). When its total reaches BanThreshold the peer is banned for
// Config.BanDuration and disconnected. Safe for concurrent use; a no-op
// for the node itself or an empty id.
func (n *Network) penalize(p peer.ID, reason string, points float64) {
	if p == "" || n.host != nil && p == n.host.ID() {
		return
	}
	total, banned := n.scores.add(p, points)
	n.log.Debug("peer penalized", "peer", p, "reason", reason, "points", points, "total", total)
	if !banned {
		return
	}
	n.log.Info("peer banned", "peer", p, "reason", reason, "total", total, "for", n.cfg.BanDuration)
	if n.host == nil {
		return
	}
	n.goFunc(func() {
		if err := n.host.Network().ClosePeer(p); err != nil {
			n.log.Debug("disconnect banned peer", "peer", p, "err", err)
		}
	})
}

// Banned reports whether peer p is banned now. Safe for concurrent use.
func (n *Network) Banned(p peer.ID) bool { return n.scores.banned(p) }
