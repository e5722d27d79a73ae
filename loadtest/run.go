package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
)

const (
	// miners is how many of the nodes mine; one more is the entry node.
	miners = 2
	// settleTimeout bounds the waits for the nodes to connect and, at
	// the end, to agree on one tip.
	settleTimeout = 30 * time.Second
	// lostSample is how many lost txs are looked up on every node.
	lostSample = 500
)

// report is the result, also written as JSON.
type report struct {
	BlockTimeS float64        `json:"block_time_s"`
	Senders    int            `json:"senders"`
	StageS     float64        `json:"stage_s"`
	Stages     []*stageReport `json:"stages"`

	AcceptedTotal int `json:"accepted_total"`
	MinedTotal    int `json:"mined_total"` // accepted txs in the final chain
	LostTotal     int `json:"lost_total"`  // accepted txs not in it
	// LostWhere says where a sample of the lost txs still is.
	LostWhere map[string]int `json:"lost_where,omitempty"`
	// SentWithoutAnswer are txs whose tx_send failed without an answer
	// and which the node did not know just after; some may be mined.
	SentWithoutAnswer      int `json:"sent_without_answer"`
	SentWithoutAnswerMined int `json:"sent_without_answer_mined"`

	Drained bool    `json:"drained"` // every accepted tx was mined within -drain
	DrainS  float64 `json:"drain_s"`

	TipHeight     uint64     `json:"tip_height"`
	SameTip       bool       `json:"same_tip"`
	SameStateRoot bool       `json:"same_state_root"`
	Tips          []nodeHead `json:"tips"`

	ConservationOK     bool     `json:"conservation_ok"`
	AccountsChecked    int      `json:"accounts_checked"` // per node
	ConservationErrors []string `json:"conservation_errors,omitempty"`
}

func (r *report) ok() bool {
	return r.LostTotal == 0 && r.ConservationOK && r.SameTip && r.SameStateRoot
}

type nodeHead struct {
	Node      string `json:"node"`
	Height    uint64 `json:"height"`
	Hash      string `json:"hash"`
	StateRoot string `json:"state_root"`
}

// stageReport is one stage.
type stageReport struct {
	RateTPS            int            `json:"rate_tps"`
	DurationS          float64        `json:"duration_s"`
	OfferedTPS         float64        `json:"offered_tps"`
	AcceptedTPS        float64        `json:"accepted_tps"`
	Offered            int            `json:"offered"`
	Accepted           int            `json:"accepted"`
	Behind             int            `json:"behind"` // due but not sent: every submitter busy
	Rejects            map[string]int `json:"rejects"`
	Resyncs            int            `json:"nonce_resyncs"`
	AcceptedAfterError int            `json:"accepted_after_error"`
	Lost               int            `json:"lost"`
	SubmitP50S         float64        `json:"submit_p50_s"`
	SubmitP95S         float64        `json:"submit_p95_s"`
	InclusionP50S      float64        `json:"inclusion_p50_s"`
	InclusionP95S      float64        `json:"inclusion_p95_s"`
	// NextBlockP95S is the floor under the inclusion latency: for each
	// accepted tx, the time until the next main-chain block appeared at
	// the entry node, whatever it held (p95). With blocks found at
	// random, mean T apart, it is about ln(20)·T ≈ 3·T.
	NextBlockP95S   float64     `json:"next_block_p95_s"`
	Blocks          int         `json:"blocks"`
	TxsPerBlockMean float64     `json:"txs_per_block_mean"`
	TxsPerBlockMax  int         `json:"txs_per_block_max"`
	BlockBytesMean  float64     `json:"block_bytes_mean"`
	BlockBytesMax   int         `json:"block_bytes_max"`
	SameTip         bool        `json:"same_tip"` // at the end of the stage
	Nodes           []nodeStage `json:"nodes"`
	LoadtestCPUPct  float64     `json:"loadtest_cpu_pct"`
}

