// Package node is cairn's composition root: it opens the chain, builds the
// txpool and the p2p network, and joins them through adapters (the
// p2p.Backend that routes gossip and sync to the chain and the pool).
//
// For now it holds only the wiring the in-process test harness
// (node/nodetest) needs; the daemon's lifecycle, miner and RPC come with
// cmd/cairnd.
package node
