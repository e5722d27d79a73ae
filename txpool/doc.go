// Package txpool holds transactions waiting for a block (the policy is
// docs/PROTOCOL.md, Transaction pool policy):
// admission with a named reason for every refusal, pending and queued txs
// per sender by nonce, replacement that pays (+10 % and at least the
// minimum relay fee), per-sender and global caps with separate, smaller
// caps for queued txs, eviction of the cheapest evictable tx (queued ones
// first) in O(log n), expiry of queued txs, reaction to new tips and
// reorganisations, and block templates ordered by fee.
//
// A pending tx is executable now: its sender's nonces from the account's
// are complete up to it. A queued tx waits for missing nonces. Only
// pending txs are relayed (IsPending); a queued tx lives QueuedTTL at most
// and is the first to go when the pool is full. The node and the p2p
// layer find what to announce again with Stale and what to ask peers for
// with Missing, BySenderNonce and PendingIDs (docs/PROTOCOL.md,
// "Transaction pool policy").
//
// This is policy, not consensus: a node may refuse a valid tx here, but a tx
// the pool accepts is valid on the tip when its sender's earlier pending txs
// are applied first.
//
// A *Pool is safe for concurrent use. Signature verification, the costly
// part of admission, runs outside the pool's lock, so adds from several
// goroutines use every core. The package starts no goroutine.
package txpool