// nodeStage is one node at the end of a stage.
type nodeStage struct {
	Node        string  `json:"node"`
	Height      uint64  `json:"height"`
	Tip         string  `json:"tip"`
	PoolPending int     `json:"pool_pending"`
	PoolQueued  int     `json:"pool_queued"`
	PoolBytes   int     `json:"pool_bytes"`
	CPUPct      float64 `json:"cpu_pct"` // of one core, over the stage
	RSSMB       float64 `json:"rss_mb"`
	// GossipDrops are cairn_gossip_dropped_total's increase over the
	// stage, by "topic/cause", duplicates aside.
	GossipDrops map[string]uint64 `json:"gossip_drops,omitempty"`
}

// snapshot is what is read of the processes at a stage boundary.
type snapshot struct {
	at    time.Time
	procs []procUsage // the nodes', then the load test's
	drops []map[string]uint64
}

func takeSnapshot(ctx context.Context, c *cluster) snapshot {
	s := snapshot{at: time.Now()}
	for _, nd := range c.nodes {
		s.procs = append(s.procs, readProc(nd.pid()))
		s.drops = append(s.drops, scrapeDrops(ctx, nd))
	}
	s.procs = append(s.procs, readProc(os.Getpid()))
	return s
}

// scrapeDrops reads cairn_gossip_dropped_total from nd's metrics, by
// "topic/cause"; nil if it cannot.
func scrapeDrops(ctx context.Context, nd *node) map[string]uint64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", nd.metricsPort), nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "cairn_gossip_dropped_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			continue
		}
		var topic, cause string
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "topic":
				topic = v
			case "cause":
				cause = v
			}
		}
		f, err := strconv.ParseFloat(value, 64)
		if err == nil {
			out[topic+"/"+cause] = uint64(f)
		}
	}
	return out
}

