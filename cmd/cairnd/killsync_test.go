package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
)

// Issue 17: a cairnd killed (SIGKILL) in the middle of a full-block sync
// leaves a datadir that `cairnd check` finds sound, and started again on
// it, it resumes and reaches its peer's tip.

// killShape is the chain of TestKillDuringFullSync: blocks of signed txs
// unseen by the syncing node, built as for BenchmarkFullSync400 but 60 ×
// 200 rather than 400 × 1,000, so that building and syncing it keeps
// `make test` short.
var killShape = fullShape{blocks: 60, txs: 200, senders: 4000}

// killStore holds killShape's source, built once per process: each run
// copies it.
var killStore sourceStore

// checkHeight matches the main chain's height in `cairnd check`'s report.
var checkHeight = regexp.MustCompile(`main chain height (\d+), tip ([0-9a-f]+)`)

// cairndCheck runs `cairnd check` on datadir, fails the test unless it
// exits 0 finding no damage, and returns the main chain's height it
// reports.
func cairndCheck(t *testing.T, datadir, genesis string) uint64 {
	t.Helper()
	out, code := cairndRun(t, "check", "--datadir", datadir, "--genesis", genesis)
	m := checkHeight.FindStringSubmatch(out)
	if code != 0 || !strings.Contains(out, "ok: no damage found") || m == nil {
		t.Fatalf("cairnd check: status %d, want 0 with no damage found and the main chain's height:\n%s", code, out)
	}
	h, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitMidSync polls d's node_info until its tip is above from and below
// to, and returns that height; it fails the test if the tip reaches to
// first, if d exits, or after limit. It returns at the first height above
// from it sees, so that nearly the whole sync is still ahead: however
// slow the machine, what follows happens mid-sync.
func waitMidSync(t *testing.T, d *daemon, from, to uint64, limit time.Duration) uint64 {
	t.Helper()
	c := rpc.NewClient(d.url)
	deadline := time.Now().Add(limit)
	var seen []uint64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ni, err := c.NodeInfo(ctx)
		cancel()
		if err == nil {
			if len(seen) == 0 || seen[len(seen)-1] != ni.Height {
				seen = append(seen, ni.Height)
			}
			switch {
			case ni.Height >= to:
				t.Fatalf("the tip reached %d before a height between %d and %d was seen; heights seen %v", ni.Height, from, to, seen)
			case ni.Height > from:
				t.Logf("heights seen before the kill: %v", seen)
				return ni.Height
			}
		}
		select {
		case err := <-d.exited:
			d.exited <- err
			t.Fatalf("cairnd exited in the sync: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no height between %d and %d after %v (heights seen %v, last error %v)", from, to, limit, seen, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKillDuringFullSync: a fresh cairnd syncing blocks of signed txs
// from a source cairnd over loopback is killed with SIGKILL while its tip
// is strictly between 0 and the source's tip; `cairnd check` then finds
// its datadir sound, at a height strictly between too (and not below what
// the node reported); started again on it, the node resumes from there
// (its first head is not below it) and reaches the source's tip, and
// `cairnd check` passes again after a clean stop.
func TestKillDuringFullSync(t *testing.T) {
	built := killStore.get(t, killShape)
	root := t.TempDir()
	// The source runs on a copy: each run starts from the same datadir.
	srcDir := filepath.Join(root, "src")
	if err := os.CopyFS(srcDir, os.DirFS(built.dir)); err != nil {
		t.Fatal(err)
	}
	genesis := built.genesis
	target := uint64(killShape.blocks)
	last, err := types.DecodeBlock(built.encs[len(built.encs)-1], 0)
	if err != nil {
		t.Fatal(err)
	}

	source := startDaemon(t, srcDir, genesis, freePort(t))
	if head, _ := source.waitReady(t, 10*time.Second); head.Height != target || head.Hash != last.Hash().String() {
		t.Fatalf("source head %+v, want height %d, %s", head, target, last.Hash())
	}
	info, err := rpc.NewClient(source.url).NetInfo(context.Background())
	if err != nil || len(info.Addrs) == 0 {
		t.Fatalf("source net_info: %+v, %v", info, err)
	}
	bootnode := info.Addrs[0]

	datadir := filepath.Join(root, "dst")
	dst := startDaemon(t, datadir, genesis, freePort(t), "--bootnodes", bootnode)
	seen := waitMidSync(t, dst, 0, target, 60*time.Second)
	if _, err := dst.signal(t, syscall.SIGKILL, 10*time.Second); err == nil {
		t.Fatal("cairnd exited cleanly after SIGKILL")
	}
	t1 := time.Now()
	height := cairndCheck(t, datadir, genesis)
	t.Logf("killed at height %d (seen); check passed at height %d in %v", seen, height, time.Since(t1).Round(time.Millisecond))
	if height < seen || height >= target {
		t.Fatalf("the killed node's datadir holds a main chain of height %d, want from %d (seen before the kill) to below %d", height, seen, target)
	}

	again := startDaemon(t, datadir, genesis, freePort(t), "--bootnodes", bootnode)
	t2 := time.Now()
	if head, _ := again.waitReady(t, 10*time.Second); head.Height < height {
		t.Fatalf("restarted at height %d, below the %d the datadir held", head.Height, height)
	}
	head := waitHeight(t, again.url, target, 60*time.Second)
	if head.Height != target || head.Hash != last.Hash().String() {
		t.Fatalf("after the restart: head %+v, want height %d, %s", head, target, last.Hash())
	}
	t.Logf("restarted node reached the tip in %v", time.Since(t2).Round(time.Millisecond))
	if _, err := again.signal(t, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("stop after the sync: %v", err)
	}
	if h := cairndCheck(t, datadir, genesis); h != target {
		t.Fatalf("check after the sync: main chain height %d, want %d", h, target)
	}
	if _, err := source.signal(t, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("stop of the source: %v", err)
	}
}
