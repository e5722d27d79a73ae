package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Percentiles are in milliseconds (or a plain ratio).
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

// Reorgs counts main-chain reorganisations over all nodes.
type Reorgs struct {
	Count    int `json:"count"`
	MaxDepth int `json:"max_depth"`
}

// BlockStat is one mined block's propagation.
type BlockStat struct {
	Height   uint64  `json:"height"`
	Miner    int     `json:"miner"`
	MinedS   float64 `json:"mined_s"`
	Size     int     `json:"size"`
	Txs      int     `json:"txs"`
	Reach    int     `json:"reachable"`
	Got      int     `json:"imported_by"`
	Main     bool    `json:"main"`
	T50Ms    float64 `json:"t50_ms"`
	T90Ms    float64 `json:"t90_ms"`
	T100Ms   float64 `json:"t100_ms"`
	BoundMs  float64 `json:"bound_ms"`
	MeshMs   float64 `json:"mesh_bound_ms"`
	Hops     int     `json:"hops"`
	ImportMs float64 `json:"import_ms"`
	Ratio    float64 `json:"ratio"`
	// PeakCPU is the simulator's busiest CPU use, as a share of all
	// cores, over the 100 ms intervals the block's propagation touched.
	PeakCPU float64 `json:"peak_cpu"`
}

// Result holds a run's measurements.
type Result struct {
	Nodes        int        `json:"nodes"`
	Peers        int        `json:"peers"`
	Links        int        `json:"links"`
	Miners       int        `json:"miners"`
	LatencyMs    [2]float64 `json:"latency_ms"`
	BandwidthBps float64    `json:"bandwidth_bytes_per_s"`
	LatencyLayer string     `json:"latency_layer"` // "pipelined" (the sim's) or "mocknet"
	BlockTimeS   float64    `json:"block_time_s"`
	TxRate       float64    `json:"tx_rate"`
	Seed         uint64     `json:"seed"`
	DurationS    float64    `json:"duration_s"`

	BlocksMined     int     `json:"blocks_mined"`
	BlocksMain      int     `json:"blocks_main"`
	BlocksComplete  int     `json:"blocks_reached_all"`
	StaleRate       float64 `json:"stale_rate"`
	StaleRateTheory float64 `json:"stale_rate_theory"`
	MeanTimeToAllMs float64 `json:"mean_time_to_all_ms"`

	Propagation50 Percentiles `json:"propagation_50pct_ms"`
	Propagation90 Percentiles `json:"propagation_90pct_ms"`
	Propagation   Percentiles `json:"propagation_ms"`
	Bound         Percentiles `json:"bound_ms"`
	MeshBound     Percentiles `json:"mesh_bound_ms"`
	MeshRatio     Percentiles `json:"propagation_mesh_ratio"`
	HopDelay      Percentiles `json:"hop_delay_ms"`
	HopParts      HopParts    `json:"hop_parts_ms"`
	// PropagationCalm is time to all nodes over the blocks whose
	// propagation never met a CPU-saturated 100 ms interval (PeakCPU
	// below 90 %), and CPUSaturated the share of the run's 100 ms
	// intervals that were saturated: a block that met one waited for the
	// CPU the simulated nodes share, which real nodes do not.
	PropagationCalm  Percentiles `json:"propagation_calm_ms"`
	CPUSaturated     float64     `json:"cpu_saturated_share"`
	PropagationRatio Percentiles `json:"propagation_ratio"`
	ImportMs         Percentiles `json:"import_ms"`
	Reorgs           Reorgs      `json:"reorgs"`

	Partition      string    `json:"partition,omitempty"`
	MinorityNodes  int       `json:"minority_nodes,omitempty"`
	HealConvergedS []float64 `json:"heal_converged_s"`
	// HealCPUCores is, per heal, the cores the simulator used on average
	// from the heal until convergence: near all of them, the heal waited
	// for the CPU the nodes share here, not for the network.
	HealCPUCores         []float64 `json:"heal_cpu_cores,omitempty"`
	MinorityTxs          int       `json:"minority_txs"`
	MinorityTxsRecovered float64   `json:"minority_txs_recovered"`
	MinorityTxsFinal     float64   `json:"minority_txs_final"`

	TxsSubmitted   int         `json:"txs_submitted"`
	TxsRefused     int         `json:"txs_refused"`
	TxsIncluded    int         `json:"txs_included"`
	TxTracked      int         `json:"txs_tracked"`
	TxTrackedLost  int         `json:"txs_tracked_not_everywhere"`
	TxPropagation  Percentiles `json:"tx_propagation_ms"`
	TxInclusion    Percentiles `json:"tx_inclusion_ms"`
	SchedulerLag   Percentiles `json:"scheduler_lag_ms"`
	RunnableWait   Percentiles `json:"runnable_wait_ms"`
	CPUCores       float64     `json:"cpu_cores_used"`
	NumCPU         int         `json:"num_cpu"`
	CPUBound       bool        `json:"cpu_bound"`
	FinalConverged bool        `json:"final_converged"`
	FinalHeight    uint64      `json:"final_height"`
	VerifyErrors   int         `json:"verify_errors"`
	// MaxLockHoldMs is the longest any node held its chain's write lock
	// (an import or a reorg), in ms.
	MaxLockHoldMs float64 `json:"max_chain_lock_hold_ms"`

	// GossipDrops sums every node's nonzero gossip drop counters
	// ("topic/cause"); BlocksIgnored the block messages its validator
	// ignored (already known, low work, throttled), over all nodes.
	GossipDrops   map[string]uint64 `json:"gossip_drops"`
	BlocksIgnored uint64            `json:"gossip_blocks_ignored"`
	// MeshDegree is the mean number of mesh peers per node at the end,
	// on the block topic and on the tx topic.
	MeshDegree [2]float64 `json:"mesh_degree"`

	Checks  []Target       `json:"targets"`
	Blocks  []BlockStat    `json:"blocks"`
	Heights []HeightSample `json:"heights,omitempty"`
}

