package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"pgregory.net/rapid"
)

// Codec tests of the transaction recovery protocols (txproto.go), in the
// manner of syncproto_test.go: property round trips, a table of malformed
// inputs, and one fuzzer per decoder.

// txDecodeErrors are the decode errors of the sync protocol and those of
// the txs protocol.
var txDecodeErrors = append(slices.Clone(decodeErrors), errUnknownTxRequest, errBadNonceRange, errDuplicateID)

// checkTxDecodeError fails unless err wraps exactly one of txDecodeErrors.
func checkTxDecodeError(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, e := range txDecodeErrors {
		if errors.Is(err, e) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d of the decode errors, want exactly 1", err, n)
	}
}

// drawDistinctHashes draws up to max distinct hashes.
func drawDistinctHashes(t *rapid.T, max int, label string) []types.Hash {
	hs := drawHashes(t, max, label)
	var out []types.Hash
	for _, h := range hs {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func drawTxRequest(t *rapid.T) txRequest {
	typ := rapid.SampledFrom([]byte{txReqByID, txReqBySender, txReqAnnounce}).Draw(t, "type")
	if typ != txReqBySender {
		return txRequest{Type: typ, IDs: drawDistinctHashes(t, MaxTxsPerRequest, "ids")}
	}
	r := txRequest{Type: typ, Count: rapid.IntRange(1, MaxTxsPerSender).Draw(t, "count")}
	copy(r.Sender[:], rapid.SliceOfN(rapid.Byte(), types.AddressSize, types.AddressSize).Draw(t, "sender"))
	r.From = rapid.Uint64Range(0, ^uint64(0)-uint64(r.Count-1)).Draw(t, "from")
	return r
}

func txRequestEqual(a, b txRequest) bool {
	return a.Type == b.Type && slices.Equal(a.IDs, b.IDs) && a.Sender == b.Sender && a.From == b.From && a.Count == b.Count
}

func TestTxIDsRequestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.IntRange(0, MaxPendingIDs).Draw(t, "max")
		enc := encodeTxIDsRequest(max)
		if len(enc) > maxTxIDsRequestSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxTxIDsRequestSize)
		}
		got, err := decodeTxIDsRequest(enc)
		if err != nil || got != max {
			t.Fatalf("round trip of %d: %d, %v", max, got, err)
		}
	})
}

func TestTxIDsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := drawDistinctHashes(t, 300, "ids")
		enc := encodeTxIDs(ids)
		if len(enc) > maxTxIDsAnswerSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxTxIDsAnswerSize)
		}
		got, err := decodeTxIDs(enc, MaxPendingIDs)
		if err != nil || !slices.Equal(got, ids) {
			t.Fatalf("round trip: %d ids, %v; want %d", len(got), err, len(ids))
		}
		// The requester's max binds.
		if len(ids) > 0 {
			if _, err := decodeTxIDs(enc, len(ids)-1); !errors.Is(err, types.ErrCountTooLarge) {
				t.Fatalf("%d ids accepted under a max of %d: %v", len(ids), len(ids)-1, err)
			}
		}
	})
}

// TestTxIDsLimit: the largest answer fits its frame limit exactly.
func TestTxIDsLimit(t *testing.T) {
	ids := make([]types.Hash, MaxPendingIDs)
	for i := range ids {
		binary.BigEndian.PutUint32(ids[i][:], uint32(i))
	}
	enc := encodeTxIDs(ids)
	if len(enc) != maxTxIDsAnswerSize || maxTxIDsAnswerSize != 128<<10+2 {
		t.Fatalf("largest answer %d bytes, limit %d", len(enc), maxTxIDsAnswerSize)
	}
	if got, err := decodeTxIDs(enc, MaxPendingIDs); err != nil || len(got) != MaxPendingIDs {
		t.Fatalf("%d ids, %v", len(got), err)
	}
	if len(encodeTxIDsRequest(MaxPendingIDs)) != maxTxIDsRequestSize {
		t.Fatal("largest txids request does not fill its limit")
	}
	r := txRequest{Type: txReqByID, IDs: ids[:MaxTxsPerRequest]}
	if len(r.encode()) != maxTxsRequestSize {
		t.Fatalf("largest txs request %d bytes, limit %d", len(r.encode()), maxTxsRequestSize)
	}
}

func TestTxRequestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := drawTxRequest(t)
		enc := r.encode()
		if len(enc) > maxTxsRequestSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxTxsRequestSize)
		}
		got, err := decodeTxRequest(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !txRequestEqual(got, r) {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	})
}

// TestTxDecodeRejects lists malformed messages with the error each must
// get.
func TestTxDecodeRejects(t *testing.T) {
	a, b := types.Hash{1}, types.Hash{2}
	byID := (&txRequest{Type: txReqByID, IDs: []types.Hash{a, b}}).encode()
	announce := (&txRequest{Type: txReqAnnounce, IDs: []types.Hash{a, b}}).encode()
	bySender := (&txRequest{Type: txReqBySender, From: 7, Count: 3}).encode()
	withCount := func(from uint64, count uint64) []byte {
		r := txRequest{Type: txReqBySender, From: from}
		enc := r.encode()
		return binary.AppendUvarint(enc[:len(enc)-1], count)
	}
	ids := encodeTxIDs([]types.Hash{a, b})
	over := binary.AppendUvarint([]byte{txReqByID}, MaxTxsPerRequest+1)
	over = append(over, make([]byte, (MaxTxsPerRequest+1)*types.HashSize)...)

	for _, tc := range []struct {
		name   string
		decode func([]byte) error
		in     []byte
		want   error
	}{
		{"txids request empty", decTxIDsRequest, nil, types.ErrTruncated},
		{"txids request 4097", decTxIDsRequest, binary.AppendUvarint(nil, MaxPendingIDs+1), types.ErrCountTooLarge},
		{"txids request non-minimal", decTxIDsRequest, []byte{0x80, 0x00}, types.ErrNonMinimalUvarint},
		{"txids request trailing", decTxIDsRequest, []byte{5, 0}, types.ErrTrailingBytes},
		{"txids answer empty", decTxIDs, nil, types.ErrTruncated},
		{"txids answer truncated", decTxIDs, ids[:len(ids)-1], types.ErrTruncated},
		{"txids answer trailing", decTxIDs, append(slices.Clone(ids), 0), types.ErrTrailingBytes},
		{"txids answer 4097", decTxIDs, binary.AppendUvarint(nil, MaxPendingIDs+1), types.ErrCountTooLarge},
		{"txids answer duplicate", decTxIDs, encodeTxIDs([]types.Hash{a, b, a}), errDuplicateID},
		{"txs request empty", decTxRequest, nil, types.ErrTruncated},
		{"txs request unknown type", decTxRequest, []byte{0x04, 0}, errUnknownTxRequest},
		{"txs request type 0", decTxRequest, []byte{0x00}, errUnknownTxRequest},
		{"by id truncated", decTxRequest, byID[:len(byID)-1], types.ErrTruncated},
		{"by id trailing", decTxRequest, append(slices.Clone(byID), 0), types.ErrTrailingBytes},
		{"by id 257", decTxRequest, over, types.ErrCountTooLarge},
		{"by id count only", decTxRequest, []byte{txReqByID}, types.ErrTruncated},
		{"by id non-minimal count", decTxRequest, []byte{txReqByID, 0x80, 0x00}, types.ErrNonMinimalUvarint},
		{"by id duplicate", decTxRequest, (&txRequest{Type: txReqByID, IDs: []types.Hash{a, a}}).encode(), errDuplicateID},
		{"announce truncated", decTxRequest, announce[:len(announce)-3], types.ErrTruncated},
		{"announce duplicate", decTxRequest, (&txRequest{Type: txReqAnnounce, IDs: []types.Hash{b, a, b}}).encode(), errDuplicateID},
		{"by sender truncated", decTxRequest, bySender[:len(bySender)-2], types.ErrTruncated},
		{"by sender trailing", decTxRequest, append(slices.Clone(bySender), 0), types.ErrTrailingBytes},
		{"by sender no nonce", decTxRequest, withCount(7, 0), errBadNonceRange},
		{"by sender 65", decTxRequest, withCount(7, MaxTxsPerSender+1), types.ErrCountTooLarge},
		{"by sender past 2^64", decTxRequest, withCount(^uint64(0)-1, 3), errBadNonceRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			checkTxDecodeError(t, err)
		})
	}
	// The edge of the nonce range is allowed.
	if r, err := decodeTxRequest(withCount(^uint64(0)-2, 3)); err != nil || r.Count != 3 {
		t.Fatalf("nonces up to 2^64-1 refused: %v", err)
	}
}

