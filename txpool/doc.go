// Package txpool holds transactions waiting for a block (DESIGN.md §6):
// admission with a named reason for every refusal, pending and queued txs
// per sender by nonce, replacement by fee, per-sender and global caps with
// lowest-fee eviction, expiry of queued txs, reaction to new tips and
// reorganisations, and block templates ordered by fee.
//
// This is policy, not consensus: a node may refuse a valid tx here, but a tx
// the pool accepts is valid on the tip when its sender's earlier pending txs
// are applied first.
//
// A *Pool is safe for concurrent use. Signature verification, the costly
// part of admission, runs outside the pool's lock, so adds from several
// goroutines use every core. The package starts no goroutine.
package txpool
