package types_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// One fuzzer per decoder. Each checks that the decoder does not panic, that
// a refusal carries exactly one of the decode errors, and that an accepted
// input is the canonical encoding of what it decodes to. The seed corpus is
// in testdata/fuzz/<FuzzName>/.

const fuzzMaxBlockSize = 1 << 20

func FuzzDecodeHeader(f *testing.F) {
	r := newRand()
	h := randHeader(r)
	f.Add(h.Encode())
	f.Add(h.Encode()[:100])
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := types.DecodeHeader(in)
		if err != nil {
			checkDecodeError(t, err)
			if h != (types.Header{}) {
				t.Fatalf("refused with %v but returned %+v", err, h)
			}
			return
		}
		enc := h.Encode()
		if !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
		h2, err := types.DecodeHeader(enc)
		if err != nil || h2 != h {
			t.Fatalf("decoding the re-encoding: %+v, %v; want %+v", h2, err, h)
		}
		if h.Hash() != types.Sum(in) {
			t.Fatal("Hash() is not H(input)")
		}
	})
}

func FuzzDecodeTx(f *testing.F) {
	r := newRand()
	f.Add(randTx(r, 0).Encode())
	f.Add(randTx(r, 64).Encode())
	f.Add(rawTx(1, []byte{0x80, 0x00}, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		tx, err := types.DecodeTx(in)
		if err != nil {
			checkDecodeError(t, err)
			if tx != nil {
				t.Fatalf("refused with %v but returned a tx", err)
			}
			return
		}
		enc := tx.Encode()
		if !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
		if tx.EncodedSize() != len(in) {
			t.Fatalf("EncodedSize() = %d, input is %d bytes", tx.EncodedSize(), len(in))
		}
		tx2, err := types.DecodeTx(enc)
		if err != nil || !reflect.DeepEqual(tx2, tx) {
			t.Fatalf("decoding the re-encoding: %+v, %v; want %+v", tx2, err, tx)
		}
		if tx.ID() != types.Sum(in) {
			t.Fatal("ID() is not H(input)")
		}
	})
}

func FuzzDecodeBlock(f *testing.F) {
	r := newRand()
	f.Add(randBlock(r, 0).Encode())
	f.Add(randBlock(r, 2).Encode())
	f.Add(rawBlock(uvarint(7000)))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := types.DecodeBlock(in, fuzzMaxBlockSize)
		if err != nil {
			checkDecodeError(t, err)
			if b != nil {
				t.Fatalf("refused with %v but returned a block", err)
			}
			return
		}
		enc := b.Encode()
		if !bytes.Equal(enc, in) {
			t.Fatalf("accepted %x, re-encodes as %x", in, enc)
		}
		if b.EncodedSize() != len(in) {
			t.Fatalf("EncodedSize() = %d, input is %d bytes", b.EncodedSize(), len(in))
		}
		b2, err := types.DecodeBlock(enc, fuzzMaxBlockSize)
		if err != nil || !reflect.DeepEqual(b2, b) {
			t.Fatalf("decoding the re-encoding: %v; blocks equal: %v", err, reflect.DeepEqual(b2, b))
		}
		if b.Txs != nil && len(b.Txs) == 0 {
			t.Fatal("empty tx list decoded as non-nil")
		}
	})
}

// An address's text form is canonical up to the all-upper-case form that
// BIP-173 permits.
func FuzzParseAddress(f *testing.F) {
	var a types.Address
	fillBytes(newRand(), a[:])
	f.Add(a.String())
	f.Add(strings.ToUpper(a.String()))
	f.Add("cairn1")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := types.ParseAddress(s)
		if err != nil {
			if !errors.Is(err, types.ErrBadAddress) {
				t.Fatalf("error %v does not wrap ErrBadAddress", err)
			}
			if !a.IsZero() {
				t.Fatalf("refused with %v but returned %s", err, a)
			}
			return
		}
		enc := a.String()
		if s != enc && s != strings.ToUpper(enc) {
			t.Fatalf("accepted %q, re-encodes as %q", s, enc)
		}
		a2, err := types.ParseAddress(enc)
		if err != nil || a2 != a {
			t.Fatalf("parsing the re-encoding: %s, %v; want %s", a2, err, a)
		}
	})
}

// A hash's text form is canonical up to the case of its hex digits.
func FuzzParseHash(f *testing.F) {
	h := randHash(newRand())
	f.Add(h.String())
	f.Add(strings.ToUpper(h.String()))
	f.Add(h.String()[:63])
	f.Fuzz(func(t *testing.T, s string) {
		h, err := types.ParseHash(s)
		if err != nil {
			if !errors.Is(err, types.ErrBadHashText) {
				t.Fatalf("error %v does not wrap ErrBadHashText", err)
			}
			if !h.IsZero() {
				t.Fatalf("refused with %v but returned %s", err, h)
			}
			return
		}
		enc := h.String()
		if !strings.EqualFold(s, enc) {
			t.Fatalf("accepted %q, re-encodes as %q", s, enc)
		}
		h2, err := types.ParseHash(enc)
		if err != nil || h2 != h {
			t.Fatalf("parsing the re-encoding: %s, %v; want %s", h2, err, h)
		}
	})
}
