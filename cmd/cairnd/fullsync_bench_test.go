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

var fullStore struct {
	once    sync.Once
	dir     string // datadir of the source node
	genesis string // its genesis.json
	params  *consensus.Params
	encs    [][]byte // the blocks, for the overlap bound
	built   time.Duration
	err     error
}

// fullParams is the chaintest network with fullSenders senders f0, f1, …
// funded at genesis instead of its wallets.
func fullParams() *consensus.Params {
	p := chaintest.Params()
	p.Alloc = make([]consensus.Alloc, fullSenders)
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

// fullTxsOf returns the signed txs of block height h (from 1): tx j is
// sent by sender (h-1)*fullTxs+j modulo fullSenders to the next sender, so
// every sender has sent the same number of txs before it.
func fullTxsOf(genesis types.Hash, h int) []*types.Tx {
	txs := make([]*types.Tx, fullTxs)
	for j := range txs {
		k := (h-1)*fullTxs + j
		s := k % fullSenders
		tx := &types.Tx{Version: types.TxVersion, To: fullSender((s + 1) % fullSenders).Address(),
			Amount: 1000, Fee: 10, Nonce: uint64(k / fullSenders)}
		fullSender(s).Sign(tx, genesis)
		txs[j] = tx
	}
	return txs
}

// fullChain returns the source datadir with the full-block chain, its
// genesis file and the encoded blocks, built once per process.
func fullChain(b *testing.B) (datadir, genesis string, p *consensus.Params, encs [][]byte) {
	fullStore.once.Do(func() {
		t0 := time.Now()
		fullStore.err = buildFullChain(b)
		fullStore.built = time.Since(t0)
	})
	if fullStore.err != nil {
		b.Fatal(fullStore.err)
	}
	b.Logf("full-block chain of %d blocks built in %v", fullBlocks, fullStore.built.Round(time.Millisecond))
	return fullStore.dir, fullStore.genesis, fullStore.params, fullStore.encs
}

// verifiedAll marks every signature verified: the builder signed them.
type verifiedAll struct{}

func (verifiedAll) Verified(types.Hash) bool { return true }

func buildFullChain(b *testing.B) error {
	dir, err := os.MkdirTemp("", "cairnd-fullsync")
	if err != nil {
		return err
	}
	fullStore.dir = filepath.Join(dir, "src")
	p := fullParams()
	fullStore.params = p
	data, err := p.MarshalGenesis()
	if err != nil {
		return err
	}
	fullStore.genesis = filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(fullStore.genesis, data, 0o644); err != nil {
		return err
	}
	// Sign on every core, a few blocks ahead of the import below.
	genesis := p.GenesisHash()
	signed := make([]chan []*types.Tx, fullBlocks)
	for i := range signed {
		signed[i] = make(chan []*types.Tx, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for h := range work {
				signed[h-1] <- fullTxsOf(genesis, h)
			}
		})
	}
	wg.Go(func() {
		for h := 1; h <= fullBlocks; h++ {
			work <- h
		}
		close(work)
	})
	defer wg.Wait()

	c, err := chain.Open(filepath.Join(fullStore.dir, "chain"), chain.Config{Params: p, Sigs: verifiedAll{}})
	if err != nil {
		return err
	}
	defer c.Close()
	miner := chaintest.Key("miner").Address()
	for h := 1; h <= fullBlocks; h++ {
		txs := <-signed[h-1]
		blk, err := c.NewBlockTemplate(txs, miner, p.GenesisTime+int64(h)*p.TargetSpacing)
		if err != nil {
			return err
		}
		if len(blk.Txs) != fullTxs {
			return fmt.Errorf("block %d holds %d txs, want %d", h, len(blk.Txs), fullTxs)
		}
		for ; consensus.CheckProofOfWork(blk.Header.Hash(), blk.Header.Bits, p.PowLimit) != nil; blk.Header.Nonce++ {
		}
		if _, err := c.ProcessBlock(blk); err != nil {
			return err
		}
		if c.Tip().Height != uint64(h) {
			return fmt.Errorf("block %d not connected", h)
		}
		enc, err := c.BlockBytes(blk.Hash())
		if err != nil {
			return err
		}
		fullStore.encs = append(fullStore.encs, enc)
	}
	return nil
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
	var took time.Duration
	var peak float64
	b.ResetTimer()
	for range b.N {
		dst := startDaemon(b, b.TempDir(), genesis, freePort(b), "--bootnodes", info.Addrs[0])
		waitHeight(b, dst.url, fullBlocks, 5*time.Minute)
		took += time.Since(dst.started)
		peak = max(peak, procStatusMB(b, dst.cmd.Process.Pid, "VmHWM"))
		if _, err := dst.signal(b, syscall.SIGTERM, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fullBlocks*fullTxs*b.N)/took.Seconds(), "tx/s")
	b.ReportMetric(peak, "peak-MB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOverlapFullSync400 is the ceiling of BenchmarkFullSync400: the
// overlap bound, cores ÷ (batch-verify CPU per signature + pre-verified
// apply CPU per tx), both measured on the same 400 blocks.
func BenchmarkOverlapFullSync400(b *testing.B) {
	_, _, p, encs := fullChain(b)
	var sum chaintest.Overlap
	b.ResetTimer()
	for range b.N {
		o := chaintest.MeasureOverlap(b, p, encs, b.TempDir())
		sum.VerifyPerSig += o.VerifyPerSig
		sum.ApplyPerTx += o.ApplyPerTx
	}
	sum.VerifyPerSig /= time.Duration(b.N)
	sum.ApplyPerTx /= time.Duration(b.N)
	sum.Report(b)
}
