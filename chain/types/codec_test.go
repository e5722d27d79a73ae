package types_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

const testMaxBlockSize = 1 << 20

// memoLenOffset is where a tx's memo length starts:
// version ‖ from ‖ to ‖ amount ‖ fee ‖ nonce.
const memoLenOffset = 1 + types.PubKeySize + types.AddressSize + 8 + 8 + 8

// Round trips: Decode(Encode(x)) == x.

func TestHeaderRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader.Draw(t, "h")
		enc := h.Encode()
		if len(enc) != types.HeaderSize {
			t.Fatalf("encoding is %d bytes, want %d", len(enc), types.HeaderSize)
		}
		got, err := types.DecodeHeader(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got != h {
			t.Fatalf("round trip: got %+v, want %+v", got, h)
		}
	})
}

func TestTxRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx.Draw(t, "tx")
		enc := tx.Encode()
		if len(enc) != tx.EncodedSize() {
			t.Fatalf("EncodedSize() = %d, len(Encode()) = %d", tx.EncodedSize(), len(enc))
		}
		got, err := types.DecodeTx(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, tx) {
			t.Fatalf("round trip: got %+v, want %+v", got, tx)
		}
	})
}

func TestBlockRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := genBlock(40).Draw(t, "block")
		enc := b.Encode()
		if len(enc) != b.EncodedSize() {
			t.Fatalf("EncodedSize() = %d, len(Encode()) = %d", b.EncodedSize(), len(enc))
		}
		got, err := types.DecodeBlock(enc, testMaxBlockSize)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("round trip of %d txs: got %+v, want %+v", len(b.Txs), got, b)
		}
		if got.Hash() != b.Header.Hash() {
			t.Fatal("Block.Hash differs from Header.Hash")
		}
	})
}

// The block round trip above stays under 128 txs; this one needs a two-byte
// count.
func TestBlockRoundTripLargeCount(t *testing.T) {
	for _, n := range []int{127, 128, 129, 300} {
		b := randBlock(newRand(), n)
		enc := b.Encode()
		if len(enc) != b.EncodedSize() {
			t.Fatalf("%d txs: EncodedSize() = %d, len(Encode()) = %d", n, b.EncodedSize(), len(enc))
		}
		got, err := types.DecodeBlock(enc, testMaxBlockSize)
		if err != nil {
			t.Fatalf("%d txs: decode: %v", n, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("%d txs: round trip differs", n)
		}
	}
}

// Decoded values must not alias the input buffer.
func TestDecodeDoesNotAlias(t *testing.T) {
	b := randBlock(newRand(), 3)
	enc := b.Encode()
	got, err := types.DecodeBlock(enc, testMaxBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] ^= 0xff
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatal("decoded block changed when the input buffer was overwritten")
	}
}

// Canonicity: encode(decode(b)) == b for any b that decodes. Inputs are
// valid encodings with random edits (so that many still decode) or plain
// random bytes.

// mutate applies a few random edits to enc.
func mutate(t *rapid.T, enc []byte) []byte {
	b := append([]byte(nil), enc...)
	edits := rapid.IntRange(0, 4).Draw(t, "edits")
	for range edits {
		switch op := rapid.IntRange(0, 3).Draw(t, "op"); {
		case op == 0 && len(b) > 0: // overwrite a byte
			i := rapid.IntRange(0, len(b)-1).Draw(t, "i")
			b[i] = rapid.Byte().Draw(t, "v")
		case op == 1 && len(b) > 0: // delete a byte
			i := rapid.IntRange(0, len(b)-1).Draw(t, "i")
			b = append(b[:i], b[i+1:]...)
		case op == 2: // insert a byte
			i := rapid.IntRange(0, len(b)).Draw(t, "i")
			b = append(b[:i], append([]byte{rapid.Byte().Draw(t, "v")}, b[i:]...)...)
		case op == 3 && len(b) > 0: // truncate
			b = b[:rapid.IntRange(0, len(b)-1).Draw(t, "n")]
		}
	}
	return b
}

