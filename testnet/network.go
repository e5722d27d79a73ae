package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/internal/localproc"
	"github.com/cairn-ledger/cairn/rpc"
)

// Timeouts of the process lifecycle.
const (
	// StopTimeout is how long a node has to exit after SIGTERM before it
	// is killed.
	StopTimeout = 10 * time.Second
	// readyTimeout bounds the wait for a started node's RPC to answer.
	readyTimeout = 30 * time.Second
	// bootnodeCount is how many bootnodes every node is given: the first
	// nodes other than itself (node1 and node2; node2 and node3 for
	// node1), so that any one of them may be down.
	bootnodeCount = 2
)

// Node is one cairnd process of the testnet. The exported fields are set
// by Setup (and the ports by Start) and not changed while it runs.
type Node struct {
	Index       int
	Name        string // node1, node2…
	DataDir     string
	Mining      bool
	MinerWallet string // miner1… when Mining
	MinerAddr   types.Address
	PeerID      peer.ID
	RPCPort     int
	P2PPort     int

	mu   sync.Mutex
	proc *process // the current process; nil before the first start
}

// process is one run of cairnd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and err is set
	err  error

	mu       sync.Mutex
	ready    bool // it answered RPC; an exit before is start-up's to report
	stopping bool // the launcher asked it to exit: not a crash
}

// NodeExit reports a node process that exited after start-up without
// being asked to.
type NodeExit struct {
	Node *Node
	Err  error // from exec.Cmd.Wait
}

// RPCURL is the node's JSON-RPC endpoint.
func (nd *Node) RPCURL() string { return fmt.Sprintf("http://127.0.0.1:%d", nd.RPCPort) }

// LogPath is where the node's standard output and error go.
func (nd *Node) LogPath() string { return filepath.Join(nd.DataDir, logFile) }

// P2PAddr is the node's full multiaddr, usable as a bootnode.
func (nd *Node) P2PAddr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", nd.P2PPort, nd.PeerID)
}

// Client returns an RPC client of the node (read-only methods: the
// launcher never needs the admin cookie).
func (nd *Node) Client() *rpc.Client { return rpc.NewClient(nd.RPCURL()) }

