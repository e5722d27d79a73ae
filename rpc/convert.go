package rpc

import (
	"encoding/hex"
	"strconv"

	"github.com/cairn-ledger/cairn/chain/types"
)

// NewTx converts a transaction to its JSON form, without status or
// location (the node uses it for txpool_content too).
func NewTx(tx *types.Tx) *Tx {
	return &Tx{
		ID:      tx.ID().String(),
		Version: tx.Version,
		From:    tx.Sender().String(),
		PubKey:  hex.EncodeToString(tx.From[:]),
		To:      tx.To.String(),
		Amount:  strconv.FormatUint(tx.Amount, 10),
		Fee:     strconv.FormatUint(tx.Fee, 10),
		Nonce:   tx.Nonce,
		Memo:    hex.EncodeToString(tx.Memo),
		Sig:     hex.EncodeToString(tx.Sig[:]),
		Size:    tx.EncodedSize(),
	}
}
