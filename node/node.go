package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/rpc/explorer"
	"github.com/cairn-ledger/cairn/txpool"
)

// Node is one cairn node: chain, txpool, network, miner, RPC and metrics.
type Node struct {
	cfg        Config
	log        *slog.Logger
	chain      *chain.Chain
	pool       *txpool.Pool
	net        *p2p.Network
	miner      *Miner
	metrics    *metrics
	metricsSrv *metricsServer // nil without Config.MetricsAddr
	rpc        *rpc.Server
	explorer   *explorer.Explorer // nil without RPC
	started    time.Time          // set by Start before any component starts

	lifeMu  sync.Mutex // serialises Start and Stop; guards the fields below
	state   lifeState
	life    lifecycle
	cancel  context.CancelFunc // ends the node's context
	stopErr error

	faulted chan struct{} // closed when the chain meets a store failure
	// scanned is set when the start's read of the whole chain database
	// (storeScan) found no damage: until then the node does not say it is
	// synced, as damage may still be met.
	scanned atomic.Bool

	progress  progress   // tip changes, for the sync state's ETA and stalls
	mu        sync.Mutex // guards tipSubs and blockSubs
	tipSubs   []func(chain.Result)
	blockSubs []func(*types.Block, chain.Result)
}

// lifeState is where a Node is in its life: built, running, stopped.
type lifeState int

const (
	stateNew lifeState = iota
	stateRunning
	stateStopped
)

// New validates cfg, opens the chain (which checks that the stored state
// commits to the tip's stateRoot) and builds the pool, the network, the
// miner and the RPC server, starting nothing. On failure nothing is left
// open.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sigs := chain.NewSigCache(1 << 17)
	ccfg := cfg.Chain
	ccfg.Params, ccfg.Sigs, ccfg.Logger = cfg.Params, sigs, log.With("module", "chain")
	faulted := make(chan struct{})
	ccfg.OnFault = func(err error) { // once, on a goroutine of its own
		log.Error("chain database failure: the node stores nothing more and stops", "err", err)
		close(faulted)
	}
	var c *chain.Chain
	var err error
	if cfg.DataDir == "" {
		c, err = chain.OpenMemory(ccfg)
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("datadir: %w", err)
		}
		c, err = chain.Open(filepath.Join(cfg.DataDir, "chain"), ccfg)
	}
	if errors.Is(err, chain.ErrInUse) {
		return nil, fmt.Errorf("datadir %s is in use by another cairnd (its chain database is locked)", cfg.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("open chain: %w", err)
	}
	pcfg := cfg.Pool
	pcfg.Genesis, pcfg.Sigs = cfg.Params.GenesisHash(), sigs
	// The built-in network is the one other network every node knows: a
	// tx signed for it is refused as wrong-network, not bad-signature.
	if def := DefaultParams().GenesisHash(); def != pcfg.Genesis && !slices.Contains(pcfg.OtherNetworks, def) {
		pcfg.OtherNetworks = append(slices.Clone(pcfg.OtherNetworks), def)
	}
	pool, err := txpool.New(pcfg, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, chain: c, pool: pool, faulted: faulted}
	n.miner = newMiner(cfg.Miner, cfg.Params, (*minerBackend)(n), log.With("module", "miner"))
	n.progress.since = time.Now()
	n.OnTipChange(func(res chain.Result) {
		n.miner.tipChanged()
		n.progress.tip(n.chain.Tip().Height, time.Now())
		if n.explorer != nil {
			n.explorer.TipChanged(res) // first: a page told of a reorg reads it there
		}
		if n.rpc != nil {
			n.rpc.NotifyChain(res)
		}
	})
	n.metrics = newMetrics(n)
	if cfg.MetricsAddr != "" {
		n.metricsSrv = newMetricsServer(cfg.MetricsAddr, n.metrics.reg, log.With("module", "metrics"))
	}
	if !cfg.NoNetwork {
		ncfg := cfg.P2P
		if ncfg.Logger == nil {
			ncfg.Logger = log.With("module", "p2p")
		}
		if ncfg.KeyFile == "" && cfg.DataDir != "" {
			ncfg.KeyFile = filepath.Join(cfg.DataDir, "p2p.key")
		}
		if ncfg.SyncFinished == nil {
			ncfg.SyncFinished = func(uint64) { releaseSyncMemory() }
		}
		if n.net, err = p2p.New(ncfg, (*backend)(n), watchedPool{pool, n.txAdmitted}); err != nil {
			c.Close()
			return nil, err
		}
	}
	if cfg.RPC.Addr != "" {
		rcfg := rpc.Config{
			Addr: cfg.RPC.Addr, MaxBodyBytes: cfg.RPC.MaxBodyBytes, MaxBatch: cfg.RPC.MaxBatch,
			Timeout: cfg.RPC.Timeout, Hosts: cfg.RPC.Hosts, CORS: cfg.RPC.CORS,
			Version: cfg.Version, Logger: log.With("module", "rpc"),
		}
		if cfg.DataDir != "" {
			rcfg.CookieFile = filepath.Join(cfg.DataDir, CookieName)
		}
		if n.rpc, err = rpc.NewServer(rcfg, (*rpcBackend)(n)); err != nil {
			c.Close()
			return nil, err
		}
		if n.explorer, err = explorer.New((*rpcBackend)(n), explorer.Config{Logger: log.With("module", "explorer")}); err != nil {
			c.Close()
			return nil, err
		}
		n.rpc.Handle(explorer.DefaultPrefix, n.explorer, true)
	}
	tip := c.Tip()
	log.Info("chain opened", "network", cfg.Params.Network, "genesis", cfg.Params.GenesisHash(),
		"height", tip.Height, "tip", tip.Hash, "datadir", cfg.DataDir)
	return n, nil
}

