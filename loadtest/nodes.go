package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/internal/localproc"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// This file is a minimal process launcher, written for the load test
// rather than shared with testnet (package main there): build cairnd, make
// a genesis with the funded senders, start the nodes and stop them.

const (
	// stopTimeout is how long a node has to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// readyTimeout bounds the wait for a started node's RPC.
	readyTimeout = 30 * time.Second
	// hashRatePerThread is the hashes per second assumed of one mining
	// thread, as testnet assumes: it sets the genesis difficulty, and
	// ASERT corrects it.
	hashRatePerThread = 1e6
	// senderFunds is each sender's genesis allocation: 10,000 CRN, far
	// more than any run spends.
	senderFunds = 10_000 * wallet.BaseUnitsPerCRN
)

// seedKey is the deterministic key of name: its seed is SHA-256(name).
func seedKey(name string) *wallet.Key {
	seed := sha256.Sum256([]byte(name))
	k, err := wallet.KeyFromSeed(seed[:])
	if err != nil {
		panic(err) // a 32-byte seed is always valid
	}
	return k
}

// senderKey is sender i's key, from the seed "load-<i>".
func senderKey(i int) *wallet.Key { return seedKey("load-" + strconv.Itoa(i)) }

// goTool is the go command: $GO if set, else go from PATH.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// buildCairnd builds ./cmd/cairnd of the module the working directory is
// in into dir and returns the binary's path.
func buildCairnd(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the cairn module: run from the repository")
	}
	exe := filepath.Join(dir, "cairnd")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", exe, "./cmd/cairnd")
	cmd.Dir = filepath.Dir(gomod)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cairnd: %w\n%s", err, buf.Bytes())
	}
	return exe, nil
}

// newGenesis returns the parameters of a fresh network: genesis now,
// spacing blockTime, the difficulty of miners threads at
// hashRatePerThread (at most one busy thread per CPU), the testnet's
// reward and limits, and alloc.
func newGenesis(blockTime time.Duration, miners int, alloc []consensus.Alloc) (*consensus.Params, error) {
	hashRate := hashRatePerThread * float64(min(miners, runtime.NumCPU()))
	return localproc.GenesisSpec("cairn-loadtest", time.Now(), blockTime, hashRate, alloc).Params()
}

// node is one cairnd process.
type node struct {
	name        string
	dir         string
	miner       *wallet.Key // nil for the entry node
	peerID      string
	rpcPort     int
	p2pPort     int
	metricsPort int
	client      *rpc.Client

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // from Wait, set before done is closed
}

func (nd *node) rpcURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", nd.rpcPort) }
func (nd *node) logPath() string { return filepath.Join(nd.dir, "cairnd.log") }
func (nd *node) p2pAddr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", nd.p2pPort, nd.peerID)
}

// pid is the process id, 0 if not started.
func (nd *node) pid() int {
	if nd.cmd == nil || nd.cmd.Process == nil {
		return 0
	}
	return nd.cmd.Process.Pid
}

// cluster is the running network.
type cluster struct {
	nodes   []*node // the miners first, the entry node last
	genesis string  // genesis block hash
}

func (c *cluster) entry() *node { return c.nodes[len(c.nodes)-1] }

