// Package p2p connects a cairn node to its peers over libp2p
// (docs/PROTOCOL.md §19–§25, Transport and discovery to Penalties and
// bans): a host with TCP and QUIC, Noise and TLS, yamux; discovery through
// bootnodes, mDNS and a Kademlia DHT; GossipSub topics for blocks and
// transactions whose validators hand items to the chain and the txpool;
// the status, headers and blocks request/response protocols for
// headers-first sync; and peer scoring that disconnects and bans peers
// that send bad data.
//
// The package reaches the rest of the node only through Backend (the
// chain) and TxPool (the transaction pool), which the node package passes
// to New. A Network owns every goroutine it starts, and registers the work
// it does on libp2p's goroutines (validators, stream handlers): they are
// started in Start and joined by Stop.
package p2p