// CookieName is the RPC cookie's file name in the datadir.
const CookieName = "rpc.cookie"

// Start starts the network, the RPC server, the metrics server and (if
// configured) the miner, in that order, under a context of the node's
// that ends with ctx or at Stop. If one fails, those already started are
// stopped again in reverse order and the node is closed; the error names
// the part that failed. Start runs once.
func (n *Node) Start(ctx context.Context) error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	switch n.state {
	case stateRunning:
		return errors.New("node: already started")
	case stateStopped:
		return errors.New("node: stopped")
	}
	n.state = stateRunning
	n.started = time.Now()
	ctx, n.cancel = context.WithCancel(ctx)
	n.life = lifecycle{parts: n.components()}
	if err := n.life.start(ctx); err != nil {
		return errors.Join(err, n.closeLocked())
	}
	return nil
}

// Stop stops the miner, the metrics and RPC servers and the network, in
// the reverse of their start order, then closes the chain, and returns
// every error of these joined. It is idempotent (a second call returns
// the first's error) and safe to call after a failed Start or without
// Start; the servers get a few seconds each to finish requests.
func (n *Node) Stop() error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.state == stateStopped {
		return n.stopErr
	}
	return n.closeLocked()
}

// closeLocked stops what runs, ends the node's context and closes the
// chain. n.lifeMu must be held.
func (n *Node) closeLocked() error {
	errs := []error{n.life.stop()}
	if n.cancel != nil {
		n.cancel()
	}
	if err := n.chain.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close chain: %w", err))
	}
	n.state = stateStopped
	n.stopErr = errors.Join(errs...)
	n.log.Info("node stopped")
	return n.stopErr
}

// Faulted is closed when the chain meets a failure of its database —
// damage (chain.ErrCorrupt), a full disk (chain.ErrDiskFull), an I/O error
// (chain.ErrStoreFailed) — after which it stores nothing more: the node
// should stop (Fault says why). The sync state says so meanwhile.
func (n *Node) Faulted() <-chan struct{} { return n.faulted }

// Fault is the store failure that closed Faulted, or nil.
func (n *Node) Fault() error { return n.chain.Fault() }

// RPCURL is the RPC server's URL ("http://127.0.0.1:PORT") once started,
// or "" without RPC.
func (n *Node) RPCURL() string {
	if n.rpc == nil {
		return ""
	}
	return n.rpc.URL()
}

// RPCToken is the admin token of the RPC server.
func (n *Node) RPCToken() string {
	if n.rpc == nil {
		return ""
	}
	return n.rpc.Token()
}

// Miner returns the node's miner.
func (n *Node) Miner() *Miner { return n.miner }

// Metrics returns the node's Prometheus registry.
func (n *Node) Metrics() *prometheus.Registry { return n.metrics.reg }

// Chain returns the node's chain.
func (n *Node) Chain() *chain.Chain { return n.chain }

// Pool returns the node's txpool.
func (n *Node) Pool() *txpool.Pool { return n.pool }

// Net returns the node's network (nil with NoNetwork).
func (n *Node) Net() *p2p.Network { return n.net }

