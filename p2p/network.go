package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/multiformats/go-multiaddr"
)

var (
	// ErrNotStarted is returned by methods that need a started Network.
	ErrNotStarted = errors.New("p2p: network not started")
	// ErrStopped is returned once Stop was called (or Start failed); a
	// stopped Network cannot be started again.
	ErrStopped = errors.New("p2p: network stopped")
)

const (
	// stopTimeout bounds how long Stop waits for the Network's goroutines.
	stopTimeout = 5 * time.Second
	// pruneInterval is how often expired bans and forgotten penalties are
	// dropped.
	pruneInterval = time.Minute
)

// Network is a node's presence on the peer-to-peer network: its libp2p
// host, discovery, gossip topics, sync protocol and peer scoring
// (docs/PROTOCOL.md §19–§25). Build it with New, then Start it; Stop releases
// everything Start built. All exported methods are safe for concurrent
// use; those that need the host return ErrNotStarted (or nothing) before
// Start.
type Network struct {
	// Fixed by New.
	cfg       Config
	backend   Backend
	pool      TxPool
	params    *consensus.Params
	netID     string
	bootnodes []peer.AddrInfo
	log       *slog.Logger
	scores    *scorer
	sync      *syncer
	ownHost   bool // the host is built by Start (cfg.Host is nil) and closed by Stop

	// Set by New (cfg.Host) or Start before anything that reads them
	// runs, and not changed afterwards; read only once started is true
	// (or, for host, when it came from cfg.Host).
	host                host.Host
	ctx                 context.Context
	cancel              context.CancelFunc
	ps                  *pubsub.PubSub
	blockTopic, txTopic *pubsub.Topic
	subs                []*pubsub.Subscription
	dht                 *dht.IpfsDHT
	mdns                mdns.Service
	notifiee            *network.NotifyBundle
	protosBefore        []protocol.ID // a given host's protocols before Start

	started, stopped    atomic.Bool
	blockStats, txStats topicCounters

	lifeMu  sync.Mutex // serializes Start and Stop
	stopErr error      // Stop's result, guarded by lifeMu

	// wg counts the goroutines of goFunc and the calls between acquire
	// and release; mu guards stopping so that wg.Add never races wg.Wait.
	mu       sync.RWMutex
	stopping bool
	wg       sync.WaitGroup

	peersMu   sync.Mutex
	connected map[peer.ID]struct{} // peers told to the syncer as connected

	// validating counts each peer's messages being validated, per topic
	// (see validator).
	validatingMu sync.Mutex
	validating   map[peer.ID]*[2]*validationBudget
}

// New builds a Network for the chain of b and the transaction pool pool;
// it validates cfg but starts nothing.
func New(cfg Config, b Backend, pool TxPool) (*Network, error) {
	if b == nil {
		return nil, errors.New("p2p: Backend is required")
	}
	if pool == nil {
		return nil, errors.New("p2p: TxPool is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	params := b.Params()
	if params == nil || params.Genesis() == nil {
		return nil, errors.New("p2p: Backend.Params missing or not validated")
	}
	n := &Network{
		cfg:       cfg,
		backend:   b,
		pool:      pool,
		params:    params,
		netID:     params.NetID(),
		log:       cfg.Logger,
		scores:    newScorer(cfg.BanDuration, time.Now),
		ownHost:   cfg.Host == nil,
		host:      cfg.Host,
		connected: make(map[peer.ID]struct{}),
	}
	for _, s := range cfg.Bootnodes {
		ai, err := parseBootnode(s)
		if err != nil {
			return nil, err
		}
		n.bootnodes = append(n.bootnodes, ai)
	}
	n.sync = newSyncer(cfg, b, pool, n, n)
	return n, nil
}

// Start builds the host (unless Config.Host was given), registers the
// sync protocols, joins the gossip topics and starts discovery and sync.
// The Network runs until Stop is called or ctx is cancelled (Stop must
// still be called then, to release the host). On failure nothing is left
// running and the Network cannot be started again. Calling Start again
// while running does nothing.
func (n *Network) Start(ctx context.Context) error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.stopped.Load() {
		return ErrStopped
	}
	if n.started.Load() {
		return nil
	}
	if err := n.start(ctx); err != nil {
		n.stopErr = n.shutdown()
		return err
	}
	n.started.Store(true)
	n.log.Info("p2p started", "peer", n.host.ID(), "net", n.netID, "addrs", strings.Join(n.Addrs(), " "))
	return nil
}

func (n *Network) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.ctx, n.cancel = context.WithCancel(ctx)
	if n.ownHost {
		h, err := newHost(n.cfg, n.scores)
		if err != nil {
			return err
		}
		n.host = h
	} else {
		n.protosBefore = n.host.Mux().Protocols()
	}
	n.sync.start(n.ctx, n.host)
	if err := n.startGossip(n.ctx); err != nil {
		return err
	}
	// The syncer runs before it hears of peers.
	n.goFunc(func() { n.sync.run(n.ctx) })
	n.notifiee = &network.NotifyBundle{ConnectedF: n.onConnected, DisconnectedF: n.onDisconnected}
	n.host.Network().Notify(n.notifiee)
	for _, c := range n.host.Network().Conns() { // connected before Start (a given host)
		n.onConnected(n.host.Network(), c)
	}
	if err := n.startDiscovery(n.ctx); err != nil {
		return err
	}
	n.goFunc(n.pruneLoop)
	return nil
}

