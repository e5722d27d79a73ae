// Package p2p connects a cairn node to its peers over libp2p (DESIGN.md §7):
// a host with TCP and QUIC, Noise and TLS, yamux; discovery through
// bootnodes, mDNS and a Kademlia DHT; GossipSub topics for blocks and
// transactions whose validators hand items to the chain and the txpool;
// the status, headers and blocks request/response protocols for
// headers-first sync; and peer scoring that disconnects and bans peers
// that send bad data.
//
// The package reaches the rest of the node only through Backend, which the
// node package implements. A Network owns every goroutine it starts: they
// are started in Start and joined by Stop.
package p2p
