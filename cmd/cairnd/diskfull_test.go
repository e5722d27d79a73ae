package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/rpc"
)

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted at
// the end of the test, or skips the test where that is not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is tested on a small tmpfs, which needs root to mount")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir that leaves about free bytes of its file
// system unused.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := avail - free; n > 0 {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<16)
		for w := int64(0); w < n; {
			k := min(int64(len(buf)), n-w)
			if _, err := f.Write(buf[:k]); err != nil {
				t.Fatalf("filling %s: %v", dir, err)
			}
			w += k
		}
	}
	return path
}

// TestDiskFull (issue 14): a node syncing onto a disk that fills up stops
// with status 4 and a message saying the disk is full and that nothing
// needs repair; once space is freed, `cairnd check` passes and the node
// restarts without repair and completes its sync.
func TestDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "64m")
	root := t.TempDir()
	genesis := writeGenesis(t, root)
	g := chaintest.New(t)
	const height = 4000
	blocks := g.Payments("a", "genesis", height, 4)
	src := filepath.Join(root, "src")
	g.Store(filepath.Join(src, "chain"), blocks)
	peer := startDaemon(t, src, genesis, freePort(t))
	peer.waitReady(t, 10*time.Second)
	ni, err := rpc.NewClient(peer.url).NetInfo(context.Background())
	if err != nil || len(ni.Addrs) == 0 {
		t.Fatalf("peer net_info: %v %+v", err, ni)
	}

	// Room to start (a new chain database, the p2p key, the cookie), not
	// for the 4,000 blocks.
	datadir := filepath.Join(disk, "node")
	filler := fill(t, disk, 2<<20)
	d := startDaemon(t, datadir, genesis, freePort(t), "--bootnodes", ni.Addrs[0])
	var exitErr error
	select {
	case exitErr = <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("cairnd still running 60 s into a sync onto a full disk:\n%s", d.log)
	}
	var ee *exec.ExitError
	if !errors.As(exitErr, &ee) || ee.ExitCode() != exitDiskFull || !strings.Contains(d.log.String(), "disk full") ||
		!strings.Contains(d.log.String(), "nothing needs repair") {
		t.Fatalf("cairnd on a full disk ended with %v, want status %d saying the disk is full:\n%s", exitErr, exitDiskFull, d.log)
	}
	t.Logf("stopped %v after its start: %s", time.Since(d.started).Round(time.Millisecond), lastLine(d.log.String()))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if out, code := cairndRun(t, "check", "--datadir", datadir, "--genesis", genesis); code != 0 {
		t.Fatalf("check after the disk was freed: status %d\n%s", code, out)
	} else {
		t.Logf("check after freeing space:\n%s", out)
	}
	d = startDaemon(t, datadir, genesis, freePort(t), "--bootnodes", ni.Addrs[0])
	d.waitReady(t, 10*time.Second)
	if head := waitHeight(t, d.url, height, 60*time.Second); head.Hash != blocks[height-1].Hash().String() {
		t.Fatalf("tip %s, want %s", head.Hash, blocks[height-1].Hash())
	}
	if _, err := d.signal(t, syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.log)
	}
}
