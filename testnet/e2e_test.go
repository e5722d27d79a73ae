package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/internal/localproc"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// e2eDeadline bounds one end-to-end run after the binaries are built.
const e2eDeadline = 90 * time.Second

// The binaries are built once per test process (go test -count=5 runs
// the test five times on one build) into a directory TestMain removes.
var e2eBuild struct {
	once sync.Once
	dir  string
	bins Binaries
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBuild.dir != "" {
		os.RemoveAll(e2eBuild.dir)
	}
	os.Exit(code)
}

func buildOnce(t *testing.T) Binaries {
	t.Helper()
	e2eBuild.once.Do(func() {
		// A cold build of go-libp2p takes minutes on 2 cores; it is not
		// part of the test's deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		root, err := moduleRoot(ctx)
		if err != nil {
			e2eBuild.err = err
			return
		}
		if e2eBuild.dir, err = os.MkdirTemp("", "cairn-e2e-bin-"); err != nil {
			e2eBuild.err = err
			return
		}
		start := time.Now()
		e2eBuild.bins, e2eBuild.err = build(ctx, root, e2eBuild.dir)
		t.Logf("built cairnd and cairn in %v", time.Since(start).Round(time.Millisecond))
	})
	if e2eBuild.err != nil {
		t.Fatal(e2eBuild.err)
	}
	return e2eBuild.bins
}

