package consensus

import (
	"math"
	"math/big"
)

// Difficulty: aserti3-2d, exactly as the Bitcoin Cash specification
// "ASERT Difficulty Adjustment Algorithm (aserti3-2d)" (2020-11-15 upgrade,
// https://github.com/bitcoincashorg/bitcoincash.org/blob/master/spec/2020-11-15-asert.md)
// defines it, and as Bitcoin Cash Node's CalculateASERT (src/pow.cpp)
// implements it. The specification's pseudo-code:
//
//	time_delta   = t_eval - t_ref            ; t_ref: time of the anchor's parent
//	height_delta = h_eval - h_ref
//	exponent  = trunc_div((time_delta - ideal_block_time*(height_delta+1)) * 65536, halflife)
//	num_shifts = exponent >> 16              ; arithmetic shift
//	exponent  -= num_shifts * 65536          ; 0 <= exponent < 65536
//	factor = ((195766423245049*exponent + 971821376*exponent^2
//	           + 5127*exponent^3 + 2^47) >> 48) + 65536
//	next = target_ref * factor
//	if num_shifts < 0: next >>= -num_shifts else: next <<= num_shifts
//	next >>= 16
//	if next == 0: return 1
//	if next > max_target: return max_target
//	return next
//
// The arithmetic is unit-agnostic: the specification uses seconds, cairn
// milliseconds.

// asertRadixBits is the number of fractional bits of the fixed-point exponent
// (the specification's radix = 2^16).
const asertRadixBits = 16

// ASERT returns the target of the block after the evaluation block, as
// aserti3-2d computes it from the anchor block's target (anchorTarget) and:
//
//   - timeDelta: the evaluation block's time minus the time of the anchor
//     block's parent (the specification's time_delta; may be negative),
//   - heightDelta: the evaluation block's height minus the anchor's height,
//   - spacing: the ideal block interval, halfLife: the time over which a
//     schedule lead or lag of that much doubles or halves the target,
//     both in the unit of timeDelta,
//   - powLimit: the easiest target allowed.
//
// The exponent is ((timeDelta - spacing*(heightDelta+1)) * 65536) / halfLife
// with Go's truncating division, as the specification requires. When those
// products would overflow int64 they are computed exactly in big.Int instead,
// so the result is always the specification's, for any inputs: an exponent
// beyond int64 means at least 2^47 doublings or halvings, which the clamps
// turn into powLimit or 1. The result is clamped to [1, powLimit] in the
// specification's order (0 becomes 1, then anything above powLimit becomes
// powLimit).
//
// cairn anchors at genesis; see NextBits for how it calls ASERT.
//
// Preconditions: halfLife > 0 (genesis validation guarantees it; ASERT
// panics otherwise, a programming error) and anchorTarget > 0 (the
// specification requires it; a target <= 0 is treated like 0, for which the
// specification's arithmetic gives 1). The result is a new value that the
// caller may modify; the arguments are not modified. Safe for concurrent use.
func ASERT(anchorTarget *big.Int, timeDelta, heightDelta, spacing, halfLife int64, powLimit *big.Int) *big.Int {
	if halfLife <= 0 {
		panic("consensus: ASERT halfLife must be positive")
	}
	if anchorTarget.Sign() <= 0 {
		return big.NewInt(1)
	}
	exponent, ok := asertExponent64(timeDelta, heightDelta, spacing, halfLife)
	if !ok {
		return asertBig(anchorTarget, big.NewInt(timeDelta), big.NewInt(heightDelta), spacing, halfLife, powLimit)
	}
	return asertFromExponent(anchorTarget, exponent, powLimit)
}

// NextBits returns the bits the block after parent P must carry, with cairn's
// anchoring at genesis (docs/PROTOCOL.md §14):
//
//	BigToCompact(ASERT(CompactToBig(genesisBits), P.time - genesis.time + spacing,
//	                   P.height, spacing, halfLife, powLimit))
//
// Genesis plays the anchor (height 0) and the anchor's parent time is taken
// to be genesis.time - spacing, so the exponent's numerator is
// P.time - genesis.time - spacing*P.height: the parent's lead or lag behind
// the schedule "block h at genesis.time + h*spacing". A chain whose blocks
// arrive exactly every spacing keeps exactly the genesis target.
//
// If P.time - genesis.time + spacing or P.height do not fit in int64 the same
// arithmetic is done in big.Int. Preconditions as for ASERT. Safe for
// concurrent use.
func NextBits(genesisBits uint32, genesisTime int64, parentHeight uint64, parentTime int64,
	spacing, halfLife int64, powLimit *big.Int) uint32 {
	anchor := CompactToBig(genesisBits)
	td, ok1 := asertSub(parentTime, genesisTime)
	td, ok2 := asertAdd(td, spacing)
	if ok1 && ok2 && parentHeight <= math.MaxInt64 {
		return BigToCompact(ASERT(anchor, td, int64(parentHeight), spacing, halfLife, powLimit))
	}
	if halfLife <= 0 {
		panic("consensus: ASERT halfLife must be positive")
	}
	if anchor.Sign() <= 0 {
		return BigToCompact(big.NewInt(1))
	}
	tdBig := new(big.Int).Sub(big.NewInt(parentTime), big.NewInt(genesisTime))
	tdBig.Add(tdBig, big.NewInt(spacing))
	hd := new(big.Int).SetUint64(parentHeight)
	return BigToCompact(asertBig(anchor, tdBig, hd, spacing, halfLife, powLimit))
}

