package types_test

import (
	"errors"
	"math/rand/v2"

	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Generators and fixtures shared by the tests, fuzzers and benchmarks.

// bytesN draws exactly n bytes.
func bytesN(n int) *rapid.Generator[[]byte] {
	return rapid.SliceOfN(rapid.Byte(), n, n)
}

var genHash = rapid.Custom(func(t *rapid.T) types.Hash {
	var h types.Hash
	copy(h[:], bytesN(types.HashSize).Draw(t, "hash"))
	return h
})

var genAddress = rapid.Custom(func(t *rapid.T) types.Address {
	var a types.Address
	copy(a[:], bytesN(types.AddressSize).Draw(t, "address"))
	return a
})

var genPubKey = rapid.Custom(func(t *rapid.T) types.PubKey {
	var pk types.PubKey
	copy(pk[:], bytesN(types.PubKeySize).Draw(t, "pubkey"))
	return pk
})

var genHeader = rapid.Custom(func(t *rapid.T) types.Header {
	return types.Header{
		Version:   types.HeaderVersion,
		Height:    rapid.Uint64().Draw(t, "height"),
		Parent:    genHash.Draw(t, "parent"),
		TxRoot:    genHash.Draw(t, "txRoot"),
		StateRoot: genHash.Draw(t, "stateRoot"),
		Miner:     genAddress.Draw(t, "miner"),
		Time:      rapid.Int64().Draw(t, "time"),
		Bits:      rapid.Uint32().Draw(t, "bits"),
		Nonce:     rapid.Uint64().Draw(t, "nonce"),
	}
})

// genMemo draws a memo of 0..MaxMemoSize bytes. The decoder returns nil for
// an empty memo, so an empty memo is generated as nil.
var genMemo = rapid.Custom(func(t *rapid.T) []byte {
	m := rapid.SliceOfN(rapid.Byte(), 0, types.MaxMemoSize).Draw(t, "memo")
	if len(m) == 0 {
		return nil
	}
	return m
})

var genTx = rapid.Custom(func(t *rapid.T) *types.Tx {
	tx := &types.Tx{
		Version: types.TxVersion,
		From:    genPubKey.Draw(t, "from"),
		To:      genAddress.Draw(t, "to"),
		Amount:  rapid.Uint64().Draw(t, "amount"),
		Fee:     rapid.Uint64().Draw(t, "fee"),
		Nonce:   rapid.Uint64().Draw(t, "nonce"),
		Memo:    genMemo.Draw(t, "memo"),
	}
	copy(tx.Sig[:], bytesN(types.SigSize).Draw(t, "sig"))
	return tx
})

// genBlock draws a block of 0..maxTxs transactions (nil Txs when empty, as
// the decoder returns).
func genBlock(maxTxs int) *rapid.Generator[*types.Block] {
	return rapid.Custom(func(t *rapid.T) *types.Block {
		b := &types.Block{Header: genHeader.Draw(t, "header")}
		txs := rapid.SliceOfN(genTx, 0, maxTxs).Draw(t, "txs")
		if len(txs) > 0 {
			b.Txs = txs
		}
		return b
	})
}

// Deterministic fixtures for table tests and benchmarks.

func fillBytes(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func randHash(r *rand.Rand) types.Hash {
	var h types.Hash
	fillBytes(r, h[:])
	return h
}

func randHeader(r *rand.Rand) types.Header {
	h := types.Header{
		Version: types.HeaderVersion,
		Height:  r.Uint64(),
		Time:    int64(r.Uint64()),
		Bits:    r.Uint32(),
		Nonce:   r.Uint64(),
	}
	fillBytes(r, h.Parent[:])
	fillBytes(r, h.TxRoot[:])
	fillBytes(r, h.StateRoot[:])
	fillBytes(r, h.Miner[:])
	return h
}

func randTx(r *rand.Rand, memoLen int) *types.Tx {
	tx := &types.Tx{
		Version: types.TxVersion,
		Amount:  r.Uint64(),
		Fee:     r.Uint64(),
		Nonce:   r.Uint64(),
	}
	fillBytes(r, tx.From[:])
	fillBytes(r, tx.To[:])
	fillBytes(r, tx.Sig[:])
	if memoLen > 0 {
		tx.Memo = make([]byte, memoLen)
		fillBytes(r, tx.Memo)
	}
	return tx
}

// randBlock returns a block of n txs with memos of varying length and a
// correct TxRoot.
func randBlock(r *rand.Rand, n int) *types.Block {
	b := &types.Block{Header: randHeader(r)}
	for i := range n {
		b.Txs = append(b.Txs, randTx(r, i%(types.MaxMemoSize+1)))
	}
	b.Header.TxRoot = types.MerkleRoot(b.TxIDs())
	return b
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// decodeErrors lists every error a decoder may refuse input with.
var decodeErrors = []error{
	types.ErrTruncated,
	types.ErrTrailingBytes,
	types.ErrCountTooLarge,
	types.ErrNonMinimalUvarint,
	types.ErrUvarintOverflow,
	types.ErrUnknownVersion,
	types.ErrTooLarge,
}

// fataler is what testing.TB and *rapid.T have in common.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkDecodeError fails unless err wraps exactly one of decodeErrors.
func checkDecodeError(t fataler, err error) {
	t.Helper()
	n := 0
	for _, e := range decodeErrors {
		if errors.Is(err, e) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d of the decode errors, want exactly 1", err, n)
	}
}
