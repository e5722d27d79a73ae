package p2p

import (
	"context"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/txpool"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fakeClock is a settable clock for the scorer.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestScorerDecayAndBan(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newScorer(10*time.Minute, clk.now)
	p := peer.ID("p")
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }

	if total, banned := s.add(p, 60); total != 60 || banned {
		t.Fatalf("add 60: %v, %v", total, banned)
	}
	clk.advance(PenaltyHalfLife)
	if got := s.appPenalty(p); !near(got, 30) {
		t.Fatalf("after one half-life: %v, want 30", got)
	}
	if total, banned := s.add(p, 60); !near(total, 90) || banned {
		t.Fatalf("add 60 more: %v, %v", total, banned)
	}
	total, banned := s.add(p, PenaltyInvalidTx)
	if !near(total, 110) || !banned || !s.banned(p) {
		t.Fatalf("add 20 more: %v, banned %v", total, banned)
	}
	if _, again := s.add(p, PenaltyInvalidBlock); again {
		t.Error("a banned peer was banned again")
	}
	if s.banned("other") {
		t.Error("an unknown peer is banned")
	}

	clk.advance(10*time.Minute - time.Second)
	if !s.banned(p) {
		t.Error("ban ended early")
	}
	clk.advance(time.Second)
	if s.banned(p) {
		t.Error("ban did not end after BanDuration")
	}

	// prune forgets the expired ban and, much later, the penalty.
	s.prune()
	if len(s.bans) != 0 || len(s.penalties) != 1 {
		t.Errorf("after prune: %d bans, %d penalties", len(s.bans), len(s.penalties))
	}
	clk.advance(20 * PenaltyHalfLife)
	s.prune()
	if len(s.penalties) != 0 {
		t.Errorf("a penalty decayed to %v was kept", decayed(s.penalties[p], clk.now()))
	}
}

func TestScorerGater(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := newScorer(time.Minute, clk.now)
	good, bad := peer.ID("good"), peer.ID("bad")
	s.add(bad, BanThreshold)
	for _, tc := range []struct {
		p    peer.ID
		want bool
	}{{good, true}, {bad, false}} {
		if got := s.InterceptPeerDial(tc.p); got != tc.want {
			t.Errorf("InterceptPeerDial(%s) = %v", tc.p, got)
		}
		if got := s.InterceptAddrDial(tc.p, nil); got != tc.want {
			t.Errorf("InterceptAddrDial(%s) = %v", tc.p, got)
		}
		if got := s.InterceptSecured(network.DirInbound, tc.p, nil); got != tc.want {
			t.Errorf("InterceptSecured(%s) = %v", tc.p, got)
		}
	}
	if !s.InterceptAccept(nil) {
		t.Error("InterceptAccept refused a connection whose peer is unknown")
	}
	bl := blacklist{s}
	if !bl.Contains(bad) || bl.Contains(good) {
		t.Error("blacklist disagrees with the bans")
	}
	if !bl.Add(good) || !s.banned(good) || bl.Add(good) {
		t.Error("blacklist Add does not ban once")
	}
	clk.advance(time.Minute)
	if !s.InterceptPeerDial(bad) || bl.Contains(bad) {
		t.Error("ban outlived BanDuration")
	}
}

// TestPeerScoreParamsValid: GossipSub accepts the parameters (it checks
// them when built) and the thresholds are ordered as it requires.
func TestPeerScoreParamsValid(t *testing.T) {
	h := mockHost(t, newMocknet(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	params := peerScoreParams("b", "t", func(peer.ID) float64 { return 0 })
	if _, err := pubsub.NewGossipSub(ctx, h, pubsub.WithPeerScore(params, peerScoreThresholds())); err != nil {
		t.Fatal(err)
	}
	for _, tp := range params.Topics {
		if tp.MeshMessageDeliveriesWeight != 0 || tp.InvalidMessageDeliveriesWeight >= 0 {
			t.Errorf("topic params %+v: want mesh-delivery penalty off, invalid deliveries penalized", tp)
		}
	}
	if params.IPColocationFactorWeight >= 0 || params.IPColocationFactorThreshold != ipColocationThreshold {
		t.Errorf("IP colocation weight %v threshold %d: want a penalty past %d peers per IP",
			params.IPColocationFactorWeight, params.IPColocationFactorThreshold, ipColocationThreshold)
	}
	// Local testnets (127.0.0.1) and mocknet (100::/64) run many nodes on
	// one address or /64; they must not pay for it. A public address does.
	exempt := func(ip string) bool {
		for _, n := range params.IPColocationFactorWhitelist {
			if n.Contains(net.ParseIP(ip)) {
				return true
			}
		}
		return false
	}
	for ip, want := range map[string]bool{"127.0.0.1": true, "127.8.9.10": true, "::1": true, "100::": true, "100::2a": true,
		"203.0.113.7": false, "192.168.1.20": false, "2001:db8::1": false, "100:0:0:1::": false} {
		if got := exempt(ip); got != want {
			t.Errorf("%s exempt from IP colocation: %v, want %v", ip, got, want)
		}
	}
	// 14 peers on one IP are graylisted: (14-10)^2 * weight < threshold.
	if s := float64((14-ipColocationThreshold)*(14-ipColocationThreshold)) * ipColocationWeight; s >= graylistThreshold {
		t.Errorf("14 peers on one IP score %v, want below the graylist threshold %v", s, graylistThreshold)
	}
}

// TestGaterRefusesBannedPeer: on real hosts built by the Network, a peer
// that reaches the ban threshold is disconnected, its dials are refused,
// and the node will not dial it; its score shows in Peers meanwhile.
func TestGaterRefusesBannedPeer(t *testing.T) {
	g := chaintest.New(t)
	cfg := Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, NoDHT: true}
	a := startNode(t, "a", cfg, newBackend(t, g, txpool.Config{}))
	b := startNode(t, "b", cfg, newBackend(t, g, txpool.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Connect(ctx, a.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitTopicPeers(t, a.Network, 1)

	a.penalize(b.ID(), "test", 30)
	waitFor(t, "b's score at a to show the penalty", func() bool {
		ps := a.Peers()
		return len(ps) == 1 && ps[0].ID == b.ID() && ps[0].Score <= -30
	})
	a.penalize(b.ID(), "test", BanThreshold-30)
	waitFor(t, "a to disconnect b", func() bool {
		return a.host.Network().Connectedness(b.ID()) != network.Connected &&
			b.host.Network().Connectedness(a.ID()) != network.Connected
	})
	if err := b.Connect(ctx, a.Addrs()[0]); err == nil {
		// The handshake may complete on b's side before a's gater closes
		// the connection; it must not last.
		waitFor(t, "a to refuse b", func() bool {
			return b.host.Network().Connectedness(a.ID()) != network.Connected
		})
	}
	if err := a.Connect(ctx, b.Addrs()[0]); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Errorf("a dialled banned b: %v", err)
	}
	// Below the Network's own check, the gater refuses the dial too.
	if err := a.host.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.host.Addrs()}); err == nil {
		t.Error("a's host dialled banned b")
	}
}
