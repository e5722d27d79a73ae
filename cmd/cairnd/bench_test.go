package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/rpc"
)

// The process figures of `make bench` (internal/benchtab): start to
// RPC-ready (target <= 0.3 s) and idle RSS (target <= 64 MB), both with
// 20,000 blocks stored, measured on the built binary.

const benchBlocks = 20_000

var benchStore struct {
	once    sync.Once
	dir     string // datadir holding benchBlocks blocks
	genesis string
	tip     string
	err     error
}

// storedChain returns a datadir with 20,000 empty blocks of the chaintest
// network, built once per process.
func storedChain(b *testing.B) (datadir, genesis, tip string) {
	benchStore.once.Do(func() {
		dir, err := os.MkdirTemp("", "cairnd-bench")
		if err != nil {
			benchStore.err = err
			return
		}
		benchStore.genesis = writeGenesis(b, dir)
		benchStore.dir = filepath.Join(dir, "src")
		g := chaintest.New(b)
		blocks := g.Chain("a", "genesis", benchBlocks)
		c, err := chain.Open(filepath.Join(benchStore.dir, "chain"), chain.Config{Params: g.Params})
		if err != nil {
			benchStore.err = err
			return
		}
		defer c.Close()
		for _, blk := range blocks {
			if _, err := c.ProcessBlock(blk); err != nil {
				benchStore.err = err
				return
			}
		}
		benchStore.tip = c.Tip().Hash.String()
	})
	if benchStore.err != nil {
		b.Fatal(benchStore.err)
	}
	return benchStore.dir, benchStore.genesis, benchStore.tip
}

// BenchmarkStartReady is the time from starting cairnd on a datadir with
// 20,000 blocks to its first answer to chain_getHead (target ≤ 0.3 s).
func BenchmarkStartReady(b *testing.B) {
	datadir, genesis, tip := storedChain(b)
	port := freePort(b)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		d := startDaemon(b, datadir, genesis, port)
		head, ready := d.waitReady(b, 10*time.Second)
		total += ready
		b.StopTimer()
		if head.Hash != tip || head.Height != benchBlocks {
			b.Fatalf("head %+v, want %s at %d", head, tip, benchBlocks)
		}
		if _, err := d.signal(b, syscall.SIGTERM, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleRSS is the resident memory of a cairnd that synced 20,000
// blocks from a peer over loopback and then sat idle for a few seconds
// (target ≤ 64 MB).
func BenchmarkIdleRSS(b *testing.B) {
	datadir, genesis, _ := storedChain(b)
	src := startDaemon(b, datadir, genesis, freePort(b))
	src.waitReady(b, 10*time.Second)
	info, err := rpc.NewClient(src.url).NetInfo(context.Background())
	if err != nil || len(info.Addrs) == 0 {
		b.Fatalf("source net_info: %+v, %v", info, err)
	}
	var total float64
	b.ResetTimer()
	for range b.N {
		dst := startDaemon(b, b.TempDir(), genesis, freePort(b), "--bootnodes", info.Addrs[0])
		dst.waitReady(b, 10*time.Second)
		waitHeight(b, dst.url, benchBlocks, 60*time.Second)
		time.Sleep(3 * time.Second) // idle: the figure is what a synced node holds at rest
		total += rssMB(b, dst.cmd.Process.Pid)
		if _, err := dst.signal(b, syscall.SIGTERM, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total/float64(b.N), "MB")
	b.ReportMetric(0, "ns/op")
	src.signal(b, syscall.SIGTERM, 5*time.Second)
}

// rssMB reads VmRSS of pid from /proc, in MB (10^6 bytes).
func rssMB(b *testing.B, pid int) float64 { return procStatusMB(b, pid, "VmRSS") }

// procStatusMB reads the field (VmRSS, VmHWM, …) of pid from
// /proc/pid/status, in MB (10^6 bytes).
func procStatusMB(b *testing.B, pid int, field string) float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb * 1024 / 1e6
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// procCPU returns the CPU time (user and system) process pid has used,
// from /proc/pid/stat (in clock ticks of 1/100 s, Linux's USER_HZ).
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis are numbered from 3, utime and stime 14 and 15.
	_, rest, ok := bytes.Cut(data, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
