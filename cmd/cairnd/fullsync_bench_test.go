package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
)

// The full-block sync figures of `make bench` (issue 17): a fresh cairnd
// syncing 400 blocks of 1,000 unseen txs from one peer over loopback,
// beside the overlap bound measured on the same blocks, and the syncing
// process's peak resident memory.

const (
	fullBlocks  = 400
	fullTxs     = 1000   // per block
	fullSenders = 20_000 // funded at genesis; each sends every 20th block
)

// fullShape is the shape of a full-block chain: blocks of txs signed txs
// each, sent by senders funded at genesis (with senders = 20 × txs, each
// sends every 20th block).
type fullShape struct{ blocks, txs, senders int }

// benchShape is the chain of `make bench`.
var benchShape = fullShape{blocks: fullBlocks, txs: fullTxs, senders: fullSenders}

// fullSource is a source datadir holding a full-block chain.
type fullSource struct {
	dir     string // datadir of the source node
	genesis string // its genesis.json
	params  *consensus.Params
	encs    [][]byte // the blocks, for the overlap bound
}

// sourceStore is a full-block source built once per process (the test
// binary's TestMain removes it).
type sourceStore struct {
	once sync.Once
	fullSource
	built time.Duration
	err   error
}

// fullStore holds benchShape's source.
var fullStore sourceStore

// get returns the source of shape s, building it on the first call.
func (st *sourceStore) get(tb testing.TB, s fullShape) fullSource {
	tb.Helper()
	st.once.Do(func() {
		t0 := time.Now()
		var dir string
		if dir, st.err = os.MkdirTemp("", "cairnd-fullsync"); st.err == nil {
			st.fullSource, st.err = buildFullChain(dir, s)
		}
		st.built = time.Since(t0)
	})
	if st.err != nil {
		tb.Fatal(st.err)
	}
	tb.Logf("full-block chain of %d blocks of %d txs built in %v", s.blocks, s.txs, st.built.Round(time.Millisecond))
	return st.fullSource
}