func inputFrom(t *rapid.T, valid []byte) []byte {
	if rapid.IntRange(0, 9).Draw(t, "random") == 0 {
		return rapid.SliceOfN(rapid.Byte(), 0, len(valid)+8).Draw(t, "bytes")
	}
	return mutate(t, valid)
}

func TestHeaderCanonical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader.Draw(t, "h")
		in := inputFrom(t, h.Encode())
		got, err := types.DecodeHeader(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if enc := got.Encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x but it encodes as %x", in, enc)
		}
	})
}

func TestTxCanonical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx.Draw(t, "tx")
		in := inputFrom(t, tx.Encode())
		got, err := types.DecodeTx(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if enc := got.Encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x but it encodes as %x", in, enc)
		}
		if got.EncodedSize() != len(in) {
			t.Fatalf("EncodedSize() = %d, input is %d bytes", got.EncodedSize(), len(in))
		}
	})
}

func TestBlockCanonical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := genBlock(5).Draw(t, "block")
		in := inputFrom(t, b.Encode())
		got, err := types.DecodeBlock(in, testMaxBlockSize)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if enc := got.Encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x but it encodes as %x", in, enc)
		}
		if got.EncodedSize() != len(in) {
			t.Fatalf("EncodedSize() = %d, input is %d bytes", got.EncodedSize(), len(in))
		}
	})
}

// Refusals.

func decodeHeaderErr(b []byte) error { _, err := types.DecodeHeader(b); return err }

func decodeTxErr(b []byte) error {
	tx, err := types.DecodeTx(b)
	if err != nil && tx != nil {
		return fmt.Errorf("DecodeTx returned a tx with error %w", err)
	}
	return err
}

func decodeBlockErr(b []byte) error {
	blk, err := types.DecodeBlock(b, testMaxBlockSize)
	if err != nil && blk != nil {
		return fmt.Errorf("DecodeBlock returned a block with error %w", err)
	}
	return err
}

// wantErr fails unless err wraps want and no other decode error.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	checkDecodeError(t, err)
}

func TestDecodeTruncatedEveryCut(t *testing.T) {
	r := newRand()
	check := func(name string, enc []byte, decode func([]byte) error, cuts []int) {
		t.Helper()
		if err := decode(enc); err != nil {
			t.Fatalf("%s: full encoding refused: %v", name, err)
		}
		for _, n := range cuts {
			err := decode(enc[:n:n])
			if !errors.Is(err, types.ErrTruncated) {
				t.Fatalf("%s cut to %d of %d bytes: got %v, want ErrTruncated", name, n, len(enc), err)
			}
			checkDecodeError(t, err)
		}
	}
	every := func(enc []byte) []int {
		cuts := make([]int, len(enc))
		for i := range cuts {
			cuts[i] = i
		}
		return cuts
	}

	h := randHeader(r)
	check("header", h.Encode(), decodeHeaderErr, every(h.Encode()))
	for _, m := range []int{0, 1, 2, 63, 64} {
		enc := randTx(r, m).Encode()
		check(fmt.Sprintf("tx with %d-byte memo", m), enc, decodeTxErr, every(enc))
	}
	for _, n := range []int{0, 1, 3} {
		enc := randBlock(r, n).Encode()
		check(fmt.Sprintf("block with %d txs", n), enc, decodeBlockErr, every(enc))
	}

	// A 130-tx block has a two-byte count. Cut through the header, the
	// count and the first txs, the last txs, and a sample in between.
	enc := randBlock(r, 130).Encode()
	var cuts []int
	for i := range enc {
		if i < types.HeaderSize+2+3*types.MaxTxSize || i > len(enc)-3*types.MaxTxSize || i%61 == 0 {
			cuts = append(cuts, i)
		}
	}
	check("block with 130 txs", enc, decodeBlockErr, cuts)
}

