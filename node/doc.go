// Package node is cairn's composition root. New validates a Config, opens
// the chain (which checks that the stored state commits to the tip's
// stateRoot), and builds the txpool, the p2p network, the miner, the
// JSON-RPC server and the Prometheus metrics, joining them through
// adapters: backend (p2p.Backend: gossip and sync to the chain and the
// pool) and rpcBackend (rpc.Backend). Start starts them in order and
// stops what it started if a part fails; Stop is bounded and idempotent.
// Run is what cairnd calls.
//
// Every block that changes the main chain, from gossip, sync or the miner,
// goes through processBlock: the chain imports it, the metrics time it,
// the pool drops included txs and takes back those of disconnected blocks,
// and subscribers (the miner) hear of the new tip.
//
// The miner (miner.go) builds a template from the pool, hashes it on N
// goroutines from a BLAKE2b midstate of the header's constant 128-byte
// prefix, keeps the header time current, and starts over on a new tip and
// every Refresh.
//
// Each Node logs through its own slog.Logger and registers its metrics in
// its own registry, so several nodes share a process cleanly (nodetest).
package node
