package types_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

// H is BLAKE2b-256, checked against the library directly and against the
// published digest of the empty string.
func TestSum(t *testing.T) {
	const emptyBlake2b256 = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
	if got := types.Sum(nil).String(); got != emptyBlake2b256 {
		t.Fatalf("H(\"\") = %s, want %s", got, emptyBlake2b256)
	}
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.SliceOf(rapid.Byte()), 0, 4).Draw(t, "parts")
		all := bytes.Join(parts, nil)
		want := types.Hash(blake2b.Sum256(all))
		if got := types.Sum(all); got != want {
			t.Fatalf("Sum = %s, want %s", got, want)
		}
		if got := types.SumConcat(parts...); got != want {
			t.Fatalf("SumConcat = %s, want %s", got, want)
		}
	})
}

// The header layout is the table of docs/PROTOCOL.md §5, field by field.
func TestHeaderLayout(t *testing.T) {
	h := randHeader(newRand())
	enc := h.Encode()
	if len(enc) != 148 || types.HeaderSize != 148 {
		t.Fatalf("header encoding is %d bytes (HeaderSize %d), want 148", len(enc), types.HeaderSize)
	}
	be := binary.BigEndian
	fields := []struct {
		name     string
		from, to int
		want     []byte
	}{
		{"version", 0, 4, be.AppendUint32(nil, h.Version)},
		{"height", 4, 12, be.AppendUint64(nil, h.Height)},
		{"parent", 12, 44, h.Parent[:]},
		{"txRoot", 44, 76, h.TxRoot[:]},
		{"stateRoot", 76, 108, h.StateRoot[:]},
		{"miner", 108, 128, h.Miner[:]},
		{"time", 128, 136, be.AppendUint64(nil, uint64(h.Time))},
		{"bits", 136, 140, be.AppendUint32(nil, h.Bits)},
		{"nonce", 140, 148, be.AppendUint64(nil, h.Nonce)},
	}
	for _, f := range fields {
		if got := enc[f.from:f.to]; !bytes.Equal(got, f.want) {
			t.Errorf("%s at [%d:%d] = %x, want %x", f.name, f.from, f.to, got, f.want)
		}
	}
	if types.MiningPrefixSize != 128 {
		t.Errorf("MiningPrefixSize = %d, want 128", types.MiningPrefixSize)
	}
}

// The tx layout is the table of docs/PROTOCOL.md §6.
func TestTxLayout(t *testing.T) {
	tx := randTx(newRand(), 5)
	be := binary.BigEndian
	var want []byte
	want = append(want, 1)
	want = append(want, tx.From[:]...)
	want = append(want, tx.To[:]...)
	want = be.AppendUint64(want, tx.Amount)
	want = be.AppendUint64(want, tx.Fee)
	want = be.AppendUint64(want, tx.Nonce)
	want = append(want, 5)
	want = append(want, tx.Memo...)
	want = append(want, tx.Sig[:]...)
	if got := tx.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("tx encoding\n got %x\nwant %x", got, want)
	}
	empty := *tx
	empty.Memo = nil
	if n := len(empty.Encode()); n != 142 {
		t.Errorf("tx with empty memo is %d bytes, want 142", n)
	}
	if types.MinTxSize != 142 {
		t.Errorf("MinTxSize = %d, want 142", types.MinTxSize)
	}
	full := *tx
	full.Memo = make([]byte, types.MaxMemoSize)
	if n := len(full.Encode()); n != 142+64 {
		t.Errorf("tx with 64-byte memo is %d bytes, want 206", n)
	}
	if types.MaxTxSize != 142+64 {
		t.Errorf("MaxTxSize = %d, want 206", types.MaxTxSize)
	}
}

func TestBlockLayout(t *testing.T) {
	b := randBlock(newRand(), 3)
	want := b.Header.Encode()
	want = append(want, 3)
	for _, tx := range b.Txs {
		want = append(want, tx.Encode()...)
	}
	if got := b.Encode(); !bytes.Equal(got, want) {
		t.Fatal("block encoding is not header ‖ uvarint count ‖ txs")
	}
}

func TestHeaderHash(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader.Draw(t, "h")
		enc := h.Encode()
		if got, want := h.Hash(), types.Sum(enc); got != want {
			t.Fatalf("Hash() = %s, H(Encode()) = %s", got, want)
		}
		arr := h.EncodeArray()
		if !bytes.Equal(arr[:], enc) {
			t.Fatalf("EncodeArray = %x, Encode = %x", arr, enc)
		}
		prefix := []byte("prefix")
		if got := h.AppendEncode(prefix); !bytes.Equal(got, append([]byte("prefix"), enc...)) {
			t.Fatal("AppendEncode does not append the encoding to its argument")
		}
	})
}

func TestTxID(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx.Draw(t, "tx")
		if got, want := tx.ID(), types.Sum(tx.Encode()); got != want {
			t.Fatalf("ID() = %s, H(Encode()) = %s", got, want)
		}
		if got, want := tx.Sender(), tx.From.Address(); got != want {
			t.Fatalf("Sender() = %s, From.Address() = %s", got, want)
		}
	})
}