// TestE2E runs a 3-process testnet as the launcher does: a payment with
// the cairn binary, its effect on every node, a node killed and restarted
// that catches up to the same tip and state.
func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cairnd processes; skipped with -short")
	}
	bins := buildOnce(t)
	began := time.Now()
	step := func(format string, args ...any) {
		t.Logf("[%6.2fs] %s", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eDeadline)
	defer cancel()

	// A 500 ms block time, and a genesis difficulty for 0.5 M hashes/s a
	// miner: under go test ./... the miners share two busy cores with
	// everything else, and blocks that come early only make it quicker
	// (ASERT slows them down within a few dozen blocks).
	tn, err := Setup(Options{Dir: t.TempDir(), Nodes: 3, Miners: 2, BlockTime: 500 * time.Millisecond, HashRate: 0.5e6})
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(tn, bins)
	// Cleanups run last-registered first: stop the nodes, then (on
	// failure) show their logs, then remove the directory.
	t.Cleanup(func() {
		if t.Failed() {
			for _, nd := range tn.Nodes {
				t.Logf("last 30 lines of %s:\n%s", nd.LogPath(), localproc.LogTail(nd.LogPath(), 30))
			}
		}
	})
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			n.Stop()
		}
	})
	w := &waiter{t: t, n: n, ctx: ctx}

	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	step("started %d nodes", len(tn.Nodes))
	w.until("every node at height 2 with a peer", func() (bool, string) {
		rows := n.Status(ctx, time.Second)
		for _, r := range rows {
			if r.Err != nil || r.Height < 2 || r.Peers < 1 {
				return false, table(rows)
			}
		}
		return true, ""
	})
	step("all nodes past height 2:\n%s", table(n.Status(ctx, time.Second)))

	// alice pays bob 1.5 CRN with the cairn CLI, through the node that
	// does not mine.
	alice, bob := tn.Wallets["alice"].String(), tn.Wallets["bob"].String()
	args := append([]string{"--json"}, sendArgs(tn.WalletHome(), tn.Nodes[2].RPCURL(), bob, "1.5")...)
	cmd := exec.CommandContext(ctx, bins.Cairn, args...)
	cmd.Env = append(childEnv(), wallet.PassphraseEnv+"="+Passphrase)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cairn %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	var sent rpc.Tx
	if err := json.Unmarshal(stdout.Bytes(), &sent); err != nil {
		t.Fatalf("cairn send --json printed %q: %v", stdout.Bytes(), err)
	}
	if sent.Status != "confirmed" || sent.Height == 0 || sent.Amount != "150000000" || sent.From != alice || sent.To != bob {
		t.Fatalf("cairn send --wait returned %+v", sent)
	}
	fee, err := strconv.ParseUint(sent.Fee, 10, 64)
	if err != nil {
		t.Fatalf("fee %q: %v", sent.Fee, err)
	}
	step("cairn send --wait: tx %.16s confirmed at height %d (fee %s)", sent.ID, sent.Height, sent.Fee)

	// Every node shows both balances (the nodes that had not yet seen the
	// block get there within a few polls).
	wantAlice := strconv.FormatUint(GenesisFunds-150_000_000-fee, 10)
	wantBob := strconv.FormatUint(GenesisFunds+150_000_000, 10)
	w.until("alice and bob's balances on every node", func() (bool, string) {
		var got []string
		ok := true
		for _, nd := range tn.Nodes {
			a, errA := nd.Client().Account(ctx, alice)
			b, errB := nd.Client().Account(ctx, bob)
			if errA != nil || errB != nil {
				got = append(got, fmt.Sprintf("%s: %v %v", nd.Name, errA, errB))
				ok = false
				continue
			}
			got = append(got, fmt.Sprintf("%s: alice %s nonce %d, bob %s", nd.Name, a.Balance, a.Nonce, b.Balance))
			ok = ok && a.Balance == wantAlice && a.Nonce == 1 && b.Balance == wantBob
		}
		return ok, fmt.Sprintf("want alice %s nonce 1, bob %s; got\n%s", wantAlice, wantBob, strings.Join(got, "\n"))
	})
	step("balances agree on every node: alice %s, bob %s", wantAlice, wantBob)

	// Kill node1 (a miner and everyone's bootnode) as a crash would; the
	// others keep mining without it.
	victim := tn.Nodes[0]
	rest := tn.Nodes[1:]
	if err := n.KillNode(victim); err != nil {
		t.Fatal(err)
	}
	killedAt := w.height(rest...)
	step("SIGKILLed %s at network height %d", victim.Name, killedAt)
	w.until(fmt.Sprintf("the others past height %d", killedAt+3), func() (bool, string) {
		h := w.height(rest...)
		return h >= killedAt+3, fmt.Sprintf("at height %d", h)
	})
	target := w.height(rest...)
	step("%s and %s mined on to height %d", rest[0].Name, rest[1].Name, target)

	if err := n.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	step("restarted %s", victim.Name)
	var agreed *rpc.Head
	w.until(fmt.Sprintf("all nodes on one tip and state root at height ≥ %d", target), func() (bool, string) {
		heads := make([]*rpc.Head, len(tn.Nodes))
		var lines []string
		for i, nd := range tn.Nodes {
			h, err := nd.Client().Head(ctx)
			if err != nil {
				lines = append(lines, fmt.Sprintf("%s: %v", nd.Name, err))
				continue
			}
			heads[i] = h
			lines = append(lines, fmt.Sprintf("%s: height %d tip %.16s state %.16s", nd.Name, h.Height, h.Hash, h.StateRoot))
		}
		for _, h := range heads {
			if h == nil || h.Height < target || h.Hash != heads[0].Hash || h.StateRoot != heads[0].StateRoot {
				return false, strings.Join(lines, "\n")
			}
		}
		agreed = heads[0]
		return true, ""
	})
	step("all nodes agree: height %d tip %.16s state root %.16s", agreed.Height, agreed.Hash, agreed.StateRoot)
	if b, err := victim.Client().Account(ctx, bob); err != nil || b.Balance != wantBob {
		t.Errorf("after the restart %s says bob has %v (%v), want %s", victim.Name, b, err, wantBob)
	}

	stopped = true
	if err := n.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	step("stopped every node cleanly")
}

// waiter polls conditions until they hold, a node exits on its own, or
// the test's deadline passes.
type waiter struct {
	t   *testing.T
	n   *Network
	ctx context.Context
}

// until polls cond every 200 ms; cond returns whether it holds and, if
// not, what it saw, for the failure message.
func (w *waiter) until(what string, cond func() (bool, string)) {
	w.t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, saw := cond()
		if ok {
			return
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatalf("waiting for %s: %v; last seen:\n%s", what, w.ctx.Err(), saw)
		case e := <-w.n.Exits():
			w.t.Fatalf("waiting for %s: %s exited unexpectedly (%v)", what, e.Node.Name, e.Err)
		case <-tick.C:
		}
	}
}

// height is the highest tip height among nodes (0 if none answers).
func (w *waiter) height(nodes ...*Node) uint64 {
	var best uint64
	for _, nd := range nodes {
		if h, err := nd.Client().Head(w.ctx); err == nil {
			best = max(best, h.Height)
		}
	}
	return best
}

func table(rows []NodeStatus) string {
	var b strings.Builder
	WriteTable(&b, rows)
	return b.String()
}
