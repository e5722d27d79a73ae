package sim

import (
	"math"
	"testing"
	"time"
)

// TestTargetsApply: a run without transactions or a partition is not
// judged on them, and one with transactions none of which reached every
// pool misses that target.
func TestTargetsApply(t *testing.T) {
	names := func(res *Result) map[string]bool {
		m := map[string]bool{}
		for _, c := range res.Targets() {
			m[c.Name] = c.Met
		}
		return m
	}
	quiet := names(&Result{BlockTimeS: 2})
	for n := range quiet {
		if n == "tx to every pool p95 <= 1500 ms" || n == "heal converges within 2 block times" {
			t.Errorf("a run without txs or a partition is judged on %q", n)
		}
	}
	busy := names(&Result{BlockTimeS: 2, TxRate: 20})
	if ok, judged := busy["tx to every pool p95 <= 1500 ms"]; !judged || ok {
		t.Errorf("a run with txs none of which was followed: judged %v, ok %v; want judged and missed", judged, ok)
	}
}

// TestCPUSaturation: with 2 cores, 100 ms intervals using 0.2, 1.9 and
// 1.0 cores are 10 %, 95 % and 50 % busy; only the second is saturated,
// and a block's window sees the busiest interval it overlaps.
func TestCPUSaturation(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cpu := []cpuSample{{at(0), 0}, {at(100), 20 * time.Millisecond}, {at(200), 210 * time.Millisecond}, {at(300), 310 * time.Millisecond}}
	if got := saturatedShare(cpu, 2); math.Abs(got-1.0/3) > 1e-9 {
		t.Errorf("saturated share %v, want 1/3", got)
	}
	if got := peakCPU(cpu, at(10), at(90), 2); math.Abs(got-0.1) > 1e-9 {
		t.Errorf("peak over the first interval %v, want 0.1", got)
	}
	if got := peakCPU(cpu, at(50), at(150), 2); math.Abs(got-0.95) > 1e-9 {
		t.Errorf("peak over the first two intervals %v, want 0.95", got)
	}
	if got := peakCPU(cpu, at(250), at(400), 2); math.Abs(got-0.5) > 1e-9 {
		t.Errorf("peak over the last interval %v, want 0.5", got)
	}
}