// asertExponent64 returns ((timeDelta - spacing*(heightDelta+1)) << 16) /
// halfLife, truncated, and false if an intermediate value overflows int64.
func asertExponent64(timeDelta, heightDelta, spacing, halfLife int64) (int64, bool) {
	h1, ok := asertAdd(heightDelta, 1)
	if !ok {
		return 0, false
	}
	sched, ok := asertMul(spacing, h1)
	if !ok {
		return 0, false
	}
	lead, ok := asertSub(timeDelta, sched)
	if !ok {
		return 0, false
	}
	num, ok := asertMul(lead, 1<<asertRadixBits)
	if !ok {
		return 0, false
	}
	return num / halfLife, true
}

// asertBig is ASERT with the exponent computed in big.Int, for inputs whose
// products overflow int64. anchorTarget > 0 and halfLife > 0.
func asertBig(anchorTarget, timeDelta, heightDelta *big.Int, spacing, halfLife int64, powLimit *big.Int) *big.Int {
	num := new(big.Int).Add(heightDelta, big.NewInt(1))
	num.Mul(num, big.NewInt(spacing))
	num.Sub(timeDelta, num)
	num.Lsh(num, asertRadixBits) // exact for negative values too: x * 2^16
	num.Quo(num, big.NewInt(halfLife))
	if num.IsInt64() {
		return asertFromExponent(anchorTarget, num.Int64(), powLimit)
	}
	// |exponent| >= 2^63, so |num_shifts| >= 2^47: the target is multiplied
	// or divided by at least 2^(2^47), beyond any powLimit and below 1.
	if num.Sign() > 0 {
		return new(big.Int).Set(powLimit)
	}
	return big.NewInt(1)
}

// asertFromExponent finishes the computation from the 16.16 fixed-point
// exponent. anchorTarget > 0.
func asertFromExponent(anchorTarget *big.Int, exponent int64, powLimit *big.Int) *big.Int {
	shifts := exponent >> asertRadixBits // arithmetic shift: floor(exponent / 2^16)
	frac := uint64(uint16(exponent))     // exponent - shifts*2^16, in [0, 65535]

	// The cubic approximation of 2^(frac/65536) * 65536. With frac < 2^16
	// the sum stays below 2^64 (the test checks every frac), as the
	// specification's note 7 says: 64-bit unsigned arithmetic suffices.
	factor := 65536 + ((195766423245049*frac +
		971821376*frac*frac +
		5127*frac*frac*frac +
		1<<47) >> 48)

	// For shifts >= 0 the result is at least anchorTarget * 2^shifts >=
	// 2^shifts, which exceeds powLimit once shifts >= powLimit.BitLen().
	// Returning early gives the same answer and keeps a huge exponent from
	// building a huge number.
	if shifts >= int64(powLimit.BitLen()) {
		return new(big.Int).Set(powLimit)
	}

	next := new(big.Int).SetUint64(factor)
	next.Mul(next, anchorTarget)
	if shifts < 0 {
		next.Rsh(next, uint(-shifts))
	} else {
		next.Lsh(next, uint(shifts))
	}
	next.Rsh(next, asertRadixBits)

	if next.Sign() == 0 {
		return next.SetInt64(1)
	}
	if next.Cmp(powLimit) > 0 {
		return next.Set(powLimit)
	}
	return next
}

// asertAdd returns a+b and whether it did not overflow.
func asertAdd(a, b int64) (int64, bool) {
	c := a + b
	return c, (c > a) == (b > 0)
}

// asertSub returns a-b and whether it did not overflow.
func asertSub(a, b int64) (int64, bool) {
	c := a - b
	return c, (c < a) == (b > 0)
}

// asertMul returns a*b and whether it did not overflow.
func asertMul(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || c/b != a {
		return c, false
	}
	return c, true
}
