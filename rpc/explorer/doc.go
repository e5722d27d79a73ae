// Package explorer is the block explorer a cairn node serves beside its
// JSON-RPC API (mounted by node at /explorer/ with rpc.Server.Handle,
// behind the same Host and Origin guard). It is read-only and answers
// GET and HEAD only:
//
//	/explorer/                     overview: tip, hash rate, last blocks,
//	                               pool, peers, chain tips, reorganisations,
//	                               a chart of intervals and difficulty
//	/explorer/fragment/overview    the overview's live panels alone (HTML)
//	/explorer/block/{height|hash}  a block and its txs
//	/explorer/tx/{id}              a tx, pending or confirmed
//	/explorer/address/{address}    balance, nonces and history
//	/explorer/search?q=…           a height, block hash, tx id or address:
//	                               redirects to its page, or a 404 page
//	/explorer/static/…             the style sheet and the script
//
// The pages are html/template text (user data such as a memo is only ever
// escaped by it) with a little plain JavaScript, all embedded in the
// binary: no CDN, no build step. The overview's script subscribes to new
// heads on the node's WebSocket JSON-RPC (/ws, chain_subscribe) and on
// each notification fetches the fragment and swaps it in; a
// reorganisation notification also shows a banner.
//
// The explorer reads through rpc.Backend (reusing rpc's lookups, so a page
// shows what the API answers) and keeps one thing of its own: a ring of
// the last reorganisations the node made since it started, fed by
// TipChanged. An Explorer is safe for concurrent use and starts no
// goroutine.
package explorer
