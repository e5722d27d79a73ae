package sim

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Params returns the sim network's parameters: chaintest.Params (genesis
// bits = powLimit, so a block takes about 2 hashes) with n funded wallets
// named WalletName(i).
func Params(n int) *consensus.Params {
	p := *chaintest.Params()
	p.Network = "cairn-sim"
	p.Alloc = nil
	for i := 0; i < n; i++ {
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: chaintest.Key(WalletName(i)).Address(), Amount: chaintest.GenesisFunds})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return &p
}

// WalletName is the chaintest key name of funded wallet i.
func WalletName(i int) string { return fmt.Sprintf("sim-wallet-%d", i) }

type edge struct {
	a, b int
	lat  time.Duration
	cut  bool
}

type simNode struct {
	idx   int
	nd    *node.Node
	host  host.Host
	miner types.Address
}

type blockRec struct {
	hash     types.Hash
	miner    int
	height   uint64
	mined    time.Time
	importD  time.Duration
	size     int
	reach    int     // nodes reachable from the miner when it was mined
	inReach  []bool  // by node
	arrivals []int64 // ns since mined, by node; -1 = not yet
	got      int
	bound    time.Duration
	hops     int
	meshB    time.Duration // the bound over the block topic's mesh
	mesh     [][]*edge     // that mesh (and the miner's links) when it was mined
	trace    *msgTrace     // its message through GossipSub at every node
	txs      []types.Hash
}

type txRec struct {
	id        types.Hash
	submitted time.Time
	minority  bool // submitted on the minority side during the partition
	tracked   bool // followed to every pool
	have      []bool
	nhave     int
	allAt     time.Duration // 0 = not yet
	gaveUp    bool
}

type sim struct {
	cfg    Config
	params *consensus.Params
	mn     mocknet.Mocknet
	nodes  []*simNode
	edges  []*edge
	miners []int
	start  time.Time

	trace *hopTrace

	latMu sync.Mutex
	lats  map[[2]peer.ID]time.Duration // one-way latency of each link (delayHost)

	mu          sync.Mutex
	blocks      map[types.Hash]*blockRec
	order       []*blockRec
	txs         map[types.Hash]*txRec
	txOrder     []*txRec
	open        []*txRec // tracked, not yet in every pool
	minority    []bool   // by node, during the partition
	partitioned bool
	reorgs      int
	maxDepth    int
	txRefused   int
	heights     []HeightSample
}

// HeightSample is every node's tip height at one time.
type HeightSample struct {
	T       float64  `json:"t_s"`
	Heights []uint64 `json:"heights"`
}

// Run runs the simulation and returns its measurements.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &sim{cfg: cfg, params: Params(cfg.Wallets), mn: mocknet.New(),
		blocks: map[types.Hash]*blockRec{}, txs: map[types.Hash]*txRec{}, minority: make([]bool, cfg.Nodes),
		lats: map[[2]peer.ID]time.Duration{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.close()
	if err := s.build(ctx); err != nil {
		return nil, err
	}
	return s.run(ctx)
}

func (s *sim) progress(format string, args ...any) {
	if s.cfg.Progress != nil {
		s.cfg.Progress(format, args...)
	}
}

