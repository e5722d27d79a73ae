package sim

import (
	"runtime/metrics"
	"testing"
	"time"
)

// TestHopParts takes one hop apart by hand: node 1 validated the block at
// 10 ms and queued it for node 2 at 12 ms, wrote it at 15 ms; over a 20 ms
// link node 2 read it at 37 ms, began validating at 38 ms, imported it at
// 44 ms and forwarded it at 45 ms.
func TestHopParts(t *testing.T) {
	ms := func(f float64) int64 { return int64(f * float64(time.Millisecond)) }
	m := &msgTrace{
		miner:    0,
		recv:     []int64{0, 0, ms(37)},
		validate: []int64{ms(1), ms(5), ms(38)},
		deliver:  []int64{ms(1), ms(10), ms(45)},
		from:     []int{-1, 0, 1},
		queued:   map[[2]int]int64{{1, 2}: ms(12), {0, 1}: ms(2)},
		written:  map[[2]int]int64{{1, 2}: ms(15), {0, 1}: ms(3)},
	}
	lat := func(j, k int) time.Duration { return 20 * time.Millisecond }
	var p hopParts
	// Node 1 has no recv time: its hop is left out.
	m.parts(lat, []int64{ms(1), ms(9), ms(44)}, &p)
	want := map[string][]float64{"forward": {2}, "queue": {3}, "wire": {2}, "wait": {1}, "validate": {6}, "loop": {1}}
	got := map[string][]float64{"forward": p.forward, "queue": p.queue, "wire": p.wire, "wait": p.wait, "validate": p.validate, "loop": p.loop}
	for k, w := range want {
		if len(got[k]) != 1 || got[k][0] != w[0] {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	// An import after the forwarding (a record from a later re-import) is
	// not a hop's validation.
	p = hopParts{}
	m.parts(lat, []int64{ms(1), ms(9), ms(50)}, &p)
	if len(p.validate) != 0 || len(p.forward) != 0 {
		t.Errorf("parts with an import after the delivery: %+v", p)
	}
}

func TestHistPercentiles(t *testing.T) {
	a := &metrics.Float64Histogram{Counts: []uint64{5, 0, 0, 0}, Buckets: []float64{0, 0.001, 0.002, 0.010, 0.1}}
	b := &metrics.Float64Histogram{Counts: []uint64{95, 0, 10, 0}, Buckets: a.Buckets}
	// Gained: 90 in [0, 1 ms), 10 in [2 ms, 10 ms).
	p := histPercentiles(a, b)
	if p.N != 100 || p.P50 != 1 || p.P90 != 1 || p.P95 != 10 || p.P99 != 10 {
		t.Errorf("percentiles = %+v, want n 100, p50 = p90 = 1 ms, p95 = p99 = 10 ms", p)
	}
	if p := histPercentiles(a, a); p.N != 0 {
		t.Errorf("no samples gave %+v", p)
	}
}
