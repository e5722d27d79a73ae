package p2p

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"pgregory.net/rapid"
)

// Codec tests: property round trips (decode ∘ encode = id, and an accepted
// input is the canonical encoding of what it decodes to), a table of
// malformed inputs, and one fuzzer per decoder whose seed corpus lives in
// testdata/fuzz/<FuzzName>/.

var decodeErrors = []error{
	types.ErrTruncated, types.ErrTrailingBytes, types.ErrCountTooLarge,
	types.ErrNonMinimalUvarint, types.ErrUvarintOverflow, types.ErrUnknownVersion,
	types.ErrTooLarge, errNonCanonicalWork,
}

// checkDecodeError fails unless err wraps exactly one of decodeErrors.
func checkDecodeError(t testing.TB, err error) {
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

func drawHash(t *rapid.T, label string) types.Hash {
	var h types.Hash
	copy(h[:], rapid.SliceOfN(rapid.Byte(), types.HashSize, types.HashSize).Draw(t, label))
	return h
}

func drawHashes(t *rapid.T, max int, label string) []types.Hash {
	n := rapid.IntRange(0, max).Draw(t, label+" count")
	if n == 0 {
		return nil
	}
	hs := make([]types.Hash, n)
	for i := range hs {
		hs[i] = drawHash(t, label)
	}
	return hs
}

func drawHeader(t *rapid.T) types.Header {
	h := types.Header{
		Version:   types.HeaderVersion,
		Height:    rapid.Uint64().Draw(t, "height"),
		Parent:    drawHash(t, "parent"),
		TxRoot:    drawHash(t, "txRoot"),
		StateRoot: drawHash(t, "stateRoot"),
		Time:      rapid.Int64().Draw(t, "time"),
		Bits:      rapid.Uint32().Draw(t, "bits"),
		Nonce:     rapid.Uint64().Draw(t, "nonce"),
	}
	copy(h.Miner[:], rapid.SliceOfN(rapid.Byte(), types.AddressSize, types.AddressSize).Draw(t, "miner"))
	return h
}

func drawStatus(t *rapid.T) statusMsg {
	work := new(big.Int).SetBytes(rapid.SliceOfN(rapid.Byte(), 0, maxWorkBytes).Draw(t, "work"))
	return statusMsg{
		Genesis:    drawHash(t, "genesis"),
		TipHash:    drawHash(t, "tip"),
		TipHeight:  rapid.Uint64().Draw(t, "tipHeight"),
		Work:       work,
		BestHash:   drawHash(t, "best"),
		BestHeight: rapid.Uint64().Draw(t, "bestHeight"),
	}
}

func statusEqual(a, b statusMsg) bool {
	return a.Genesis == b.Genesis && a.TipHash == b.TipHash && a.TipHeight == b.TipHeight &&
		a.Work.Cmp(b.Work) == 0 && a.BestHash == b.BestHash && a.BestHeight == b.BestHeight
}

func TestStatusRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := drawStatus(t)
		enc := m.encode()
		if len(enc) > maxStatusSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxStatusSize)
		}
		got, err := decodeStatus(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !statusEqual(got, m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	})
}

func TestHeadersRequestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := headersRequest{Locator: drawHashes(t, MaxLocatorHashes, "locator"), Stop: drawHash(t, "stop")}
		enc := r.encode()
		if len(enc) > maxHeadersRequestSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxHeadersRequestSize)
		}
		got, err := decodeHeadersRequest(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !slices.Equal(got.Locator, r.Locator) || got.Stop != r.Stop {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	})
}

func TestHeadersResponseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		var hs []types.Header
		for range n {
			hs = append(hs, drawHeader(t))
		}
		enc := encodeHeaders(hs)
		got, err := decodeHeadersResponse(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !slices.Equal(got, hs) {
			t.Fatalf("round trip: got %d headers, want %d", len(got), len(hs))
		}
	})
}

func TestHeadersResponseLimit(t *testing.T) {
	hs := make([]types.Header, MaxHeadersPerAnswer)
	for i := range hs {
		hs[i] = types.Header{Version: types.HeaderVersion, Height: uint64(i)}
	}
	enc := encodeHeaders(hs)
	if len(enc) != maxHeadersResponseSize {
		t.Fatalf("full response is %d bytes, limit is %d", len(enc), maxHeadersResponseSize)
	}
	if got, err := decodeHeadersResponse(enc); err != nil || len(got) != MaxHeadersPerAnswer {
		t.Fatalf("decode full response: %d headers, %v", len(got), err)
	}
	over := encodeHeaders(append(hs, hs[0]))
	if _, err := decodeHeadersResponse(over); !errors.Is(err, types.ErrCountTooLarge) {
		t.Fatalf("2001 headers: got %v, want ErrCountTooLarge", err)
	}
}

func TestBlocksRequestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hs := drawHashes(t, MaxBlocksPerRequest, "hash")
		enc := encodeBlocksRequest(hs)
		if len(enc) > maxBlocksRequestSize {
			t.Fatalf("encoding of %d bytes > limit %d", len(enc), maxBlocksRequestSize)
		}
		got, err := decodeBlocksRequest(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !slices.Equal(got, hs) {
			t.Fatalf("round trip: got %v, want %v", got, hs)
		}
	})
}

func TestFrameRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		frames := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 300), 0, 8).Draw(t, "frames")
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		for _, f := range frames {
			if err := writeFrame(w, f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(&buf)
		for i, want := range frames {
			got, err := readFrame(r, 300)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame %d: got %x, want %x", i, got, want)
			}
		}
		if _, err := readFrame(r, 300); err != io.EOF {
			t.Fatalf("after the last frame: got %v, want io.EOF", err)
		}
	})
}

func TestReadFrameRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"empty input", nil, 10, io.EOF},
		{"over limit", []byte{11}, 10, types.ErrTooLarge},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1 << 20, types.ErrTooLarge},
		{"non-minimal length", []byte{0x81, 0x00, 1}, 10, types.ErrNonMinimalUvarint},
		{"non-minimal zero", []byte{0x80, 0x00}, 10, types.ErrNonMinimalUvarint},
		{"length overflows", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 10, types.ErrUvarintOverflow},
		{"length too long", bytes.Repeat([]byte{0x80}, 11), 10, types.ErrUvarintOverflow},
		{"truncated length", []byte{0x80}, 10, io.ErrUnexpectedEOF},
		{"truncated payload", []byte{5, 1, 2}, 10, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), tc.limit)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDecodeRejects lists malformed messages with the error each must get.
func TestDecodeRejects(t *testing.T) {
	status := (&statusMsg{Work: big.NewInt(0x1234), TipHeight: 7, BestHeight: 9}).encode()
	workAt := 2*types.HashSize + 8 // offset of the work length byte
	leadingZero := slices.Concat(status[:workAt], []byte{3, 0, 0x12, 0x34}, status[workAt+3:])
	tooLong := slices.Concat(status[:workAt], []byte{34}, make([]byte, 34), status[workAt+3:])
	nonMinimal := slices.Concat(status[:workAt], []byte{0x82, 0x00}, status[workAt+1:])

	hreq := (&headersRequest{Locator: make([]types.Hash, 2)}).encode()
	over := binary.AppendUvarint(nil, MaxLocatorHashes+1)
	over = append(over, make([]byte, (MaxLocatorHashes+2)*types.HashSize)...)

	badVersion := (&types.Header{Version: 2}).Encode()
	hresp := encodeHeaders([]types.Header{{Version: 1}})

	breq := encodeBlocksRequest(make([]types.Hash, 3))
	bigCount := binary.AppendUvarint(nil, MaxBlocksPerRequest+1)

	for _, tc := range []struct {
		name   string
		decode func([]byte) error
		in     []byte
		want   error
	}{
		{"status empty", decStatus, nil, types.ErrTruncated},
		{"status truncated", decStatus, status[:len(status)-1], types.ErrTruncated},
		{"status trailing", decStatus, append(slices.Clone(status), 0), types.ErrTrailingBytes},
		{"status work leading zero", decStatus, leadingZero, errNonCanonicalWork},
		{"status work too long", decStatus, tooLong, types.ErrCountTooLarge},
		{"status work non-minimal length", decStatus, nonMinimal, types.ErrNonMinimalUvarint},
		{"headers request truncated", decHeadersRequest, hreq[:len(hreq)-1], types.ErrTruncated},
		{"headers request trailing", decHeadersRequest, append(slices.Clone(hreq), 1), types.ErrTrailingBytes},
		{"headers request 65 hashes", decHeadersRequest, over, types.ErrCountTooLarge},
		{"headers request count only", decHeadersRequest, []byte{64}, types.ErrTruncated},
		{"headers response empty", decHeadersResponse, nil, types.ErrTruncated},
		{"headers response truncated", decHeadersResponse, hresp[:len(hresp)-1], types.ErrTruncated},
		{"headers response trailing", decHeadersResponse, append(slices.Clone(hresp), 0), types.ErrTrailingBytes},
		{"headers response bad version", decHeadersResponse, append([]byte{1}, badVersion...), types.ErrUnknownVersion},
		{"headers response 2001", decHeadersResponse, binary.AppendUvarint(nil, 2001), types.ErrCountTooLarge},
		{"headers response non-minimal count", decHeadersResponse, []byte{0x80, 0x00}, types.ErrNonMinimalUvarint},
		{"blocks request truncated", decBlocksRequest, breq[:len(breq)-5], types.ErrTruncated},
		{"blocks request trailing", decBlocksRequest, append(slices.Clone(breq), 0), types.ErrTrailingBytes},
		{"blocks request 129", decBlocksRequest, bigCount, types.ErrCountTooLarge},
		{"blocks request count overflow", decBlocksRequest, bytes.Repeat([]byte{0xff}, 11), types.ErrUvarintOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			checkDecodeError(t, err)
		})
	}
}

