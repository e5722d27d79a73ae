package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// WriteJSON writes res to file (NaN and Inf as null).
func (res *Result) WriteJSON(file string) error {
	b, err := json.MarshalIndent(res.jsonSafe(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// jsonSafe returns a map view of res with non-finite floats as null.
func (res *Result) jsonSafe() any {
	b, _ := json.Marshal(struct {
		*Result
		MinorityTxsRecovered *float64   `json:"minority_txs_recovered"`
		MinorityTxsFinal     *float64   `json:"minority_txs_final"`
		HealConvergedS       []*float64 `json:"heal_converged_s"`
	}{Result: res, MinorityTxsRecovered: finite(res.MinorityTxsRecovered), MinorityTxsFinal: finite(res.MinorityTxsFinal),
		HealConvergedS: finites(res.HealConvergedS)})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func finites(fs []float64) []*float64 {
	out := make([]*float64, 0, len(fs))
	for _, f := range fs {
		out = append(out, finite(f))
	}
	return out
}

func pct(p Percentiles) string {
	if p.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%8.0f %8.0f %8.0f %8.0f", p.P50, p.P90, p.P95, p.P99)
}

func ratio(p Percentiles) string {
	if p.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%8.2f %8.2f %8.2f %8.2f", p.P50, p.P90, p.P95, p.P99)
}

func frac(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f %%", 100*f)
}

// WriteTable writes the human-readable summary.
func (res *Result) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "cairn sim: %d nodes, %d links (each node dials %d; no discovery: NoDHT on mocknet), %d miners, latency %.0f-%.0f ms one way (%s), %.1f Mbit/s per link\n",
		res.Nodes, res.Links, res.Peers, res.Miners, res.LatencyMs[0], res.LatencyMs[1], res.LatencyLayer, res.BandwidthBps*8/1e6)
	fmt.Fprintf(w, "block time %.2f s, %.1f tx/s, seed %d, ran %.1f s\n\n", res.BlockTimeS, res.TxRate, res.Seed, res.DurationS)
	fmt.Fprintf(w, "%-44s %8s %8s %8s %8s\n", "", "p50", "p90", "p95", "p99")
	fmt.Fprintf(w, "%-44s %s\n", "block to 50% of reachable nodes (ms)", pct(res.Propagation50))
	fmt.Fprintf(w, "%-44s %s\n", "block to 90% of reachable nodes (ms)", pct(res.Propagation90))
	fmt.Fprintf(w, "%-44s %s\n", "block to all reachable nodes (ms)", pct(res.Propagation))
	fmt.Fprintf(w, "%-44s %s\n", "  the same, blocks that met no CPU saturation", pct(res.PropagationCalm))
	fmt.Fprintf(w, "%-44s %s\n", "shortest-path bound (ms)", pct(res.Bound))
	fmt.Fprintf(w, "%-44s %s\n", "measured / bound", ratio(res.PropagationRatio))
	fmt.Fprintf(w, "%-44s %s\n", "same bound over the gossip mesh (ms)", pct(res.MeshBound))
	fmt.Fprintf(w, "%-44s %s\n", "measured / mesh bound", ratio(res.MeshRatio))
	fmt.Fprintf(w, "%-44s %s\n", "each hop beyond the link latency (ms)", pct(res.HopDelay))
	fmt.Fprintf(w, "%-44s %s\n", "  sender: validated to queued for the peer", pct(res.HopParts.Forward))
	fmt.Fprintf(w, "%-44s %s\n", "  sender: in the peer's outbound queue", pct(res.HopParts.Queue))
	fmt.Fprintf(w, "%-44s %s\n", "  wire beyond the link latency", pct(res.HopParts.Wire))
	fmt.Fprintf(w, "%-44s %s\n", "  receiver: received to validation", pct(res.HopParts.Wait))
	fmt.Fprintf(w, "%-44s %s\n", "  receiver: validation (the import)", pct(res.HopParts.Validate))
	fmt.Fprintf(w, "%-44s %s\n", "  receiver: imported to forwarded", pct(res.HopParts.Loop))
	fmt.Fprintf(w, "%-44s %s\n", "single-node import at the miner (ms)", pct(res.ImportMs))
	fmt.Fprintf(w, "%-44s %s\n", "tx to every pool or block (ms)", pct(res.TxPropagation))
	fmt.Fprintf(w, "%-44s %s\n", "tx to inclusion on the final chain (ms)", pct(res.TxInclusion))
	fmt.Fprintf(w, "%-44s %s\n", "simulator scheduling lag (ms)", pct(res.SchedulerLag))
	fmt.Fprintf(w, "%-44s %s\n\n", "any goroutine runnable before it ran (ms)", pct(res.RunnableWait))
	fmt.Fprintf(w, "blocks mined %d, on the final main chain %d, reached every reachable node %d; final height %d, converged %v\n",
		res.BlocksMined, res.BlocksMain, res.BlocksComplete, res.FinalHeight, res.FinalConverged)
	fmt.Fprintf(w, "stale rate %.2f %% (theory 1-exp(-tau/T) = %.2f %%, tau = mean time-to-all %.0f ms)\n",
		100*res.StaleRate, 100*res.StaleRateTheory, res.MeanTimeToAllMs)
	fmt.Fprintf(w, "reorgs over all nodes %d, deepest %d\n", res.Reorgs.Count, res.Reorgs.MaxDepth)
	if res.Partition != "" {
		var hs []string
		for _, h := range res.HealConvergedS {
			hs = append(hs, fmt.Sprintf("%.2f s", h))
		}
		var cs []string
		for _, c := range res.HealCPUCores {
			cs = append(cs, fmt.Sprintf("%.2f", c))
		}
		fmt.Fprintf(w, "partition %s (%d nodes on the minority side): one tip and state root %s after the heal (meanwhile the simulator used %s of %d cores)\n",
			res.Partition, res.MinorityNodes, strings.Join(hs, ", "), strings.Join(cs, ", "), res.NumCPU)
		fmt.Fprintf(w, "minority-side txs %d: on the main chain or in >= 99%% of pools 10 s after the heal %s; at the end (chain or every pool) %s\n",
			res.MinorityTxs, frac(res.MinorityTxsRecovered), frac(res.MinorityTxsFinal))
	}
	fmt.Fprintf(w, "txs submitted %d (refused %d), included %d; followed to every pool %d (not everywhere within 60 s: %d)\n",
		res.TxsSubmitted, res.TxsRefused, res.TxsIncluded, res.TxTracked, res.TxTrackedLost)
	fmt.Fprintf(w, "chain.Verify failures %d; longest hold of a chain's write lock %.0f ms\n", res.VerifyErrors, res.MaxLockHoldMs)
	drops := "none"
	if len(res.GossipDrops) > 0 {
		var ds []string
		for k, v := range res.GossipDrops {
			ds = append(ds, fmt.Sprintf("%s %d", k, v))
		}
		slices.Sort(ds)
		drops = strings.Join(ds, ", ")
	}
	fmt.Fprintf(w, "gossip over all nodes: mesh peers per node %.1f (blocks), %.1f (txs); block messages ignored %d; dropped: %s\n",
		res.MeshDegree[0], res.MeshDegree[1], res.BlocksIgnored, drops)
	fmt.Fprintf(w, "CPU %.2f of %d cores, saturated (>= %.0f %%) in %.1f %% of 100 ms intervals; scheduler lag p99 %.1f ms",
		res.CPUCores, res.NumCPU, 100*saturated, 100*res.CPUSaturated, res.SchedulerLag.P99)
	if res.CPUBound {
		fmt.Fprintf(w, " > 20 ms: CPU-BOUND, the figures include the simulator's own queueing\n")
	} else {
		fmt.Fprintf(w, " <= 20 ms: not CPU-bound\n")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "targets")
	for _, t := range res.Targets() {
		verdict := "ok"
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  %-52s %-28s %s\n", t.Name, t.Value, verdict)
	}
}

// Target is one of the figures a run is judged by, its value and whether
// it met the target.
type Target struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

// Targets judges the run by the figures the README's "cairn sim" section
// sets: propagation against the bound, stale rate against theory, heal
// and recovery after a partition, tx propagation, and the simulator's own
// lag. Targets that do not apply (no partition, no transactions) are left
// out.
func (res *Result) Targets() []Target {
	bt := 1000 * res.BlockTimeS
	staleMax := max(1.5*res.StaleRateTheory, res.StaleRateTheory+0.02)
	ts := []Target{
		{"block to all nodes p95 <= 1000 ms", fmt.Sprintf("%.0f ms", res.Propagation.P95), res.Propagation.N > 0 && res.Propagation.P95 <= 1000},
		{"measured / bound p50 <= 1.5", fmt.Sprintf("%.2f", res.PropagationRatio.P50), res.PropagationRatio.N > 0 && res.PropagationRatio.P50 <= 1.5},
		{"measured / bound p95 <= 2.5", fmt.Sprintf("%.2f", res.PropagationRatio.P95), res.PropagationRatio.N > 0 && res.PropagationRatio.P95 <= 2.5},
		{"stale rate <= max(1.5 x theory, theory + 2 %)", fmt.Sprintf("%.2f %% <= %.2f %%", 100*res.StaleRate, 100*staleMax), res.StaleRate <= staleMax},
	}
	if res.TxRate > 0 {
		ts = append(ts, Target{"tx to every pool p95 <= 1500 ms", fmt.Sprintf("%.0f ms", res.TxPropagation.P95), res.TxPropagation.N > 0 && res.TxPropagation.P95 <= 1500})
	}
	if res.Partition != "" {
		healed := len(res.HealConvergedS) > 0
		worst := 0.0
		for _, h := range res.HealConvergedS {
			worst = max(worst, h)
		}
		ts = append(ts,
			Target{"heal converges within 2 block times", fmt.Sprintf("%.2f s <= %.2f s", worst, 2*bt/1000), healed && worst*1000 <= 2*bt},
			Target{">= 99 % of minority txs recovered in 10 s", frac(res.MinorityTxsRecovered), res.MinorityTxsRecovered >= 0.99})
	}
	ts = append(ts, Target{"not CPU-bound (scheduler lag p99 <= 20 ms)", fmt.Sprintf("%.1f ms", res.SchedulerLag.P99), !res.CPUBound})
	return ts
}

func writeTo(file string, w io.WriterTo) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
