package types_test

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

// refMerkle is RFC 6962 §2.1 as written, recursively:
//
//	MTH({})       = H("")
//	MTH({d0})     = H(0x00 ‖ d0)
//	MTH(D[0:n])   = H(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest power of two < n
func refMerkle(ids []types.Hash) types.Hash {
	switch n := len(ids); n {
	case 0:
		return types.Sum(nil)
	case 1:
		return types.Sum(append([]byte{0x00}, ids[0][:]...))
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		l, r := refMerkle(ids[:k]), refMerkle(ids[k:])
		b := append([]byte{0x01}, l[:]...)
		return types.Sum(append(b, r[:]...))
	}
}

func TestMerkleRootMatchesRFC6962(t *testing.T) {
	r := newRand()
	for n := 0; n <= 70; n++ {
		for range 3 {
			ids := make([]types.Hash, n)
			for i := range ids {
				ids[i] = randHash(r)
			}
			in := slices.Clone(ids)
			if got, want := types.MerkleRoot(ids), refMerkle(ids); got != want {
				t.Fatalf("n = %d: MerkleRoot = %s, RFC 6962 = %s", n, got, want)
			}
			if !slices.Equal(ids, in) {
				t.Fatalf("n = %d: MerkleRoot modified its argument", n)
			}
		}
	}
}

func TestMerkleRootProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ids := rapid.SliceOfN(genHash, 0, 300).Draw(t, "ids")
		if got, want := types.MerkleRoot(ids), refMerkle(ids); got != want {
			t.Fatalf("n = %d: MerkleRoot = %s, RFC 6962 = %s", len(ids), got, want)
		}
	})
}

// Small trees spelled out, independent of refMerkle.
func TestMerkleRootSmall(t *testing.T) {
	r := newRand()
	a, b, c := randHash(r), randHash(r), randHash(r)
	leaf := func(h types.Hash) types.Hash { return types.SumConcat([]byte{0}, h[:]) }
	node := func(l, r types.Hash) types.Hash { return types.SumConcat([]byte{1}, l[:], r[:]) }

	if got, want := types.MerkleRoot(nil), types.Sum([]byte{}); got != want {
		t.Errorf("empty: got %s, want H(\"\") = %s", got, want)
	}
	if got, want := types.MerkleRoot([]types.Hash{a}), leaf(a); got != want {
		t.Errorf("one leaf: got %s, want H(0x00‖id) = %s", got, want)
	}
	if got := types.MerkleRoot([]types.Hash{a}); got == a {
		t.Error("one leaf: root is the id itself")
	}
	if got, want := types.MerkleRoot([]types.Hash{a, b}), node(leaf(a), leaf(b)); got != want {
		t.Errorf("two leaves: got %s, want %s", got, want)
	}
	if got, want := types.MerkleRoot([]types.Hash{a, b, c}), node(node(leaf(a), leaf(b)), leaf(c)); got != want {
		t.Errorf("three leaves: got %s, want %s", got, want)
	}
	// The duplicate-last-leaf ambiguity of Bitcoin's tree must not exist.
	if types.MerkleRoot([]types.Hash{a, b, c}) == types.MerkleRoot([]types.Hash{a, b, c, c}) {
		t.Error("[a b c] and [a b c c] have the same root")
	}
}
