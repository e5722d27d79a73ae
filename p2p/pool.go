package p2p

import (
	"errors"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
)

// TxPool is what the network needs of the transaction pool: gossip admits
// the txs peers relay to it, and transaction recovery (txsync.go) reads
// it and fills its gaps. *txpool.Pool implements it; the node passes it
// to New. All methods must be safe for concurrent use.
type TxPool interface {
	// Add admits a tx and returns its id. A refusal is an error with a
	// method RejectReason() string that names the reason (see
	// classifyRefusal); any other error is a failure of the pool.
	Add(tx *types.Tx) (types.Hash, error)
	// Has reports whether the pool holds a tx, pending or queued.
	Has(id types.Hash) bool
	// IsPending reports whether the pool holds a tx and it is executable
	// now.
	IsPending(id types.Hash) bool
	// Get returns a pooled tx, pending or queued.
	Get(id types.Hash) (*types.Tx, bool)
	// PendingIDs returns the ids of at most max pending txs, highest fee
	// first.
	PendingIDs(max int) []types.Hash
	// BySenderNonce returns the pooled tx of sender with nonce.
	BySenderNonce(sender types.Address, nonce uint64) (*types.Tx, bool)
	// Missing reports the nonces [from, to) that keep sender's queued txs
	// from being executable.
	Missing(sender types.Address) (from, to uint64, ok bool)
	// Stale returns at most max pending txs announced more than age ago,
	// and marks them announced now.
	Stale(age time.Duration, max int) []*types.Tx
}

// txRefusal is how the network treats a tx the pool refused: whether the
// peer that sent it is at fault, and whether the refusal may soon be
// lifted.
type txRefusal int

const (
	// notRefused: the error is not a refusal but a failure of the pool.
	notRefused txRefusal = iota
	// refusedUndecodable: the bytes are not a canonical tx encoding.
	refusedUndecodable
	// refusedInvalid: the tx is invalid whatever the state (a stateless
	// rule, its signature, another network, a small-order key).
	refusedInvalid
	// refusedForNow: a refusal that a filled nonce gap or a block may
	// lift soon (duplicate, sender limit, nonce too high, pool full).
	refusedForNow
	// refusedByView: any other reason, one of this node's view that
	// lasts (fee, amount, nonce too low, balance, replacement).
	refusedByView
)

// classifyRefusal classifies an error of TxPool.Add by the reason it
// names. The names are the pool's reject reasons, the same that the RPC
// reports in its error data (txpool.Reason); p2p matches the names so as
// not to import the pool.
func classifyRefusal(err error) txRefusal {
	var r interface{ RejectReason() string }
	if !errors.As(err, &r) {
		return notRefused
	}
	switch r.RejectReason() {
	case "undecodable":
		return refusedUndecodable
	case "invalid", "bad-signature", "wrong-network", "small-order-key":
		return refusedInvalid
	case "duplicate", "sender-limit", "nonce-too-high", "pool-full":
		return refusedForNow
	}
	return refusedByView
}