// SigningDigest = H("cairn/tx/v1" ‖ genesis ‖ encoding-without-sig).
func TestSigningDigest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx.Draw(t, "tx")
		g1 := genHash.Draw(t, "genesis1")
		g2 := genHash.Draw(t, "genesis2")
		enc := tx.Encode()
		unsigned := enc[:len(enc)-types.SigSize]
		want := types.SumConcat([]byte("cairn/tx/v1"), g1[:], unsigned)
		d1 := tx.SigningDigest(g1)
		if d1 != want {
			t.Fatalf("SigningDigest = %s, want %s", d1, want)
		}
		if g1 != g2 && tx.SigningDigest(g2) == d1 {
			t.Fatal("the same digest for two genesis hashes")
		}
		resigned := *tx
		copy(resigned.Sig[:], bytesN(types.SigSize).Draw(t, "sig2"))
		if resigned.SigningDigest(g1) != d1 {
			t.Fatal("SigningDigest depends on the signature")
		}
		changed := *tx
		changed.Fee++
		if changed.SigningDigest(g1) == d1 {
			t.Fatal("SigningDigest does not depend on the fee")
		}
	})
	if types.SigningDomain != "cairn/tx/v1" {
		t.Fatalf("SigningDomain = %q", types.SigningDomain)
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		amount, fee, want uint64
		ok                bool
	}{
		{0, 0, 0, true},
		{5, 7, 12, true},
		{1<<64 - 2, 1, 1<<64 - 1, true},
		{1<<64 - 1, 1, 0, false},
		{1 << 63, 1 << 63, 0, false},
	}
	for _, tt := range tests {
		tx := types.Tx{Amount: tt.amount, Fee: tt.fee}
		got, ok := tx.Cost()
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Cost(%d, %d) = %d, %v; want %d, %v", tt.amount, tt.fee, got, ok, tt.want, tt.ok)
		}
	}
}

// PutNonceTime changes exactly the time and nonce fields of an encoded
// header, and the mining prefix never changes.
func TestPutNonceTime(t *testing.T) {
	inTimeOrNonce := func(i int) bool { return (i >= 128 && i < 136) || (i >= 140 && i < 148) }
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader.Draw(t, "h")
		tm := rapid.Int64().Draw(t, "time")
		nonce := rapid.Uint64().Draw(t, "nonce")
		orig := h.EncodeArray()
		enc := orig
		types.PutNonceTime(&enc, tm, nonce)
		for i := range enc {
			if enc[i] != orig[i] && !inTimeOrNonce(i) {
				t.Fatalf("byte %d changed", i)
			}
		}
		if !bytes.Equal(enc[:types.MiningPrefixSize], orig[:types.MiningPrefixSize]) {
			t.Fatal("mining prefix changed")
		}
		h2 := h
		h2.Time, h2.Nonce = tm, nonce
		if want := h2.EncodeArray(); enc != want {
			t.Fatalf("PutNonceTime gives %x, header with those fields encodes as %x", enc, want)
		}
		if types.Sum(enc[:]) != h2.Hash() {
			t.Fatal("hash of the patched encoding differs from the header's hash")
		}
	})

	// Complementing every bit of time and nonce must change all 16 bytes.
	h := randHeader(newRand())
	orig := h.EncodeArray()
	enc := orig
	types.PutNonceTime(&enc, ^h.Time, ^h.Nonce)
	for i := range enc {
		if changed := enc[i] != orig[i]; changed != inTimeOrNonce(i) {
			t.Errorf("byte %d: changed = %v, want %v", i, changed, inTimeOrNonce(i))
		}
	}
}

func TestParseHash(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHash.Draw(t, "h")
		s := h.String()
		if s != hex.EncodeToString(h[:]) || s != strings.ToLower(s) || len(s) != 64 {
			t.Fatalf("String() = %q is not 64 lower-case hex digits", s)
		}
		for _, in := range []string{s, strings.ToUpper(s)} {
			got, err := types.ParseHash(in)
			if err != nil || got != h {
				t.Fatalf("ParseHash(%q) = %s, %v; want %s", in, got, err, h)
			}
		}
		j, err := json.Marshal(h)
		if err != nil || string(j) != `"`+s+`"` {
			t.Fatalf("json.Marshal = %s, %v", j, err)
		}
		var back types.Hash
		if err := json.Unmarshal(j, &back); err != nil || back != h {
			t.Fatalf("json round trip = %s, %v", back, err)
		}
	})

	valid := strings.Repeat("ab", 32)
	for _, s := range []string{
		"",
		valid[:63],
		valid + "a",
		valid + "ab",
		"0x" + valid[:62],
		"g" + valid[1:],
		" " + valid[1:],
		valid[:63] + "\n",
		valid[:62] + "é",
	} {
		_, err := types.ParseHash(s)
		if !errors.Is(err, types.ErrBadHashText) {
			t.Errorf("ParseHash(%q): got %v, want ErrBadHashText", s, err)
		}
	}
	var h types.Hash
	if err := json.Unmarshal([]byte(`"zz"`), &h); !errors.Is(err, types.ErrBadHashText) {
		t.Errorf("UnmarshalText of a bad hash: got %v, want ErrBadHashText", err)
	}
	if !(types.Hash{}).IsZero() || types.Sum(nil).IsZero() {
		t.Error("IsZero is wrong")
	}
}
