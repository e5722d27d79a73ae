package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/internal/version"
	"github.com/cairn-ledger/cairn/rpc"
)

// These tests run the built cairnd binary as a process (issue 5,
// acceptance 3): readiness, SIGTERM, restarts after a clean stop and after
// SIGKILL, and one-line errors for bad flags.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairnd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cairnd")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building cairnd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if benchStore.dir != "" {
		os.RemoveAll(filepath.Dir(benchStore.dir))
	}
	for _, st := range []*sourceStore{&fullStore, &killStore} {
		if st.dir != "" {
			os.RemoveAll(filepath.Dir(st.dir))
		}
	}
	os.Exit(code)
}

// writeGenesis writes the chaintest network's genesis.json (trivial
// proof of work, 1 s blocks) into dir.
func writeGenesis(t testing.TB, dir string) string {
	t.Helper()
	data, err := chaintest.Params().MarshalGenesis()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// daemon is one running cairnd process.
type daemon struct {
	cmd     *exec.Cmd
	log     *bytes.Buffer
	url     string
	started time.Time
	exited  chan error
}

func startDaemon(t testing.TB, datadir, genesis string, port int, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"--datadir", datadir, "--genesis", genesis,
		"--rpc.addr", "127.0.0.1:" + strconv.Itoa(port),
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--p2p.nodht"}, extra...)
	return launch(t, exec.Command(binary, args...), port)
}

// launch starts cmd, a cairnd whose RPC is on port, killed at the end of
// the test if still running.
func launch(t testing.TB, cmd *exec.Cmd, port int) *daemon {
	t.Helper()
	d := &daemon{cmd: cmd, log: new(bytes.Buffer),
		url: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("cairnd log:\n%s", d.log)
		}
	})
	return d
}

