package consensus

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/cairn-ledger/cairn/chain/types"
)

// smallOrderEncoding is one encoding of a point of order dividing 8.
type smallOrderEncoding struct {
	name      string
	pub       types.PubKey
	canonical bool
	order     int // of the point: 1, 2, 4 or 8
}

// wellKnownSmallOrder are the 14 encodings of small-order points that
// ZIP-215 decoding accepts: the distinct public keys A of the ZIP-215 test
// vectors (curve25519-voi testdata/zip215.json.gz, taken from Zcash), the
// same 14 as in "Taming the many EdDSAs" (Chalkias et al., 2020).
var wellKnownSmallOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// deriveSmallOrder computes, with math/big and no help from the curve
// library, every encoding of a point P with [8]P = O on
// −x² + y² = 1 + d·x²·y² over GF(p), p = 2^255 − 19, d = −121665/121666.
//
// Those points have y = 1 (the identity), y = −1 (order 2), y = 0 (order 4:
// x² = −1), or their double has y = 0 (order 8): the doubling formula's
// y is (y² + x²)/(2 − y² + x²), zero when x² = −y², and on the curve that
// gives 2y² = 1 − d·y⁴. An encoding is y as 255 bits little-endian and the
// sign (low bit) of x in bit 255; ZIP-215 decoding also accepts y + p when
// it fits 255 bits, and x = 0 with the sign bit set.
func deriveSmallOrder(t *testing.T) []smallOrderEncoding {
	t.Helper()
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	inv := func(x *big.Int) *big.Int { return new(big.Int).ModInverse(x, p) }
	d := mod(new(big.Int).Mul(big.NewInt(-121665), inv(big.NewInt(121666))))
	sqrt := func(x *big.Int) *big.Int { return new(big.Int).ModSqrt(x, p) } // nil if none

	type cand struct {
		y     *big.Int
		order int
	}
	cands := []cand{
		{big.NewInt(1), 1},
		{new(big.Int).Sub(p, big.NewInt(1)), 2},
		{big.NewInt(0), 4},
	}
	// y² = (−1 ± √(1 + d)) / d
	s := sqrt(mod(new(big.Int).Add(big.NewInt(1), d)))
	if s == nil {
		t.Fatal("1 + d is not a square")
	}
	for _, r := range []*big.Int{s, new(big.Int).Neg(s)} {
		y2 := mod(new(big.Int).Mul(new(big.Int).Sub(r, big.NewInt(1)), inv(d)))
		if y := sqrt(y2); y != nil {
			cands = append(cands, cand{y, 8}, cand{new(big.Int).Sub(p, y), 8})
		}
	}

	limit := new(big.Int).Lsh(big.NewInt(1), 255)
	encode := func(y *big.Int, sign bool) types.PubKey {
		var pub types.PubKey
		be := y.FillBytes(make([]byte, 32))
		for i := range 32 {
			pub[i] = be[31-i]
		}
		if sign {
			pub[31] |= 0x80
		}
		return pub
	}
	var out []smallOrderEncoding
	for _, c := range cands {
		// x² = (y² − 1) / (d·y² + 1)
		y2 := mod(new(big.Int).Mul(c.y, c.y))
		x2 := mod(new(big.Int).Mul(new(big.Int).Sub(y2, big.NewInt(1)),
			inv(mod(new(big.Int).Add(new(big.Int).Mul(d, y2), big.NewInt(1))))))
		x := sqrt(x2)
		if x == nil {
			t.Fatalf("y = %x (order %d) is not on the curve", c.y, c.order)
		}
		signs := []bool{false, true} // x ≠ 0: two points, ±x
		if x.Sign() == 0 {
			signs = []bool{false} // x = 0: one point
		}
		for _, sign := range signs {
			add := func(y *big.Int, sign, canonical bool) {
				pub := encode(y, sign)
				out = append(out, smallOrderEncoding{fmt.Sprintf("order %d %x", c.order, pub[:]), pub, canonical, c.order})
			}
			add(c.y, sign, true)
			if x.Sign() == 0 { // −0: the sign bit set on x = 0
				add(c.y, true, false)
			}
			if yp := new(big.Int).Add(c.y, p); yp.Cmp(limit) < 0 { // y + p
				add(yp, sign, false)
				if x.Sign() == 0 {
					add(yp, true, false)
				}
			}
		}
	}
	return out
}