// build starts the nodes, links and connects them, and waits for gossip.
func (s *sim) build(ctx context.Context) error {
	cfg := s.cfg
	topo := rand.New(rand.NewPCG(cfg.Seed, 1))
	s.trace = newHopTrace(p2p.BlockTopic(s.params.NetID()))
	for i := 0; i < cfg.Nodes; i++ {
		h, err := s.mn.GenPeer()
		if err != nil {
			return fmt.Errorf("sim: new peer: %w", err)
		}
		var nh host.Host = h
		if !cfg.MocknetLatency {
			nh = &delayHost{Host: h, lat: func(p peer.ID) time.Duration { return s.latency(h.ID(), p) }}
		}
		s.trace.addNode(h.ID(), i)
		nd, err := node.New(node.Config{Params: s.params,
			P2P: p2p.Config{Host: nh, NoDHT: true, RequestTimeout: 5 * time.Second, LowWater: 4 * cfg.Peers, HighWater: 8 * cfg.Peers,
				GossipTracer: nodeTracer{t: s.trace, i: i}}})
		if err != nil {
			return fmt.Errorf("sim: node %d: %w", i, err)
		}
		if err := nd.Start(ctx); err != nil {
			return fmt.Errorf("sim: start node %d: %w", i, err)
		}
		sn := &simNode{idx: i, nd: nd, host: h, miner: chaintest.Key(fmt.Sprintf("sim-miner-%d", i)).Address()}
		s.nodes = append(s.nodes, sn)
		nd.OnTipChange(func(r chain.Result) { s.onTip(i, r) })
		nd.OnBlock(func(b *types.Block, r chain.Result) {
			if r.Status == chain.StatusSideChain {
				s.mu.Lock()
				s.arrived(i, b.Hash(), time.Now())
				s.mu.Unlock()
			}
		})
	}
	// Topology: each node dials Peers random others (no duplicate pair).
	seen := map[[2]int]bool{}
	for i := range s.nodes {
		k := min(cfg.Peers, cfg.Nodes-1)
		for _, j := range topo.Perm(cfg.Nodes) {
			if k == 0 {
				break
			}
			if j == i {
				continue
			}
			k--
			key := [2]int{min(i, j), max(i, j)}
			if seen[key] {
				continue
			}
			seen[key] = true
			lat := cfg.LatencyLo
			if cfg.LatencyHi > cfg.LatencyLo {
				lat += time.Duration(topo.Int64N(int64(cfg.LatencyHi-cfg.LatencyLo) + 1))
			}
			s.edges = append(s.edges, &edge{a: i, b: j, lat: lat})
		}
	}
	for _, e := range s.edges {
		if err := s.link(e); err != nil {
			return err
		}
	}
	// Miners: a seeded choice of nodes.
	m := cfg.Miners
	if m == 0 {
		m = cfg.Nodes
	}
	s.miners = topo.Perm(cfg.Nodes)[:m]
	slices.Sort(s.miners)
	// Wait (bounded) until each connected pair sees the other on both
	// gossip topics, so the first blocks are not lost to forming meshes.
	deadline := time.Now().Add(30*time.Second + time.Duration(cfg.Nodes)*200*time.Millisecond)
	for {
		ready := true
		for _, e := range s.edges {
			if !s.subscribed(e.a, e.b) || !s.subscribed(e.b, e.a) {
				ready = false
				break
			}
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("sim: gossip subscriptions did not form in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // poll, bounded by the deadline
		}
	}
	return nil
}

func (s *sim) subscribed(a, b int) bool {
	bl, tx := s.nodes[a].nd.Net().TopicPeers()
	id := s.nodes[b].host.ID()
	return slices.Contains(bl, id) && slices.Contains(tx, id)
}

func (s *sim) link(e *edge) error {
	a, b := s.nodes[e.a].host.ID(), s.nodes[e.b].host.ID()
	l, err := s.mn.LinkPeers(a, b)
	if err != nil {
		return fmt.Errorf("sim: link %d-%d: %w", e.a, e.b, err)
	}
	if s.cfg.MocknetLatency {
		l.SetOptions(mocknet.LinkOptions{Latency: e.lat, Bandwidth: s.cfg.Bandwidth})
	} else {
		// The latency is delayHost's; mocknet carries the bandwidth.
		s.latMu.Lock()
		s.lats[[2]peer.ID{a, b}], s.lats[[2]peer.ID{b, a}] = e.lat, e.lat
		s.latMu.Unlock()
		l.SetOptions(mocknet.LinkOptions{Bandwidth: s.cfg.Bandwidth})
	}
	if _, err := s.mn.ConnectPeers(a, b); err != nil {
		return fmt.Errorf("sim: connect %d-%d: %w", e.a, e.b, err)
	}
	return nil
}

// latency returns the one-way latency of the link from a to b.
func (s *sim) latency(a, b peer.ID) time.Duration {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	return s.lats[[2]peer.ID{a, b}]
}

func (s *sim) close() {
	var wg sync.WaitGroup
	for _, n := range s.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.nd.Stop()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.progress("sim: some nodes did not stop within 30 s")
	}
	_ = s.mn.Close()
}