func decTxIDsRequest(b []byte) error { _, err := decodeTxIDsRequest(b); return err }
func decTxIDs(b []byte) error        { _, err := decodeTxIDs(b, MaxPendingIDs); return err }
func decTxRequest(b []byte) error    { _, err := decodeTxRequest(b); return err }

// Fuzzers: no panic, a refusal carries exactly one decode error, an
// accepted input is within its limits and is the canonical encoding of
// what it decodes to.

func FuzzDecodeTxIDsRequest(f *testing.F) {
	f.Add(encodeTxIDsRequest(MaxPendingIDs))
	f.Add(encodeTxIDsRequest(0))
	f.Add([]byte{0x81, 0x20})
	f.Fuzz(func(t *testing.T, in []byte) {
		max, err := decodeTxIDsRequest(in)
		if err != nil {
			checkTxDecodeError(t, err)
			return
		}
		if max > MaxPendingIDs || len(in) > maxTxIDsRequestSize {
			t.Fatalf("accepted max %d in %d bytes", max, len(in))
		}
		if enc := encodeTxIDsRequest(max); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

func FuzzDecodeTxIDs(f *testing.F) {
	f.Add(encodeTxIDs([]types.Hash{{1}, {2}}), uint16(10))
	f.Add(encodeTxIDs([]types.Hash{{1}, {1}}), uint16(10))
	f.Add(encodeTxIDs(nil), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		ids, err := decodeTxIDs(in, int(max))
		if err != nil {
			checkTxDecodeError(t, err)
			return
		}
		if len(ids) > int(max) || len(ids) > MaxPendingIDs || len(in) > maxTxIDsAnswerSize {
			t.Fatalf("accepted %d ids (max %d) in %d bytes", len(ids), max, len(in))
		}
		if err := distinctIDs(ids); err != nil {
			t.Fatalf("accepted an answer naming an id twice: %v", err)
		}
		if enc := encodeTxIDs(ids); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

func FuzzDecodeTxRequest(f *testing.F) {
	f.Add((&txRequest{Type: txReqByID, IDs: []types.Hash{{1}, {2}}}).encode())
	f.Add((&txRequest{Type: txReqAnnounce, IDs: []types.Hash{{3}}}).encode())
	f.Add((&txRequest{Type: txReqBySender, Sender: types.Address{9}, From: 5, Count: 64}).encode())
	f.Add((&txRequest{Type: txReqBySender, From: ^uint64(0), Count: 1}).encode())
	f.Add([]byte{txReqByID, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := decodeTxRequest(in)
		if err != nil {
			checkTxDecodeError(t, err)
			return
		}
		if len(in) > maxTxsRequestSize || len(r.IDs) > MaxTxsPerRequest || r.Count > MaxTxsPerSender {
			t.Fatalf("accepted %d ids, %d nonces in %d bytes", len(r.IDs), r.Count, len(in))
		}
		if r.Type == txReqBySender && (r.Count < 1 || r.From+uint64(r.Count-1) < r.From) {
			t.Fatalf("accepted %d nonces from %d", r.Count, r.From)
		}
		if err := distinctIDs(r.IDs); err != nil {
			t.Fatalf("accepted a request naming an id twice: %v", err)
		}
		if enc := r.encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}
