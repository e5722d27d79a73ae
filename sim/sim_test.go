package sim

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestPartitionHeal runs 12 real nodes on 20 ms links with 1 s blocks,
// cuts a third of them off for 5 s and heals: the network must come back
// to one tip with equal state roots, every transaction submitted on the
// minority side must end on the main chain or in the pools, and no block
// may beat the physical bound of its path.
func TestPartitionHeal(t *testing.T) {
	cfg := Config{
		Nodes: 12, Peers: 3, LatencyLo: 20 * time.Millisecond, LatencyHi: 20 * time.Millisecond,
		Bandwidth: 20e6 / 8, BlockTime: time.Second, TxRate: 10, Duration: 18 * time.Second,
		PartitionPct: 33, PartitionFor: 5 * time.Second, Seed: 1, HealWindow: 8 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mined %d main %d stale %.2f heal %v minority txs %d recovered %.3f final %.3f lag p99 %.1f ms",
		res.BlocksMined, res.BlocksMain, res.StaleRate, res.HealConvergedS, res.MinorityTxs,
		res.MinorityTxsRecovered, res.MinorityTxsFinal, res.SchedulerLag.P99)
	if res.MinorityNodes != 4 {
		t.Errorf("minority side has %d nodes, want 4 (33%% of 12)", res.MinorityNodes)
	}
	if len(res.HealConvergedS) != 1 || math.IsInf(res.HealConvergedS[0], 0) || res.HealConvergedS[0] > 10 {
		t.Errorf("heal convergence %v, want one time under 10 s", res.HealConvergedS)
	}
	if !res.FinalConverged {
		t.Error("nodes did not end on one tip and state root")
	}
	if res.VerifyErrors != 0 {
		t.Errorf("%d nodes failed chain.Verify", res.VerifyErrors)
	}
	if res.BlocksMined < 5 || res.BlocksMain < 5 || res.FinalHeight != uint64(res.BlocksMain) {
		t.Errorf("mined %d, main %d, final height %d: want >= 5 and height = main blocks", res.BlocksMined, res.BlocksMain, res.FinalHeight)
	}
	if res.MinorityTxs == 0 {
		t.Fatal("no tx was submitted on the minority side")
	}
	if res.MinorityTxsRecovered != 1 {
		t.Errorf("%.3f of %d minority txs on the chain or in 99%% of pools %v after the heal, want all",
			res.MinorityTxsRecovered, res.MinorityTxs, cfg.HealWindow)
	}
	if res.MinorityTxsFinal != 1 {
		t.Errorf("%.3f of %d minority txs on the final chain or in every pool, want all", res.MinorityTxsFinal, res.MinorityTxs)
	}
	if res.BlocksComplete == 0 || res.Propagation.N == 0 {
		t.Fatal("no block reached every reachable node")
	}
	// Every node but the miner got each block over some hop: the trace
	// must have taken most of those hops apart.
	if n := res.HopParts.Validate.N; n < res.BlocksComplete*(cfg.Nodes-1)/2 {
		t.Errorf("%d hops taken apart over %d blocks and %d nodes", n, res.BlocksComplete, cfg.Nodes)
	}
	// The bound is physical: no block reaches every node faster than the
	// latency and per-hop import of its shortest path (10 % slack for the
	// import time measured at the miner).
	for _, b := range res.Blocks {
		if b.T100Ms > 0 && b.T100Ms < 0.9*b.BoundMs {
			t.Errorf("block %d reached all %d nodes in %.1f ms, under its bound %.1f ms", b.Height, b.Reach, b.T100Ms, b.BoundMs)
		}
	}
	// Seed 1 has the minority mine during the cut (the schedule is drawn
	// from the seed), so its branch must be replaced at the heal.
	if res.BlocksMain == res.BlocksMined || res.Reorgs.Count == 0 {
		t.Errorf("%d of %d blocks stale, %d reorgs: want the minority's branch replaced at the heal",
			res.BlocksMined-res.BlocksMain, res.BlocksMined, res.Reorgs.Count)
	}
}

func TestBound(t *testing.T) {
	// 0 -10ms- 1 -10ms- 2, and 0 -50ms- 2; 3 is isolated.
	es := []*edge{{a: 0, b: 1, lat: 10 * time.Millisecond}, {a: 1, b: 2, lat: 10 * time.Millisecond},
		{a: 0, b: 2, lat: 50 * time.Millisecond}}
	adj := make([][]*edge, 4)
	for _, e := range es {
		adj[e.a] = append(adj[e.a], e)
		adj[e.b] = append(adj[e.b], e)
	}
	reach, far, hops := bound(adj, 0, time.Millisecond)
	if far != 22*time.Millisecond || hops != 2 {
		t.Errorf("bound = %v over %d hops, want 22ms over 2", far, hops)
	}
	if !reach[2] || reach[3] {
		t.Errorf("reach = %v", reach)
	}
	// A per-hop cost of 40 ms makes the direct link the shorter path.
	if _, far, hops = bound(adj, 0, 40*time.Millisecond); far != 90*time.Millisecond || hops != 1 {
		t.Errorf("bound = %v over %d hops, want 90ms over 1", far, hops)
	}
}
