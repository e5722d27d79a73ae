package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/txpool"
)

// Node is one cairn node: chain, txpool and network.
type Node struct {
	cfg   Config
	log   *slog.Logger
	chain *chain.Chain
	pool  *txpool.Pool
	net   *p2p.Network

	mu       sync.Mutex
	tipSubs  []func(chain.Result)
	stopOnce sync.Once
}

// New opens the chain and builds the pool and the network, starting
// nothing.
func New(cfg Config) (*Node, error) {
	if cfg.Params == nil {
		return nil, errors.New("node: Config.Params is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sigs := chain.NewSigCache(1 << 17)
	ccfg := cfg.Chain
	ccfg.Params, ccfg.Sigs, ccfg.Logger = cfg.Params, sigs, log.With("module", "chain")
	var c *chain.Chain
	var err error
	if cfg.DataDir == "" {
		c, err = chain.OpenMemory(ccfg)
	} else {
		c, err = chain.Open(filepath.Join(cfg.DataDir, "chain"), ccfg)
	}
	if err != nil {
		return nil, err
	}
	pcfg := cfg.Pool
	pcfg.Genesis, pcfg.Sigs = cfg.Params.GenesisHash(), sigs
	pool, err := txpool.New(pcfg, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, chain: c, pool: pool}
	if !cfg.NoNetwork {
		ncfg := cfg.P2P
		if ncfg.Logger == nil {
			ncfg.Logger = log.With("module", "p2p")
		}
		if n.net, err = p2p.New(ncfg, (*backend)(n)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return n, nil
}

// Start starts the network. On failure nothing is left running.
func (n *Node) Start(ctx context.Context) error {
	if n.net != nil {
		if err := n.net.Start(ctx); err != nil {
			return fmt.Errorf("start p2p: %w", err)
		}
	}
	return nil
}

// Stop stops the network and closes the chain. Idempotent.
func (n *Node) Stop() error {
	var err error
	n.stopOnce.Do(func() {
		if n.net != nil {
			err = n.net.Stop()
		}
		if cerr := n.chain.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

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

// SubmitTx admits a local tx to the pool and publishes it. Safe for
// concurrent use.
func (n *Node) SubmitTx(tx *types.Tx) (types.Hash, error) {
	id, err := n.pool.Add(tx)
	if err != nil {
		return id, err
	}
	if n.net != nil {
		if err := n.net.PublishTx(tx); err != nil {
			n.log.Warn("publish tx", "id", id, "err", err)
		}
	}
	return id, nil
}

// SubmitBlock processes a locally built block and publishes it if it
// joined the chain. Safe for concurrent use.
func (n *Node) SubmitBlock(blk *types.Block) (chain.Result, error) {
	res, err := n.processBlock(blk)
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

// processBlock hands blk to the chain and tells the pool and subscribers
// what changed.
func (n *Node) processBlock(blk *types.Block) (chain.Result, error) {
	res, err := n.chain.ProcessBlock(blk)
	if len(res.Connected) > 0 || len(res.Disconnected) > 0 {
		n.pool.Update(res.Connected, res.Disconnected)
		n.mu.Lock()
		subs := append([]func(chain.Result){}, n.tipSubs...)
		n.mu.Unlock()
		for _, f := range subs {
			f(res)
		}
	}
	return res, err
}

// backend adapts a Node to p2p.Backend.
type backend Node

var _ p2p.Backend = (*backend)(nil)

func (b *backend) Params() *consensus.Params                { return b.cfg.Params }
func (b *backend) Tip() chain.Tip                           { return b.chain.Tip() }
func (b *backend) BestHeader() chain.HeaderInfo             { return b.chain.BestHeader() }
func (b *backend) HasBlock(h types.Hash) bool               { return b.chain.HasBlock(h) }
func (b *backend) Block(h types.Hash) (*types.Block, error) { return b.chain.Block(h) }
func (b *backend) Locator() []types.Hash                    { return b.chain.Locator() }
func (b *backend) HeadersAfter(loc []types.Hash, stop types.Hash, max int) []types.Header {
	return b.chain.HeadersAfter(loc, stop, max)
}
func (b *backend) MissingBlocks(max int) []types.Hash            { return b.chain.MissingBlocks(max) }
func (b *backend) ProcessHeaders(hs []types.Header) (int, error) { return b.chain.ProcessHeaders(hs) }
func (b *backend) ProcessBlock(blk *types.Block) (chain.Result, error) {
	return (*Node)(b).processBlock(blk)
}
func (b *backend) AddTx(tx *types.Tx) (types.Hash, error) { return b.pool.Add(tx) }
func (b *backend) HasTx(id types.Hash) bool               { return b.pool.Has(id) }

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
		n.Stop()
		return err
	}
	<-ctx.Done()
	return n.Stop()
}