// run is the load test: setup, stages, drain, checks, report.
func run(ctx context.Context, o options, out io.Writer) (rep *report, err error) {
	dir, remove, err := prepareDir(o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if remove {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(out, "datadirs and logs kept in %s\n", dir)
		}
	}()
	cairnd := o.cairnd
	if cairnd == "" {
		fmt.Fprintln(out, "building cairnd…")
		if cairnd, err = buildCairnd(ctx, filepath.Join(dir, "bin")); err != nil {
			return nil, err
		}
	}
	l := newLoad(nil, [32]byte{}, o.senders)
	var alloc []consensus.Alloc
	for _, s := range l.senders {
		alloc = append(alloc, consensus.Alloc{Address: s.addr, Amount: senderFunds})
	}
	params, err := newGenesis(o.blockTime, miners, alloc)
	if err != nil {
		return nil, err
	}
	gj, err := params.MarshalGenesis()
	if err != nil {
		return nil, err
	}
	genesisPath := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(genesisPath, gj, 0o644); err != nil {
		return nil, err
	}
	l.genesis = params.GenesisHash()
	c, err := startCluster(ctx, cairnd, dir, genesisPath, l.genesis.String(), miners, o.logLevel)
	if err != nil {
		return nil, err
	}
	defer func() {
		fmt.Fprintln(out, "stopping the nodes…")
		if serr := c.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	entry := c.entry()
	l.client = entry.client
	fmt.Fprintf(out, "%d nodes in %s (genesis %s, block time %s, %d senders):\n", len(c.nodes), dir, l.genesis, o.blockTime, o.senders)
	for _, nd := range c.nodes {
		role := "entry, tx_send here"
		if nd.miner != nil {
			role = "mining, 1 thread"
		}
		fmt.Fprintf(out, "  %-7s rpc %s  metrics http://127.0.0.1:%d/metrics  pid %d  (%s)\n", nd.name, nd.rpcURL(), nd.metricsPort, nd.pid(), role)
	}
	if err := waitConnected(ctx, c); err != nil {
		return nil, err
	}
	sc, err := newScanner(ctx, entry.client)
	if err != nil {
		return nil, err
	}
	scanCtx, stopScan := context.WithCancel(ctx)
	scanDone := make(chan struct{})
	go func() { sc.run(scanCtx); close(scanDone) }()
	defer func() { stopScan(); <-scanDone }()

	rep = &report{BlockTimeS: o.blockTime.Seconds(), Senders: o.senders, StageS: o.stage.Seconds()}
	stats := make([]*stageStats, len(o.rates))
	for i, rate := range o.rates {
		before := takeSnapshot(ctx, c)
		sc.phase.Store(int64(i))
		fmt.Fprintf(out, "\nstage %d/%d: %d tx/s for %s…\n", i+1, len(o.rates), rate, o.stage)
		stats[i] = l.runStage(ctx, i, rate, o.stage, o.workers)
		if ctx.Err() != nil {
			return nil, errors.New("interrupted")
		}
		after := takeSnapshot(ctx, c)
		sr := stageSummary(ctx, c, rate, stats[i], before, after)
		rep.Stages = append(rep.Stages, sr)
		printStage(out, sr)
		if err := c.alive(); err != nil {
			return nil, err
		}
	}
	sc.phase.Store(phaseDrain)

	// Drain: every accepted tx in the entry node's main chain.
	accepted := l.acceptedTxs()
	drainStart := time.Now()
	fmt.Fprintf(out, "\ndraining: waiting up to %s for %d accepted txs to be mined…\n", o.drain, len(accepted))
	rep.Drained = waitUntil(ctx, o.drain, 200*time.Millisecond, func() bool { return sc.missing(accepted) == 0 })
	rep.DrainS = time.Since(drainStart).Seconds()
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	fmt.Fprintf(out, "  %s after %.1fs; %d not mined\n", map[bool]string{true: "all mined", false: "gave up"}[rep.Drained], rep.DrainS, sc.missing(accepted))

	// Stop the miners, let the last blocks spread, and check.
	if err := c.stopMining(ctx); err != nil {
		return nil, err
	}
	heads, same := waitSameTip(ctx, c)
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	rep.Tips, rep.SameTip, rep.SameStateRoot = heads, same, same
	for _, h := range heads[1:] {
		rep.SameTip = rep.SameTip && h.Hash == heads[0].Hash
		rep.SameStateRoot = rep.SameStateRoot && h.StateRoot == heads[0].StateRoot
	}
	if err := sc.poll(ctx); err != nil {
		return nil, fmt.Errorf("final scan: %w", err)
	}
	stopScan()
	<-scanDone
	entryHead := heads[len(heads)-1]
	rep.TipHeight = entryHead.Height
	rp, err := replayChain(ctx, entry.client, params, entryHead.Height)
	if err != nil {
		return nil, err
	}
	checkAccounts(ctx, c, l, rp, rep)
	finishStages(ctx, c, l, sc, rp, rep)
	printSummary(out, rep)
	if o.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// waitUntil polls cond every period until it holds (true) or d passes or
// ctx ends (false).
func waitUntil(ctx context.Context, d, period time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// waitConnected waits until every node has every other as a peer.
func waitConnected(ctx context.Context, c *cluster) error {
	want := len(c.nodes) - 1
	var last string
	ok := waitUntil(ctx, settleTimeout, 100*time.Millisecond, func() bool {
		var counts []string
		all := true
		for _, nd := range c.nodes {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ni, err := nd.client.NetInfo(cctx)
			cancel()
			n := 0
			if err == nil {
				n = ni.Peers
			}
			all = all && n >= want
			counts = append(counts, fmt.Sprintf("%s %d", nd.name, n))
		}
		last = strings.Join(counts, ", ")
		return all
	})
	if !ok {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return fmt.Errorf("the nodes did not all connect within %s (peers: %s)", settleTimeout, last)
	}
	return nil
}

// alive returns an error if a node exited.
func (c *cluster) alive() error {
	for _, nd := range c.nodes {
		if !nd.running() {
			return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", nd.name, nd.err, nd.logPath(), logTail(nd.logPath(), 15))
		}
	}
	return nil
}

// stopMining stops the miners' miners (admin, with their cookies).
func (c *cluster) stopMining(ctx context.Context) error {
	for _, nd := range c.nodes {
		if nd.miner == nil {
			continue
		}
		tok, err := rpc.ReadCookie(nd.dir)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = rpc.NewClient(nd.rpcURL(), rpc.WithToken(tok)).MinerStop(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: miner_stop: %w", nd.name, err)
		}
	}
	return nil
}

// heads reads every node's head (an empty hash for a node that does not
// answer).
func (c *cluster) heads(ctx context.Context) []nodeHead {
	var out []nodeHead
	for _, nd := range c.nodes {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		h, err := nd.client.Head(cctx)
		cancel()
		nh := nodeHead{Node: nd.name}
		if err == nil {
			nh.Height, nh.Hash, nh.StateRoot = h.Height, h.Hash, h.StateRoot
		}
		out = append(out, nh)
	}
	return out
}

// waitSameTip waits until every node has the same head, at most
// settleTimeout.
func waitSameTip(ctx context.Context, c *cluster) ([]nodeHead, bool) {
	var heads []nodeHead
	same := waitUntil(ctx, settleTimeout, 100*time.Millisecond, func() bool {
		heads = c.heads(ctx)
		for _, h := range heads {
			if h.Hash == "" || h.Hash != heads[0].Hash {
				return false
			}
		}
		return true
	})
	return heads, same
}

// stageSummary makes the stage's report from its counters and what the
// nodes say at its end; lost, inclusion and block fill come later.
func stageSummary(ctx context.Context, c *cluster, rate int, st *stageStats, before, after snapshot) *stageReport {
	el := after.at.Sub(before.at).Seconds()
	sr := &stageReport{
		RateTPS: rate, DurationS: el,
		Offered: st.offered, Accepted: st.accepted, Behind: st.behind,
		OfferedTPS: float64(st.offered) / el, AcceptedTPS: float64(st.accepted) / el,
		Rejects: st.rejects, Resyncs: st.resyncs, AcceptedAfterError: st.acceptedAfterError,
		SubmitP50S: percentile(st.submitLat, 0.50).Seconds(),
		SubmitP95S: percentile(st.submitLat, 0.95).Seconds(),
	}
	heads := c.heads(ctx)
	sr.SameTip = true
	for i, nd := range c.nodes {
		ns := nodeStage{Node: nd.name, Height: heads[i].Height, Tip: heads[i].Hash}
		sr.SameTip = sr.SameTip && heads[i].Hash != "" && heads[i].Hash == heads[0].Hash
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if ps, err := nd.client.PoolStatus(cctx); err == nil {
			ns.PoolPending, ns.PoolQueued, ns.PoolBytes = ps.Pending, ps.Queued, ps.Bytes
		}
		cancel()
		if b, a := before.procs[i], after.procs[i]; b.ok && a.ok {
			ns.CPUPct = 100 * (a.cpu - b.cpu).Seconds() / el
			ns.RSSMB = float64(a.rss) / (1 << 20)
		}
		for k, v := range after.drops[i] {
			if d := v - before.drops[i][k]; d > 0 && !strings.HasSuffix(k, "/duplicate") {
				if ns.GossipDrops == nil {
					ns.GossipDrops = map[string]uint64{}
				}
				ns.GossipDrops[k] = d
			}
		}
		sr.Nodes = append(sr.Nodes, ns)
	}
	self := len(c.nodes)
	if b, a := before.procs[self], after.procs[self]; b.ok && a.ok {
		sr.LoadtestCPUPct = 100 * (a.cpu - b.cpu).Seconds() / el
	}
	return sr
}

// checkAccounts compares every sender's and miner's account on every node
// with the replay.
func checkAccounts(ctx context.Context, c *cluster, l *load, rp *replay, rep *report) {
	var addrs []string
	for _, s := range l.senders {
		addrs = append(addrs, s.addr.String())
	}
	for _, a := range c.minerAddrs() {
		addrs = append(addrs, a.String())
	}
	rep.AccountsChecked = len(addrs)
	errs := slices.Clone(rp.errs)
	for _, nd := range c.nodes {
		for _, a := range addrs {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			acct, err := nd.client.Account(cctx, a)
			cancel()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: state_getAccount %s: %v", nd.name, a, err))
				continue
			}
			if acct.Balance != strconv.FormatUint(rp.balances[a], 10) || acct.Nonce != rp.nonces[a] {
				errs = append(errs, fmt.Sprintf("%s: %s has balance %s nonce %d, the chain replayed gives %d nonce %d",
					nd.name, a, acct.Balance, acct.Nonce, rp.balances[a], rp.nonces[a]))
			}
		}
	}
	rep.ConservationOK = len(errs) == 0
	const maxListed = 20
	if len(errs) > maxListed {
		errs = append(errs[:maxListed], fmt.Sprintf("… and %d more", len(errs)-maxListed))
	}
	rep.ConservationErrors = errs
}

// finishStages adds what is known only at the end: lost txs, inclusion
// latencies and block fill per stage, and where the lost txs are.
func finishStages(ctx context.Context, c *cluster, l *load, sc *scanner, rp *replay, rep *report) {
	accepted := l.acceptedTxs()
	incl := make([][]time.Duration, len(rep.Stages))
	next := make([][]time.Duration, len(rep.Stages))
	blocks := sc.chainBlocks()
	seen := make([]time.Time, len(blocks)) // when each block appeared, sorted
	for i, b := range blocks {
		seen[i] = b.seen
	}
	slices.SortFunc(seen, func(a, b time.Time) int { return a.Compare(b) })
	var lost []string
	for id, r := range accepted {
		if r.stage >= len(rep.Stages) {
			continue
		}
		if i, _ := slices.BinarySearchFunc(seen, r.acceptedAt, func(a, b time.Time) int { return a.Compare(b) }); i < len(seen) {
			for i < len(seen) && !seen[i].After(r.acceptedAt) {
				i++
			}
			if i < len(seen) {
				next[r.stage] = append(next[r.stage], seen[i].Sub(r.acceptedAt))
			}
		}
		if !rp.mined[id] {
			rep.Stages[r.stage].Lost++
			lost = append(lost, id)
			continue
		}
		if t, ok := sc.included(id); ok {
			incl[r.stage] = append(incl[r.stage], t.Sub(r.acceptedAt))
		}
	}
	rep.AcceptedTotal = len(accepted)
	rep.LostTotal = len(lost)
	rep.MinedTotal = rep.AcceptedTotal - rep.LostTotal
	for i, sr := range rep.Stages {
		sr.InclusionP50S = percentile(incl[i], 0.50).Seconds()
		sr.InclusionP95S = percentile(incl[i], 0.95).Seconds()
		sr.NextBlockP95S = percentile(next[i], 0.95).Seconds()
	}
	for _, b := range sc.chainBlocks() {
		if b.phase < 0 || b.phase >= len(rep.Stages) {
			continue
		}
		sr := rep.Stages[b.phase]
		sr.Blocks++
		sr.TxsPerBlockMean += float64(len(b.txIDs))
		sr.BlockBytesMean += float64(b.size)
		sr.TxsPerBlockMax = max(sr.TxsPerBlockMax, len(b.txIDs))
		sr.BlockBytesMax = max(sr.BlockBytesMax, b.size)
	}
	for _, sr := range rep.Stages {
		if sr.Blocks > 0 {
			sr.TxsPerBlockMean /= float64(sr.Blocks)
			sr.BlockBytesMean /= float64(sr.Blocks)
		}
	}
	l.mu.Lock()
	for id := range l.sent {
		rep.SentWithoutAnswer++
		if rp.mined[id] {
			rep.SentWithoutAnswerMined++
		}
	}
	l.mu.Unlock()
	if len(lost) > 0 {
		sort.Strings(lost)
		rep.LostWhere = lostWhere(ctx, c, lost[:min(len(lost), lostSample)])
	}
}

// lostWhere looks the lost txs up on every node: still pooled at the
// entry node only, pooled at a miner too, or in no pool.
func lostWhere(ctx context.Context, c *cluster, ids []string) map[string]int {
	out := map[string]int{"sampled": len(ids)}
	for _, id := range ids {
		var at []string
		for _, nd := range c.nodes {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			tx, err := nd.client.Transaction(cctx, id)
			cancel()
			if err == nil && tx.Status == "pending" {
				at = append(at, nd.name)
			}
		}
		switch {
		case len(at) == 0:
			out["in_no_pool"]++
		case len(at) == 1 && at[0] == c.entry().name:
			out["entry_pool_only"]++
		default:
			out["in_a_miner_pool"]++
		}
	}
	return out
}

func printStage(out io.Writer, sr *stageReport) {
	fmt.Fprintf(out, "  offered %.1f tx/s, accepted %.1f tx/s (%d of %d)", sr.OfferedTPS, sr.AcceptedTPS, sr.Accepted, sr.Offered)
	if sr.Behind > 0 {
		fmt.Fprintf(out, ", %d not sent: every submitter busy", sr.Behind)
	}
	fmt.Fprintf(out, "\n  submit latency p50 %s p95 %s; refused: %s", secs(sr.SubmitP50S), secs(sr.SubmitP95S), counts(sr.Rejects))
	if sr.Resyncs > 0 {
		fmt.Fprintf(out, "; %d nonce re-reads", sr.Resyncs)
	}
	if sr.AcceptedAfterError > 0 {
		fmt.Fprintf(out, "; %d accepted after an error", sr.AcceptedAfterError)
	}
	fmt.Fprintf(out, "\n  %-7s %7s  %-12s %16s %6s %8s  %s\n", "node", "height", "tip", "pool pend/queue", "cpu", "rss", "gossip drops in the stage")
	for _, ns := range sr.Nodes {
		tip := ns.Tip
		if len(tip) > 12 {
			tip = tip[:12]
		}
		drops := "none"
		if len(ns.GossipDrops) > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(ns.GossipDrops)) {
				parts = append(parts, fmt.Sprintf("%s=%d", k, ns.GossipDrops[k]))
			}
			drops = strings.Join(parts, " ")
		}
		fmt.Fprintf(out, "  %-7s %7d  %-12s %16s %5.0f%% %5.0f MB  %s\n", ns.Node, ns.Height, tip,
			fmt.Sprintf("%d/%d", ns.PoolPending, ns.PoolQueued), ns.CPUPct, ns.RSSMB, drops)
	}
	fmt.Fprintf(out, "  same tip: %v; load test cpu %.0f%%\n", sr.SameTip, sr.LoadtestCPUPct)
}