// Stop stops the Network: it cancels its loops, waits for its goroutines
// and the work registered with acquire, such as validations in flight (at
// most a few seconds; once it returns none of these calls the Backend
// again), and closes mDNS, gossip, the DHT and the host if Start built
// it. A host given in Config.Host stays open, without the protocol
// handlers Start added. Stop is idempotent; it returns an error if a
// goroutine did not finish in time or something failed to close.
func (n *Network) Stop() error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.stopped.Load() {
		return n.stopErr
	}
	n.stopErr = n.shutdown()
	n.log.Info("p2p stopped")
	return n.stopErr
}

// shutdown undoes whatever start did, in reverse order; fields still nil
// were never built.
func (n *Network) shutdown() error {
	n.stopped.Store(true)
	n.mu.Lock()
	n.stopping = true
	n.mu.Unlock()
	var errs []error
	if n.notifiee != nil {
		n.host.Network().StopNotify(n.notifiee)
	}
	if n.mdns != nil {
		if err := n.mdns.Close(); err != nil {
			errs = append(errs, fmt.Errorf("p2p: close mDNS: %w", err))
		}
	}
	for _, sub := range n.subs {
		sub.Cancel()
	}
	if n.cancel != nil {
		n.cancel() // stops GossipSub and every loop
	}
	if n.host != nil && !n.ownHost {
		// Remove the handlers added since Start (sync, gossip, DHT) so
		// that the given host no longer routes streams to this Network.
		for _, p := range n.host.Mux().Protocols() {
			if !slices.Contains(n.protosBefore, p) {
				n.host.RemoveStreamHandler(p)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(stopTimeout)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		errs = append(errs, fmt.Errorf("p2p: goroutines still running %v after stop", stopTimeout))
	}
	if n.dht != nil {
		if err := n.dht.Close(); err != nil {
			errs = append(errs, fmt.Errorf("p2p: close DHT: %w", err))
		}
	}
	if n.host != nil && n.ownHost {
		if err := n.host.Close(); err != nil {
			errs = append(errs, fmt.Errorf("p2p: close host: %w", err))
		}
	}
	return errors.Join(errs...)
}

// goFunc runs f in a goroutine that Stop waits for, and reports whether it
// did: once Stop has begun, f is not run.
func (n *Network) goFunc(f func()) bool {
	if !n.acquire() {
		return false
	}
	go func() {
		defer n.release()
		f()
	}()
	return true
}

// acquire registers work done on a goroutine the Network does not own (a
// GossipSub validator, a stream handler) so that Stop waits for it, and
// reports whether it may proceed: once Stop has begun it may not, and the
// Backend is not called again. Each successful acquire needs a release.
func (n *Network) acquire() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.stopping {
		return false
	}
	n.wg.Add(1)
	return true
}

// release ends work registered by acquire.
func (n *Network) release() { n.wg.Done() }

// pruneLoop drops expired bans and decayed penalties now and then.
func (n *Network) pruneLoop() {
	for sleepCtx(n.ctx, pruneInterval) {
		n.scores.prune()
	}
}

// onConnected tells the syncer of a new peer; a banned one is disconnected
// at once (a host given in Config.Host has no gater).
func (n *Network) onConnected(_ network.Network, c network.Conn) {
	p := c.RemotePeer()
	if n.scores.banned(p) {
		n.log.Debug("refusing banned peer", "peer", p)
		n.goFunc(func() { _ = c.Close() })
		return
	}
	n.peersMu.Lock()
	_, known := n.connected[p]
	n.connected[p] = struct{}{}
	n.peersMu.Unlock()
	if known {
		return
	}
	n.log.Debug("peer connected", "peer", p, "addr", c.RemoteMultiaddr(), "dir", connDirection(c.Stat().Direction))
	n.sync.peerConnected(p)
}

// onDisconnected tells the syncer of a peer's last connection closing.
func (n *Network) onDisconnected(nw network.Network, c network.Conn) {
	p := c.RemotePeer()
	if nw.Connectedness(p) == network.Connected {
		return
	}
	n.peersMu.Lock()
	_, known := n.connected[p]
	delete(n.connected, p)
	n.peersMu.Unlock()
	if !known {
		return
	}
	n.log.Debug("peer disconnected", "peer", p)
	n.sync.peerDisconnected(p)
}

// liveHost returns the host if it may be used: a given host always, a
// built one once Start has succeeded.
func (n *Network) liveHost() host.Host {
	if !n.ownHost || n.started.Load() {
		return n.host
	}
	return nil
}

// ID returns the node's peer id ("" before Start if the host is built by
// Start).
func (n *Network) ID() peer.ID {
	if h := n.liveHost(); h != nil {
		return h.ID()
	}
	return ""
}

// Addrs returns the node's listen addresses as full multiaddrs, ending in
// /p2p/<id>, as other nodes' Bootnodes take them.
func (n *Network) Addrs() []string {
	h := n.liveHost()
	if h == nil {
		return nil
	}
	mas, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(mas))
	for i, ma := range mas {
		out[i] = ma.String()
	}
	return out
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID peer.ID
	// Addr is the remote address of the first connection to the peer and
	// Direction ("inbound" or "outbound") who opened it.
	Addr      string
	Direction string
	// Score is the peer's GossipSub score, which includes minus its
	// application penalty (see penalize).
	Score float64
	// Height is the best height the peer claims, if the sync protocol
	// knows it (HeightKnown).
	Height      uint64
	HeightKnown bool
}

