package consensus

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMedianTimePast(t *testing.T) {
	tests := []struct {
		name  string
		times []int64
		want  int64
	}{
		{"none: no lower bound", nil, math.MinInt64},
		{"genesis only", []int64{1000}, 1000},
		{"two: the upper middle", []int64{1000, 3000}, 3000},
		{"three unsorted", []int64{3000, 1000, 2000}, 2000},
		{"four: index 2 of sorted", []int64{4, 1, 3, 2}, 3},
		{"eleven in order", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6},
		{"eleven shuffled", []int64{11, 3, 9, 1, 7, 5, 10, 2, 8, 4, 6}, 6},
		{"eleven with repeats", []int64{5, 5, 5, 1, 1, 1, 9, 9, 9, 9, 9}, 5},
		{"negative times", []int64{-5, -1, -3}, -3},
		// Only the last 11 count: the first four (huge) are out of the window.
		{"fifteen: last eleven only", []int64{1e9, 1e9, 1e9, 1e9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6},
		{"twelve: oldest dropped", []int64{100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6},
		{"out-of-order timestamps", []int64{10, 20, 15, 30, 25, 40, 35, 50, 45, 60, 55}, 35},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.times)
			if got := MedianTimePast(tt.times); got != tt.want {
				t.Errorf("MedianTimePast(%v) = %d, want %d", tt.times, got, tt.want)
			}
			if !slices.Equal(orig, tt.times) {
				t.Errorf("MedianTimePast modified its input: %v, was %v", tt.times, orig)
			}
		})
	}
}

func TestMedianTimePastDoesNotAllocate(t *testing.T) {
	times := []int64{11, 3, 9, 1, 7, 5, 10, 2, 8, 4, 6, 12, 13}
	if n := testing.AllocsPerRun(100, func() { MedianTimePast(times) }); n != 0 {
		t.Fatalf("MedianTimePast allocates %v times per call", n)
	}
}

func TestCheckHeaderTime(t *testing.T) {
	const (
		mtp   = 1_700_000_000_000
		now   = mtp + 60_000
		drift = 15_000
	)
	tests := []struct {
		name               string
		t, mtp, now, drift int64
		code               ErrorCode // 0 = accepted
	}{
		{"just after the median", mtp + 1, mtp, now, drift, 0},
		{"equal to the median", mtp, mtp, now, drift, ErrTimeTooOld},
		{"before the median", mtp - 1, mtp, now, drift, ErrTimeTooOld},
		{"at local time", now, mtp, now, drift, 0},
		{"exactly at the drift limit", now + drift, mtp, now, drift, 0},
		{"one ms past the drift limit", now + drift + 1, mtp, now, drift, ErrTimeTooNew},
		{"zero drift, in the future", now + 1, mtp, now, 0, ErrTimeTooNew},
		// Too old is a permanent fault, so it wins even when the local clock
		// is behind the median.
		{"old and new at once", 10, 10, 0, 5, ErrTimeTooOld},
		{"no predecessors", math.MinInt64 + 1, MedianTimePast(nil), now, drift, 0},
		{"now + drift saturates", math.MaxInt64, mtp, math.MaxInt64 - 5, drift, 0},
		{"negative drift saturates", math.MinInt64 + 10, math.MinInt64, math.MinInt64 + 5, -100, ErrTimeTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHeaderTime(tt.t, tt.mtp, tt.now, tt.drift)
			if CodeOf(err) != tt.code || (tt.code == 0) != (err == nil) {
				t.Fatalf("CheckHeaderTime(%d, %d, %d, %d) = %v, want code %v", tt.t, tt.mtp, tt.now, tt.drift, err, tt.code)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.FormatInt(tt.t, 10)) {
				t.Errorf("reason %q does not give the header time", err)
			}
		})
	}
}
