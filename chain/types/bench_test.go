package types_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Sinks keep the compiler from discarding benchmarked work.
var (
	sinkBytes  []byte
	sinkHash   types.Hash
	sinkHeader types.Header
	sinkTx     *types.Tx
	sinkBlock  *types.Block
)

func BenchmarkEncodeHeader(b *testing.B) {
	h := randHeader(newRand())
	b.SetBytes(types.HeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = h.Encode()
	}
}

func BenchmarkDecodeHeader(b *testing.B) {
	h := randHeader(newRand())
	enc := h.Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if sinkHeader, err = types.DecodeHeader(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHeaderHash(b *testing.B) {
	h := randHeader(newRand())
	b.SetBytes(types.HeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		sinkHash = h.Hash()
	}
}

// benchTx has a 32-byte memo, the middle of the allowed range.
func benchTx() *types.Tx { return randTx(newRand(), 32) }

func BenchmarkEncodeTx(b *testing.B) {
	tx := benchTx()
	b.SetBytes(int64(tx.EncodedSize()))
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = tx.Encode()
	}
}

func BenchmarkDecodeTx(b *testing.B) {
	enc := benchTx().Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if sinkTx, err = types.DecodeTx(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTxID(b *testing.B) {
	tx := benchTx()
	b.SetBytes(int64(tx.EncodedSize()))
	b.ReportAllocs()
	for b.Loop() {
		sinkHash = tx.ID()
	}
}

// block1000 has 1000 txs with memos of 0..64 bytes.
func block1000() *types.Block { return randBlock(newRand(), 1000) }

func BenchmarkEncodeBlock1000(b *testing.B) {
	blk := block1000()
	b.SetBytes(int64(blk.EncodedSize()))
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = blk.Encode()
	}
}

func BenchmarkDecodeBlock1000(b *testing.B) {
	enc := block1000().Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if sinkBlock, err = types.DecodeBlock(enc, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMerkleRoot1000(b *testing.B) {
	ids := block1000().TxIDs()
	b.SetBytes(int64(len(ids) * types.HashSize))
	b.ReportAllocs()
	for b.Loop() {
		sinkHash = types.MerkleRoot(ids)
	}
}
