package consensus

import "math"

// MedianTimeBlocks is the number of predecessors whose median time a header's
// time must exceed (docs/PROTOCOL.md §15), as in Bitcoin.
const MedianTimeBlocks = 11

// MedianTimePast returns the median of the last MedianTimeBlocks entries of
// times, which are the times of a block's predecessors, oldest first. With
// fewer entries (near genesis) it is the median of those there are. The
// median is the element at index len/2 of the sorted entries, the upper one
// of the middle two for an even count, as btcd's CalcPastMedianTime picks it.
//
// With no entries at all there is no lower bound and it returns
// math.MinInt64. times is not modified and nothing is allocated. Safe for
// concurrent use.
func MedianTimePast(times []int64) int64 {
	if len(times) > MedianTimeBlocks {
		times = times[len(times)-MedianTimeBlocks:]
	}
	if len(times) == 0 {
		return math.MinInt64
	}
	var buf [MedianTimeBlocks]int64
	sorted := buf[:len(times)]
	copy(sorted, times)
	// Insertion sort: at most 11 elements, and no allocation (sort.Slice
	// would box the slice).
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j] < sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	return sorted[len(sorted)/2]
}

// CheckHeaderTime checks a header's time t (unix ms) against the median time
// of its predecessors and the local clock now:
//
//   - t <= medianTimePast: a *RuleError with code ErrTimeTooOld. The block is
//     invalid, whatever the clock says, so this is checked first.
//   - t > now + maxFutureDrift: a *RuleError with code ErrTimeTooNew. The
//     block is to be ignored, not marked invalid: it may be valid later.
//
// t == now + maxFutureDrift is accepted. The sum saturates instead of
// overflowing. Safe for concurrent use.
func CheckHeaderTime(t, medianTimePast, now, maxFutureDrift int64) error {
	if t <= medianTimePast {
		return ruleErr(ErrTimeTooOld, "time %d is not after the median time past %d of the previous %d blocks",
			t, medianTimePast, MedianTimeBlocks)
	}
	limit := now + maxFutureDrift
	switch {
	case maxFutureDrift > 0 && limit < now:
		limit = math.MaxInt64
	case maxFutureDrift < 0 && limit > now:
		limit = math.MinInt64
	}
	if t > limit {
		return ruleErr(ErrTimeTooNew, "time %d is beyond local time %d plus the allowed drift of %d ms",
			t, now, maxFutureDrift)
	}
	return nil
}