// onTip records block arrivals, tx inclusions and reorgs at node i.
func (s *sim) onTip(i int, r chain.Result) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := len(r.Disconnected); d > 0 {
		s.reorgs++
		s.maxDepth = max(s.maxDepth, d)
	}
	for _, b := range r.Connected {
		rec := s.arrived(i, b.Hash(), now)
		if rec == nil {
			continue
		}
		for _, id := range rec.txs {
			if t := s.txs[id]; t != nil && t.tracked {
				s.markTx(t, i, now)
			}
		}
	}
}

// arrived records that node i imported block h (onto its main chain or a
// side branch) at now, and returns h's record (nil if the sim did not
// mine it). Called with s.mu held.
func (s *sim) arrived(i int, h types.Hash, now time.Time) *blockRec {
	rec := s.blocks[h]
	if rec != nil && rec.arrivals[i] < 0 {
		rec.arrivals[i] = int64(now.Sub(rec.mined))
		if rec.inReach[i] {
			rec.got++
		}
	}
	return rec
}

func (s *sim) markTx(t *txRec, i int, now time.Time) {
	if t.have[i] {
		return
	}
	t.have[i] = true
	t.nhave++
	if t.nhave == len(s.nodes) && t.allAt == 0 {
		t.allAt = max(now.Sub(t.submitted), 1)
	}
}

// graph returns the live adjacency (edges not cut).
func (s *sim) graph() [][]*edge {
	adj := make([][]*edge, len(s.nodes))
	for _, e := range s.edges {
		if !e.cut {
			adj[e.a] = append(adj[e.a], e)
			adj[e.b] = append(adj[e.b], e)
		}
	}
	return adj
}

// meshGraph returns the part of the live graph adj that a block from src
// travels by: src's own links (GossipSub floods a node's own message to
// every peer) and the links in the block topic's mesh of either end.
func (s *sim) meshGraph(adj [][]*edge, src int) [][]*edge {
	idx := make(map[peer.ID]int, len(s.nodes))
	for i, n := range s.nodes {
		idx[n.host.ID()] = i
	}
	inMesh := make(map[[2]int]bool)
	for i, n := range s.nodes {
		blocks, _ := n.nd.Net().MeshPeers()
		for _, p := range blocks {
			if j, ok := idx[p]; ok {
				inMesh[[2]int{min(i, j), max(i, j)}] = true
			}
		}
	}
	out := make([][]*edge, len(adj))
	for a, es := range adj {
		for _, e := range es {
			if e.a == src || e.b == src || inMesh[[2]int{min(e.a, e.b), max(e.a, e.b)}] {
				out[a] = append(out[a], e)
			}
		}
	}
	return out
}

// hopDelays returns, for each node but the miner that imported rec, how
// long after the earliest moment it could have had the block — a mesh
// neighbour's import plus the link's latency — it imported it: what a
// hop adds beyond the wire (transmission, decoding, validation, import,
// and the simulator's own scheduling).
func (rec *blockRec) hopDelays() []time.Duration {
	var out []time.Duration
	for k, a := range rec.arrivals {
		if k == rec.miner || a < 0 || rec.mesh == nil {
			continue
		}
		best := time.Duration(-1)
		for _, e := range rec.mesh[k] {
			j := e.a
			if j == k {
				j = e.b
			}
			if aj := rec.arrivals[j]; aj >= 0 && aj < a {
				if t := time.Duration(aj) + e.lat; best < 0 || t < best {
					best = t
				}
			}
		}
		if best >= 0 {
			out = append(out, max(0, time.Duration(a)-best))
		}
	}
	return out
}

