package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
)

// component is a part of the node that Start starts and Stop stops, as
// geth's node.Lifecycle: the network, the RPC server, the metrics server
// and the miner. Start may start goroutines, which must end by the time
// Stop returns; they may run until ctx (the node's) ends. A Start that
// fails leaves nothing of the component running, so only the components
// that started are stopped. Stop reports what failed to shut down.
type component interface {
	Start(ctx context.Context) error
	Stop() error
}

var (
	_ component = (*p2p.Network)(nil)
	_ component = rpcComponent{}
	_ component = (*metricsServer)(nil)
	_ component = minerComponent{}
	_ component = (*storeScan)(nil)
)

// part is a component with the name its errors carry.
type part struct {
	name string
	c    component
}

// lifecycle starts parts in order and stops the started ones in reverse.
// Not safe for concurrent use: the Node serialises Start and Stop.
type lifecycle struct {
	parts   []part // in start order
	running []part // those started, in start order
}

// start starts every part in order. If one fails, those already started
// are stopped in reverse order, and the error names the part that failed,
// joined with any error of that rollback.
func (l *lifecycle) start(ctx context.Context) error {
	for _, p := range l.parts {
		if err := p.c.Start(ctx); err != nil {
			return errors.Join(fmt.Errorf("start %s: %w", p.name, err), l.stop())
		}
		l.running = append(l.running, p)
	}
	return nil
}

// stop stops the started parts in reverse order, each even if another
// failed, and returns their errors joined, each naming its part. Calling
// it again does nothing.
func (l *lifecycle) stop() error {
	var errs []error
	for i := len(l.running) - 1; i >= 0; i-- {
		p := l.running[i]
		if err := p.c.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
		}
	}
	l.running = nil
	return errors.Join(errs...)
}

// components are the node's parts in start order: the store scan, then the network, so
// that the RPC server never answers for a node without its peers, and the
// miner last, once everything that carries its blocks runs.
func (n *Node) components() []part {
	var ps []part
	if n.cfg.DataDir != "" {
		ps = append(ps, part{"store scan", &storeScan{c: n.chain, log: n.log.With("module", "chain"), scanned: &n.scanned}})
	} else {
		n.scanned.Store(true) // in memory: nothing to read back
	}
	if n.net != nil {
		ps = append(ps, part{"p2p", n.net})
	}
	if n.rpc != nil {
		ps = append(ps, part{"rpc", rpcComponent{n.rpc}})
	}
	if n.metricsSrv != nil {
		ps = append(ps, part{"metrics", n.metricsSrv})
	}
	return append(ps, part{"miner", minerComponent{n.miner, n.cfg.Miner.Enabled}})
}

// stopTimeout bounds the shutdown of each server in Stop.
const stopTimeout = 3 * time.Second

// rpcComponent runs the JSON-RPC server; Stop gives the requests in flight
// stopTimeout to finish.
type rpcComponent struct{ s *rpc.Server }

func (c rpcComponent) Start(context.Context) error { return c.s.Start() }

func (c rpcComponent) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return c.s.Close(ctx)
}

// minerComponent gives the miner the node's context and, if the
// configuration says so, starts mining. Its Stop stops the miner and
// refuses Miner.Start from then on.
type minerComponent struct {
	m       *Miner
	enabled bool
}

func (c minerComponent) Start(ctx context.Context) error {
	c.m.attach(ctx)
	if !c.enabled {
		return nil
	}
	if err := c.m.Start(0, types.Address{}); err != nil {
		c.m.detach()
		return err
	}
	return nil
}

func (c minerComponent) Stop() error {
	c.m.detach()
	return nil
}

// storeScan reads the whole chain database once, in the background, after
// the node starts (chain.Scan): damage anywhere in it is met within a
// minute or so of the start — and stops the node, through the chain's
// fault — not only when a peer happens to ask for the damaged block.
type storeScan struct {
	c       *chain.Chain
	log     *slog.Logger
	scanned *atomic.Bool // set when the scan found no damage
	cancel  context.CancelFunc
	done    chan struct{}
}

func (s *storeScan) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t0 := time.Now()
		if err := s.c.Scan(ctx, 0); err == nil {
			s.scanned.Store(true)
			s.log.Debug("store scan found no damage", "took", time.Since(t0).Round(time.Millisecond))
		}
	}()
	return nil
}

func (s *storeScan) Stop() error {
	s.cancel()
	<-s.done
	return nil
}