// TestSmallOrderEncodings checks the derivation against the well-known list
// and the curve library: 8 points (1 of order 1, 1 of order 2, 2 of order
// 4, 4 of order 8: the whole torsion subgroup, which is cyclic of order 8),
// 14 encodings, each decoded by the library to a point of the stated order.
// It also checks that smallOrderY holds exactly their y fields.
func TestSmallOrderEncodings(t *testing.T) {
	encs := deriveSmallOrder(t)
	var got []string
	orders := map[int]int{}
	ys := map[types.PubKey]bool{}
	for _, e := range encs {
		got = append(got, hex.EncodeToString(e.pub[:]))
		if e.canonical {
			orders[e.order]++
		}
		y := e.pub
		y[31] &= 0x7f
		ys[y] = true

		var c curve.CompressedEdwardsY
		copy(c[:], e.pub[:])
		if c.IsCanonicalVartime() != e.canonical {
			t.Errorf("%s: library says canonical = %v", e.name, !e.canonical)
		}
		var pt curve.EdwardsPoint
		if _, err := pt.SetCompressedY(&c); err != nil {
			t.Fatalf("%s: library does not decode it: %v", e.name, err)
		}
		if !pt.IsSmallOrder() {
			t.Fatalf("%s: library says not small order", e.name)
		}
		// The order is the least k in 1, 2, 4, 8 with [k]P = O.
		k, q := 1, new(curve.EdwardsPoint).Set(&pt)
		for !q.IsIdentity() {
			q.Add(q, q)
			k *= 2
		}
		if k != e.order {
			t.Errorf("%s: library finds order %d", e.name, k)
		}
	}
	slices.Sort(got)
	want := slices.Clone(wellKnownSmallOrder)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("derived encodings\n%v\nwell-known\n%v", got, want)
	}
	if want := map[int]int{1: 1, 2: 1, 4: 2, 8: 4}; fmt.Sprint(orders) != fmt.Sprint(want) {
		t.Fatalf("points by order %v, want %v", orders, want)
	}
	if len(ys) != len(smallOrderY) {
		t.Fatalf("%d distinct y fields, smallOrderY has %d", len(ys), len(smallOrderY))
	}
	for _, y := range smallOrderY {
		if !ys[y] {
			t.Errorf("smallOrderY holds %x, not a small-order y field", y)
		}
	}
}

// smallOrderSig is R = the identity (canonical), S = 0: with a small-order
// A, [8](SB − kA − R) = [8](−kA) = O for every message k, so ZIP-215
// accepts it for any digest.
var smallOrderSig = func() types.Signature {
	var s types.Signature
	s[0] = 1
	return s
}()

// TestSmallOrderKeyVerifiesButIsInvalid is the reason for the rule and the
// rule: for every small-order encoding, a signature made without any
// private key verifies (alone and in a batch, over several messages, with R
// the identity or A itself), and CheckTx refuses a tx from that key with
// ErrSmallOrderKey.
func TestSmallOrderKeyVerifiesButIsInvalid(t *testing.T) {
	genesis := types.Sum([]byte("small-order test network"))
	for _, e := range deriveSmallOrder(t) {
		t.Run(e.name, func(t *testing.T) {
			tx := &types.Tx{Version: types.TxVersion, From: e.pub, To: types.Address{7}, Amount: 1_000_000, Fee: 1000}
			var selfR types.Signature // R = A, S = 0
			copy(selfR[:32], e.pub[:])
			b := NewBatchVerifier(0)
			for i, sig := range []types.Signature{smallOrderSig, selfR} {
				for _, digest := range []types.Hash{tx.SigningDigest(genesis), types.Sum([]byte{byte(i)}), {}} {
					if !VerifySignature(e.pub, digest, sig) {
						t.Fatalf("ZIP-215 refuses sig %d over %s: the premise of the rule is wrong", i, digest)
					}
					b.Add(e.pub, digest, sig)
				}
			}
			if all, valid := b.Verify(); !all {
				t.Fatalf("batch refuses: %v", valid)
			}

			if !IsSmallOrderKey(e.pub) {
				t.Fatal("IsSmallOrderKey = false")
			}
			tx.Sig = smallOrderSig
			err := CheckTx(tx)
			if CodeOf(err) != ErrSmallOrderKey {
				t.Fatalf("CheckTx = %v, want ErrSmallOrderKey", err)
			}
			// The same tx from an ordinary key passes CheckTx.
			tx.From = newStdSigner(1).pub
			if err := CheckTx(tx); err != nil {
				t.Fatalf("CheckTx with an ordinary key: %v", err)
			}
		})
	}
}

