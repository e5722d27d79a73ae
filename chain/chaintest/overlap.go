package chaintest

import (
	"runtime"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Overlap is what an import of blocks of unseen txs costs, split into the
// two parts a pipelined import can run side by side (issue 17): batch
// verification of the signatures, and applying the blocks once their
// signatures are known good. Both are CPU time of this process (all its
// threads: the garbage collector and LevelDB's compaction count too), so
// the figures hold when another process shares the machine.
type Overlap struct {
	// VerifyPerSig is the CPU time to batch-verify one signature (signing
	// digest, Add, Verify) on one goroutine, the blocks already decoded.
	VerifyPerSig time.Duration
	// ApplyPerTx is the CPU time to import one tx (decode, checks, state,
	// the batch write) with every signature already in the SigCache, on
	// one core (GOMAXPROCS 1).
	ApplyPerTx time.Duration
	// Txs is the number of txs (and signatures) measured.
	Txs int
}

// Bound returns the overlap bound in tx/s: cores working perfectly in
// parallel, each tx costing its verification plus its apply.
func (o Overlap) Bound(cores int) float64 {
	return float64(cores) / (o.VerifyPerSig + o.ApplyPerTx).Seconds()
}

// Report reports o as metrics of b: the bound on runtime.NumCPU() cores
// (tx/s) and its two parts.
func (o Overlap) Report(b *testing.B) {
	b.ReportMetric(o.Bound(runtime.NumCPU()), "tx/s")
	b.ReportMetric(float64(o.VerifyPerSig.Nanoseconds()), "verify-ns/sig")
	b.ReportMetric(float64(o.ApplyPerTx.Nanoseconds()), "apply-ns/tx")
	b.ReportMetric(0, "ns/op")
}

// MeasureOverlap measures the overlap of encs, the encodings of
// consecutive blocks on top of p's genesis: their signatures batch-verified
// on one goroutine, then the blocks imported into a fresh chain in dir with
// every signature marked verified first. Not safe for concurrent use: it
// sets GOMAXPROCS for the apply.
func MeasureOverlap(tb testing.TB, p *consensus.Params, encs [][]byte, dir string) Overlap {
	tb.Helper()
	genesis := p.GenesisHash()
	blocks := make([]*types.Block, len(encs))
	ids := make([][]types.Hash, len(encs))
	n := 0
	for i, enc := range encs {
		blk, err := types.DecodeBlock(enc, p.MaxBlockSize)
		if err != nil {
			tb.Fatalf("chaintest: decode block %d: %v", i, err)
		}
		blocks[i], ids[i] = blk, blk.TxIDs()
		n += len(blk.Txs)
	}
	if n == 0 {
		tb.Fatal("chaintest: no txs to measure")
	}

	runtime.GC()
	cpu0 := CPUTime()
	for i, blk := range blocks {
		if err := consensus.VerifyTxSignatures(blk.Txs, ids[i], 0, len(blk.Txs), genesis, nil); err != nil {
			tb.Fatalf("chaintest: block %d: %v", i, err)
		}
	}
	verify := CPUTime() - cpu0

	sigs := chain.NewSigCache(n)
	for _, bids := range ids {
		for _, id := range bids {
			sigs.Add(id)
		}
	}
	blocks, ids = nil, nil // the apply decodes its own
	c, err := chain.Open(dir, chain.Config{Params: p, Sigs: sigs})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	runtime.GC()
	procs := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(procs)
	cpu0 = CPUTime()
	for i, enc := range encs {
		blk, err := types.DecodeBlock(enc, p.MaxBlockSize)
		if err != nil {
			tb.Fatal(err)
		}
		if res, err := c.ProcessBlock(blk); err != nil || res.Status != chain.StatusConnected {
			tb.Fatalf("chaintest: import block %d: %v %v", i, res.Status, err)
		}
	}
	apply := CPUTime() - cpu0
	return Overlap{VerifyPerSig: verify / time.Duration(n), ApplyPerTx: apply / time.Duration(n), Txs: n}
}

// BenchOverlap runs MeasureOverlap on encs b.N times, each into a fresh
// directory, and reports the mean: the body of an overlap-bound
// benchmark.
func BenchOverlap(b *testing.B, p *consensus.Params, encs [][]byte) {
	var sum Overlap
	b.ResetTimer()
	for range b.N {
		o := MeasureOverlap(b, p, encs, b.TempDir())
		sum.VerifyPerSig += o.VerifyPerSig
		sum.ApplyPerTx += o.ApplyPerTx
	}
	sum.VerifyPerSig /= time.Duration(b.N)
	sum.ApplyPerTx /= time.Duration(b.N)
	sum.Report(b)
}
