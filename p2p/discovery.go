package p2p

import (
	"context"
	"fmt"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

const (
	// bootnodeRedialInterval is how often bootnodes are dialled again
	// while the node has fewer than minPeers peers.
	bootnodeRedialInterval = 10 * time.Second
	minPeers               = 4
	// dialTimeout bounds one dial of a discovered peer.
	dialTimeout = 10 * time.Second
	// The DHT is searched for peers every findPeersMin at first, backing
	// off to every findPeersMax; findPeersTimeout bounds one search.
	findPeersMin     = 2 * time.Second
	findPeersMax     = time.Minute
	findPeersTimeout = 30 * time.Second
	// maxDialsPerRound bounds the dials of one DHT search.
	maxDialsPerRound = 16
)

// parseBootnode parses a bootnode multiaddr, which must name its peer:
// /ip4/1.2.3.4/tcp/7732/p2p/12D3KooW…
func parseBootnode(s string) (peer.AddrInfo, error) { return parsePeerAddr(s, "bootnode") }

// startDiscovery starts the bootnode dialler, mDNS and the DHT, as cfg
// asks. The goroutines stop with ctx; n.mdns and n.dht are closed by
// shutdown.
func (n *Network) startDiscovery(ctx context.Context) error {
	if len(n.bootnodes) > 0 {
		n.goFunc(func() { n.bootnodeLoop(ctx) })
	}
	if n.cfg.MDNS {
		svc := mdns.NewMdnsService(n.host, "cairn-"+n.netID, mdnsNotifee{n: n, ctx: ctx})
		if err := svc.Start(); err != nil {
			return fmt.Errorf("p2p: start mDNS: %w", err)
		}
		n.mdns = svc
	}
	if !n.cfg.NoDHT {
		// Server mode: the nodes of a small network are all worth asking,
		// and AutoNAT rarely settles on loopback or a LAN, so automatic
		// mode would leave every node a client and the DHT empty. The
		// protocol prefix keeps it apart from the public IPFS DHT.
		d, err := dht.New(n.host,
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix(protocol.ID("/cairn/"+n.netID)),
			dht.BootstrapPeers(n.bootnodes...),
			dht.DisableValues(), // only provider records (routing discovery) are used
		)
		if err != nil {
			return fmt.Errorf("p2p: start DHT: %w", err)
		}
		n.dht = d
		rd := drouting.NewRoutingDiscovery(d)
		ns := "cairn/" + n.netID
		n.goFunc(func() { n.advertiseLoop(ctx, rd, ns) })
		n.goFunc(func() { n.findPeersLoop(ctx, rd, ns) })
	}
	return nil
}

// bootnodeLoop dials the bootnodes at start and again every
// bootnodeRedialInterval while the node has fewer than minPeers peers.
func (n *Network) bootnodeLoop(ctx context.Context) {
	t := time.NewTicker(bootnodeRedialInterval)
	defer t.Stop()
	for {
		if len(n.host.Network().Peers()) < minPeers {
			var wg sync.WaitGroup
			for _, ai := range n.bootnodes {
				wg.Go(func() { n.dialPeer(ctx, ai, "bootnode") })
			}
			wg.Wait()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// advertiseLoop announces the node on the DHT under ns, again before the
// record expires, retrying with backoff while the routing table is empty.
func (n *Network) advertiseLoop(ctx context.Context, rd *drouting.RoutingDiscovery, ns string) {
	const retryMin, retryMax = time.Second, time.Minute
	retry := retryMin
	for {
		ttl, err := rd.Advertise(ctx, ns)
		wait := ttl * 7 / 8
		if err != nil {
			n.log.Debug("DHT advertise", "err", err)
			wait, retry = retry, min(2*retry, retryMax)
		} else {
			retry = retryMin
		}
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

// findPeersLoop searches the DHT for other nodes of this network and dials
// those the node is not connected to, every findPeersMin at first and
// every findPeersMax later.
func (n *Network) findPeersLoop(ctx context.Context, rd *drouting.RoutingDiscovery, ns string) {
	interval := findPeersMin
	for sleepCtx(ctx, interval) {
		interval = min(2*interval, findPeersMax)
		if len(n.host.Network().Peers()) >= n.cfg.HighWater {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, findPeersTimeout)
		found, err := rd.FindPeers(fctx, ns)
		if err != nil {
			cancel()
			n.log.Debug("DHT find peers", "err", err)
			continue
		}
		dials := 0
		for ai := range found {
			if ai.ID == n.host.ID() || len(ai.Addrs) == 0 ||
				n.host.Network().Connectedness(ai.ID) == network.Connected {
				continue
			}
			n.dialPeer(ctx, ai, "dht")
			if dials++; dials == maxDialsPerRound {
				break
			}
		}
		cancel() // also ends the search if the loop stopped early
	}
}

// dialPeer connects to ai unless it is the node itself, connected already
// or banned. source names where ai came from, for the log.
func (n *Network) dialPeer(ctx context.Context, ai peer.AddrInfo, source string) {
	if ai.ID == n.host.ID() || n.scores.banned(ai.ID) ||
		n.host.Network().Connectedness(ai.ID) == network.Connected {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := n.host.Connect(ctx, ai); err != nil {
		n.log.Debug("dial peer", "peer", ai.ID, "source", source, "err", err)
		return
	}
	n.log.Debug("dialled peer", "peer", ai.ID, "source", source)
}

// mdnsNotifee dials the peers mDNS finds.
type mdnsNotifee struct {
	n   *Network
	ctx context.Context
}

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.host.ID() {
		return
	}
	m.n.goFunc(func() { m.n.dialPeer(m.ctx, ai, "mdns") })
}

// sleepCtx waits for d or until ctx is done, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