// TestOrdinaryKeysAreNotSmallOrder: keys from seeds (as wallets make them)
// and keys of mixed order (an ordinary point plus a torsion point: order
// 8ℓ, not small, so they stay valid; signing with them is the holder's
// problem) pass, and a tx from a wallet key still verifies.
func TestOrdinaryKeysAreNotSmallOrder(t *testing.T) {
	torsion := deriveSmallOrder(t)
	for i := range 256 {
		k := newStdSigner(byte(i))
		if IsSmallOrderKey(k.pub) {
			t.Fatalf("key %d (%x) is small order", i, k.pub)
		}
		tx := &types.Tx{Version: types.TxVersion, To: types.Address{7}, Amount: 5, Fee: 1000, Nonce: uint64(i)}
		tx.From = k.pub
		digest := tx.SigningDigest(types.Hash{})
		tx.Sig = k.sign(digest)
		if err := CheckTx(tx); err != nil {
			t.Fatalf("key %d: CheckTx: %v", i, err)
		}
		if !VerifySignature(tx.From, digest, tx.Sig) {
			t.Fatalf("key %d: signature refused", i)
		}

		var a, tp curve.EdwardsPoint
		if _, err := a.SetCompressedY((*curve.CompressedEdwardsY)(&k.pub)); err != nil {
			t.Fatal(err)
		}
		e := torsion[i%len(torsion)]
		if _, err := tp.SetCompressedY((*curve.CompressedEdwardsY)(&e.pub)); err != nil {
			t.Fatal(err)
		}
		var mixed types.PubKey
		var c curve.CompressedEdwardsY
		c.SetEdwardsPoint(new(curve.EdwardsPoint).Add(&a, &tp))
		copy(mixed[:], c[:])
		if IsSmallOrderKey(mixed) {
			t.Fatalf("key %d plus a point of order %d is called small order", i, e.order)
		}
	}
}

// TestUndecodableKeyIsNotSmallOrder: a y field with no point keeps its old
// fate: CheckTx passes it and the signature check refuses it.
func TestUndecodableKeyIsNotSmallOrder(t *testing.T) {
	var pub types.PubKey
	for y := byte(2); ; y++ {
		pub = types.PubKey{y}
		var pt curve.EdwardsPoint
		if _, err := pt.SetCompressedY((*curve.CompressedEdwardsY)(&pub)); err != nil {
			break
		}
	}
	if IsSmallOrderKey(pub) {
		t.Fatalf("%x does not decode but is called small order", pub)
	}
	tx := &types.Tx{Version: types.TxVersion, From: pub, Fee: 1000, Sig: smallOrderSig}
	if err := CheckTx(tx); err != nil {
		t.Fatalf("CheckTx: %v", err)
	}
	if VerifySignature(pub, tx.SigningDigest(types.Hash{}), tx.Sig) {
		t.Fatal("a signature by an undecodable key verifies")
	}
	ids := []types.Hash{tx.ID()}
	if err := VerifyTxSignatures([]*types.Tx{tx}, ids, 0, 1, types.Hash{}, nil); CodeOf(err) != ErrBadSignature {
		t.Fatalf("VerifyTxSignatures = %v, want ErrBadSignature", err)
	}
}

// smallOrderSlow is IsSmallOrderKey without the y-field filter: decode as
// ZIP-215 does and multiply by the cofactor.
func smallOrderSlow(pub types.PubKey) bool {
	var pt curve.EdwardsPoint
	if _, err := pt.SetCompressedY((*curve.CompressedEdwardsY)(&pub)); err != nil {
		return false
	}
	return pt.IsSmallOrder()
}