// Running reports whether the node's process is running.
func (nd *Node) Running() bool {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Network runs the processes of a Testnet. Start comes first; after it
// returns, the methods are safe for concurrent use.
type Network struct {
	*Testnet
	Bins Binaries
	// LogLevel is cairnd's --log.level; default info.
	LogLevel string

	exits chan NodeExit
}

// NewNetwork returns a network of tn's nodes run with bins.
func NewNetwork(tn *Testnet, bins Binaries) *Network {
	return &Network{Testnet: tn, Bins: bins, LogLevel: "info", exits: make(chan NodeExit, len(tn.Nodes))}
}

// Exits delivers the nodes that exit without being stopped or killed by
// the launcher, once they have started (an exit during start-up is
// Start's or StartNode's error).
func (n *Network) Exits() <-chan NodeExit { return n.exits }

// Start picks free loopback ports, starts every node and waits until each
// answers RPC. On failure the nodes already started are stopped. A port
// taken by another program between the pick and cairnd's bind gets new
// ports and another try.
func (n *Network) Start(ctx context.Context) error {
	const attempts = 3
	for try := 1; ; try++ {
		err := n.start(ctx)
		var se *startupError
		if err == nil || try == attempts || !errors.As(err, &se) || !se.portTaken() {
			return err
		}
	}
}

func (n *Network) start(ctx context.Context) error {
	ports, err := localproc.FreePorts(2 * len(n.Nodes))
	if err != nil {
		return err
	}
	for i, nd := range n.Nodes {
		nd.RPCPort, nd.P2PPort = ports[2*i], ports[2*i+1]
	}
	for _, nd := range n.Nodes {
		if err := n.startProcess(nd); err != nil {
			n.Stop()
			return err
		}
	}
	errs := make([]error, len(n.Nodes))
	var wg sync.WaitGroup
	for i, nd := range n.Nodes {
		wg.Go(func() { errs[i] = n.waitReady(ctx, nd) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		n.Stop()
		return err
	}
	return nil
}

// startupError is a node that exited before it answered RPC.
type startupError struct {
	node    *Node
	exitErr error
	logTail string
}

func (e *startupError) Error() string {
	return fmt.Sprintf("%s exited during start-up (%v); last lines of %s:\n%s", e.node.Name, e.exitErr, e.node.LogPath(), indent(e.logTail))
}

// portTaken reports whether the node failed to bind one of its ports.
func (e *startupError) portTaken() bool {
	return strings.Contains(e.logTail, "address already in use")
}

// StartNode starts a stopped node again on its ports and waits until it
// answers RPC.
func (n *Network) StartNode(ctx context.Context, nd *Node) error {
	if nd.Running() {
		return fmt.Errorf("%s is already running", nd.Name)
	}
	if err := n.startProcess(nd); err != nil {
		return err
	}
	return n.waitReady(ctx, nd)
}

// args are cairnd's flags for nd.
func (n *Network) args(nd *Node) []string {
	args := []string{
		"--datadir", nd.DataDir,
		"--genesis", filepath.Join(n.Dir, genesisFile),
		"--p2p.listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", nd.P2PPort),
		"--rpc.addr", fmt.Sprintf("127.0.0.1:%d", nd.RPCPort),
		"--log.level", n.LogLevel,
	}
	var boot []string
	for _, b := range n.Nodes[:min(bootnodeCount+1, len(n.Nodes))] {
		if b != nd && len(boot) < bootnodeCount {
			boot = append(boot, b.P2PAddr())
		}
	}
	if len(boot) > 0 {
		args = append(args, "--bootnodes", strings.Join(boot, ","))
	}
	if n.MDNS {
		args = append(args, "--p2p.mdns")
	}
	if nd.Mining {
		args = append(args, "--mine", "--miner.address", nd.MinerAddr.String(), "--miner.threads", "1")
	}
	return args
}

// startProcess starts cairnd for nd, its output appended to its log.
func (n *Network) startProcess(nd *Node) error {
	logf, err := os.OpenFile(nd.LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := n.args(nd)
	fmt.Fprintf(logf, "==== testnet: %s starting %s %s\n", time.Now().Format(time.RFC3339), n.Bins.Cairnd, strings.Join(args, " "))
	cmd := exec.Command(n.Bins.Cairnd, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = childEnv()
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", nd.Name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	nd.mu.Lock()
	nd.proc = p
	nd.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
		p.mu.Lock()
		crashed := p.ready && !p.stopping
		p.mu.Unlock()
		if crashed {
			select {
			case n.exits <- NodeExit{Node: nd, Err: p.err}:
			default: // a crash already reported fills the buffer; one is enough
			}
		}
	}()
	return nil
}

// childEnv is the launcher's environment without CAIRN_ variables, which
// cairnd would read as flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls nd's RPC until node_info answers with the testnet's
// genesis, the process exits, or readyTimeout passes.
func (n *Network) waitReady(ctx context.Context, nd *Node) error {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := nd.Client()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(rctx, time.Second)
		info, err := c.NodeInfo(cctx)
		ccancel()
		if err == nil && info.Genesis != n.Genesis.String() {
			// Someone else's node on the port; ours will fail to bind.
			err = fmt.Errorf("a node of genesis %s answers on its port", info.Genesis)
		}
		if err == nil {
			p.mu.Lock()
			p.ready = true
			p.mu.Unlock()
			return nil
		}
		select {
		case <-p.done:
			return &startupError{node: nd, exitErr: p.err, logTail: localproc.LogTail(nd.LogPath(), 20)}
		case <-rctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("%s: start-up interrupted: %w", nd.Name, ctx.Err())
			}
			return fmt.Errorf("%s: RPC at %s not answering after %s (%v); last lines of %s:\n%s", nd.Name, nd.RPCURL(), readyTimeout, err, nd.LogPath(), indent(localproc.LogTail(nd.LogPath(), 20)))
		case <-tick.C:
		}
	}
}

// Stop stops every running node: SIGTERM to each, then SIGKILL to those
// still running after StopTimeout. It returns an error naming the nodes
// that had to be killed or exited with an error.
func (n *Network) Stop() error {
	errs := make([]error, len(n.Nodes))
	var wg sync.WaitGroup
	for i, nd := range n.Nodes {
		wg.Go(func() { errs[i] = n.StopNode(nd, StopTimeout) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopNode stops nd with SIGTERM, and SIGKILL after timeout. A node that
// is not running is not an error.
func (n *Network) StopNode(nd *Node, timeout time.Duration) error {
	p := nd.expectExit()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := terminate(p.cmd.Process); err != nil {
		select {
		case <-p.done:
			return nil
		default:
		}
		return fmt.Errorf("%s: %w", nd.Name, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("%s exited with %v after SIGTERM", nd.Name, p.err)
		}
		return nil
	case <-t.C:
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", nd.Name, timeout)
}

// Kill kills every running node at once.
func (n *Network) Kill() {
	for _, nd := range n.Nodes {
		if nd.Running() {
			n.KillNode(nd)
		}
	}
}

// behindSchedule is how many blocks the chain's height is short of
// (now - genesis time) / spacing, by node1's tip; 0 if it cannot tell.
func (n *Network) behindSchedule(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h, err := n.Nodes[0].Client().Head(ctx)
	if err != nil {
		return 0
	}
	due := (time.Now().UnixMilli() - n.Params.GenesisTime) / n.Params.TargetSpacing
	return due - int64(h.Height)
}

// KillNode kills nd at once (SIGKILL), as a crash would, and waits until
// it has exited.
func (n *Network) KillNode(nd *Node) error {
	p := nd.expectExit()
	if p == nil {
		return fmt.Errorf("%s is not running", nd.Name)
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", nd.Name, err)
	}
	<-p.done
	return nil
}

// expectExit marks nd's current process as being stopped by the launcher
// and returns it (nil if there is none).
func (nd *Node) expectExit() *process {
	nd.mu.Lock()
	p := nd.proc
	nd.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	return p
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
