// Package nodetest runs networks of in-process cairn nodes for tests, on
// go-libp2p's mocknet: Mine blocks at a node, Partition and Heal the
// network, Restart a node, and wait — always with a deadline — for the
// nodes to agree. Each node logs to t.Log with its name as a prefix.
//
// A Harness is not safe for concurrent use; the nodes themselves are.
package nodetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Options configure a Harness.
type Options struct {
	// Params default to chaintest.Params().
	Params *consensus.Params
	// LogLevel of the nodes' loggers; default slog.LevelInfo.
	LogLevel slog.Level
	// ScheduledTimes makes Mine date each block on the schedule,
	// ScheduledTime(Params, height), instead of now, so that with
	// WorkParams an honest chain keeps the genesis target (see
	// WorkParams). A block dated beyond now + MaxFutureDrift is refused.
	ScheduledTimes bool
	// MaxPresyncHeaders sets p2p.Config.MaxPresyncHeaders of every node
	// (0: its default).
	MaxPresyncHeaders int
	// RPC gives every node an RPC server on a free loopback port
	// (Node.RPCURL).
	RPC bool
}

// Harness is a network of in-process nodes.
type Harness struct {
	t      testing.TB
	opts   Options
	Params *consensus.Params
	mn     mocknet.Mocknet
	ctx    context.Context
	cancel context.CancelFunc
	Nodes  []*Node
	logs   *testLog
	// base holds the nodes' datadirs. It is removed by close, after the
	// nodes stop: a t.TempDir made by AddNode would be removed before the
	// harness's own cleanup (cleanups run last-registered first), under
	// the feet of nodes still running.
	base string
}

// Node is one node of a Harness.
type Node struct {
	*node.Node
	Name  string
	Miner types.Address
	host  host.Host
	dir   string
	up    bool
}

// New starts a harness of n connected nodes. Every node is stopped, and
// checked with chain.Verify, at the end of the test.
func New(t testing.TB, n int, opts Options) *Harness {
	t.Helper()
	if opts.Params == nil {
		opts.Params = chaintest.Params()
	}
	base, err := os.MkdirTemp("", "nodetest-")
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Harness{t: t, opts: opts, Params: opts.Params, mn: mocknet.New(), ctx: ctx, cancel: cancel,
		logs: &testLog{t: t}, base: base}
	t.Cleanup(h.close)
	for i := 0; i < n; i++ {
		h.AddNode()
	}
	return h
}

// AddNode starts one more node, linked and connected to every running one.
func (h *Harness) AddNode() *Node {
	h.t.Helper()
	dir, err := os.MkdirTemp(h.base, fmt.Sprintf("n%d-", len(h.Nodes)))
	if err != nil {
		h.t.Fatalf("nodetest: datadir: %v", err)
	}
	nd := &Node{Name: fmt.Sprintf("n%d", len(h.Nodes)), dir: dir}
	nd.Miner = chaintest.Key("miner-" + nd.Name).Address()
	h.Nodes = append(h.Nodes, nd)
	h.start(nd)
	return nd
}

func (h *Harness) start(nd *Node) {
	h.t.Helper()
	hst, err := h.mn.GenPeer()
	if err != nil {
		h.t.Fatalf("nodetest: new peer: %v", err)
	}
	nd.host = hst
	logger := slog.New(slog.NewTextHandler(h.logs.writer(nd.Name), &slog.HandlerOptions{Level: h.opts.LogLevel}))
	cfg := node.Config{
		Params:  h.Params,
		DataDir: nd.dir,
		P2P: p2p.Config{Host: hst, NoDHT: true, RequestTimeout: 5 * time.Second,
			MaxPresyncHeaders: h.opts.MaxPresyncHeaders},
		Logger: logger,
	}
	if h.opts.RPC {
		cfg.RPC.Addr = "127.0.0.1:0"
	}
	n, err := node.New(cfg)
	if err != nil {
		h.t.Fatalf("nodetest: %s: %v", nd.Name, err)
	}
	if err := n.Start(h.ctx); err != nil {
		h.t.Fatalf("nodetest: start %s: %v", nd.Name, err)
	}
	nd.Node, nd.up = n, true
	h.linkNodes()
	for _, o := range h.Nodes {
		if o != nd && o.up {
			if _, err := h.mn.ConnectPeers(hst.ID(), o.host.ID()); err != nil {
				h.t.Fatalf("nodetest: connect %s-%s: %v", nd.Name, o.Name, err)
			}
		}
	}
}