// startCluster lays out miners mining nodes and one entry node under dir
// and starts them on free loopback ports, every node with the others as
// bootnodes; it returns once each answers RPC.
func startCluster(ctx context.Context, cairnd, dir, genesisPath, genesisHash string, miners int, logLevel string) (*cluster, error) {
	c := &cluster{genesis: genesisHash}
	ports, err := localproc.FreePorts(3 * (miners + 1))
	if err != nil {
		return nil, err
	}
	for i := range miners + 1 {
		nd := &node{name: fmt.Sprintf("miner%d", i+1), rpcPort: ports[3*i], p2pPort: ports[3*i+1], metricsPort: ports[3*i+2]}
		if i == miners {
			nd.name = "entry"
		} else {
			nd.miner = seedKey("load-miner-" + strconv.Itoa(i+1))
		}
		nd.dir = filepath.Join(dir, nd.name)
		if err := os.MkdirAll(nd.dir, 0o700); err != nil {
			return nil, err
		}
		id, err := p2p.KeyFilePeerID(filepath.Join(nd.dir, "p2p.key"))
		if err != nil {
			return nil, err
		}
		nd.peerID = id.String()
		nd.client = rpc.NewClient(nd.rpcURL())
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes {
		args := []string{
			"--datadir", nd.dir,
			"--genesis", genesisPath,
			"--p2p.listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", nd.p2pPort),
			"--rpc.addr", fmt.Sprintf("127.0.0.1:%d", nd.rpcPort),
			"--metrics.addr", fmt.Sprintf("127.0.0.1:%d", nd.metricsPort),
			"--log.level", logLevel,
		}
		var boot []string
		for _, o := range c.nodes {
			if o != nd {
				boot = append(boot, o.p2pAddr())
			}
		}
		args = append(args, "--bootnodes", strings.Join(boot, ","))
		if nd.miner != nil {
			args = append(args, "--mine", "--miner.address", nd.miner.Address().String(), "--miner.threads", "1")
		}
		if err := nd.start(cairnd, args); err != nil {
			c.stop()
			return nil, err
		}
	}
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Go(func() { errs[i] = nd.waitReady(ctx, genesisHash) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (nd *node) start(cairnd string, args []string) error {
	logf, err := os.OpenFile(nd.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== loadtest: %s starting %s %s\n", time.Now().Format(time.RFC3339), cairnd, strings.Join(args, " "))
	cmd := exec.Command(cairnd, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, kv := range os.Environ() { // CAIRN_ variables would be read as flags
		if !strings.HasPrefix(kv, "CAIRN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", nd.name, err)
	}
	nd.cmd, nd.done = cmd, make(chan struct{})
	go func() {
		nd.err = cmd.Wait()
		logf.Close()
		close(nd.done)
	}()
	return nil
}

// waitReady polls node_info until it answers with genesis, the process
// exits, or readyTimeout passes.
func (nd *node) waitReady(ctx context.Context, genesis string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		info, err := nd.client.NodeInfo(cctx)
		ccancel()
		if err == nil && info.Genesis == genesis {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("a node of genesis %s answers on its port", info.Genesis)
		}
		select {
		case <-nd.done:
			return fmt.Errorf("%s exited during start-up (%v); last lines of %s:\n%s", nd.name, nd.err, nd.logPath(), logTail(nd.logPath(), 15))
		case <-ctx.Done():
			return fmt.Errorf("%s: RPC not answering (%v); last lines of %s:\n%s", nd.name, err, nd.logPath(), logTail(nd.logPath(), 15))
		case <-tick.C:
		}
	}
}

// running reports whether nd's process is still running.
func (nd *node) running() bool {
	if nd.done == nil {
		return false
	}
	select {
	case <-nd.done:
		return false
	default:
		return true
	}
}

// stop stops every node: SIGTERM, then SIGKILL after stopTimeout. It
// returns an error naming the nodes that had to be killed or exited with
// an error.
func (c *cluster) stop() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, nd := range c.nodes {
		wg.Go(func() { errs[i] = nd.stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (nd *node) stop() error {
	if nd.done == nil {
		return nil
	}
	select {
	case <-nd.done:
		return nil
	default:
	}
	if err := terminate(nd.cmd.Process); err != nil {
		nd.cmd.Process.Kill()
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-nd.done:
		if nd.err != nil {
			return fmt.Errorf("%s exited with %v after SIGTERM", nd.name, nd.err)
		}
		return nil
	case <-t.C:
	}
	nd.cmd.Process.Kill()
	<-nd.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", nd.name, stopTimeout)
}

// logTail returns the last n lines of the log at path, indented.
func logTail(path string, n int) string {
	return "    " + strings.ReplaceAll(localproc.LogTail(path, n), "\n", "\n    ")
}

// procUsage is a process's CPU time (user + system) and resident memory,
// read from /proc (Linux); ok is false elsewhere or once it exited.
type procUsage struct {
	cpu time.Duration
	rss int64 // bytes
	ok  bool
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
// times: 100 on every Linux architecture Go supports.
const clockTicks = 100

func readProc(pid int) procUsage {
	if pid == 0 {
		return procUsage{}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procUsage{}
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procUsage{}
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 22 {
		return procUsage{}
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	rss, err3 := strconv.ParseInt(f[21], 10, 64)   // field 24, pages
	if err1 != nil || err2 != nil || err3 != nil {
		return procUsage{}
	}
	return procUsage{
		cpu: time.Duration(utime+stime) * time.Second / clockTicks,
		rss: rss * int64(os.Getpagesize()),
		ok:  true,
	}
}

// minerAddrs are the miners' addresses.
func (c *cluster) minerAddrs() []types.Address {
	var out []types.Address
	for _, nd := range c.nodes {
		if nd.miner != nil {
			out = append(out, nd.miner.Address())
		}
	}
	return out
}
