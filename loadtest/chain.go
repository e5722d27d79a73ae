package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
)

// scanPeriod is how often the scanner polls the entry node's head: the
// resolution of the inclusion latencies.
const scanPeriod = 100 * time.Millisecond

// Phases of a block as the scanner saw it connect: a stage index, or
// one of these.
const (
	phaseBefore = -1 // before the first stage
	phaseDrain  = -2 // after the last
)

// scanned is a main-chain block as the scanner saw it.
type scanned struct {
	hash, parent string
	height       uint64
	txIDs        []string
	size         int
	seen         time.Time
	phase        int
}

// scanner follows the entry node's main chain: which tx is in it since
// when, and each block's fill. It follows reorganisations: a block that
// leaves the main chain takes its txs' inclusion with it.
type scanner struct {
	client *rpc.Client
	phase  atomic.Int64

	mu     sync.Mutex
	blocks []scanned            // by height, genesis first
	in     map[string]time.Time // tx id → when first seen in the main chain
}

func newScanner(ctx context.Context, c *rpc.Client) (*scanner, error) {
	g, err := c.BlockByHeight(ctx, 0, false)
	if err != nil {
		return nil, fmt.Errorf("genesis block: %w", err)
	}
	s := &scanner{client: c, blocks: []scanned{{hash: g.Hash}}, in: make(map[string]time.Time)}
	s.phase.Store(phaseBefore)
	return s, nil
}

// run polls until ctx ends.
func (s *scanner) run(ctx context.Context) {
	t := time.NewTicker(scanPeriod)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.poll(cctx) // an error is retried at the next tick
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll brings the view up to the node's head.
func (s *scanner) poll(ctx context.Context) error {
	head, err := s.client.Head(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	top := s.blocks[len(s.blocks)-1].hash
	s.mu.Unlock()
	if head.Hash == top {
		return nil
	}
	// Walk back from the head to a block the view has.
	var fresh []*rpc.Block
	for h := head.Hash; ; {
		b, err := s.client.BlockByHash(ctx, h, false)
		if err != nil {
			return err
		}
		if s.has(b.Height, b.Hash) {
			break
		}
		fresh = append(fresh, b)
		if b.Height == 0 {
			return fmt.Errorf("the node's chain has another genesis block %s", b.Hash)
		}
		h = b.Parent
	}
	fork := head.Height + 1 // the first height that changes: above a known head…
	if len(fresh) > 0 {
		fork = fresh[len(fresh)-1].Height // …or the lowest new block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for uint64(len(s.blocks)) > fork {
		old := s.blocks[len(s.blocks)-1]
		for _, id := range old.txIDs {
			delete(s.in, id)
		}
		s.blocks = s.blocks[:len(s.blocks)-1]
	}
	phase := int(s.phase.Load())
	for i := len(fresh) - 1; i >= 0; i-- {
		b := fresh[i]
		s.blocks = append(s.blocks, scanned{hash: b.Hash, parent: b.Parent, height: b.Height, txIDs: b.TxIDs, size: b.Size, seen: now, phase: phase})
		for _, id := range b.TxIDs {
			if _, ok := s.in[id]; !ok {
				s.in[id] = now
			}
		}
	}
	return nil
}

func (s *scanner) has(height uint64, hash string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return height < uint64(len(s.blocks)) && s.blocks[height].hash == hash
}

// included returns when the tx id was first seen in the main chain.
func (s *scanner) included(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.in[id]
	return t, ok
}

// missing counts the ids not in the main chain.
func (s *scanner) missing(ids map[string]*txRec) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range ids {
		if _, ok := s.in[id]; !ok {
			n++
		}
	}
	return n
}

// chainBlocks returns the view's blocks above genesis.
func (s *scanner) chainBlocks() []scanned {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scanned(nil), s.blocks[1:]...)
}

// replay is the result of replaying a chain from its genesis.
type replay struct {
	height   uint64
	tip      string
	balances map[string]uint64 // by address
	nonces   map[string]uint64
	mined    map[string]bool // every tx id in the chain
	supply   uint64          // genesis allocations + subsidies
	errs     []string        // rule violations found by the replay
}

// replayChain reads every block of c's main chain, 1 to tip, and computes
// each account from the genesis allocations, the transfers, fees and
// subsidies; it checks nonces, balances and the links between blocks.
func replayChain(ctx context.Context, c *rpc.Client, p *consensus.Params, tip uint64) (*replay, error) {
	r := &replay{height: tip, balances: map[string]uint64{}, nonces: map[string]uint64{}, mined: map[string]bool{}}
	for _, a := range p.Alloc {
		r.balances[a.Address.String()] += a.Amount
		r.supply += a.Amount
	}
	prev := p.GenesisHash().String()
	for h := uint64(1); h <= tip; h++ {
		b, err := c.BlockByHeight(ctx, h, true)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
		if b.Parent != prev {
			return nil, fmt.Errorf("block %d (%s) has parent %s, block %d was %s: the chain changed during the replay", h, b.Hash, b.Parent, h-1, prev)
		}
		prev = b.Hash
		var fees uint64
		for _, tx := range b.Txs {
			amount, err1 := strconv.ParseUint(tx.Amount, 10, 64)
			fee, err2 := strconv.ParseUint(tx.Fee, 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("block %d tx %s: amount %q fee %q", h, tx.ID, tx.Amount, tx.Fee)
			}
			if tx.Nonce != r.nonces[tx.From] {
				r.errs = append(r.errs, fmt.Sprintf("block %d tx %s: nonce %d, account %s at %d", h, tx.ID, tx.Nonce, tx.From, r.nonces[tx.From]))
			}
			if r.balances[tx.From] < amount+fee {
				r.errs = append(r.errs, fmt.Sprintf("block %d tx %s: %s spends %d of %d", h, tx.ID, tx.From, amount+fee, r.balances[tx.From]))
			}
			r.balances[tx.From] -= amount + fee
			r.nonces[tx.From] = tx.Nonce + 1
			r.balances[tx.To] += amount
			fees += fee
			if r.mined[tx.ID] {
				r.errs = append(r.errs, fmt.Sprintf("block %d: tx %s mined twice", h, tx.ID))
			}
			r.mined[tx.ID] = true
		}
		sub := p.Subsidy(h)
		r.balances[b.Miner] += sub + fees
		r.supply += sub
	}
	r.tip = prev
	var sum uint64
	for _, v := range r.balances {
		sum += v
	}
	if sum != r.supply {
		r.errs = append(r.errs, fmt.Sprintf("balances sum to %d, genesis and subsidies to %d", sum, r.supply))
	}
	return r, nil
}