// Stop stops node i (its data stays for Restart).
func (h *Harness) Stop(i int) {
	h.t.Helper()
	nd := h.Nodes[i]
	if !nd.up {
		return
	}
	nd.up = false
	done := make(chan error, 1)
	go func() { done <- nd.Node.Stop() }()
	select {
	case err := <-done:
		if err != nil {
			h.t.Errorf("nodetest: stop %s: %v", nd.Name, err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatalf("nodetest: stop %s hung for 10 s", nd.Name)
	}
	for _, l := range h.mn.LinksBetweenPeers(nd.host.ID(), nd.host.ID()) {
		_ = h.mn.Unlink(l)
	}
	for _, o := range h.Nodes {
		if o != nd {
			_ = h.mn.UnlinkPeers(nd.host.ID(), o.host.ID())
			_ = h.mn.DisconnectPeers(nd.host.ID(), o.host.ID())
		}
	}
	_ = nd.host.Close()
}

// Restart stops node i and starts it again on the same data (with a new
// peer identity), connected to every running node.
func (h *Harness) Restart(i int) {
	h.t.Helper()
	h.Stop(i)
	h.start(h.Nodes[i])
}

// Partition cuts every link between nodes of different groups (given by
// index); nodes in no group keep their links.
func (h *Harness) Partition(groups ...[]int) {
	h.t.Helper()
	group := map[int]int{}
	for g, idx := range groups {
		for _, i := range idx {
			group[i] = g + 1
		}
	}
	for i, a := range h.Nodes {
		for j, b := range h.Nodes {
			if i < j && a.up && b.up && group[i] != 0 && group[j] != 0 && group[i] != group[j] {
				// Ban both ways as well: mocknet alone was seen to let a
				// connection opened during the cut survive it.
				a.Net().BanPeer(b.host.ID(), time.Hour)
				b.Net().BanPeer(a.host.ID(), time.Hour)
				_ = h.mn.UnlinkPeers(a.host.ID(), b.host.ID())
				_ = h.mn.DisconnectPeers(a.host.ID(), b.host.ID())
			}
		}
	}
	// Close from both sides until neither libp2p nor the nodes' own peer
	// lists (updated by connection notifications) show a cross link.
	h.WaitFor("the partition to take", 10*time.Second, func() bool {
		cut := true
		for i, a := range h.Nodes {
			for j, b := range h.Nodes {
				if !a.up || !b.up || group[i] == 0 || group[j] == 0 || group[i] == group[j] {
					continue
				}
				if a.host.Network().Connectedness(b.host.ID()) == network.Connected {
					_ = h.mn.DisconnectPeers(a.host.ID(), b.host.ID())
					cut = false
				}
				for _, p := range a.Net().Peers() {
					if p.ID == b.host.ID() {
						cut = false
					}
				}
			}
		}
		return cut
	})
}

// Heal lifts the partition's bans and links and connects every pair of
// running nodes.
func (h *Harness) Heal() {
	h.t.Helper()
	for _, a := range h.Nodes {
		for _, b := range h.Nodes {
			if a != b && a.up && b.up {
				a.Net().UnbanPeer(b.host.ID())
			}
		}
	}
	h.linkNodes()
	for i, a := range h.Nodes {
		for j, b := range h.Nodes {
			if i < j && a.up && b.up && a.host.Network().Connectedness(b.host.ID()) != network.Connected {
				if _, err := h.mn.ConnectPeers(a.host.ID(), b.host.ID()); err != nil {
					h.t.Fatalf("nodetest: connect %s-%s: %v", a.Name, b.Name, err)
				}
			}
		}
	}
}

// linkNodes links every pair of running nodes that has no link (not the
// adversaries, which link themselves to the nodes they attack; mocknet's
// LinkAll would link every pair of hosts ever made).
func (h *Harness) linkNodes() {
	h.t.Helper()
	for i, a := range h.Nodes {
		for _, b := range h.Nodes[i+1:] {
			if a.up && b.up && len(h.mn.LinksBetweenPeers(a.host.ID(), b.host.ID())) == 0 {
				if _, err := h.mn.LinkPeers(a.host.ID(), b.host.ID()); err != nil {
					h.t.Fatalf("nodetest: link %s-%s: %v", a.Name, b.Name, err)
				}
			}
		}
	}
}

// Mine has node i build and submit count blocks on its tip, from its
// pool's template, and returns them. Blocks are dated now, or on the
// schedule with Options.ScheduledTimes.
func (h *Harness) Mine(i, count int) []*types.Block {
	h.t.Helper()
	nd := h.Nodes[i]
	var out []*types.Block
	for k := 0; k < count; k++ {
		c := nd.Chain()
		txs := nd.Pool().Template(h.Params.MaxBlockSize - types.HeaderSize - 8)
		blk, err := c.NewBlockTemplate(txs, nd.Miner, time.Now().UnixMilli())
		if err != nil {
			h.t.Fatalf("nodetest: %s: template: %v", nd.Name, err)
		}
		if h.opts.ScheduledTimes {
			// The time changes neither bits (the parent's) nor the roots.
			blk.Header.Time = ScheduledTime(h.Params, blk.Header.Height)
		}
		for consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, h.Params.PowLimit) != nil {
			blk.Header.Nonce++
		}
		res, err := nd.SubmitBlock(blk)
		if err != nil || res.Status != chain.StatusConnected {
			h.t.Fatalf("nodetest: %s: own block refused: %v %v", nd.Name, res.Status, err)
		}
		out = append(out, blk)
	}
	return out
}

// WaitFor waits until cond holds, failing the test after timeout.
func (h *Harness) WaitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("nodetest: timed out after %v waiting for %s\n%s", timeout, what, h.Describe())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

// WaitSameTip waits until the given running nodes (all if none given)
// share one tip hash, and returns it.
func (h *Harness) WaitSameTip(timeout time.Duration, idx ...int) chain.Tip {
	h.t.Helper()
	nodes := h.pick(idx)
	var tip chain.Tip
	h.WaitFor("the same tip", timeout, func() bool {
		tip = nodes[0].Chain().Tip()
		for _, nd := range nodes[1:] {
			if nd.Chain().Tip().Hash != tip.Hash {
				return false
			}
		}
		return true
	})
	return tip
}

// WaitTip waits until the given nodes' tip is hash.
func (h *Harness) WaitTip(timeout time.Duration, hash types.Hash, idx ...int) {
	h.t.Helper()
	nodes := h.pick(idx)
	h.WaitFor("tip "+hash.String()[:12], timeout, func() bool {
		for _, nd := range nodes {
			if nd.Chain().Tip().Hash != hash {
				return false
			}
		}
		return true
	})
}

// WaitPoolHas waits until the given nodes' pools hold tx id.
func (h *Harness) WaitPoolHas(timeout time.Duration, id types.Hash, idx ...int) {
	h.t.Helper()
	nodes := h.pick(idx)
	h.WaitFor("tx "+id.String()[:12]+" in every pool", timeout, func() bool {
		for _, nd := range nodes {
			if !nd.Pool().Has(id) {
				return false
			}
		}
		return true
	})
}

func (h *Harness) pick(idx []int) []*Node {
	var nodes []*Node
	if len(idx) == 0 {
		for _, nd := range h.Nodes {
			if nd.up {
				nodes = append(nodes, nd)
			}
		}
		return nodes
	}
	for _, i := range idx {
		nodes = append(nodes, h.Nodes[i])
	}
	return nodes
}

// Describe returns one line per node: height, tip, peers, pool.
func (h *Harness) Describe() string {
	var b strings.Builder
	for _, nd := range h.Nodes {
		if !nd.up {
			fmt.Fprintf(&b, "  %s: stopped\n", nd.Name)
			continue
		}
		tip := nd.Chain().Tip()
		st := nd.Pool().Status()
		fmt.Fprintf(&b, "  %s: height %d tip %s peers %d pool %d+%d\n", nd.Name, tip.Height, tip.Hash.String()[:12],
			len(nd.host.Network().Peers()), st.Pending, st.Queued)
	}
	return b.String()
}

func (h *Harness) close() {
	for i, nd := range h.Nodes {
		if nd.up {
			if err := nd.Chain().Verify(); err != nil {
				h.t.Errorf("nodetest: %s inconsistent at end of test: %v", nd.Name, err)
			}
			h.Stop(i)
		}
	}
	h.cancel()
	_ = h.mn.Close()
	h.logs.close()
	os.RemoveAll(h.base)
}

// testLog sends each node's log lines to t.Log, prefixed with its name,
// until the test ends.
type testLog struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (l *testLog) writer(name string) *prefixWriter { return &prefixWriter{l: l, name: name} }

func (l *testLog) close() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

type prefixWriter struct {
	l    *testLog
	name string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	if !w.l.done {
		for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
			w.l.t.Logf("[%s] %s", w.name, line)
		}
	}
	return len(p), nil
}

