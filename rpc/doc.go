// Package rpc is cairn's JSON-RPC 2.0 API (DESIGN.md §8): an HTTP server
// on github.com/creachadair/jrpc2 and the typed Go client the cairn CLI
// uses. api.go fixes the JSON shapes and the Backend the node provides.
//
// Methods (params positional, or by name as an object):
//
//	chain_getHead         []                           -> Head
//	chain_getBlock        [ref, full?]                 -> Block       ref: block hash (hex) or height (number)
//	chain_getHeader       [ref]                        -> Header
//	chain_getTransaction  [id]                         -> Tx (status pending/confirmed)
//	state_getAccount      [address]                    -> Account
//	tx_send               [rawTxHex]                   -> SendResult
//	txpool_status         []                           -> PoolStatus
//	txpool_content        []                           -> PoolContent
//	net_info              []                           -> NetInfo
//	net_peers             []                           -> []Peer
//	net_connect  (admin)  [multiaddr]                  -> true
//	net_ban      (admin)  [peerID]                     -> true
//	net_unban    (admin)  [peerID]                     -> true
//	miner_status          []                           -> MinerStatus
//	miner_start  (admin)  [{threads?, address?}]       -> MinerStatus
//	miner_stop   (admin)  []                           -> MinerStatus
//	node_info             []                           -> NodeInfo
//
// Admin methods need "Authorization: Bearer <token>"; the server writes
// the token to its cookie file (<datadir>/rpc.cookie, mode 0600) at start.
package rpc
