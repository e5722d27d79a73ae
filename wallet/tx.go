package wallet

import (
	"errors"
	"fmt"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Errors BuildTx returns for a transaction that would be pointless or
// invalid. Each is wrapped with the offending values.
var (
	ErrZeroAmount   = errors.New("amount must be positive")
	ErrMemoTooLong  = fmt.Errorf("memo longer than %d bytes", types.MaxMemoSize)
	ErrCostOverflow = errors.New("amount + fee overflows 2^64-1 base units")
)

// TxParams is what the sender chooses for a transfer. Nonce is the
// sender's count of earlier transactions, pending ones included; the CLI
// asks the node for it.
type TxParams struct {
	To     types.Address
	Amount uint64 // base units
	Fee    uint64 // base units
	Nonce  uint64
	Memo   []byte
}

// BuildTx returns a version-1 transaction from p, signed by k for the
// network with the given genesis hash. It refuses a zero amount (a zero
// transfer is almost always a mistake), a memo longer than
// types.MaxMemoSize and an amount + fee that does not fit in a uint64.
// The memo is copied. It is safe for concurrent use.
func BuildTx(k *Key, p TxParams, genesis types.Hash) (*types.Tx, error) {
	if k == nil {
		return nil, errors.New("build tx: no key")
	}
	if p.Amount == 0 {
		return nil, fmt.Errorf("build tx: %w", ErrZeroAmount)
	}
	if len(p.Memo) > types.MaxMemoSize {
		return nil, fmt.Errorf("build tx: %w (got %d)", ErrMemoTooLong, len(p.Memo))
	}
	tx := &types.Tx{
		Version: types.TxVersion,
		To:      p.To,
		Amount:  p.Amount,
		Fee:     p.Fee,
		Nonce:   p.Nonce,
	}
	if _, ok := tx.Cost(); !ok {
		return nil, fmt.Errorf("build tx: %w (amount %s, fee %s)", ErrCostOverflow, FormatCRN(p.Amount), FormatCRN(p.Fee))
	}
	if len(p.Memo) > 0 { // an empty memo is nil, as DecodeTx returns it
		tx.Memo = append([]byte(nil), p.Memo...)
	}
	k.Sign(tx, genesis)
	return tx, nil
}
