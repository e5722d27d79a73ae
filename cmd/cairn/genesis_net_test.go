package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// netTimeout bounds each wait of TestGenesisNetwork.
const netTimeout = 60 * time.Second

// TestGenesisNetwork: the genesis that `cairn genesis new` writes starts a
// working network. Two cairnd on loopback, node2 with node1 as its
// bootnode, node1 mining to alice, who like bob has an allocation; once
// node1 has 3 blocks its miner is stopped, node2 reaches the same tip, and
// both report the allocations (and alice's rewards) over RPC.
func TestGenesisNetwork(t *testing.T) {
	t.Parallel()
	if cairndSkip != "" {
		t.Skip(cairndSkip)
	}
	if cairndErr != "" {
		t.Fatal(cairndErr)
	}
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	alice := c.showJSON("alice").Address
	bobKey, err := wallet.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	bob := bobKey.Address().String()

	// A block every second at 100 kH/s: one mining thread does several
	// times that, so blocks come faster, as ASERT allows a new chain.
	genesis := filepath.Join(t.TempDir(), "genesis.json")
	res := jsonOut[newGenesisResult](t, c.ok("--json", "genesis", "new", "--network", "cairn-e2e",
		"--block-time", "1s", "--hashrate", "100k", "--alloc", "alice=1000", "--alloc", bob+"=2.5", "--out", genesis))

	node1 := startCairnd(t, c, "node1", genesis, "--mine", "--miner.address", alice, "--miner.threads", "1")
	boot := node1.p2pAddr(t)
	node2 := startCairnd(t, c, "node2", genesis, "--bootnodes", boot)
	for _, n := range []*cairnd{node1, node2} {
		info, err := n.client.NodeInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Genesis != res.Genesis || info.Network != "cairn-e2e" {
			t.Errorf("%s: genesis %s of %s, want %s of cairn-e2e", n.name, info.Genesis, info.Network, res.Genesis)
		}
	}

	node1.waitHead(t, "height 3", func(h *rpc.Head) bool { return h.Height >= 3 })
	c.ok("--rpc", node1.rpcURL, "--datadir", node1.datadir, "miner", "stop")
	tip, err := node1.client.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	node2.waitHead(t, fmt.Sprintf("node1's tip %d %s", tip.Height, tip.Hash), func(h *rpc.Head) bool { return h.Hash == tip.Hash })
	if again, err := node1.client.Head(context.Background()); err != nil || again.Hash != tip.Hash {
		t.Fatalf("node1's tip moved after miner stop: %+v, %v", again, err)
	}

	// Every block paid 50 CRN to alice: her balance is her allocation and
	// the rewards of the tip's height, on both nodes.
	aliceWant := 1000*wallet.BaseUnitsPerCRN + tip.Height*50*wallet.BaseUnitsPerCRN
	for _, n := range []*cairnd{node1, node2} {
		for addr, want := range map[string]uint64{alice: aliceWant, bob: 250_000_000} {
			acct := jsonOut[rpc.Account](t, c.ok("--rpc", n.rpcURL, "--json", "balance", addr))
			if acct.Balance != strconv.FormatUint(want, 10) {
				t.Errorf("%s: balance of %s %s, want %d", n.name, addr, acct.Balance, want)
			}
		}
	}
}

// cairnd is a cairnd process started by a test, stopped at its cleanup.
type cairnd struct {
	name, datadir, rpcURL, logPath string
	client                         *rpc.Client
	exited                         chan error // receives cmd.Wait's error once
}

// startCairnd starts cairnd with genesis and extra flags, in a fresh data
// directory, its RPC on a free loopback port and its p2p on another (no
// DHT), and waits until its RPC answers. At cleanup it is sent SIGINT and
// killed if it has not exited within 10 s; its log is shown if the test
// failed.
func startCairnd(t *testing.T, c *runner, name, genesis string, extra ...string) *cairnd {
	t.Helper()
	dir := t.TempDir()
	n := &cairnd{name: name, datadir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "cairnd.log"), exited: make(chan error, 1)}
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	n.rpcURL = "http://" + addr
	n.client = rpc.NewClient(n.rpcURL)
	logFile, err := os.Create(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := append([]string{
		"--datadir", n.datadir,
		"--genesis", genesis,
		"--rpc.addr", addr,
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0",
		"--p2p.nodht",
		"--log.level", "info",
	}, extra...)
	cmd := exec.Command(cairndBin, args...)
	cmd.Env = c.environ(nil)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			n.dumpLog(t)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10 s of SIGINT; killing it", name)
			_ = cmd.Process.Kill()
			<-n.exited
		}
	})
	n.poll(t, "its RPC to answer", func() (bool, string) {
		_, err := n.client.NodeInfo(context.Background())
		return err == nil, fmt.Sprint(err)
	})
	return n
}

// poll calls cond every 50 ms until it holds, and fails the test if the
// node exits or netTimeout passes first; last describes the state cond
// saw, for the failure message.
func (n *cairnd) poll(t *testing.T, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.NewTimer(netTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case err := <-n.exited:
			n.exited <- err // for the cleanup
			t.Fatalf("%s exited (%v) while the test waited for %s", n.name, err, what)
		case <-deadline.C:
			t.Fatalf("%s: no %s within %s (last: %s)", n.name, what, netTimeout, last)
		case <-tick.C:
		}
	}
}

// waitHead waits until the node's head satisfies cond.
func (n *cairnd) waitHead(t *testing.T, what string, cond func(*rpc.Head) bool) {
	t.Helper()
	n.poll(t, what, func() (bool, string) {
		h, err := n.client.Head(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return cond(h), fmt.Sprintf("height %d, tip %s", h.Height, h.Hash)
	})
}

// p2pAddr returns the node's loopback listen multiaddr, /p2p/<id>
// included: a bootnode for another.
func (n *cairnd) p2pAddr(t *testing.T) string {
	t.Helper()
	var addr string
	n.poll(t, "a loopback listen address", func() (bool, string) {
		ni, err := n.client.NetInfo(context.Background())
		if err != nil {
			return false, err.Error()
		}
		for _, a := range ni.Addrs {
			if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
				addr = a
				return true, ""
			}
		}
		return false, fmt.Sprint(ni.Addrs)
	})
	return addr
}

func (n *cairnd) dumpLog(t *testing.T) {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		t.Logf("%s: %v", n.name, err)
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("%s log (last %d lines):\n%s", n.name, min(len(lines), 40), strings.Join(lines[max(0, len(lines)-40):], "\n"))
}
