package txpool_test

import (
	"errors"
	"math"
	"testing"

	"github.com/cairn-ledger/cairn/txpool"
)

// TestReplacementFee: the exported rule (which `cairn tx bump` pays by
// default) is the one Add applies: its fee replaces, one unit less does
// not.
func TestReplacementFee(t *testing.T) {
	for _, tc := range []struct{ old, want uint64 }{
		{1000, 2000},     // +max(100, 1000)
		{10_000, 11_000}, // +max(1000, 1000)
		{10_001, 11_002}, // 10 % rounded up
		{50_000, 55_000}, // +10 %
	} {
		got, ok := txpool.ReplacementFee(tc.old, txpool.DefaultMinRelayFee)
		if !ok || got != tc.want {
			t.Errorf("ReplacementFee(%d) = %d, %v; want %d", tc.old, got, ok, tc.want)
		}
		e := newEnv(t, nil)
		e.add(e.tx("alice", bob, 1, tc.old, 0))
		_, err := e.p.Add(e.tx("alice", bob, 2, tc.want-1, 0))
		var re *txpool.RejectError
		if !errors.As(err, &re) || re.Reason != txpool.ReasonReplacementUnderpriced {
			t.Errorf("old fee %d: a replacement paying %d: %v, want replacement-underpriced", tc.old, tc.want-1, err)
		}
		e.add(e.tx("alice", bob, 2, tc.want, 0))
	}
	if _, ok := txpool.ReplacementFee(math.MaxUint64-10, txpool.DefaultMinRelayFee); ok {
		t.Error("ReplacementFee near 2^64: no overflow reported")
	}
}