// OnTipChange registers f to be called after every block that changed the
// main chain (from gossip, sync or SubmitBlock), with the chain's Result.
func (n *Node) OnTipChange(f func(chain.Result)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tipSubs = append(n.tipSubs, f)
}

// OnBlock registers f to be called after every block the chain took from
// gossip, sync or SubmitBlock — connected, stored on a side branch or held
// as an orphan — with the block and the chain's Result; not for a block
// refused or already known. f runs on the importing goroutine (a gossip
// validator or the sync importer) and must be quick.
func (n *Node) OnBlock(f func(*types.Block, chain.Result)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blockSubs = append(n.blockSubs, f)
}

// SubmitTx admits a local tx to the pool and publishes it if it is
// pending (a queued tx is announced once its nonce gap fills: see
// txpool.Pool.Stale). A tx the pool holds already is not refused: it is
// announced to every peer again, which fetches it if it lacks it, and its
// id is returned (docs/RPC.md, tx_send). Gossip cannot do that
// re-announcement: GossipSub drops a message it has seen within 2
// minutes, even the node's own. Safe for concurrent use.
func (n *Node) SubmitTx(tx *types.Tx) (types.Hash, error) {
	id, err := n.pool.Add(tx)
	if err == nil {
		n.txAdmitted(tx)
	}
	if txpool.ReasonOf(err) == txpool.ReasonDuplicate {
		if n.net != nil && n.pool.IsPending(id) {
			n.net.AnnounceTxs([]types.Hash{id})
		}
		return id, nil
	}
	if err != nil {
		return id, err
	}
	if n.net != nil && n.pool.IsPending(id) {
		if err := n.net.PublishTx(tx); err != nil {
			n.log.Warn("publish tx", "id", id, "err", err)
		}
	}
	return id, nil
}

// txAdmitted tells the RPC's subscribers of a tx the pool admitted.
func (n *Node) txAdmitted(tx *types.Tx) {
	if n.rpc != nil {
		n.rpc.NotifyTx(tx)
	}
}

// watchedPool is the pool as the network sees it: each tx it admits is
// told to the RPC's subscribers too.
type watchedPool struct {
	*txpool.Pool
	admitted func(*types.Tx)
}

func (p watchedPool) Add(tx *types.Tx) (types.Hash, error) {
	id, err := p.Pool.Add(tx)
	if err == nil {
		p.admitted(tx)
	}
	return id, err
}

// SubmitBlock processes a locally built block and publishes it if it
// joined the chain. Safe for concurrent use.
func (n *Node) SubmitBlock(blk *types.Block) (chain.Result, error) {
	res, err := n.processBlock(blk, chain.Origin{})
	if err != nil {
		return res, err
	}
	if n.net != nil && (res.Status == chain.StatusConnected || res.Status == chain.StatusSideChain) {
		if err := n.net.PublishBlock(blk); err != nil {
			n.log.Warn("publish block", "hash", blk.Hash(), "err", err)
		}
	}
	return res, nil
}

// processBlock hands blk to the chain, measures the import and tells the
// pool and subscribers what changed.
func (n *Node) processBlock(blk *types.Block, o chain.Origin) (chain.Result, error) {
	t0 := time.Now()
	res, err := n.chain.ProcessBlockFrom(blk, o)
	took := time.Since(t0)
	if err == nil {
		n.metrics.importS.Observe(took.Seconds())
	}
	if len(res.Connected) > 0 || len(res.Disconnected) > 0 {
		// The chain logs each imported block and reorg.
		if d := len(res.Disconnected); d > 0 {
			n.metrics.reorgs.Inc()
			n.metrics.depth.Observe(float64(d))
		}
		n.pool.Update(res.Connected, res.Disconnected)
		n.announceReadmitted(res.Disconnected)
		n.mu.Lock()
		subs := append([]func(chain.Result){}, n.tipSubs...)
		n.mu.Unlock()
		for _, f := range subs {
			f(res)
		}
	}
	if err == nil && res.Status != chain.StatusDuplicate {
		n.mu.Lock()
		subs := append([]func(*types.Block, chain.Result){}, n.blockSubs...)
		n.mu.Unlock()
		for _, f := range subs {
			f(blk, res)
		}
	}
	return res, err
}