// bound runs Dijkstra from src with edge weight latency + perHop (the
// import and transmission time a store-and-forward hop adds) and returns
// the reachable set, the largest distance and its hop count.
func bound(adj [][]*edge, src int, perHop time.Duration) (reach []bool, far time.Duration, hops int) {
	n := len(adj)
	dist := make([]time.Duration, n)
	hop := make([]int, n)
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	pq := &distHeap{{src, 0}}
	done := make([]bool, n)
	for pq.Len() > 0 {
		it := heap.Pop(pq).(distItem)
		if done[it.n] {
			continue
		}
		done[it.n] = true
		for _, e := range adj[it.n] {
			o := e.a
			if o == it.n {
				o = e.b
			}
			d := it.d + e.lat + perHop
			if dist[o] < 0 || d < dist[o] {
				dist[o], hop[o] = d, hop[it.n]+1
				heap.Push(pq, distItem{o, d})
			}
		}
	}
	reach = make([]bool, n)
	for i, d := range dist {
		if d >= 0 {
			reach[i] = true
			if d > far {
				far, hops = d, hop[i]
			}
		}
	}
	return reach, far, hops
}

type distItem struct {
	n int
	d time.Duration
}
type distHeap []distItem

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h distHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// mine has node i build, solve and submit one block.
func (s *sim) mine(i int) error {
	sn := s.nodes[i]
	c := sn.nd.Chain()
	txs := sn.nd.Pool().Template(s.params.MaxBlockSize - types.HeaderSize - 8)
	blk, err := c.NewBlockTemplate(txs, sn.miner, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("sim: node %d template: %w", i, err)
	}
	for consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, s.params.PowLimit) != nil {
		blk.Header.Nonce++
	}
	rec := &blockRec{hash: blk.Hash(), miner: i, height: blk.Header.Height, mined: time.Now(),
		size: blk.EncodedSize(), arrivals: make([]int64, len(s.nodes)), txs: blk.TxIDs()}
	for k := range rec.arrivals {
		rec.arrivals[k] = -1
	}
	rec.trace = s.trace.track(messageID(blk.Encode()), rec.mined, i, len(s.nodes))
	s.mu.Lock()
	adj := s.graph()
	s.blocks[rec.hash] = rec
	s.order = append(s.order, rec)
	rec.inReach, _, _ = bound(adj, i, 0)
	for _, r := range rec.inReach {
		if r {
			rec.reach++
		}
	}
	s.mu.Unlock()
	t0 := time.Now()
	res, err := sn.nd.SubmitBlock(blk)
	imp := time.Since(t0)
	if err != nil || (res.Status != chain.StatusConnected && res.Status != chain.StatusSideChain) {
		return fmt.Errorf("sim: node %d refused its own block: %v %v", i, res.Status, err)
	}
	perHop := imp + time.Duration(float64(rec.size)/s.cfg.Bandwidth*float64(time.Second))
	_, far, hops := bound(adj, i, perHop)
	mesh := s.meshGraph(adj, i)
	_, meshFar, _ := bound(mesh, i, perHop)
	s.mu.Lock()
	rec.importD, rec.bound, rec.hops, rec.meshB, rec.mesh = imp, far, hops, meshFar, mesh
	s.mu.Unlock()
	return nil
}

