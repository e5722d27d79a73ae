package types_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// addressLen is len("cairn1") + 32 data characters (160 bits / 5) + a
// 6-character checksum.
const addressLen = 6 + 32 + 6

func TestAddressRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genAddress.Draw(t, "a")
		s := a.String()
		if len(s) != addressLen || !strings.HasPrefix(s, "cairn1") || s != strings.ToLower(s) {
			t.Fatalf("String() = %q, want %d lower-case characters starting cairn1", s, addressLen)
		}
		// An independent bech32 decoder agrees.
		hrp, data, err := bech32.DecodeToBase256(s)
		if err != nil || hrp != types.AddressHRP || string(data) != string(a[:]) {
			t.Fatalf("bech32.DecodeToBase256(%q) = %q, %x, %v", s, hrp, data, err)
		}
		for _, in := range []string{s, strings.ToUpper(s)} {
			got, err := types.ParseAddress(in)
			if err != nil || got != a {
				t.Fatalf("ParseAddress(%q) = %s, %v; want %s", in, got, err, a)
			}
		}
		j, err := json.Marshal(a)
		if err != nil || string(j) != `"`+s+`"` {
			t.Fatalf("json.Marshal = %s, %v", j, err)
		}
		var back types.Address
		if err := json.Unmarshal(j, &back); err != nil || back != a {
			t.Fatalf("json round trip = %s, %v", back, err)
		}
	})
}

func TestPubKeyAddress(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pk := genPubKey.Draw(t, "pk")
		h := types.Sum(pk[:])
		if got := pk.Address(); string(got[:]) != string(h[:types.AddressSize]) {
			t.Fatalf("Address() = %x, want first 20 bytes of H(pk) = %x", got, h[:20])
		}
	})
}

// Every single-character substitution in a valid address is refused; one
// that stays within the bech32 alphabet in the data part is caught by the
// checksum.
func TestAddressSubstitutionRefused(t *testing.T) {
	r := newRand()
	addrs := []types.Address{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 3 {
		var a types.Address
		fillBytes(r, a[:])
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		s := a.String()
		for i := range len(s) {
			for c := 0; c < 256; c++ {
				if byte(c) == s[i] {
					continue
				}
				mut := s[:i] + string([]byte{byte(c)}) + s[i+1:]
				_, err := types.ParseAddress(mut)
				if err == nil {
					t.Fatalf("%q (position %d of %q changed to %q) accepted", mut, i, s, byte(c))
				}
				if !errors.Is(err, types.ErrBadAddress) {
					t.Fatalf("%q: error %v does not wrap ErrBadAddress", mut, err)
				}
				if i > len("cairn") && strings.IndexByte(bech32Charset, byte(c)) >= 0 &&
					!strings.Contains(err.Error(), "checksum") {
					t.Fatalf("%q: refused with %v, want a checksum mismatch", mut, err)
				}
			}
		}
	}
}

func TestParseAddressRefusals(t *testing.T) {
	var a types.Address
	fillBytes(newRand(), a[:])
	valid := a.String()
	data5, err := bech32.ConvertBits(a[:], 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(hrp string, payload []byte) string {
		s, err := bech32.EncodeFromBase256(hrp, payload)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	bech32m, err := bech32.EncodeM(types.AddressHRP, data5)
	if err != nil {
		t.Fatal(err)
	}
	// 33 five-bit groups: 165 bits, a 20-byte payload plus 5 padding bits.
	padded, err := bech32.Encode(types.AddressHRP, append(append([]byte(nil), data5...), 0))
	if err != nil {
		t.Fatal(err)
	}
	// Upper-case one letter of the data part.
	mixed := []byte(valid)
	for i := len(mixed) - 1; i > len("cairn1"); i-- {
		if mixed[i] >= 'a' && mixed[i] <= 'z' {
			mixed[i] -= 'a' - 'A'
			break
		}
	}

	// Sanity: the valid one and its upper-case form are accepted.
	for _, s := range []string{valid, strings.ToUpper(valid)} {
		if got, err := types.ParseAddress(s); err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %s, %v", s, got, err)
		}
	}

	tests := []struct{ name, in string }{
		{"empty", ""},
		{"prefix only", "cairn1"},
		{"no separator", strings.Replace(valid, "1", "", 1)},
		{"prefix bc", enc("bc", a[:])},
		{"prefix cairnx", enc("cairnx", a[:])},
		{"prefix cair", enc("cair", a[:])},
		{"bech32m checksum", bech32m},
		{"payload 0 bytes", enc(types.AddressHRP, nil)},
		{"payload 19 bytes", enc(types.AddressHRP, a[:19])},
		{"payload 21 bytes", enc(types.AddressHRP, append(a[:], 0))},
		{"payload 32 bytes", enc(types.AddressHRP, make([]byte, 32))},
		{"payload with padding group", padded},
		{"mixed case data", string(mixed)},
		{"mixed case prefix", "CAIRN1" + valid[6:]},
		{"space", " " + valid},
		{"too long", enc(types.AddressHRP, make([]byte, 60))},
		{"swapped characters", valid[:10] + valid[11:12] + valid[10:11] + valid[12:]},
	}
	for _, tt := range tests {
		if tt.in == valid {
			t.Fatalf("%s: test input is the valid address", tt.name)
		}
		_, err := types.ParseAddress(tt.in)
		if !errors.Is(err, types.ErrBadAddress) {
			t.Errorf("%s: ParseAddress(%q): got %v, want ErrBadAddress", tt.name, tt.in, err)
		}
	}
	var back types.Address
	if err := json.Unmarshal([]byte(`"`+bech32m+`"`), &back); !errors.Is(err, types.ErrBadAddress) {
		t.Errorf("UnmarshalText of a bech32m address: got %v, want ErrBadAddress", err)
	}
	if !(types.Address{}).IsZero() || a.IsZero() {
		t.Error("IsZero is wrong")
	}
}