func TestDecodeTrailingBytes(t *testing.T) {
	r := newRand()
	h := randHeader(r)
	tx := randTx(r, 10)
	blk0 := randBlock(r, 0)
	blk := randBlock(r, 3)
	for _, extra := range [][]byte{{0}, {1}, {0xff, 0xff}, tx.Encode()} {
		wantErr(t, decodeHeaderErr(append(h.Encode(), extra...)), types.ErrTrailingBytes)
		wantErr(t, decodeTxErr(append(tx.Encode(), extra...)), types.ErrTrailingBytes)
		wantErr(t, decodeBlockErr(append(blk0.Encode(), extra...)), types.ErrTrailingBytes)
		wantErr(t, decodeBlockErr(append(blk.Encode(), extra...)), types.ErrTrailingBytes)
	}
}

// rawTx is a tx encoding with the given version, raw memo-length bytes and
// memo bytes, and a valid layout otherwise.
func rawTx(version byte, memoLen, memo []byte) []byte {
	b := []byte{version}
	b = append(b, make([]byte, memoLenOffset-1)...)
	b = append(b, memoLen...)
	b = append(b, memo...)
	return append(b, make([]byte, types.SigSize)...)
}

// rawBlock is a valid header, raw count bytes, and then body.
func rawBlock(count []byte, body ...[]byte) []byte {
	h := types.Header{Version: types.HeaderVersion}
	b := append(h.Encode(), count...)
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

func uvarint(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func TestDecodeRefusals(t *testing.T) {
	ff := bytes.Repeat([]byte{0xff}, 9)
	validTx := rawTx(types.TxVersion, []byte{3}, []byte("abc"))
	if _, err := types.DecodeTx(validTx); err != nil {
		t.Fatalf("rawTx does not build a valid tx: %v", err)
	}
	if _, err := types.DecodeBlock(rawBlock([]byte{1}, validTx), testMaxBlockSize); err != nil {
		t.Fatalf("rawBlock does not build a valid block: %v", err)
	}
	headerVersion := func(v uint32) []byte {
		h := types.Header{Version: v}
		return h.Encode()
	}

	tests := []struct {
		name   string
		decode func([]byte) error
		in     []byte
		want   error
	}{
		{"header empty", decodeHeaderErr, nil, types.ErrTruncated},
		{"header version 0", decodeHeaderErr, headerVersion(0), types.ErrUnknownVersion},
		{"header version 2", decodeHeaderErr, headerVersion(2), types.ErrUnknownVersion},
		{"header version max", decodeHeaderErr, headerVersion(^uint32(0)), types.ErrUnknownVersion},

		{"tx empty", decodeTxErr, nil, types.ErrTruncated},
		{"tx version 0", decodeTxErr, rawTx(0, []byte{0}, nil), types.ErrUnknownVersion},
		{"tx version 2", decodeTxErr, rawTx(2, []byte{0}, nil), types.ErrUnknownVersion},
		{"tx version 255", decodeTxErr, rawTx(255, []byte{0}, nil), types.ErrUnknownVersion},
		{"memo 64", decodeTxErr, rawTx(1, []byte{64}, make([]byte, 64)), nil},
		{"memo count 65", decodeTxErr, rawTx(1, []byte{65}, make([]byte, 65)), types.ErrCountTooLarge},
		{"memo count 65 no bytes", decodeTxErr, rawTx(1, []byte{65}, nil), types.ErrCountTooLarge},
		{"memo count 128", decodeTxErr, rawTx(1, uvarint(128), make([]byte, 128)), types.ErrCountTooLarge},
		{"memo count 2^63", decodeTxErr, rawTx(1, uvarint(1<<63), nil), types.ErrCountTooLarge},
		{"memo count 0x80 0x00", decodeTxErr, rawTx(1, []byte{0x80, 0x00}, nil), types.ErrNonMinimalUvarint},
		{"memo count 0x81 0x00", decodeTxErr, rawTx(1, []byte{0x81, 0x00}, []byte{7}), types.ErrNonMinimalUvarint},
		{"memo count 0x80 0x80 0x00", decodeTxErr, rawTx(1, []byte{0x80, 0x80, 0x00}, nil), types.ErrNonMinimalUvarint},
		{"memo count ff*9 02", decodeTxErr, rawTx(1, append(ff, 0x02), nil), types.ErrUvarintOverflow},
		{"memo count ff*10 01", decodeTxErr, rawTx(1, append(ff, 0xff, 0x01), nil), types.ErrUvarintOverflow},
		{"memo count 80*10 00", decodeTxErr, rawTx(1, append(bytes.Repeat([]byte{0x80}, 10), 0x00), nil), types.ErrUvarintOverflow},
		{"memo count missing", decodeTxErr, rawTx(1, nil, nil)[:memoLenOffset], types.ErrTruncated},
		{"memo count 0x80 then end", decodeTxErr, append(rawTx(1, nil, nil)[:memoLenOffset:memoLenOffset], 0x80), types.ErrTruncated},
		{"memo shorter than count", decodeTxErr, rawTx(1, []byte{5}, []byte("abc"))[:memoLenOffset+4], types.ErrTruncated},

		{"block empty", decodeBlockErr, nil, types.ErrTruncated},
		{"block header version 2", decodeBlockErr, append(headerVersion(2), 0), types.ErrUnknownVersion},
		{"block tx version 2", decodeBlockErr, rawBlock([]byte{2}, validTx, rawTx(2, []byte{0}, nil)), types.ErrUnknownVersion},
		{"block tx memo 65", decodeBlockErr, rawBlock([]byte{1}, rawTx(1, []byte{65}, make([]byte, 65))), types.ErrCountTooLarge},
		{"block count 0x80 0x00", decodeBlockErr, rawBlock([]byte{0x80, 0x00}), types.ErrNonMinimalUvarint},
		{"block count 0x81 0x00", decodeBlockErr, rawBlock([]byte{0x81, 0x00}, validTx), types.ErrNonMinimalUvarint},
		{"block count ff*9 02", decodeBlockErr, rawBlock(append(ff, 0x02)), types.ErrUvarintOverflow},
		{"block count ff*10 01", decodeBlockErr, rawBlock(append(ff, 0xff, 0x01)), types.ErrUvarintOverflow},
		{"block count 2^63", decodeBlockErr, rawBlock(uvarint(1 << 63)), types.ErrCountTooLarge},
		{"block count 1 no tx", decodeBlockErr, rawBlock([]byte{1}), types.ErrTruncated},
		{"block count 2 one tx", decodeBlockErr, rawBlock([]byte{2}, validTx), types.ErrTruncated},
		{"block count 0x80 then end", decodeBlockErr, rawBlock([]byte{0x80}), types.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

// A block's encoding larger than maxSize is refused before decoding.
func TestDecodeBlockTooLarge(t *testing.T) {
	enc := randBlock(newRand(), 20).Encode()
	if _, err := types.DecodeBlock(enc, len(enc)); err != nil {
		t.Fatalf("block of exactly maxSize refused: %v", err)
	}
	_, err := types.DecodeBlock(enc, len(enc)-1)
	wantErr(t, err, types.ErrTooLarge)

	// Even an otherwise malformed input is refused for its size first.
	_, err = types.DecodeBlock(make([]byte, testMaxBlockSize+1), testMaxBlockSize)
	wantErr(t, err, types.ErrTooLarge)
	// maxSize is capped at MaxBlockSizeLimit, also when it is <= 0.
	for _, maxSize := range []int{0, -1, types.MaxBlockSizeLimit + 1} {
		_, err = types.DecodeBlock(make([]byte, types.MaxBlockSizeLimit+1), maxSize)
		wantErr(t, err, types.ErrTooLarge)
	}
}

// minBlockSize is the size of the smallest block with n txs.
func minBlockSize(n uint64) int {
	return types.HeaderSize + len(uvarint(n)) + int(n)*types.MinTxSize
}

// A tx count whose smallest block cannot fit in maxSize is ErrCountTooLarge;
// a count that could fit but that the input is too short for is
// ErrTruncated.
func TestDecodeBlockCountLimit(t *testing.T) {
	var maxTxs uint64
	for minBlockSize(maxTxs+1) <= testMaxBlockSize {
		maxTxs++
	}
	tail := rawTx(1, []byte{0}, nil)
	for _, n := range []uint64{maxTxs + 1, maxTxs + 2, 1 << 20, 1 << 32, 1<<64 - 1} {
		_, err := types.DecodeBlock(rawBlock(uvarint(n), tail), testMaxBlockSize)
		if !errors.Is(err, types.ErrCountTooLarge) {
			t.Errorf("count %d (max %d): got %v, want ErrCountTooLarge", n, maxTxs, err)
		}
	}
	for _, n := range []uint64{2, 1000, 7000, maxTxs} {
		_, err := types.DecodeBlock(rawBlock(uvarint(n), tail), testMaxBlockSize)
		if !errors.Is(err, types.ErrTruncated) {
			t.Errorf("count %d (max %d): got %v, want ErrTruncated", n, maxTxs, err)
		}
	}
}

// The same law for any maxSize, including ones where the count needs a
// two- or three-byte uvarint. maxSize is drawn near the smallest block that
// holds the count, where an off-by-one would show.
func TestDecodeBlockCountLimitProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.OneOf(
			rapid.Uint64Range(1, 300),
			rapid.Uint64Range(1, types.MaxBlockSizeLimit/types.MinTxSize),
		).Draw(t, "count")
		maxSize := minBlockSize(n) + rapid.IntRange(-3, 3).Draw(t, "delta")
		if maxSize > types.MaxBlockSizeLimit {
			return
		}
		_, err := types.DecodeBlock(rawBlock(uvarint(n)), maxSize)
		if minBlockSize(n) <= maxSize {
			if !errors.Is(err, types.ErrTruncated) {
				t.Fatalf("count %d fits in %d bytes: got %v, want ErrTruncated", n, maxSize, err)
			}
		} else if !errors.Is(err, types.ErrCountTooLarge) {
			t.Fatalf("count %d cannot fit in %d bytes: got %v, want ErrCountTooLarge", n, maxSize, err)
		}
	})
}

// A tiny input claiming many txs is refused before anything is allocated
// for them.
func TestDecodeBlockHugeCountDoesNotAllocate(t *testing.T) {
	for _, in := range [][]byte{
		rawBlock(uvarint(7000)),
		rawBlock(uvarint(7000), rawTx(1, []byte{0}, nil)),
	} {
		_, err := types.DecodeBlock(in, testMaxBlockSize)
		wantErr(t, err, types.ErrTruncated)

		allocs := testing.AllocsPerRun(100, func() {
			_, _ = types.DecodeBlock(in, testMaxBlockSize)
		})
		if allocs > 10 {
			t.Errorf("%d-byte input claiming 7000 txs: %v allocations per decode, want <= 10", len(in), allocs)
		}

		var before, after runtime.MemStats
		const runs = 100
		runtime.ReadMemStats(&before)
		for range runs {
			_, _ = types.DecodeBlock(in, testMaxBlockSize)
		}
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / runs
		t.Logf("%d-byte input claiming 7000 txs: %v allocations, %d bytes per decode", len(in), allocs, perRun)
		if perRun > 2048 {
			t.Errorf("%d-byte input claiming 7000 txs: %d bytes allocated per decode, want <= 2048", len(in), perRun)
		}
	}
}
