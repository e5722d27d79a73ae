package types

import (
	"fmt"
)

// MaxBlockSizeLimit bounds every block decode regardless of the chain
// parameter, so that a decoder never trusts a count beyond it.
const MaxBlockSizeLimit = 32 << 20

// Block is a header followed by its transactions.
type Block struct {
	Header Header
	Txs    []*Tx
}

// Hash returns the block hash, H(header).
func (b *Block) Hash() Hash { return b.Header.Hash() }

// EncodedSize returns the length of the encoding of b.
func (b *Block) EncodedSize() int {
	n := HeaderSize + uvarintLen(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		n += tx.EncodedSize()
	}
	return n
}

// AppendEncode appends header ‖ uvarint tx count ‖ txs to dst.
func (b *Block) AppendEncode(dst []byte) []byte {
	dst = b.Header.AppendEncode(dst)
	dst = appendUvarint(dst, uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		dst = tx.AppendEncode(dst)
	}
	return dst
}

// Encode returns the canonical encoding of b.
func (b *Block) Encode() []byte { return b.AppendEncode(make([]byte, 0, b.EncodedSize())) }

// TxIDs returns the ids of b's transactions, in order.
func (b *Block) TxIDs() []Hash {
	ids := make([]Hash, len(b.Txs))
	for i, tx := range b.Txs {
		ids[i] = tx.ID()
	}
	return ids
}

// DecodeBlock decodes exactly one block whose encoding is at most maxSize
// bytes (capped at MaxBlockSizeLimit). The tx count is checked against what
// maxSize can hold before the slice is allocated.
func DecodeBlock(b []byte, maxSize int) (*Block, error) {
	if maxSize <= 0 || maxSize > MaxBlockSizeLimit {
		maxSize = MaxBlockSizeLimit
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("decode block: %w: %d bytes > %d", ErrTooLarge, len(b), maxSize)
	}
	blk := new(Block)
	d := Decoder{b: b}
	d.header(&blk.Header)
	// maxTxs is the largest count whose smallest block fits in maxSize; a
	// count of 128 or more takes more than one uvarint byte.
	maxTxs := uint64(0)
	if maxSize > HeaderSize+1 {
		maxTxs = uint64(maxSize-HeaderSize-1) / MinTxSize
		for maxTxs > 0 && HeaderSize+uvarintLen(maxTxs)+int(maxTxs)*MinTxSize > maxSize {
			maxTxs--
		}
	}
	n := d.Count(maxTxs, "tx")
	if d.err == nil && n > 0 {
		// Each tx is at least MinTxSize bytes: a count the remaining input
		// cannot hold is truncation, found before allocating.
		if rest := len(b) - d.off; n > rest/MinTxSize {
			d.Fail(fmt.Errorf("%w: %d txs need at least %d bytes, have %d", ErrTruncated, n, n*MinTxSize, rest))
		} else {
			blk.Txs = make([]*Tx, n)
			txs := make([]Tx, n)
			for i := range blk.Txs {
				d.tx(&txs[i])
				blk.Txs[i] = &txs[i]
			}
		}
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	return blk, nil
}