// announceReadmitted announces to every peer the txs of disconnected
// blocks that the pool took back as pending: peers that never saw them
// (they were mined on this node's side of a partition) would otherwise
// learn of them only at their next reconciliation, or never if it is the
// minority side's miners that hold them. Gossip cannot carry them again:
// their first gossip is remembered as seen for 2 minutes.
func (n *Node) announceReadmitted(disconnected []*types.Block) {
	if n.net == nil || len(disconnected) == 0 {
		return
	}
	var ids []types.Hash
	for _, b := range disconnected {
		for _, tx := range b.Txs {
			if id := tx.ID(); n.pool.IsPending(id) {
				ids = append(ids, id)
			}
		}
	}
	n.net.AnnounceTxs(ids)
}

// backend adapts a Node to p2p.Backend.
type backend Node

var (
	_ p2p.Backend     = (*backend)(nil)
	_ p2p.Preverifier = (*backend)(nil)
)

func (b *backend) Params() *consensus.Params                { return b.cfg.Params }
func (b *backend) Tip() chain.Tip                           { return b.chain.Tip() }
func (b *backend) BestHeader() chain.HeaderInfo             { return b.chain.BestHeader() }
func (b *backend) HasBlock(h types.Hash) bool               { return b.chain.HasBlock(h) }
func (b *backend) Block(h types.Hash) (*types.Block, error) { return b.chain.Block(h) }
func (b *backend) Locator() []types.Hash                    { return b.chain.Locator() }
func (b *backend) HeadersAfter(loc []types.Hash, stop types.Hash, max int) []types.Header {
	return b.chain.HeadersAfter(loc, stop, max)
}
func (b *backend) MissingBlocks(max int) []types.Hash { return b.chain.MissingBlocks(max) }
func (b *backend) ProcessHeaders(hs []types.Header, proven *big.Int) (int, error) {
	return b.chain.ProcessHeadersProven(hs, proven)
}
func (b *backend) WantBlock(h *types.Header) (chain.ProcessStatus, error) {
	return b.chain.WantBlock(h)
}
func (b *backend) AntiDoSWork() *big.Int                           { return b.chain.AntiDoSWork() }
func (b *backend) Cursor(h types.Hash) (chain.HeaderCursor, error) { return b.chain.Cursor(h) }
func (b *backend) CheckHeaders(cur chain.HeaderCursor, hs []types.Header) (chain.HeaderCursor, int, error) {
	return b.chain.CheckHeaders(cur, hs)
}
func (b *backend) BlockBytes(h types.Hash) ([]byte, error) { return b.chain.BlockBytes(h) }

// PreverifySignatures lets sync verify the signatures of the blocks ahead
// of the one it applies (p2p.Preverifier): into the node's signature cache.
func (b *backend) PreverifySignatures(blk *types.Block) bool { return b.chain.PreverifySignatures(blk) }

func (b *backend) ProcessBlock(blk *types.Block, o chain.Origin) (chain.Result, error) {
	return (*Node)(b).processBlock(blk, o)
}
func (b *backend) AddTx(tx *types.Tx) (types.Hash, error) { return b.pool.Add(tx) }
func (b *backend) HasTx(id types.Hash) bool               { return b.pool.Has(id) }
func (b *backend) TxPending(id types.Hash) bool           { return b.pool.IsPending(id) }
func (b *backend) PoolTx(id types.Hash) (*types.Tx, bool) { return b.pool.Get(id) }
func (b *backend) PendingTxIDs(max int) []types.Hash      { return b.pool.PendingIDs(max) }
func (b *backend) TxBySenderNonce(s types.Address, nonce uint64) (*types.Tx, bool) {
	return b.pool.BySenderNonce(s, nonce)
}
func (b *backend) MissingNonces(s types.Address) (uint64, uint64, bool) { return b.pool.Missing(s) }
func (b *backend) StaleTxs(age time.Duration, max int) []*types.Tx      { return b.pool.Stale(age, max) }

// Header lets sync ask only peers that claim a block's height.
func (b *backend) Header(h types.Hash) (chain.HeaderInfo, error) { return b.chain.Header(h) }

// Run builds a node from cfg, starts it, waits for ctx to end and stops
// it. It is what cairnd calls.
func Run(ctx context.Context, cfg Config) error {
	n, err := New(cfg)
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err // Start closed the node
	}
	<-ctx.Done()
	return n.Stop()
}

// releaseSyncMemory returns to the operating system the memory a long
// sync freed: the blocks it held in flight and the garbage of importing
// them. Go's scavenger would return it only gradually; a node that has
// just caught up is about to idle, and measured after a sync of 20,000
// blocks (BenchmarkIdleRSS) it then held 55.7–56.4 MB instead of
// 63.2–65.7 MB. It costs one garbage collection per sync that ends.
func releaseSyncMemory() { debug.FreeOSMemory() }
