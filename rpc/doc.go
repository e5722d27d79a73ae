// Package rpc is cairn's JSON-RPC 2.0 API (docs/RPC.md): an HTTP server
// on github.com/creachadair/jrpc2 and the typed Go client the cairn CLI
// uses. api.go fixes the JSON shapes and the Backend the node provides.
//
// Methods (params positional, or by name as an object; names in braces):
//
//	chain_getHead         []                           -> Head
//	chain_getBlock        [ref, full?]                 -> Block       {ref|hash|height, full}
//	chain_getHeader       [ref]                        -> Header      {ref|hash|height}
//	chain_getTransaction  [id]                         -> Tx          {id}; status pending/confirmed
//	chain_getTips         []                           -> []ChainTip
//	state_getAccount      [address]                    -> Account     {address}
//	state_getHistory      [address, {cursor?, limit?}] -> History     {address, options}
//	tx_send               [rawTxHex]                   -> SendResult  {raw}
//	txpool_status         []                           -> PoolStatus
//	txpool_content        []                           -> PoolContent
//	net_info              []                           -> NetInfo
//	net_peers             []                           -> []Peer
//	net_connect  (admin)  [multiaddr]                  -> true        {addr}
//	net_ban      (admin)  [peerID]                     -> true        {id}
//	net_unban    (admin)  [peerID]                     -> true        {id}
//	miner_status          []                           -> MinerStatus
//	miner_start  (admin)  [{threads?, address?}]       -> MinerStatus {threads, address}
//	miner_stop   (admin)  []                           -> MinerStatus
//	node_info             []                           -> NodeInfo
//	chain_subscribe  (ws) [kind, address?]             -> id          {kind, address}
//	chain_unsubscribe (ws) [id]                        -> true        {id}
//
// A block ref is a block hash (64 hex digits, a string) or a main-chain
// height (a number); full (default false) returns the txs instead of
// their ids. Trailing optional params may be left out; null counts as
// absent. testdata/*.golden shows a request and response for every
// method and every kind of error.
//
// Errors: the standard codes (-32700 parse error, -32600 invalid request,
// also for a body over the size limit, an empty or too long batch, or an
// HTTP method other than POST; -32601; -32602 with the param and the
// reason in the message; -32603), and the application codes of api.go,
// whose data is {"reason": "…"}: CodeTxRejected (the txpool's reason
// name), CodeNotFound, CodeUnauthorized, CodeUnavailable, CodeTimeout.
// A batch answers with an array of the responses to its requests that
// have an id; a message of notifications only gets HTTP 204 and no body.
//
// Admin methods need "Authorization: Bearer <token>"; the server writes
// the token to its cookie file (<datadir>/rpc.cookie, mode 0600) at start,
// and ReadCookie reads it. The token is compared in constant time.
//
// jrpc2 parses and checks request messages (ParseRequests) and its
// handler package holds the method table; the HTTP layer is this
// package's own, because jrpc2's HTTP bridge answers a malformed body and
// an empty batch against the JSON-RPC 2.0 specification (what the
// specification asks is in docs/RPC.md, Errors and Batches and
// notifications, and rpc/testdata/protocol.golden) and its per-request
// server machinery costs more than the call.
//
// A Server and a Client are safe for concurrent use. The server starts
// one goroutine (the HTTP server, which runs one per connection), joined
// by Close.
package rpc
