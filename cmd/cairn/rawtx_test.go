package main

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/wallet"
)

// signedTx is a transfer signed by a key made from a fixed seed, with
// memo.
func signedTx(t testing.TB, memo string) *types.Tx {
	t.Helper()
	k, err := wallet.KeyFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var to types.Address
	to[0] = 0xaa
	tx, err := wallet.BuildTx(k, wallet.TxParams{To: to, Amount: 150_000_000, Fee: 10_000, Nonce: 3, Memo: []byte(memo)}, types.Sum([]byte("a genesis")))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestParseRawTx(t *testing.T) {
	tx := signedTx(t, "lunch")
	raw := hex.EncodeToString(tx.Encode())
	for _, in := range []string{raw, strings.ToUpper(raw), "0x" + raw, "  " + raw + "\n"} {
		got, err := parseRawTx(in)
		if err != nil {
			t.Fatalf("parseRawTx(%.20q…): %v", in, err)
		}
		if got.ID() != tx.ID() {
			t.Fatalf("parseRawTx: id %s, want %s", got.ID(), tx.ID())
		}
	}
	bare := hex.EncodeToString(signedTx(t, "").Encode())
	withMemoLen := func(n byte) string { return raw[:2*offMemoLen] + hex.EncodeToString([]byte{n}) + raw[2*offMemo:] }
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty: want the hex of a signed transaction (cairn tx sign prints one)"},
		{"space only", " \n", "empty: want the hex of a signed transaction (cairn tx sign prints one)"},
		{"not hex", raw[:9] + "g" + raw[10:], `not hex: 'g' at character 10`},
		{"inner space", raw[:10] + " " + raw[10:], `not hex: ' ' at character 11`},
		{"odd length", raw[:len(raw)-1], "odd number of hex digits (293): a byte is two"},
		{"a tx id, not a tx", tx.ID().String(), "32 bytes, the size of a transaction id, not of a transaction (142 to 206 bytes); cairn tx ID shows a transaction by id"},
		{"version 2", "02" + raw[2:], "version 2 at byte 0: only version 1 exists (is this a transaction?)"},
		{"one byte", "01", "1 byte, cut short in the sender key (from): a transaction is 142 to 206 bytes"},
		{"cut in the amount", raw[:2*55], "55 bytes, cut short in the amount: a transaction is 142 to 206 bytes"},
		{"cut before the memo length", raw[:2*offMemoLen], "77 bytes, cut short in the memo length: a transaction is 142 to 206 bytes"},
		{"cut in the memo", raw[:2*(offMemo+2)], "80 bytes, cut short in the memo: with its 5-byte memo the transaction is 147 bytes"},
		{"cut in the signature", raw[:len(raw)-2], "146 bytes, cut short in the signature: with its 5-byte memo the transaction is 147 bytes"},
		{"no memo, cut in the signature", bare[:len(bare)-20], "132 bytes, cut short in the signature: with its 0-byte memo the transaction is 142 bytes"},
		{"trailing bytes", raw + "0000", "149 bytes, 2 more than the transaction: with its 5-byte memo it is 147 bytes"},
		{"memo length 65", withMemoLen(65), "memo length 65 at byte 77: at most 64"},
		{"memo length as a long uvarint", withMemoLen(0x80), "memo length at byte 77 is 128 or more (byte 0x80): at most 64"},
	} {
		_, err := parseRawTx(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: parseRawTx = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// FuzzParseRawTx: parseRawTx never panics, refuses with one line, and
// what it accepts is exactly the canonical encoding it was given.
func FuzzParseRawTx(f *testing.F) {
	for _, memo := range []string{"", "lunch", strings.Repeat("m", types.MaxMemoSize)} {
		raw := hex.EncodeToString(signedTx(f, memo).Encode())
		f.Add(raw)
		f.Add("0x" + strings.ToUpper(raw))
		f.Add(raw[:len(raw)/2])
		f.Add(raw + "00")
	}
	f.Add("")
	f.Add("zz")
	f.Add("01")
	f.Fuzz(func(t *testing.T, s string) {
		tx, err := parseRawTx(s)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error %q: want one non-empty line", msg)
			}
			return
		}
		in := strings.TrimSpace(s)
		in = strings.TrimPrefix(strings.TrimPrefix(in, "0x"), "0X")
		if got := hex.EncodeToString(tx.Encode()); !strings.EqualFold(got, in) {
			t.Fatalf("accepted %q, which encodes back as %q", s, got)
		}
	})
}