func percentiles(xs []float64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Percentiles{P50: at(.5), P90: at(.9), P95: at(.95), P99: at(.99), Max: s[len(s)-1], N: len(s)}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *sim) run(ctx context.Context) (*Result, error) {
	cfg := s.cfg
	s.start = time.Now()
	cpu0 := cpuTime()
	sched0 := schedLatencies()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	errc := make(chan error, 1)
	var lags []time.Duration
	var wg, pollWG sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.mining(loadCtx, errc) }()
	go func() { defer wg.Done(); s.load(loadCtx) }()
	pollWG.Add(2)
	go func() { defer pollWG.Done(); s.pollPools(pollCtx) }()
	go func() { defer pollWG.Done(); lagMeter(pollCtx, &lags) }()
	var cpuSamples []cpuSample
	pollWG.Add(1)
	go func() { defer pollWG.Done(); cpuMeter(pollCtx, &cpuSamples) }()

	res := &Result{Nodes: cfg.Nodes, Peers: cfg.Peers, Links: len(s.edges), Miners: len(s.miners),
		LatencyMs: [2]float64{ms(cfg.LatencyLo), ms(cfg.LatencyHi)}, BandwidthBps: cfg.Bandwidth, LatencyLayer: "pipelined",
		BlockTimeS: cfg.BlockTime.Seconds(), TxRate: cfg.TxRate, Seed: cfg.Seed,
		MinorityTxsRecovered: math.NaN(), MinorityTxsFinal: math.NaN(), HealConvergedS: []float64{}}
	if cfg.MocknetLatency {
		res.LatencyLayer = "mocknet"
	}
	var partWG sync.WaitGroup
	if cfg.PartitionPct > 0 {
		res.Partition = fmt.Sprintf("%d%%:%v", cfg.PartitionPct, cfg.PartitionFor)
		partWG.Add(1)
		go func() {
			defer partWG.Done()
			if !sleepCtx(ctx, time.Until(s.start.Add(cfg.PartitionAt))) {
				return
			}
			s.partition(ctx)
			s.mu.Lock()
			for _, m := range s.minority {
				if m {
					res.MinorityNodes++
				}
			}
			s.mu.Unlock()
			s.progress("partition: %d nodes cut off for %v", res.MinorityNodes, cfg.PartitionFor)
			if !sleepCtx(ctx, cfg.PartitionFor) {
				return
			}
			if err := s.heal(); err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			healed, cpuHealed := time.Now(), cpuTime()
			s.progress("healed")
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for _, at := range []time.Duration{cfg.HealWindow / 5, cfg.HealWindow / 2} {
					if sleepCtx(ctx, time.Until(healed.Add(at))) {
						_, why := s.recovered(s.minorityTxs(), s.majorityNode(), 0.99)
						s.progress("minority txs %v after the heal: %s", at, why)
					}
				}
				if sleepCtx(ctx, time.Until(healed.Add(cfg.HealWindow))) {
					ids := s.minorityTxs()
					res.MinorityTxs = len(ids)
					var why string
					res.MinorityTxsRecovered, why = s.recovered(ids, s.majorityNode(), 0.99)
					s.progress("minority txs %v after the heal: %s", cfg.HealWindow, why)
				}
			}()
			d, ok := s.waitSameTip(ctx, time.Until(s.start.Add(cfg.Duration))+60*time.Second)
			if ok {
				cores := float64(cpuTime()-cpuHealed) / float64(d)
				res.HealConvergedS = append(res.HealConvergedS, d.Seconds())
				res.HealCPUCores = append(res.HealCPUCores, cores)
				s.progress("converged %.2f s after the heal, using %.2f of %d cores meanwhile", d.Seconds(), cores, runtime.NumCPU())
			} else {
				res.HealConvergedS = append(res.HealConvergedS, math.Inf(1))
			}
			rwg.Wait()
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
		runErr = ctx.Err()
	case runErr = <-errc:
	case <-time.After(cfg.Duration):
	}
	stopLoad()
	wg.Wait()
	res.DurationS = time.Since(s.start).Seconds()
	cpu := cpuTime() - cpu0
	partWG.Wait()
	if runErr != nil {
		return nil, runErr
	}
	_, res.FinalConverged = s.waitSameTip(ctx, 60*time.Second)
	stopPoll()
	pollWG.Wait()
	res.FinalHeight = s.nodes[0].nd.Chain().Tip().Height
	if ids := s.minorityTxs(); len(ids) > 0 {
		res.MinorityTxsFinal, _ = s.recovered(ids, 0, 1)
	}
	res.GossipDrops = map[string]uint64{}
	for _, n := range s.nodes {
		res.MaxLockHoldMs = max(res.MaxLockHoldMs, ms(n.nd.Chain().MaxLockHold(false)))
		if err := n.nd.Chain().Verify(); err != nil {
			res.VerifyErrors++
		}
		for _, d := range n.nd.Net().GossipDrops() {
			if d.Count > 0 {
				res.GossipDrops[d.Topic+"/"+d.Cause] += d.Count
			}
		}
		res.BlocksIgnored += n.nd.Net().GossipStats().Blocks.Ignored
		bm, tm := n.nd.Net().MeshPeers()
		res.MeshDegree[0] += float64(len(bm)) / float64(len(s.nodes))
		res.MeshDegree[1] += float64(len(tm)) / float64(len(s.nodes))
	}
	wall := time.Duration(res.DurationS * float64(time.Second))
	res.CPUCores = float64(cpu) / float64(wall)
	res.RunnableWait = histPercentiles(sched0, schedLatencies())
	res.NumCPU = runtime.NumCPU()
	s.summarise(res, lags, cpuSamples)
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *sim) summarise(res *Result, lags []time.Duration, cpu []cpuSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c0 := s.nodes[0].nd.Chain()
	var t50, t90, t100, bounds, ratios, imports, meshBounds, meshRatios, hops []float64
	var sumAll float64
	var parts hopParts
	var calm []float64
	for _, b := range s.order {
		st := BlockStat{Height: b.height, Miner: b.miner, MinedS: b.mined.Sub(s.start).Seconds(), Size: b.size,
			Txs: len(b.txs), Reach: b.reach, Got: b.got, BoundMs: ms(b.bound), MeshMs: ms(b.meshB), Hops: b.hops, ImportMs: ms(b.importD)}
		if h, err := c0.Header(b.hash); err == nil && h.MainChain {
			st.Main = true
			res.BlocksMain++
		}
		imports = append(imports, st.ImportMs)
		if b.got == b.reach && b.reach > 0 {
			var arr []float64
			for i, a := range b.arrivals {
				if b.inReach[i] {
					arr = append(arr, float64(a)/1e6)
				}
			}
			slices.Sort(arr)
			q := func(f float64) float64 { return arr[max(0, int(math.Ceil(f*float64(len(arr))))-1)] }
			st.T50Ms, st.T90Ms, st.T100Ms = q(.5), q(.9), arr[len(arr)-1]
			t50, t90, t100 = append(t50, st.T50Ms), append(t90, st.T90Ms), append(t100, st.T100Ms)
			st.PeakCPU = peakCPU(cpu, b.mined, b.mined.Add(time.Duration(st.T100Ms*float64(time.Millisecond))), runtime.NumCPU())
			if st.PeakCPU < saturated {
				calm = append(calm, st.T100Ms)
			}
			sumAll += st.T100Ms
			bounds = append(bounds, st.BoundMs)
			for _, d := range b.hopDelays() {
				hops = append(hops, ms(d))
			}
			s.trace.mu.Lock()
			b.trace.parts(s.linkLatency, b.arrivals, &parts)
			s.trace.mu.Unlock()
			meshBounds = append(meshBounds, st.MeshMs)
			if st.MeshMs > 0 {
				meshRatios = append(meshRatios, st.T100Ms/st.MeshMs)
			}
			if st.BoundMs > 0 {
				st.Ratio = st.T100Ms / st.BoundMs
				ratios = append(ratios, st.Ratio)
			}
			res.BlocksComplete++
		}
		res.Blocks = append(res.Blocks, st)
	}
	res.BlocksMined = len(s.order)
	if res.BlocksMined > 0 {
		res.StaleRate = float64(res.BlocksMined-res.BlocksMain) / float64(res.BlocksMined)
	}
	if len(t100) > 0 {
		res.MeanTimeToAllMs = sumAll / float64(len(t100))
		res.StaleRateTheory = 1 - math.Exp(-res.MeanTimeToAllMs/ms(s.cfg.BlockTime))
	}
	res.Propagation50, res.Propagation90, res.Propagation = percentiles(t50), percentiles(t90), percentiles(t100)
	res.Bound, res.PropagationRatio, res.ImportMs = percentiles(bounds), percentiles(ratios), percentiles(imports)
	res.MeshBound, res.MeshRatio = percentiles(meshBounds), percentiles(meshRatios)
	res.HopDelay = percentiles(hops)
	res.PropagationCalm = percentiles(calm)
	res.CPUSaturated = saturatedShare(cpu, runtime.NumCPU())
	res.HopParts = HopParts{Forward: percentiles(parts.forward), Queue: percentiles(parts.queue),
		Wire: percentiles(parts.wire), Wait: percentiles(parts.wait), Validate: percentiles(parts.validate), Loop: percentiles(parts.loop)}
	res.Reorgs = Reorgs{Count: s.reorgs, MaxDepth: s.maxDepth}

	var txp, txi []float64
	for _, t := range s.txOrder {
		if t.tracked {
			res.TxTracked++
			if t.allAt > 0 {
				txp = append(txp, ms(t.allAt))
			} else {
				res.TxTrackedLost++
			}
		}
		if loc, err := c0.TxLocation(t.id); err == nil {
			res.TxsIncluded++
			if b := s.blocks[loc.Block]; b != nil {
				txi = append(txi, ms(b.mined.Sub(t.submitted)))
			}
		}
	}
	res.TxsSubmitted, res.TxsRefused = len(s.txOrder), s.txRefused
	res.TxPropagation, res.TxInclusion = percentiles(txp), percentiles(txi)
	var lg []float64
	for _, l := range lags {
		lg = append(lg, ms(l))
	}
	res.SchedulerLag = percentiles(lg)
	res.CPUBound = res.SchedulerLag.P99 > 20
	res.Heights = s.heights
	res.Checks = res.Targets()
}

