package p2p

import "github.com/libp2p/go-libp2p/core/peer"

// TopicPeers returns the peers known to be subscribed to the block topic
// and to the tx topic: a message published now reaches at least these.
// Before Start, or after Stop, both are empty. Safe for concurrent use.
func (n *Network) TopicPeers() (block, tx []peer.ID) {
	if !n.started.Load() || n.stopped.Load() {
		return nil, nil
	}
	return n.blockTopic.ListPeers(), n.txTopic.ListPeers()
}
