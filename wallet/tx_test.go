package wallet

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

func testKey(t testing.TB) *Key {
	t.Helper()
	k, err := KeyFromSeed(mustHex(t, rfcSeed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifies(tx *types.Tx, genesis types.Hash) bool {
	d := tx.SigningDigest(genesis)
	return ed25519.Verify(tx.From[:], d[:], tx.Sig[:])
}

func TestBuildTx(t *testing.T) {
	k := testKey(t)
	to := types.PubKey{7}.Address()
	genesis := types.Sum([]byte("cairn test genesis"))
	other := types.Sum([]byte("another network"))
	for _, memo := range [][]byte{nil, []byte("rent"), bytes.Repeat([]byte{0xff}, types.MaxMemoSize)} {
		p := TxParams{To: to, Amount: 150_000_000, Fee: 1000, Nonce: 42, Memo: memo}
		tx, err := BuildTx(k, p, genesis)
		if err != nil {
			t.Fatalf("memo %d bytes: %v", len(memo), err)
		}
		if tx.Version != types.TxVersion || tx.From != k.PubKey() || tx.To != to ||
			tx.Amount != p.Amount || tx.Fee != p.Fee || tx.Nonce != p.Nonce || !bytes.Equal(tx.Memo, memo) {
			t.Fatalf("built %+v from %+v", tx, p)
		}
		if !verifies(tx, genesis) {
			t.Fatal("signature does not verify over SigningDigest(genesis)")
		}
		if verifies(tx, other) {
			t.Fatal("signature verifies for another genesis")
		}
		dec, err := types.DecodeTx(tx.Encode())
		if err != nil {
			t.Fatalf("DecodeTx(Encode(tx)): %v", err)
		}
		if !reflect.DeepEqual(dec, tx) {
			t.Fatalf("round trip: %+v, want %+v", dec, tx)
		}
		if !verifies(dec, genesis) {
			t.Fatal("decoded tx does not verify")
		}
	}
}

func TestBuildTxCopiesMemo(t *testing.T) {
	memo := []byte("hello")
	tx, err := BuildTx(testKey(t), TxParams{Amount: 1, Memo: memo}, types.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	memo[0] = 'j'
	if string(tx.Memo) != "hello" {
		t.Fatalf("memo aliases the caller's slice: %q", tx.Memo)
	}
}

func TestBuildTxRefusals(t *testing.T) {
	k := testKey(t)
	tests := []struct {
		name string
		p    TxParams
		want error
	}{
		{"zero amount", TxParams{Amount: 0, Fee: 10}, ErrZeroAmount},
		{"memo 65 bytes", TxParams{Amount: 1, Memo: make([]byte, types.MaxMemoSize+1)}, ErrMemoTooLong},
		{"amount+fee overflows", TxParams{Amount: math.MaxUint64, Fee: 1}, ErrCostOverflow},
		{"amount+fee overflows by far", TxParams{Amount: math.MaxUint64 / 2, Fee: math.MaxUint64/2 + 2}, ErrCostOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := BuildTx(k, tt.p, types.Hash{})
			if !errors.Is(err, tt.want) || tx != nil {
				t.Fatalf("got %v, %v; want %v", tx, err, tt.want)
			}
			t.Log(err)
		})
	}
	// The largest cost that fits is fine.
	if _, err := BuildTx(k, TxParams{Amount: math.MaxUint64 - 5, Fee: 5}, types.Hash{}); err != nil {
		t.Fatalf("amount+fee = 2^64-1: %v", err)
	}
	if _, err := BuildTx(nil, TxParams{Amount: 1}, types.Hash{}); err == nil {
		t.Fatal("nil key accepted")
	}
}