// expDelay draws an exponential delay of the given mean.
func expDelay(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

// mining runs the Poisson process of blocks until ctx ends.
func (s *sim) mining(ctx context.Context, errc chan<- error) {
	r := rand.New(rand.NewPCG(s.cfg.Seed, 2))
	next := time.Now()
	for {
		next = next.Add(expDelay(r, s.cfg.BlockTime))
		miner := s.miners[r.IntN(len(s.miners))]
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.mine(miner); err != nil {
			errc <- err
			return
		}
	}
}

// load submits transfers at TxRate until ctx ends.
func (s *sim) load(ctx context.Context) {
	if s.cfg.TxRate <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(s.cfg.Seed, 3))
	nonces := make([]uint64, s.cfg.Wallets)
	genesis := s.params.GenesisHash()
	mean := time.Duration(float64(time.Second) / s.cfg.TxRate)
	trackP := min(1, 5/s.cfg.TxRate) // follow about 5 txs a second to every pool
	minorityWallets := (s.cfg.Wallets*s.cfg.PartitionPct + 50) / 100
	if s.cfg.PartitionPct > 50 {
		minorityWallets = s.cfg.Wallets - minorityWallets
	}
	next := time.Now()
	for {
		next = next.Add(expDelay(r, mean))
		w := r.IntN(s.cfg.Wallets)
		to := r.IntN(s.cfg.Wallets)
		pick := r.IntN(1 << 30)
		track := r.Float64() < trackP
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// During the partition a wallet stays on one side: the first
		// minorityWallets wallets on the minority side.
		s.mu.Lock()
		parted := s.partitioned
		var side []int
		for i, m := range s.minority {
			if !parted || m == (w < minorityWallets) {
				side = append(side, i)
			}
		}
		s.mu.Unlock()
		at := side[pick%len(side)]
		tx := &types.Tx{Version: types.TxVersion, To: chaintest.Key(WalletName(to)).Address(),
			Amount: 1 + uint64(r.IntN(1000)), Fee: 1000 + uint64(r.IntN(1000)), Nonce: nonces[w]}
		chaintest.Key(WalletName(w)).Sign(tx, genesis)
		now := time.Now()
		rec := &txRec{id: tx.ID(), submitted: now, minority: parted && w < minorityWallets,
			tracked: track && !parted, have: make([]bool, len(s.nodes))}
		s.mu.Lock()
		s.txs[rec.id] = rec
		s.mu.Unlock()
		if _, err := s.nodes[at].nd.SubmitTx(tx); err != nil {
			s.mu.Lock()
			delete(s.txs, rec.id)
			s.txRefused++
			s.mu.Unlock()
			continue
		}
		nonces[w]++
		s.mu.Lock()
		s.txOrder = append(s.txOrder, rec)
		if rec.tracked {
			s.open = append(s.open, rec)
		}
		s.mu.Unlock()
	}
}

// pollPools follows the tracked txs into every pool, and samples tip
// heights, until ctx ends.
func (s *sim) pollPools(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastSample := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		open := append([]*txRec(nil), s.open...)
		s.mu.Unlock()
		now := time.Now()
		for _, t := range open {
			for i, n := range s.nodes {
				s.mu.Lock()
				h := t.have[i]
				s.mu.Unlock()
				if !h && n.nd.Pool().Has(t.id) {
					s.mu.Lock()
					s.markTx(t, i, now)
					s.mu.Unlock()
				}
			}
		}
		s.mu.Lock()
		keep := s.open[:0]
		for _, t := range s.open {
			if t.allAt == 0 && now.Sub(t.submitted) > 60*time.Second {
				t.gaveUp = true
			}
			if t.allAt == 0 && !t.gaveUp {
				keep = append(keep, t)
			}
		}
		s.open = keep
		s.mu.Unlock()
		if now.Sub(lastSample) >= 250*time.Millisecond {
			lastSample = now
			hs := make([]uint64, len(s.nodes))
			for i, n := range s.nodes {
				hs[i] = n.nd.Chain().Tip().Height
			}
			s.mu.Lock()
			s.heights = append(s.heights, HeightSample{T: now.Sub(s.start).Seconds(), Heights: hs})
			s.mu.Unlock()
		}
	}
}

// lagMeter measures how late a 5 ms timer fires: the simulator's own
// scheduling lag.
func lagMeter(ctx context.Context, out *[]time.Duration) {
	const every = 5 * time.Millisecond
	next := time.Now()
	for {
		next = next.Add(every)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		late := time.Since(next)
		*out = append(*out, late)
		if late > every {
			next = time.Now()
		}
	}
}

// sameTip reports whether every node has one tip hash and state root.
func (s *sim) sameTip() bool {
	t0 := s.nodes[0].nd.Chain().Tip()
	for _, n := range s.nodes[1:] {
		t := n.nd.Chain().Tip()
		if t.Hash != t0.Hash || t.Header.StateRoot != t0.Header.StateRoot {
			return false
		}
	}
	return true
}

// waitSameTip polls (every 10 ms) until sameTip or the deadline; it
// returns how long that took and whether it happened.
func (s *sim) waitSameTip(ctx context.Context, timeout time.Duration) (time.Duration, bool) {
	t0 := time.Now()
	for {
		if s.sameTip() {
			return time.Since(t0), true
		}
		if time.Since(t0) > timeout {
			return time.Since(t0), false
		}
		select {
		case <-ctx.Done():
			return time.Since(t0), false
		case <-time.After(10 * time.Millisecond): // measurement poll, bounded
		}
	}
}

