package consensus

import (
	"encoding/hex"
	"slices"

	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/cairn-ledger/cairn/chain/types"
)

// A transaction whose sender key is a point of small order (order dividing
// the cofactor 8) is invalid (docs/PROTOCOL.md §8, "Small-order public keys").
// ZIP-215 verification (sig.go) accepts such keys, and for them it accepts
// R = a small-order point, S = 0 over every message: [8](SB − kA − R) is the
// identity whatever k is. Such a "signature" proves nothing, so coins sent
// to the address of a small-order key could be spent by anyone.
//
// The rule is on the decoded point, not on bytes: it covers every encoding
// that ZIP-215 decoding accepts, the six non-canonical ones included (y ≥ p,
// and x = 0 with the sign bit set).

// smallOrderY lists every 255-bit y field (the encoding with its sign bit
// cleared) of an encoding that decodes to a point of order dividing 8. The
// eight such points have y ∈ {1, −1, 0, y₈, −y₈} mod p, where y₈² is a root
// of d·y⁴ + 2y² − 1 = 0 (the order-8 points are those whose double has
// y = 0). A y field is read as an integer below 2^255 and reduced mod p;
// those ≥ p stand for y − p ∈ [0, 18], of which only 0 and 1 are small-order
// y values, so p and p + 1 are the only non-canonical entries.
// consensus/smallorder_test.go derives the list independently.
var smallOrderY = func() [7]types.PubKey {
	var ys [7]types.PubKey
	for i, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000", // 0: order 4
		"0100000000000000000000000000000000000000000000000000000000000000", // 1: the identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p − 1: order 2
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p ≡ 0, non-canonical
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 ≡ 1, non-canonical
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // y₈: order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // p − y₈: order 8
	} {
		if n, err := hex.Decode(ys[i][:], []byte(h)); err != nil || n != types.PubKeySize {
			panic("consensus: bad small-order y " + h)
		}
	}
	return ys
}()

// IsSmallOrderKey reports whether pub decodes, the way ZIP-215 verification
// decodes it (non-canonical y and x = −0 accepted), to a point P with
// [8]P = the identity. A key that does not decode at all is not small order
// (its signatures never verify: ErrBadSignature).
//
// Almost every key is told apart by its y field alone, in nanoseconds; the
// few candidates are decompressed and multiplied by the cofactor, as the
// verifier would (about 4 µs). It is safe for concurrent use.
func IsSmallOrderKey(pub types.PubKey) bool {
	y := pub
	y[types.PubKeySize-1] &= 0x7f
	if !slices.Contains(smallOrderY[:], y) {
		return false
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY((*curve.CompressedEdwardsY)(&pub)); err != nil {
		return false
	}
	return p.IsSmallOrder()
}