func printSummary(out io.Writer, r *report) {
	fmt.Fprintf(out, "\n%8s %9s %9s %6s %15s %15s %13s %6s %11s %11s  %s\n",
		"rate", "offered/s", "accept/s", "lost", "submit p50/p95", "incl. p50/p95", "next blk p95", "blocks", "tx/blk avg", "KB/blk avg", "refused")
	for _, s := range r.Stages {
		fmt.Fprintf(out, "%8d %9.1f %9.1f %6d %15s %15s %13s %6d %11.0f %11.1f  %s\n",
			s.RateTPS, s.OfferedTPS, s.AcceptedTPS, s.Lost,
			secs(s.SubmitP50S)+"/"+secs(s.SubmitP95S), secs(s.InclusionP50S)+"/"+secs(s.InclusionP95S),
			secs(s.NextBlockP95S), s.Blocks, s.TxsPerBlockMean, s.BlockBytesMean/1024, counts(s.Rejects))
	}
	fmt.Fprintf(out, "\naccepted %d, mined %d, lost %d (accepted, never mined)", r.AcceptedTotal, r.MinedTotal, r.LostTotal)
	if len(r.LostWhere) > 0 {
		fmt.Fprintf(out, "; lost txs now: %s", counts(r.LostWhere))
	}
	fmt.Fprintln(out)
	if r.SentWithoutAnswer > 0 {
		fmt.Fprintf(out, "sent without an answer: %d, of which mined %d\n", r.SentWithoutAnswer, r.SentWithoutAnswerMined)
	}
	fmt.Fprintf(out, "drain: %v after %.1fs\n", map[bool]string{true: "every accepted tx mined", false: "not every accepted tx mined"}[r.Drained], r.DrainS)
	fmt.Fprintf(out, "tip: height %d; same tip on every node: %v; same state root: %v\n", r.TipHeight, r.SameTip, r.SameStateRoot)
	if !r.SameTip {
		for _, h := range r.Tips {
			fmt.Fprintf(out, "  %-7s %d %s\n", h.Node, h.Height, h.Hash)
		}
	}
	fmt.Fprintf(out, "conservation (chain replayed from genesis = %d accounts on every node): %v\n", r.AccountsChecked, map[bool]string{true: "ok", false: "FAILED"}[r.ConservationOK])
	for _, e := range r.ConservationErrors {
		fmt.Fprintf(out, "  %s\n", e)
	}
}

func secs(s float64) string {
	switch {
	case s == 0:
		return "-"
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	default:
		return fmt.Sprintf("%.1fs", s)
	}
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