// partition cuts the minority off; heal undoes it.
func (s *sim) partition(ctx context.Context) {
	r := rand.New(rand.NewPCG(s.cfg.Seed, 4))
	k := (s.cfg.PartitionPct*s.cfg.Nodes + 50) / 100
	side := make([]bool, s.cfg.Nodes)
	for _, i := range r.Perm(s.cfg.Nodes)[:k] {
		side[i] = true
	}
	if k*2 > s.cfg.Nodes { // "minority" is the smaller side
		for i := range side {
			side[i] = !side[i]
		}
	}
	s.mu.Lock()
	s.minority = side
	s.partitioned = true
	for _, e := range s.edges {
		if side[e.a] != side[e.b] {
			e.cut = true
		}
	}
	s.mu.Unlock()
	for _, e := range s.edges {
		if !e.cut {
			continue
		}
		a, b := s.nodes[e.a], s.nodes[e.b]
		a.nd.Net().BanPeer(b.host.ID(), time.Hour)
		b.nd.Net().BanPeer(a.host.ID(), time.Hour)
		_ = s.mn.UnlinkPeers(a.host.ID(), b.host.ID())
		_ = s.mn.DisconnectPeers(a.host.ID(), b.host.ID())
	}
	// Make sure no cut connection survives (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		clean := true
		for _, e := range s.edges {
			if e.cut && s.nodes[e.a].host.Network().Connectedness(s.nodes[e.b].host.ID()) == network.Connected {
				_ = s.mn.DisconnectPeers(s.nodes[e.a].host.ID(), s.nodes[e.b].host.ID())
				clean = false
			}
		}
		if clean {
			break
		}
		time.Sleep(10 * time.Millisecond) // retry interval, bounded by the deadline
	}
}

func (s *sim) heal() error {
	s.mu.Lock()
	s.partitioned = false
	var cut []*edge
	for _, e := range s.edges {
		if e.cut {
			cut = append(cut, e)
		}
	}
	s.mu.Unlock()
	for _, e := range cut {
		a, b := s.nodes[e.a], s.nodes[e.b]
		a.nd.Net().UnbanPeer(b.host.ID())
		b.nd.Net().UnbanPeer(a.host.ID())
		if err := s.link(e); err != nil {
			return err
		}
	}
	s.mu.Lock()
	for _, e := range cut {
		e.cut = false
	}
	s.mu.Unlock()
	return nil
}

// recovered returns the fraction of minority txs that at least frac of
// the nodes hold, each in its pool or on its own main chain, and a line
// saying how many were on node at's main chain and how the rest were
// spread. A node counts either way: a block that includes the tx removes
// it from the pools of the nodes it reaches, before it reaches the rest.
func (s *sim) recovered(ids []types.Hash, at int, frac float64) (float64, string) {
	if len(ids) == 0 {
		return math.NaN(), "no minority txs"
	}
	ok, onChain := 0, 0
	need := int(math.Ceil(frac * float64(len(s.nodes))))
	var short []int
	for _, id := range ids {
		n := 0
		for i, nd := range s.nodes {
			_, err := nd.nd.Chain().TxLocation(id)
			if err == nil && i == at {
				onChain++
			}
			if err == nil || nd.nd.Pool().Has(id) {
				n++
			}
		}
		if n >= need {
			ok++
		} else {
			short = append(short, n)
		}
	}
	slices.Sort(short)
	why := fmt.Sprintf("%d held by >= %d nodes (pool or main chain; %d on node %d's chain)", ok, need, onChain, at)
	if len(short) > 0 {
		why += fmt.Sprintf(", %d by fewer (median %d nodes, least %d)", len(short), short[len(short)/2], short[0])
	}
	return float64(ok) / float64(len(ids)), why
}

func (s *sim) minorityTxs() []types.Hash {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []types.Hash
	for _, t := range s.txOrder {
		if t.minority {
			ids = append(ids, t.id)
		}
	}
	return ids
}

func (s *sim) majorityNode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range s.minority {
		if !m {
			return i
		}
	}
	return 0
}
