package explorer

import (
	"math/big"
	"net/http"
	"sync"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
)

// overviewView is the data of the overview's live panels.
type overviewView struct {
	Node       rpc.NodeInfo
	Tip        tipView
	HashRate   float64 // hashes/s over RateBlocks blocks; 0 when unknown
	RateBlocks int
	RateMs     int64 // the time those blocks took
	Blocks     []blockRow
	Pool       rpc.PoolStatus
	Peers      []peerRow
	Tips       []rpc.ChainTip // the active one first
	MoreTips   int            // tips not listed
	Reorgs     []reorgRow     // newest first
	Chart      chartView
}

func (*overviewView) title() string { return "" }

type tipView struct {
	Height     uint64
	Hash       string
	Time       int64
	Bits       string
	Difficulty float64 // expected hashes per block at its target
	Work       string  // cumulative, decimal
	WorkF      float64
	StateRoot  string
}

// blockRow is one of the last blocks.
type blockRow struct {
	Height      uint64
	Hash        string
	Time        int64
	Interval    int64 // ms since the parent
	HasInterval bool  // false for genesis
	TxCount     int   // -1: body unreadable
	Size        int
	Miner       string
}

type peerRow struct {
	rpc.Peer
	Behind int64 // blocks the peer is behind our tip (negative: ahead)
}

type reorgRow struct {
	Reorg
	OldTip, NewTip, ForkHash string
	TimeMs                   int64
}

// overview gathers the overview's data. The blocks are read by walking
// parent links down from the tip, so they are one branch even while the
// main chain moves.
func (e *Explorer) overview() (*overviewView, error) {
	tip := e.b.Tip()
	n := max(e.cfg.Recent, e.cfg.ChartBlocks) + 1 // one more: the interval of the oldest
	infos, err := e.branch(tip.Hash, n)
	if err != nil {
		return nil, err
	}
	v := &overviewView{
		Node: e.b.NodeInfo(),
		Tip: tipView{
			Height: tip.Height, Hash: tip.Hash.String(), Time: tip.Header.Time,
			Bits: bitsString(tip.Header.Bits), Difficulty: bigFloat(consensus.CalcWork(tip.Header.Bits)),
			Work: tip.Work.String(), WorkF: bigFloat(tip.Work), StateRoot: tip.Header.StateRoot.String(),
		},
		Pool: e.b.PoolStatus(),
	}
	if len(infos) > 1 {
		newest, oldest := infos[0], infos[min(len(infos)-1, e.cfg.ChartBlocks)]
		v.RateBlocks = int(newest.Header.Height - oldest.Header.Height)
		v.RateMs = newest.Header.Time - oldest.Header.Time
		if v.RateMs > 0 {
			work := new(big.Int).Sub(newest.Work, oldest.Work)
			v.HashRate = bigFloat(work) / (float64(v.RateMs) / 1000)
		}
	}
	for i := 0; i < len(infos) && i < e.cfg.Recent; i++ {
		v.Blocks = append(v.Blocks, e.blockRow(infos, i))
	}
	for _, p := range e.b.Peers() {
		r := peerRow{Peer: p}
		if p.Height != nil {
			r.Behind = int64(tip.Height) - int64(*p.Height)
		}
		v.Peers = append(v.Peers, r)
	}
	for i, t := range e.b.Tips() {
		if i == maxTipsShown {
			v.MoreTips++
			continue
		}
		v.Tips = append(v.Tips, rpc.ChainTip{Height: t.Height, Hash: t.Hash.String(), BranchLen: t.BranchLen, Status: t.Status})
	}
	for _, r := range e.Reorgs() {
		v.Reorgs = append(v.Reorgs, reorgRow{Reorg: r, OldTip: r.OldTip.String(), NewTip: r.NewTip.String(),
			ForkHash: r.ForkHash.String(), TimeMs: r.Time.UnixMilli()})
	}
	v.Chart = newChart(infos[:min(len(infos), e.cfg.ChartBlocks+1)])
	return v, nil
}

// branch returns up to n headers from h down its parent links, h first.
func (e *Explorer) branch(h types.Hash, n int) ([]chain.HeaderInfo, error) {
	out := make([]chain.HeaderInfo, 0, n)
	for len(out) < n {
		info, err := e.b.Header(h)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
		if info.Header.Height == 0 {
			break
		}
		h = info.Header.Parent
	}
	return out, nil
}

func (e *Explorer) blockRow(infos []chain.HeaderInfo, i int) blockRow {
	info := infos[i]
	r := blockRow{Height: info.Header.Height, Hash: info.Hash.String(), Time: info.Header.Time,
		Miner: info.Header.Miner.String(), TxCount: -1}
	if i+1 < len(infos) {
		r.Interval, r.HasInterval = info.Header.Time-infos[i+1].Header.Time, true
	}
	if s, ok := e.summary(info.Hash); ok {
		r.TxCount, r.Size = s.txs, s.size
	}
	return r
}

// summary returns the tx count and size of the block with hash h, read
// once and then cached: a block's content never changes for its hash.
func (e *Explorer) summary(h types.Hash) (blockSummary, bool) {
	if s, ok := e.blocks.get(h); ok {
		return s, true
	}
	blk, err := e.b.Block(h)
	if err != nil {
		e.log.Warn("explorer: read block", "hash", h, "err", err)
		return blockSummary{}, false
	}
	s := blockSummary{txs: len(blk.Txs), size: blk.EncodedSize()}
	e.blocks.put(h, s)
	return s, true
}

func (e *Explorer) serveOverview(w http.ResponseWriter, r *http.Request) {
	v, err := e.overview()
	if err != nil {
		e.failure(w, r, err)
		return
	}
	e.render(w, r, http.StatusOK, "overview", v)
}

// serveOverviewFragment answers the overview's live panels alone, which
// the page's script swaps in on every new head.
func (e *Explorer) serveOverviewFragment(w http.ResponseWriter, r *http.Request) {
	v, err := e.overview()
	if err != nil {
		e.failure(w, r, err)
		return
	}
	e.renderFragment(w, r, "overview", "live", v)
}

// blockSummary is what the overview shows of a block's body.
type blockSummary struct{ txs, size int }

// summaryCache holds block summaries by hash, at most max of them,
// evicting the oldest first. Safe for concurrent use.
type summaryCache struct {
	max int

	mu    sync.Mutex // guards the fields below
	m     map[types.Hash]blockSummary
	order []types.Hash // insertion order, oldest first
}

func newSummaryCache(max int) *summaryCache {
	return &summaryCache{max: max, m: make(map[types.Hash]blockSummary)}
}

func (c *summaryCache) get(h types.Hash) (blockSummary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[h]
	return s, ok
}

func (c *summaryCache) put(h types.Hash, s blockSummary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; ok {
		return
	}
	if len(c.order) == c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[h] = s
	c.order = append(c.order, h)
}