// HopParts takes apart, in ms, the hop by which each node got a block's
// first copy, from GossipSub's trace events at the sender and the
// receiver: the sender's time from validating the block to queueing it
// for the peer (its import, then GossipSub's event loop), its time in the
// peer's outbound queue until written, the wire beyond the link's
// latency (bandwidth and the simulator's delivery), the receiver's time
// from reading it to validating it, and the validation itself (the
// node's import of the block).
type HopParts struct {
	Forward  Percentiles `json:"forward"`
	Queue    Percentiles `json:"queue"`
	Wire     Percentiles `json:"wire"`
	Wait     Percentiles `json:"wait"`
	Validate Percentiles `json:"validate"`
	Loop     Percentiles `json:"loop"`
}

// linkLatency is the one-way latency from node j to node k.
func (s *sim) linkLatency(j, k int) time.Duration {
	return s.latency(s.nodes[j].host.ID(), s.nodes[k].host.ID())
}

// schedLatencies reads the Go runtime's histogram of how long goroutines
// were runnable before they ran.
func schedLatencies() *metrics.Float64Histogram {
	m := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return m[0].Value.Float64Histogram()
}

// histPercentiles gives the percentiles, in ms, of what histogram b
// gained since a (the upper edge of the bucket each falls in).
func histPercentiles(a, b *metrics.Float64Histogram) Percentiles {
	if a == nil || b == nil || len(a.Counts) != len(b.Counts) {
		return Percentiles{}
	}
	var total uint64
	d := make([]uint64, len(b.Counts))
	for i := range d {
		d[i] = b.Counts[i] - a.Counts[i]
		total += d[i]
	}
	q := func(f float64) float64 {
		want := uint64(math.Ceil(f * float64(total)))
		var n uint64
		for i, c := range d {
			n += c
			if n >= want && c > 0 {
				return b.Buckets[i+1] * 1e3
			}
		}
		return math.NaN()
	}
	if total == 0 {
		return Percentiles{}
	}
	return Percentiles{P50: q(.5), P90: q(.9), P95: q(.95), P99: q(.99), N: int(total)}
}