func decStatus(b []byte) error          { _, err := decodeStatus(b); return err }
func decHeadersRequest(b []byte) error  { _, err := decodeHeadersRequest(b); return err }
func decHeadersResponse(b []byte) error { _, err := decodeHeadersResponse(b); return err }
func decBlocksRequest(b []byte) error   { _, err := decodeBlocksRequest(b); return err }

// Fuzzers. Each checks that the decoder does not panic, that a refusal
// carries exactly one decode error, and that an accepted input is the
// canonical encoding of what it decodes to.

func FuzzDecodeStatus(f *testing.F) {
	f.Add((&statusMsg{Work: big.NewInt(1 << 40), TipHeight: 500, BestHeight: 600}).encode())
	f.Add((&statusMsg{Work: new(big.Int)}).encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decodeStatus(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if len(in) > maxStatusSize {
			t.Fatalf("accepted %d bytes > limit %d", len(in), maxStatusSize)
		}
		if enc := m.encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

func FuzzDecodeHeadersRequest(f *testing.F) {
	f.Add((&headersRequest{Locator: make([]types.Hash, 3)}).encode())
	f.Add((&headersRequest{}).encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := decodeHeadersRequest(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if len(r.Locator) > MaxLocatorHashes || len(in) > maxHeadersRequestSize {
			t.Fatalf("accepted %d locator hashes in %d bytes", len(r.Locator), len(in))
		}
		if enc := r.encode(); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

func FuzzDecodeHeadersResponse(f *testing.F) {
	f.Add(encodeHeaders([]types.Header{{Version: 1, Height: 1}, {Version: 1, Height: 2}}))
	f.Add(encodeHeaders(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		hs, err := decodeHeadersResponse(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if len(hs) > MaxHeadersPerAnswer || len(in) > maxHeadersResponseSize {
			t.Fatalf("accepted %d headers in %d bytes", len(hs), len(in))
		}
		if enc := encodeHeaders(hs); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

func FuzzDecodeBlocksRequest(f *testing.F) {
	f.Add(encodeBlocksRequest(make([]types.Hash, 2)))
	f.Add(encodeBlocksRequest(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		hs, err := decodeBlocksRequest(in)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		if len(hs) > MaxBlocksPerRequest || len(in) > maxBlocksRequestSize {
			t.Fatalf("accepted %d hashes in %d bytes", len(hs), len(in))
		}
		if enc := encodeBlocksRequest(hs); !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
	})
}

// FuzzReadFrame reads frames until an error: every frame respects the
// limit, and the frames read re-encode to a prefix of the input.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 0, 1, 9}, uint16(8))
	f.Add([]byte{0x80, 0x01}, uint16(200))
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		r := bufio.NewReader(bytes.NewReader(in))
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		for {
			fr, err := readFrame(r, int(limit))
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					checkDecodeError(t, err)
				}
				break
			}
			if len(fr) > int(limit) {
				t.Fatalf("frame of %d bytes > limit %d", len(fr), limit)
			}
			writeFrame(w, fr)
		}
		w.Flush()
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("frames re-encode as %x, not a prefix of %x", out.Bytes(), in)
		}
	})
}