// smallOrderNeighbours are the 14 encodings and the keys one off them in
// the low byte, the top byte or the sign bit, without repeats (a sign flip
// is often another of the 14; of the others some decode, some do not).
func smallOrderNeighbours(t testing.TB) []types.PubKey {
	var out []types.PubKey
	seen := map[types.PubKey]bool{}
	add := func(k types.PubKey) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, h := range wellKnownSmallOrder {
		var pub types.PubKey
		if _, err := hex.Decode(pub[:], []byte(h)); err != nil {
			t.Fatal(err)
		}
		add(pub)
		for _, edit := range []func(*types.PubKey){
			func(k *types.PubKey) { k[0]++ }, func(k *types.PubKey) { k[0]-- },
			func(k *types.PubKey) { k[31] ^= 0x80 }, func(k *types.PubKey) { k[31] ^= 0x01 },
			func(k *types.PubKey) { k[15] ^= 0x10 },
		} {
			n := pub
			edit(&n)
			add(n)
		}
	}
	return out
}

// TestIsSmallOrderKeyMatchesSlow: the filter never changes the answer on the
// encodings and their neighbours. (FuzzIsSmallOrderKey tries more.)
func TestIsSmallOrderKeyMatchesSlow(t *testing.T) {
	small := 0
	for _, pub := range smallOrderNeighbours(t) {
		got, want := IsSmallOrderKey(pub), smallOrderSlow(pub)
		if got != want {
			t.Fatalf("%x: IsSmallOrderKey = %v, decoding says %v", pub, got, want)
		}
		if got {
			small++
		}
	}
	if small != len(wellKnownSmallOrder) {
		t.Fatalf("%d small-order keys among the neighbours, want exactly the %d encodings", small, len(wellKnownSmallOrder))
	}
}

// FuzzIsSmallOrderKey decodes arbitrary 32 bytes as a public key:
// IsSmallOrderKey never panics and always agrees with plain decoding and a
// cofactor multiplication.
func FuzzIsSmallOrderKey(f *testing.F) {
	for _, pub := range smallOrderNeighbours(f) {
		f.Add(pub[:])
	}
	ordinary := newStdSigner(1).pub
	f.Add(ordinary[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var pub types.PubKey
		copy(pub[:], b) // short input: zero-padded, long: truncated
		if got, want := IsSmallOrderKey(pub), smallOrderSlow(pub); got != want {
			t.Fatalf("%x: IsSmallOrderKey = %v, decoding says %v", pub, got, want)
		}
	})
}

// BenchmarkIsSmallOrderKey: an ordinary key, the cost every tx pays.
func BenchmarkIsSmallOrderKey(b *testing.B) {
	pub := newStdSigner(3).pub
	for b.Loop() {
		if IsSmallOrderKey(pub) {
			b.Fatal("small order")
		}
	}
}

// BenchmarkIsSmallOrderKeyCandidate: a key whose y field matches, so it is
// decompressed (the cost an attacker can make a tx pay, once: the tx is
// then refused).
func BenchmarkIsSmallOrderKeyCandidate(b *testing.B) {
	pub := types.PubKey{1}
	for b.Loop() {
		if !IsSmallOrderKey(pub) {
			b.Fatal("not small order")
		}
	}
}

// BenchmarkSmallOrderDecompress: decoding and cofactor multiplication alone,
// what the check would cost every tx without the filter.
func BenchmarkSmallOrderDecompress(b *testing.B) {
	pub := newStdSigner(3).pub
	for b.Loop() {
		if smallOrderSlow(pub) {
			b.Fatal("small order")
		}
	}
}

// BenchmarkCheckTx: all stateless tx rules for an ordinary tx.
func BenchmarkCheckTx(b *testing.B) {
	tx := &types.Tx{Version: types.TxVersion, From: newStdSigner(3).pub, To: types.Address{1}, Amount: 5, Fee: 1000, Memo: []byte("memo")}
	for b.Loop() {
		if err := CheckTx(tx); err != nil {
			b.Fatal(err)
		}
	}
}
