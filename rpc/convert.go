package rpc

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// Values of Tx.Status.
const (
	StatusPending   = "pending"
	StatusConfirmed = "confirmed"
)

// hexString is hex.EncodeToString with one allocation for short input.
func hexString(b []byte) string {
	var buf [2 * types.SigSize]byte
	if len(b) > types.SigSize {
		return hex.EncodeToString(b)
	}
	hex.Encode(buf[:], b)
	return string(buf[:2*len(b)])
}

func workString(w *big.Int) string {
	if w == nil {
		return "0"
	}
	return w.String()
}

func bitsString(bits uint32) string { return fmt.Sprintf("%08x", bits) }

// confirmations of a main-chain block at height h under a tip at
// tipHeight (read after the block, so a tip that moved meanwhile cannot
// make it negative).
func confirmations(h, tipHeight uint64) uint64 {
	if tipHeight < h {
		return 1
	}
	return tipHeight - h + 1
}

// NewHeader returns the JSON form of a header; tipHeight is the main
// chain's height, for Confirmations.
func NewHeader(info chain.HeaderInfo, tipHeight uint64) Header {
	h := &info.Header
	out := Header{
		Hash:      info.Hash.String(),
		Version:   h.Version,
		Height:    h.Height,
		Parent:    h.Parent.String(),
		TxRoot:    h.TxRoot.String(),
		StateRoot: h.StateRoot.String(),
		Miner:     h.Miner.String(),
		Time:      h.Time,
		Bits:      bitsString(h.Bits),
		Nonce:     strconv.FormatUint(h.Nonce, 10),
		Work:      workString(info.Work),
		MainChain: info.MainChain,
	}
	if info.MainChain {
		out.Confirmations = confirmations(h.Height, tipHeight)
	}
	return out
}

// NewBlock returns the JSON form of blk, whose index entry is info: with
// the full txs (located in the block when it is on the main chain) if
// full, else their ids.
func NewBlock(info chain.HeaderInfo, blk *types.Block, tipHeight uint64, full bool) *Block {
	return newBlockBody(blk).result(info, tipHeight, full)
}

// NewTx returns the JSON form of tx, without status or location. The node
// uses it to fill PoolContent.
func NewTx(tx *types.Tx) *Tx {
	return &Tx{
		ID:      tx.ID().String(),
		Version: tx.Version,
		From:    tx.Sender().String(),
		PubKey:  hexString(tx.From[:]),
		To:      tx.To.String(),
		Amount:  strconv.FormatUint(tx.Amount, 10),
		Fee:     strconv.FormatUint(tx.Fee, 10),
		Nonce:   tx.Nonce,
		Memo:    hexString(tx.Memo),
		Sig:     hexString(tx.Sig[:]),
		Size:    tx.EncodedSize(),
	}
}

// setConfirmed locates the tx in the main-chain block with hash (hex)
// block.
func (t *Tx) setConfirmed(block string, height uint64, index int, tipHeight uint64) {
	t.Status = StatusConfirmed
	t.BlockHash = block
	t.Height = height
	t.Index = index
	t.Confirmations = confirmations(height, tipHeight)
}