// WaitGossipReady waits until every running node sees every other running
// node subscribed to both gossip topics, so that nothing published next is
// lost to a mesh still forming: GossipSub sends only to peers it knows
// are subscribed (docs/PROTOCOL.md, Gossip).
func (h *Harness) WaitGossipReady(timeout time.Duration) {
	h.t.Helper()
	nodes := h.pick(nil)
	h.WaitFor("gossip subscriptions", timeout, func() bool {
		for _, nd := range nodes {
			b, tx := nd.Net().TopicPeers()
			if len(b) < len(nodes)-1 || len(tx) < len(nodes)-1 {
				return false
			}
		}
		return true
	})
}

// WaitGossipReadyAmong waits until both nodes of each pair (by index) see
// each other subscribed to both gossip topics.
func (h *Harness) WaitGossipReadyAmong(timeout time.Duration, pairs [][2]int) {
	h.t.Helper()
	sees := func(a, b *Node) bool {
		bl, tx := a.Net().TopicPeers()
		return slices.Contains(bl, b.host.ID()) && slices.Contains(tx, b.host.ID())
	}
	h.WaitFor("gossip subscriptions", timeout, func() bool {
		for _, pr := range pairs {
			a, b := h.Nodes[pr[0]], h.Nodes[pr[1]]
			if !sees(a, b) || !sees(b, a) {
				return false
			}
		}
		return true
	})
}

// WaitMeshAmong waits until both nodes of each pair (by index) have each
// other in their GossipSub mesh of the block topic: a block one of them
// relays then reaches the other at once (before that, only by gossip at a
// heartbeat, or with the next block).
func (h *Harness) WaitMeshAmong(timeout time.Duration, pairs [][2]int) {
	h.t.Helper()
	in := func(a, b *Node) bool {
		bl, _ := a.Net().MeshPeers()
		return slices.Contains(bl, b.host.ID())
	}
	h.WaitFor("block meshes", timeout, func() bool {
		for _, pr := range pairs {
			a, b := h.Nodes[pr[0]], h.Nodes[pr[1]]
			if !in(a, b) || !in(b, a) {
				return false
			}
		}
		return true
	})
}
