package consensus

import (
	"bytes"
	"encoding/hex"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Proof of work (docs/PROTOCOL.md §13): a header's hash, read as a
// big-endian 256-bit integer, must be at most the target its bits encode,
// and that target must be positive, canonically encoded and at most
// powLimit.
//
// The compact "bits" form is Bitcoin's, bit for bit as btcd's
// blockchain.CompactToBig / BigToCompact implement it:
//
//	-------------------------------------------------
//	|   Exponent     |    Sign    |    Mantissa     |
//	| 8 bits [31-24] | 1 bit [23] | 23 bits [22-00] |
//	-------------------------------------------------
//
//	N = (-1)^sign * mantissa * 256^(exponent-3)
//
// (for exponent < 3 the mantissa is shifted right, dropping low bytes).

// oneLsh256 is 2^256, the numerator of CalcWork. Never modified.
var oneLsh256 = new(big.Int).Lsh(big.NewInt(1), 256)

// CompactToBig returns the integer that the compact form bits encodes,
// including a negative value when the sign bit 0x00800000 is set and the
// mantissa is not zero. It is btcd's blockchain.CompactToBig.
//
// The result is a new value the caller may modify. Safe for concurrent use.
func CompactToBig(bits uint32) *big.Int {
	mantissa := bits & 0x007fffff
	negative := bits&0x00800000 != 0
	exponent := uint(bits >> 24)

	// The exponent counts bytes: N = mantissa * 256^(exponent-3).
	var n *big.Int
	if exponent <= 3 {
		mantissa >>= 8 * (3 - exponent)
		n = big.NewInt(int64(mantissa))
	} else {
		n = big.NewInt(int64(mantissa))
		n.Lsh(n, 8*(exponent-3))
	}
	if negative {
		n.Neg(n)
	}
	return n
}

// BigToCompact returns the compact form of n. The compact form keeps at most
// 23 significant bits, so a larger positive n is truncated (rounded towards
// zero; for a negative n btcd rounds the magnitude up, and so does this). A
// mantissa that would have its top bit
// (0x00800000, the sign bit) set is shifted right one byte and the exponent
// incremented, so the sign bit only ever marks negative numbers. It is btcd's
// blockchain.BigToCompact, including its behaviour for negative numbers and
// for numbers of more than 255 bytes (the exponent wraps; such numbers are
// never targets).
//
// n is not modified. Safe for concurrent use.
func BigToCompact(n *big.Int) uint32 {
	if n.Sign() == 0 {
		return 0
	}

	// The exponent is the number of bytes of |n| (len(n.Bytes()) in btcd,
	// computed here without allocating); the mantissa is its top three
	// bytes: mantissa = |n| / 256^(exponent-3).
	var mantissa uint32
	exponent := uint((n.BitLen() + 7) / 8)
	if exponent <= 3 {
		mantissa = uint32(n.Bits()[0])
		mantissa <<= 8 * (3 - exponent)
	} else {
		// Like btcd, shift a copy of n itself: for a negative n, Rsh rounds
		// towards minus infinity, so the magnitude is rounded up.
		tn := new(big.Int).Set(n)
		mantissa = uint32(tn.Rsh(tn, 8*(exponent-3)).Bits()[0])
	}

	// A mantissa with the sign bit set does not fit in 23 bits: divide by
	// 256 and count one more byte.
	if mantissa&0x00800000 != 0 {
		mantissa >>= 8
		exponent++
	}

	compact := uint32(exponent<<24) | mantissa
	if n.Sign() < 0 {
		compact |= 0x00800000
	}
	return compact
}

// CalcWork returns the expected number of hashes needed to find a block with
// the target of bits: 2^256 / (target + 1). A chain's work is the sum over its
// blocks. It returns 0 for a target that is zero or negative (such bits never
// pass CheckTarget).
//
// The result is a new value the caller may modify. Safe for concurrent use.
func CalcWork(bits uint32) *big.Int {
	target := CompactToBig(bits)
	if target.Sign() <= 0 {
		return new(big.Int)
	}
	target.Add(target, big.NewInt(1))
	return target.Quo(oneLsh256, target)
}

// HashToBig returns h read as a big-endian unsigned 256-bit integer, the
// number that CheckProofOfWork compares with the target.
//
// The result is a new value the caller may modify. Safe for concurrent use.
func HashToBig(h types.Hash) *big.Int {
	return new(big.Int).SetBytes(h[:])
}

// CheckTarget returns a *RuleError with code ErrBadTarget unless bits encode
// a target t with 0 < t <= powLimit in the canonical compact form.
//
// Canonical means BigToCompact(CompactToBig(bits)) == bits. Bitcoin accepts
// several bits values for one target (0x1d00ffff and 0x1c00ffff00 style
// re-encodings, a redundant low mantissa byte when the exponent is below 3,
// a sign bit on a zero mantissa); cairn does not, so one target has exactly
// one bits value. That keeps the header encoding canonical
// (docs/PROTOCOL.md §2) and makes "bits differ from what ASERT requires" a
// plain comparison of two uint32 values, since NextBits always returns
// BigToCompact of a target.
//
// powLimit is not modified. Safe for concurrent use.
func CheckTarget(bits uint32, powLimit *big.Int) error {
	_, err := checkTarget(bits, powLimit)
	return err
}

// CheckProofOfWork returns nil when bits pass CheckTarget and hash, read as
// a big-endian 256-bit integer, is at most the target. Otherwise it returns a
// *RuleError: ErrBadTarget for bad bits, or ErrBadPoW with the hash and the
// target in hex.
//
// It does not allocate when the proof of work is valid. powLimit is not
// modified. Safe for concurrent use.
func CheckProofOfWork(hash types.Hash, bits uint32, powLimit *big.Int) error {
	target, err := checkTarget(bits, powLimit)
	if err != nil {
		return err
	}
	if bytes.Compare(hash[:], target[:]) > 0 {
		return ruleErr(ErrBadPoW, "hash %s is above target %s of bits 0x%08x",
			hex32(hash), hex32(target), bits)
	}
	return nil
}

// checkTarget is CheckTarget that also returns the target as 32 big-endian
// bytes, computed without allocating on the success path. A target of 2^256
// or more (only possible with such a powLimit) is returned as 2^256-1: every
// hash is below it either way.
func checkTarget(bits uint32, powLimit *big.Int) (target [32]byte, err error) {
	mantissa := bits & 0x007fffff
	exponent := int(bits >> 24)

	// Decode the magnitude |N| = mantissa * 256^(exponent-3) into target.
	// For exponent <= 3 it fits in the last three bytes; above, the mantissa's
	// three bytes end at byte 32-(exponent-3) and the rest are zero.
	var byteLen int // length of |N| in bytes, 0 for zero
	if exponent <= 3 {
		v := mantissa >> (8 * (3 - exponent))
		byteLen = uint32ByteLen(v)
		target[29], target[30], target[31] = byte(v>>16), byte(v>>8), byte(v)
	} else if mantissa != 0 {
		byteLen = uint32ByteLen(mantissa) + exponent - 3
		if byteLen <= 32 {
			end := 32 - (exponent - 3) // index after the mantissa's low byte
			for i, b := range [3]byte{byte(mantissa >> 16), byte(mantissa >> 8), byte(mantissa)} {
				if j := end - 3 + i; j >= 0 {
					target[j] = b
				}
			}
		}
	}

	switch {
	case byteLen == 0:
		return target, ruleErr(ErrBadTarget, "bits 0x%08x encode a zero target", bits)
	case bits&0x00800000 != 0:
		return target, ruleErr(ErrBadTarget, "bits 0x%08x encode a negative target", bits)
	case !compactIsCanonical(bits):
		return target, ruleErr(ErrBadTarget,
			"bits 0x%08x are not the canonical encoding of their target (want 0x%08x)",
			bits, BigToCompact(CompactToBig(bits)))
	}

	// Compare with powLimit. The common case, a powLimit below 2^256 and a
	// target that fits in 32 bytes, compares bytes on the stack.
	if byteLen > 32 || powLimit.Sign() < 0 || powLimit.BitLen() > 256 {
		if CompactToBig(bits).Cmp(powLimit) > 0 {
			return target, ruleErr(ErrBadTarget, "bits 0x%08x encode target %x above powLimit %x",
				bits, CompactToBig(bits), powLimit)
		}
		if byteLen > 32 {
			for i := range target {
				target[i] = 0xff
			}
		}
		return target, nil
	}
	var limit [32]byte
	powLimit.FillBytes(limit[:])
	if bytes.Compare(target[:], limit[:]) > 0 {
		return target, ruleErr(ErrBadTarget, "bits 0x%08x encode target %s above powLimit %s",
			bits, hex32(target), hex32(limit))
	}
	return target, nil
}

// compactIsCanonical reports whether BigToCompact(CompactToBig(bits)) == bits,
// computed on the mantissa and exponent without big.Int arithmetic (the test
// checks the two agree).
func compactIsCanonical(bits uint32) bool {
	mantissa := bits & 0x007fffff
	exponent := int(bits >> 24)

	// Re-encode |N| the way BigToCompact does: byteLen is the byte length of
	// |N| and norm its top three bytes.
	var norm uint32
	var byteLen int
	if exponent <= 3 {
		v := mantissa >> (8 * (3 - exponent))
		if v == 0 {
			return bits == 0 // BigToCompact(0) == 0
		}
		byteLen = uint32ByteLen(v)
		norm = v << (8 * (3 - byteLen))
	} else {
		if mantissa == 0 {
			return false // N == 0, which re-encodes as 0
		}
		ml := uint32ByteLen(mantissa)
		byteLen = ml + exponent - 3
		norm = mantissa << (8 * (3 - ml))
	}
	if norm&0x00800000 != 0 {
		norm >>= 8
		byteLen++
	}
	c := uint32(byteLen<<24) | norm // wraps past exponent 255, as btcd's does
	if bits&0x00800000 != 0 {
		c |= 0x00800000
	}
	return c == bits
}

// hex32 returns b in hex. It takes a copy so that formatting an error does
// not move the caller's array to the heap on the success path.
func hex32(b [32]byte) string { return hex.EncodeToString(b[:]) }

// uint32ByteLen returns the number of bytes needed to write v (0 for 0).
func uint32ByteLen(v uint32) int {
	n := 0
	for ; v != 0; v >>= 8 {
		n++
	}
	return n
}