// cpuSample is the process's CPU time at a moment.
type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// cpuMeter samples the process's CPU time every 100 ms until ctx ends.
func cpuMeter(ctx context.Context, out *[]cpuSample) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	*out = append(*out, cpuSample{time.Now(), cpuTime()})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			*out = append(*out, cpuSample{time.Now(), cpuTime()})
		}
	}
}

// saturated is the share of all cores past which an interval counts as
// CPU-saturated.
const saturated = 0.9

// usage is the share of cores used between samples i-1 and i.
func usage(cpu []cpuSample, i, cores int) float64 {
	dt := cpu[i].at.Sub(cpu[i-1].at)
	if dt <= 0 {
		return 0
	}
	return float64(cpu[i].cpu-cpu[i-1].cpu) / float64(dt) / float64(cores)
}

// peakCPU is the highest usage over the intervals that overlap [from, to].
func peakCPU(cpu []cpuSample, from, to time.Time, cores int) float64 {
	peak := 0.0
	for i := 1; i < len(cpu); i++ {
		if cpu[i].at.After(from) && cpu[i-1].at.Before(to) {
			peak = max(peak, usage(cpu, i, cores))
		}
	}
	return peak
}

// saturatedShare is the share of intervals whose usage reached saturated.
func saturatedShare(cpu []cpuSample, cores int) float64 {
	if len(cpu) < 2 {
		return 0
	}
	n := 0
	for i := 1; i < len(cpu); i++ {
		if usage(cpu, i, cores) >= saturated {
			n++
		}
	}
	return float64(n) / float64(len(cpu)-1)
}
