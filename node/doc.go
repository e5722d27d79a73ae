// Package node is cairn's composition root. New validates a Config, opens
// the chain (which checks that the stored state commits to the tip's
// stateRoot), and builds the txpool, the p2p network, the miner, the
// JSON-RPC server and the Prometheus metrics, joining them through
// adapters checked at compile time: backend (p2p.Backend: gossip and sync
// to the chain), rpcBackend (rpc.Backend) and minerBackend (the miner's
// blockWork). The RPC server also serves the block explorer
// (rpc/explorer) at /explorer/, its home page for browsers; the explorer
// hears of each reorganisation before the WebSocket subscribers do. Run
// is what cairnd calls.
//
// The parts that run goroutines are components (lifecycle.go), as geth's
// node.Lifecycle: the network, the RPC server, the metrics server and the
// miner. Start starts them in that order under a context of the node's;
// if one fails, it stops those already started in reverse order and
// closes the node. Stop stops them in reverse order, each even if another
// failed, closes the chain and returns every error joined; it is bounded
// and idempotent.
//
// Every block that changes the main chain, from gossip, sync or the miner,
// goes through processBlock: the chain imports it, the metrics time it,
// the pool drops included txs and takes back those of disconnected blocks,
// and subscribers (the miner, the explorer, the RPC's WebSocket
// subscriptions) hear of the new tip.
//
// The miner (miner.go) knows the node only as blockWork, a template and a
// way to submit a solved block (as btcd's cpuminer.Config). It hashes a
// template on N goroutines from a BLAKE2b midstate of the header's
// constant 128-byte prefix, keeps the header time current, and starts
// over on a new tip and every Refresh, until the node's context ends.
//
// Each Node logs through its own slog.Logger and registers its metrics in
// its own registry, so several nodes share a process cleanly (nodetest).
package node