// waitReady polls chain_getHead until it answers and returns the time
// from process start.
func (d *daemon) waitReady(t testing.TB, limit time.Duration) (*rpc.Head, time.Duration) {
	t.Helper()
	c := rpc.NewClient(d.url)
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		head, err := c.Head(ctx)
		cancel()
		if err == nil {
			return head, time.Since(d.started)
		}
		select {
		case err := <-d.exited:
			d.exited <- err
			t.Fatalf("cairnd exited before answering: %v\n%s", err, d.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cairnd not answering chain_getHead after %v: %v", limit, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// signal sends sig and waits up to limit for the exit.
func (d *daemon) signal(t testing.TB, sig syscall.Signal, limit time.Duration) (time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		return time.Since(t0), err
	case <-time.After(limit):
		t.Fatalf("cairnd still running %v after %v", limit, sig)
		return 0, nil
	}
}

func waitHeight(t testing.TB, url string, h uint64, limit time.Duration) *rpc.Head {
	t.Helper()
	c := rpc.NewClient(url)
	deadline := time.Now().Add(limit)
	for {
		head, err := c.Head(context.Background())
		if err == nil && head.Height >= h {
			return head
		}
		if time.Now().After(deadline) {
			t.Fatalf("height %d not reached in %v (head %+v, err %v)", h, limit, head, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDaemonStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	datadir := filepath.Join(dir, "node")
	port := freePort(t)
	miner := chaintest.Key("miner").Address().String() // not one of the funded wallets

	d := startDaemon(t, datadir, genesis, port, "--mine", "--miner.address", miner)
	_, ready := d.waitReady(t, 5*time.Second)
	if ready > time.Second {
		t.Errorf("chain_getHead answered %v after start, want within 1 s", ready)
	}
	if fi, err := os.Stat(filepath.Join(datadir, "rpc.cookie")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rpc.cookie: %v, %v", fi, err)
	}
	waitHeight(t, d.url, 5, 30*time.Second)
	took, err := d.signal(t, syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	t.Logf("ready in %v; stopped %v after SIGTERM", ready, took)
	if _, err := os.Stat(filepath.Join(datadir, "rpc.cookie")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rpc.cookie left behind after a clean stop: %v", err)
	}

	// The chain survives the restart (no mining now, so it stays put).
	d2 := startDaemon(t, datadir, genesis, port)
	head2, _ := d2.waitReady(t, 5*time.Second)
	if head2.Height < 5 {
		t.Fatalf("after restart height %d, want >= 5", head2.Height)
	}
	acc, err := rpc.NewClient(d2.url).Account(context.Background(), miner)
	if err != nil {
		t.Fatal(err)
	}
	if want := mined(head2.Height); acc.Balance != want {
		t.Fatalf("miner balance %s after %d blocks, want %s", acc.Balance, head2.Height, want)
	}
	if _, err := d2.signal(t, syscall.SIGINT, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}

	// SIGKILL while mining, then restart: the node opens cleanly with a
	// consistent chain at least as long as before the kill.
	d3 := startDaemon(t, datadir, genesis, port, "--mine", "--miner.address", miner)
	d3.waitReady(t, 5*time.Second)
	before := waitHeight(t, d3.url, head2.Height+5, 30*time.Second)
	d3.signal(t, syscall.SIGKILL, 5*time.Second)
	d4 := startDaemon(t, datadir, genesis, port)
	head4, _ := d4.waitReady(t, 5*time.Second)
	if head4.Height < before.Height {
		t.Fatalf("after SIGKILL height %d, was %d", head4.Height, before.Height)
	}
	acc, err = rpc.NewClient(d4.url).Account(context.Background(), miner)
	if err != nil {
		t.Fatal(err)
	}
	if want := mined(head4.Height); acc.Balance != want {
		t.Fatalf("after SIGKILL: miner balance %s at height %d, want %s", acc.Balance, head4.Height, want)
	}
	if _, err := d4.signal(t, syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// mined is what a miner of blocks 1..h without txs holds, in base units.
func mined(h uint64) string {
	p := chaintest.Params()
	var sum uint64
	for i := uint64(1); i <= h; i++ {
		sum += p.Subsidy(i)
	}
	return strconv.FormatUint(sum, 10)
}

// Bad flags and files give one line naming the problem and exit 1,
// without touching the datadir.
func TestDaemonBadInput(t *testing.T) {
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"network": "x"}`), 0o644)
	datadir := filepath.Join(dir, "d")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--log.level", "loud"}, `--log.level "loud"`},
		{[]string{"--log.format", "xml"}, `--log.format "xml"`},
		{[]string{"--genesis", filepath.Join(dir, "missing.json")}, "--genesis"},
		{[]string{"--genesis", bad}, "genesis: "},
		{[]string{"--genesis", genesis, "--mine"}, "--mine needs --miner.address"},
		{[]string{"--genesis", genesis, "--miner.address", "cairn1nope"}, `--miner.address "cairn1nope"`},
		{[]string{"--genesis", genesis, "--miner.threads", "0"}, "--miner.threads 0: want 1 to 256"},
		{[]string{"--genesis", genesis, "--miner.threads", "257"}, "--miner.threads 257: want 1 to 256"},
		{[]string{"--genesis", genesis, "--cache", "0"}, "--cache 0: want 1 to 1048576 (MB)"},
		{[]string{"--genesis", genesis, "--cache", "1048577"}, "--cache 1048577: want 1 to 1048576 (MB)"},
		{[]string{"--genesis", genesis, "--cache", "32MB"}, `invalid value "32MB" for flag -cache`},
		{[]string{"--genesis", genesis, "--minchainwork", "12g"}, `--minchainwork "12g"`},
		{[]string{"--genesis", genesis, "--minchainwork", "-5"}, `--minchainwork "-5"`},
		{[]string{"--genesis", genesis, "--rpc.addr", "localhost"}, "rpc address"},
		{[]string{"--genesis", genesis, "--rpc.cors", "wallet.example"}, `--rpc.cors "wallet.example"`},
		{[]string{"--genesis", genesis, "--bootnodes", "/ip4/1.2.3.4/tcp/1"}, "bootnode"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		args := append([]string{"--datadir", datadir}, tc.args...)
		cmd := exec.Command(binary, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%v: exit %v, want non-zero", tc.args, err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "cairnd: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", tc.args, stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(datadir, "chain")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start created the chain: %v", err)
	}
}

// A datadir of one network refuses another network's genesis.
func TestDaemonRefusesOtherNetwork(t *testing.T) {
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	datadir := filepath.Join(dir, "d")
	d := startDaemon(t, datadir, genesis, freePort(t))
	d.waitReady(t, 5*time.Second)
	d.signal(t, syscall.SIGTERM, 5*time.Second)
	out, err := exec.Command(binary, "--datadir", datadir, "--rpc.addr", "127.0.0.1:0",
		"--p2p.listen", "/ip4/127.0.0.1/tcp/0", "--p2p.nodht").CombinedOutput()
	if err == nil {
		t.Fatalf("started on another network's datadir:\n%s", out)
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	if !strings.HasPrefix(last, "cairnd: ") || !strings.Contains(last, "genesis") {
		t.Fatalf("error %q, want a cairnd: line about the genesis", last)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "cairnd "+version.Version) {
		t.Fatalf("cairnd version: %q, %v", out, err)
	}
	out, err = exec.Command(binary, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version.Version) {
		t.Fatalf("cairnd --version: %q, %v", out, err)
	}
}

// Every flag can come from a CAIRN_ environment variable; a flag given on
// the command line wins.
func TestDaemonFlagsFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	port := freePort(t)
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(),
		"CAIRN_DATADIR="+filepath.Join(dir, "envnode"), "CAIRN_GENESIS="+genesis,
		"CAIRN_RPC_ADDR=127.0.0.1:"+strconv.Itoa(port), "CAIRN_P2P_LISTEN=/ip4/127.0.0.1/tcp/0",
		"CAIRN_P2P_NODHT=true", "CAIRN_MINE=true", "CAIRN_MINER_ADDRESS="+chaintest.Key("miner").Address().String(),
		"CAIRN_MINER_THREADS=2", "CAIRN_LOG_FORMAT=json", "CAIRN_RPC_HOSTS=node.lan")
	d := launch(t, cmd, port)
	d.waitReady(t, 5*time.Second)
	// CAIRN_RPC_HOSTS: the listed name is served, another refused.
	for host, want := range map[string]int{"node.lan:7731": http.StatusOK, "attacker.example": http.StatusForbidden} {
		r, _ := http.NewRequest(http.MethodPost, d.url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"chain_getHead"}`))
		r.Host = host
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: HTTP %d, want %d", host, resp.StatusCode, want)
		}
	}
	st, err := rpc.NewClient(d.url).MinerStatus(context.Background())
	if err != nil || !st.Running || st.Threads != 2 {
		t.Fatalf("miner_status %+v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "envnode", "rpc.cookie")); err != nil {
		t.Fatalf("CAIRN_DATADIR not used: %v", err)
	}
	if _, err := d.signal(t, syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(d.log.String()), "{") {
		t.Fatalf("CAIRN_LOG_FORMAT=json not used: %.200s", d.log)
	}
	// The command line wins over the environment.
	cmd2 := exec.Command(binary, "--log.level", "loud")
	cmd2.Env = append(os.Environ(), "CAIRN_LOG_LEVEL=debug")
	out, err := cmd2.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `--log.level "loud"`) {
		t.Fatalf("flag over env: %v, %s", err, out)
	}
}