// Peers lists the connected peers, sorted by id.
func (n *Network) Peers() []PeerInfo {
	h := n.liveHost()
	if h == nil {
		return nil
	}
	var out []PeerInfo
	for _, p := range h.Network().Peers() {
		conns := h.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		info := PeerInfo{
			ID:        p,
			Addr:      conns[0].RemoteMultiaddr().String(),
			Direction: connDirection(conns[0].Stat().Direction),
			Score:     n.scores.score(p),
		}
		info.Height, info.HeightKnown = n.sync.peerHeight(p)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// ErrAlreadyConnected: Connect was given another address of a peer the
// node is already connected to; the address was not dialled.
var ErrAlreadyConnected = errors.New("p2p: already connected")

// Connect dials a peer given as a multiaddr ending in /p2p/<id>. A peer
// already connected at that address is success; at another address,
// ErrAlreadyConnected.
func (n *Network) Connect(ctx context.Context, addr string) error {
	h := n.liveHost()
	if h == nil || !n.started.Load() {
		return ErrNotStarted
	}
	if n.stopped.Load() {
		return ErrStopped
	}
	ai, err := parsePeerAddr(addr, "peer address")
	if err != nil {
		return err
	}
	if n.scores.banned(ai.ID) {
		return fmt.Errorf("p2p: peer %s is banned", ai.ID)
	}
	// libp2p's Connect succeeds at once for a peer already connected,
	// whatever the address: say so rather than claim the address works.
	if conns := h.Network().ConnsToPeer(ai.ID); len(conns) > 0 {
		for _, c := range conns {
			for _, a := range ai.Addrs {
				if c.RemoteMultiaddr().Equal(a) {
					return nil
				}
			}
		}
		return fmt.Errorf("%w: %s at %s; %s was not dialled", ErrAlreadyConnected, ai.ID, conns[0].RemoteMultiaddr(), addr)
	}
	if err := h.Connect(ctx, ai); err != nil {
		return fmt.Errorf("p2p: connect %s: %w", addr, err)
	}
	return nil
}

// Penalty returns peer p's application penalty points now (they decay
// with PenaltyHalfLife; BanThreshold bans). Safe for concurrent use.
func (n *Network) Penalty(p peer.ID) float64 { return n.scores.appPenalty(p) }

// SyncStatus reports the sync protocol's progress.
func (n *Network) SyncStatus() SyncStatus { return n.sync.status() }

// parsePeerAddr parses a multiaddr that must name its peer; what says
// what it is for the error.
func parsePeerAddr(s, what string) (peer.AddrInfo, error) {
	ma, err := multiaddr.NewMultiaddr(s)
	if err != nil {
		return peer.AddrInfo{}, badPeerAddr{fmt.Errorf("p2p: %s %q is not a multiaddr: %w", what, s, err)}
	}
	ai, err := peer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		return peer.AddrInfo{}, badPeerAddr{fmt.Errorf("p2p: %s %q must end in /p2p/<peer id>: %w", what, s, err)}
	}
	if len(ai.Addrs) == 0 {
		return peer.AddrInfo{}, badPeerAddr{fmt.Errorf("p2p: %s %q has no address before /p2p/<peer id>", what, s)}
	}
	return *ai, nil
}

// ErrBadPeerAddr matches (errors.Is) every refusal of a peer address that
// is malformed, as opposed to one that could not be reached.
var ErrBadPeerAddr = errors.New("p2p: bad peer address")

type badPeerAddr struct{ err error }

func (e badPeerAddr) Error() string        { return e.err.Error() }
func (e badPeerAddr) Unwrap() error        { return e.err }
func (e badPeerAddr) Is(target error) bool { return target == ErrBadPeerAddr }
