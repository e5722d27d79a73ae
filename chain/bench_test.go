package chain_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

const benchTxs = 1000

// benchParams funds benchTxs senders named s0, s1, ….
func benchParams() *consensus.Params {
	p := chaintest.Params()
	p.Alloc = nil
	for i := 0; i < benchTxs; i++ {
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: chaintest.Key(fmt.Sprintf("s%d", i)).Address(), Amount: 1 << 40})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// benchImport imports blocks of benchTxs transfers (each sender pays the
// next, so 1,000 accounts change per block) into an on-disk chain: decode,
// header and body checks, signatures (unless the SigCache already holds
// them), state, and the batch write.
func benchImport(b *testing.B, preverified bool) {
	p := benchParams()
	g := chaintest.NewWithParams(b, p)
	sigs := chain.NewSigCache((b.N + 1) * benchTxs)
	c, err := chain.Open(b.TempDir(), chain.Config{Params: p, Sigs: sigs})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Build (and sign) every block first: the garbage of building must not
	// be collected on the import's time.
	var verified *chain.SigCache
	if preverified {
		verified = sigs
	}
	encs := benchBlocks(g, b.N, verified)
	size := len(encs[0])
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dec, err := types.DecodeBlock(encs[i], p.MaxBlockSize)
		if err != nil {
			b.Fatal(err)
		}
		res, err := c.ProcessBlock(dec)
		if err != nil || res.Status != chain.StatusConnected {
			b.Fatalf("import block %d: %v %v", i, res.Status, err)
		}
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(b.N*benchTxs)/b.Elapsed().Seconds(), "tx/s")
}

// benchBlocks builds n blocks of benchTxs transfers on top of g's genesis
// (each sender pays the next) and returns their encodings; the ids of
// their txs go into sigs unless it is nil.
func benchBlocks(g *chaintest.Builder, n int, sigs *chain.SigCache) [][]byte {
	encs := make([][]byte, n)
	parent := "genesis"
	for i := range encs {
		name := fmt.Sprintf("x%d", i)
		blk := g.Block(name, parent, func(bg *chaintest.BlockGen) {
			for s := 0; s < benchTxs; s++ {
				bg.Pay(fmt.Sprintf("s%d", s), chaintest.Key(fmt.Sprintf("s%d", (s+1)%benchTxs)).Address(), 1000, 10)
			}
		})
		if sigs != nil {
			for _, id := range blk.TxIDs() {
				sigs.Add(id)
			}
		}
		encs[i] = blk.Encode()
		parent = name
	}
	return encs
}

func BenchmarkImportUnseen1000(b *testing.B)   { benchImport(b, false) }
func BenchmarkImportVerified1000(b *testing.B) { benchImport(b, true) }

// overlapBlocks is how many blocks BenchmarkOverlapImport1000 measures:
// about as many as BenchmarkImportUnseen1000 imports in its second.
const overlapBlocks = 100

// BenchmarkOverlapImport1000 is the ceiling of BenchmarkImportUnseen1000:
// the overlap bound, cores ÷ (batch-verify CPU per signature + pre-verified
// apply CPU per tx), both measured on blocks built as that benchmark
// builds them (chaintest.MeasureOverlap).
func BenchmarkOverlapImport1000(b *testing.B) {
	p := benchParams()
	encs := benchBlocks(chaintest.NewWithParams(b, p), overlapBlocks, nil)
	chaintest.BenchOverlap(b, p, encs)
}

// BenchmarkLevelDBBatch1000 is the ceiling for importing pre-verified
// blocks: one unsynced batch write of the records an import of a 1,000-tx
// block writes — the block, 1,000 tx locations, 2,001 address history
// records (sender and recipient of each tx, the miner's reward), 1,001
// accounts, the undo record and the metadata — with nothing validated,
// into a database with the chain's options.
func BenchmarkLevelDBBatch1000(b *testing.B) {
	db, err := leveldb.OpenFile(b.TempDir(), chain.DBOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	blockBytes := make([]byte, benchTxs*types.MinTxSize+types.HeaderSize+3)
	undo := make([]byte, 3+(benchTxs+1)*36)
	rand.Read(blockBytes)
	key := func(prefix byte, n int) []byte {
		k := make([]byte, n)
		rand.Read(k)
		k[0] = prefix
		return k
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := new(leveldb.Batch)
		batch.Put(key('h', 33), blockBytes[:150])
		batch.Put(key('b', 33), blockBytes)
		batch.Put(key('u', 33), undo)
		batch.Put(key('n', 9), blockBytes[:32])
		for t := 0; t < benchTxs; t++ {
			batch.Put(key('t', 33), blockBytes[t:t+36])
		}
		for h := 0; h <= 2*benchTxs; h++ {
			batch.Put(key('x', 33), blockBytes[h:h+1])
		}
		for a := 0; a <= benchTxs; a++ {
			batch.Put(key('a', 21), blockBytes[a:a+16])
		}
		batch.Put([]byte("mlthash"), blockBytes[:2048])
		batch.Put([]byte("mtip"), blockBytes[:32])
		if err := db.Write(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchTxs)/b.Elapsed().Seconds(), "tx/s")
}
