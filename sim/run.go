package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
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

	Propagation50    Percentiles `json:"propagation_50pct_ms"`
	Propagation90    Percentiles `json:"propagation_90pct_ms"`
	Propagation      Percentiles `json:"propagation_ms"`
	Bound            Percentiles `json:"bound_ms"`
	MeshBound        Percentiles `json:"mesh_bound_ms"`
	MeshRatio        Percentiles `json:"propagation_mesh_ratio"`
	HopDelay         Percentiles `json:"hop_delay_ms"`
	PropagationRatio Percentiles `json:"propagation_ratio"`
	ImportMs         Percentiles `json:"import_ms"`
	Reorgs           Reorgs      `json:"reorgs"`

	Partition            string    `json:"partition,omitempty"`
	MinorityNodes        int       `json:"minority_nodes,omitempty"`
	HealConvergedS       []float64 `json:"heal_converged_s"`
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
	CPUCores       float64     `json:"cpu_cores_used"`
	NumCPU         int         `json:"num_cpu"`
	CPUBound       bool        `json:"cpu_bound"`
	FinalConverged bool        `json:"final_converged"`
	FinalHeight    uint64      `json:"final_height"`
	VerifyErrors   int         `json:"verify_errors"`

	// GossipDrops sums every node's nonzero gossip drop counters
	// ("topic/cause"); BlocksIgnored the block messages its validator
	// ignored (already known, low work, throttled), over all nodes.
	GossipDrops   map[string]uint64 `json:"gossip_drops"`
	BlocksIgnored uint64            `json:"gossip_blocks_ignored"`

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
			healed := time.Now()
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
				res.HealConvergedS = append(res.HealConvergedS, d.Seconds())
				s.progress("converged %.2f s after the heal", d.Seconds())
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
		if err := n.nd.Chain().Verify(); err != nil {
			res.VerifyErrors++
		}
		for _, d := range n.nd.Net().GossipDrops() {
			if d.Count > 0 {
				res.GossipDrops[d.Topic+"/"+d.Cause] += d.Count
			}
		}
		res.BlocksIgnored += n.nd.Net().GossipStats().Blocks.Ignored
	}
	wall := time.Duration(res.DurationS * float64(time.Second))
	res.CPUCores = float64(cpu) / float64(wall)
	res.NumCPU = runtime.NumCPU()
	s.summarise(res, lags)
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

func (s *sim) summarise(res *Result, lags []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c0 := s.nodes[0].nd.Chain()
	var t50, t90, t100, bounds, ratios, imports, meshBounds, meshRatios, hops []float64
	var sumAll float64
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
			sumAll += st.T100Ms
			bounds = append(bounds, st.BoundMs)
			for _, d := range b.hopDelays() {
				hops = append(hops, ms(d))
			}
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
