package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TopicPeers returns the peers known to be subscribed to the block topic
// and to the tx topic: a message published now reaches at least these.
// Before Start, or after Stop, both are empty. Safe for concurrent use.
func (n *Network) TopicPeers() (block, tx []peer.ID) {
	if !n.started.Load() || n.stopped.Load() {
		return nil, nil
	}
	return n.blockTopic.ListPeers(), n.txTopic.ListPeers()
}

// BanPeer refuses p for d (at least one second): its connections are
// closed, new ones are refused, and GossipSub drops its messages — what
// bitcoind's setban does. Safe for concurrent use.
func (n *Network) BanPeer(p peer.ID, d time.Duration) {
	d = max(d, time.Second)
	n.refuse(p, d)
	n.log.Info("banned peer", "peer", p, "for", d)
}

// refuse closes p's connections and has the gater refuse new ones for d,
// without a score penalty.
func (n *Network) refuse(p peer.ID, d time.Duration) {
	n.scores.mu.Lock()
	n.scores.bans[p] = n.scores.now().Add(d)
	n.scores.mu.Unlock()
	if h := n.liveHost(); h != nil {
		_ = h.Network().ClosePeer(p)
	}
}

// UnbanPeer lifts a ban of p, whether set by BanPeer or by its score.
// Safe for concurrent use.
func (n *Network) UnbanPeer(p peer.ID) {
	n.scores.mu.Lock()
	delete(n.scores.bans, p)
	n.scores.mu.Unlock()
}