// fullParams is the chaintest network with senders f0, f1, … funded at
// genesis instead of its wallets.
func fullParams(senders int) *consensus.Params {
	p := chaintest.Params()
	p.Alloc = make([]consensus.Alloc, senders)
	for i := range p.Alloc {
		p.Alloc[i] = consensus.Alloc{Address: fullSender(i).Address(), Amount: 1 << 40}
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

func fullSender(i int) chaintest.Signer { return chaintest.Key(fmt.Sprintf("f%d", i)) }

// txsOf returns the signed txs of block height h (from 1): tx j is sent
// by sender (h-1)*s.txs+j modulo s.senders to the next sender, so every
// sender has sent the same number of txs before it.
func (s fullShape) txsOf(genesis types.Hash, h int) []*types.Tx {
	txs := make([]*types.Tx, s.txs)
	for j := range txs {
		k := (h-1)*s.txs + j
		i := k % s.senders
		tx := &types.Tx{Version: types.TxVersion, To: fullSender((i + 1) % s.senders).Address(),
			Amount: 1000, Fee: 10, Nonce: uint64(k / s.senders)}
		fullSender(i).Sign(tx, genesis)
		txs[j] = tx
	}
	return txs
}

// fullChain returns the source datadir with benchShape's chain, its
// genesis file and the encoded blocks, built once per process.
func fullChain(b *testing.B) (datadir, genesis string, p *consensus.Params, encs [][]byte) {
	src := fullStore.get(b, benchShape)
	return src.dir, src.genesis, src.params, src.encs
}

// verifiedAll marks every signature verified: the builder signed them.
type verifiedAll struct{}

func (verifiedAll) Verified(types.Hash) bool { return true }

// buildFullChain builds a chain of shape s: the source datadir root/src
// and root/genesis.json.
func buildFullChain(root string, s fullShape) (fullSource, error) {
	src := fullSource{dir: filepath.Join(root, "src"), genesis: filepath.Join(root, "genesis.json")}
	p := fullParams(s.senders)
	src.params = p
	data, err := p.MarshalGenesis()
	if err != nil {
		return src, err
	}
	if err := os.WriteFile(src.genesis, data, 0o644); err != nil {
		return src, err
	}
	// Sign on every core, a few blocks ahead of the import below.
	genesis := p.GenesisHash()
	signed := make([]chan []*types.Tx, s.blocks)
	for i := range signed {
		signed[i] = make(chan []*types.Tx, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for h := range work {
				signed[h-1] <- s.txsOf(genesis, h)
			}
		})
	}
	wg.Go(func() {
		for h := 1; h <= s.blocks; h++ {
			work <- h
		}
		close(work)
	})
	defer wg.Wait()

	c, err := chain.Open(filepath.Join(src.dir, "chain"), chain.Config{Params: p, Sigs: verifiedAll{}})
	if err != nil {
		return src, err
	}
	defer c.Close()
	miner := chaintest.Key("miner").Address()
	for h := 1; h <= s.blocks; h++ {
		txs := <-signed[h-1]
		blk, err := c.NewBlockTemplate(txs, miner, p.GenesisTime+int64(h)*p.TargetSpacing)
		if err != nil {
			return src, err
		}
		if len(blk.Txs) != s.txs {
			return src, fmt.Errorf("block %d holds %d txs, want %d", h, len(blk.Txs), s.txs)
		}
		for ; consensus.CheckProofOfWork(blk.Header.Hash(), blk.Header.Bits, p.PowLimit) != nil; blk.Header.Nonce++ {
		}
		if _, err := c.ProcessBlock(blk); err != nil {
			return src, err
		}
		if c.Tip().Height != uint64(h) {
			return src, fmt.Errorf("block %d not connected", h)
		}
		enc, err := c.BlockBytes(blk.Hash())
		if err != nil {
			return src, err
		}
		src.encs = append(src.encs, enc)
	}
	return src, nil
}

// BenchmarkFullSync400 is the time from starting a fresh cairnd to its
// reaching the tip of 400 blocks of 1,000 unseen txs served by one peer
// cairnd over loopback TCP, as tx/s, and the syncing process's peak
// resident memory (VmHWM) when it reaches the tip, in MB.
func BenchmarkFullSync400(b *testing.B) {
	datadir, genesis, _, _ := fullChain(b)
	src := startDaemon(b, datadir, genesis, freePort(b))
	src.waitReady(b, 10*time.Second)
	defer src.signal(b, syscall.SIGTERM, 5*time.Second)
	info, err := rpc.NewClient(src.url).NetInfo(context.Background())
	if err != nil || len(info.Addrs) == 0 {
		b.Fatalf("source net_info: %+v, %v", info, err)
	}
	// The source's database was just built: LevelDB compacts it for a
	// few seconds after the source opens it. The serving peer of a sync
	// is a node that has long been running; its start is not the sync's
	// to share the cores with.
	waitQuiet(b, src.cmd.Process.Pid, 30*time.Second)
	var took, cpu, srcCPU time.Duration
	var peak float64
	b.ResetTimer()
	for range b.N {
		src0 := procCPU(b, src.cmd.Process.Pid)
		dst := startDaemon(b, b.TempDir(), genesis, freePort(b), "--bootnodes", info.Addrs[0])
		waitHeight(b, dst.url, fullBlocks, 5*time.Minute)
		took += time.Since(dst.started)
		cpu += procCPU(b, dst.cmd.Process.Pid)
		srcCPU += procCPU(b, src.cmd.Process.Pid) - src0
		peak = max(peak, procStatusMB(b, dst.cmd.Process.Pid, "VmHWM"))
		if _, err := dst.signal(b, syscall.SIGTERM, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fullBlocks*fullTxs*b.N)/took.Seconds(), "tx/s")
	b.ReportMetric(peak, "peak-MB")
	// The CPU the two processes used, per tx: the syncing one's beside
	// the overlap bound's two parts, and the serving one's, which shares
	// the machine's cores.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(fullBlocks*fullTxs*b.N), "cpu-ns/tx")
	b.ReportMetric(float64(srcCPU.Nanoseconds())/float64(fullBlocks*fullTxs*b.N), "serve-cpu-ns/tx")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOverlapFullSync400 is the ceiling of BenchmarkFullSync400: the
// overlap bound, cores ÷ (batch-verify CPU per signature + pre-verified
// apply CPU per tx), both measured on the same 400 blocks.
func BenchmarkOverlapFullSync400(b *testing.B) {
	_, _, p, encs := fullChain(b)
	chaintest.BenchOverlap(b, p, encs)
}

// waitQuiet waits until process pid has used under 5 ms of CPU in 200 ms
// (its start's work done), for at most limit.
func waitQuiet(b *testing.B, pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last := procCPU(b, pid)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		cpu := procCPU(b, pid)
		if cpu-last < 5*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the source process still busy after %v", limit)
		}
		last = cpu
	}
}
