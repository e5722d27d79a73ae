package chain_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// The import of 1,000-tx blocks into a large state: the benchTxs senders
// of benchImport, each paying one tx a block, half of them to an address
// never seen (a new account: a lookup of an absent key), half to one of
// the accounts already in the state, picked at random (a lookup that
// misses every cache). The state is made by the genesis allocations, so
// the database is a real one, and compacted into LevelDB's levels as an
// old node's is; it is built once per process and size (stateSeed), and
// each run imports into a copy of it made of hard links.

// dbOptions, if set (-dboptions), runs BenchmarkImportAtAccountsOptions:
// the import at 1,000,000 and 10,000 accounts without the bloom filter and
// with other block cache sizes.
var dbOptions = flag.Bool("dboptions", false, "run BenchmarkImportAtAccountsOptions")

// stateSeed is a chain database whose state holds accounts accounts
// besides the senders, and the blocks built on it so far.
type stateSeed struct {
	once     sync.Once
	err      error
	accounts int
	dir      string // the database, closed; copies are opened
	params   *consensus.Params
	existing []types.Address // the allocated accounts, recipients half the time
	// builder is a copy of the database that the blocks are built and
	// imported into, block after block, as the runs need more. It is
	// open only while extend builds: closed, its LevelDB compactions do
	// not share the CPU with the import being measured.
	builder *chain.Chain
	rng     *rand.Rand
	fresh   uint64       // new recipients so far
	blocks  [][]byte     // encodings
	ids     []types.Hash // every tx id of blocks
	senders []chaintest.Signer
}

var seeds = map[int]*stateSeed{1_000_000: {accounts: 1_000_000}, 10_000: {accounts: 10_000}}

// seedAddress is the i-th allocated account.
func seedAddress(tag string, i uint64) types.Address {
	var a types.Address
	h := types.Sum(binary.BigEndian.AppendUint64([]byte(tag), i))
	copy(a[:], h[:])
	return a
}

// build makes the database: the genesis allocates the senders' funds and
// s.accounts accounts of 1 unit each.
func (s *stateSeed) build(b *testing.B) {
	t0 := time.Now()
	p := benchParams()
	s.existing = make([]types.Address, s.accounts)
	for i := range s.existing {
		s.existing[i] = seedAddress("seed", uint64(i))
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: s.existing[i], Amount: 1})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if s.err = p.Validate(); s.err != nil {
		return
	}
	s.params = p
	if s.dir, s.err = os.MkdirTemp("", "cairn-bench-state"); s.err != nil {
		return
	}
	c, err := chain.Open(filepath.Join(s.dir, "seed"), chain.Config{Params: p})
	if err != nil {
		s.err = err
		return
	}
	if err := c.Compact(); err != nil {
		c.Close()
		s.err = err
		return
	}
	if s.err = c.Close(); s.err != nil {
		return
	}
	if s.builder, s.err = s.open(filepath.Join(s.dir, "builder"), chain.Config{}); s.err != nil {
		return
	}
	if s.err = s.builder.Close(); s.err != nil {
		return
	}
	s.rng = rand.New(rand.NewPCG(1, uint64(s.accounts)))
	for i := 0; i < benchTxs; i++ {
		s.senders = append(s.senders, chaintest.Key(fmt.Sprintf("s%d", i)))
	}
	b.Logf("state of %d accounts built in %v", s.accounts, time.Since(t0).Round(time.Millisecond))
}

// open opens a copy of the seed database at dir, made of hard links
// (LevelDB never changes a file once written, it only adds and removes
// them).
func (s *stateSeed) open(dir string, cfg chain.Config) (*chain.Chain, error) {
	src := filepath.Join(s.dir, "seed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name() == "LOCK" || e.Name() == "LOG" {
			continue
		}
		if err := os.Link(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	cfg.Params = s.params
	return chain.Open(dir, cfg)
}

// extend builds blocks on the builder until there are n.
func (s *stateSeed) extend(n int) (err error) {
	if len(s.blocks) >= n {
		return nil
	}
	if s.builder, err = chain.Open(filepath.Join(s.dir, "builder"), chain.Config{Params: s.params}); err != nil {
		return err
	}
	defer func() {
		if cerr := s.builder.Close(); err == nil {
			err = cerr
		}
	}()
	for len(s.blocks) < n {
		nonce := uint64(len(s.blocks))
		txs := make([]*types.Tx, benchTxs)
		for i, k := range s.senders {
			var to types.Address
			if i%2 == 0 {
				to = seedAddress("fresh", s.fresh)
				s.fresh++
			} else {
				to = s.existing[s.rng.IntN(len(s.existing))]
			}
			txs[i] = &types.Tx{Version: types.TxVersion, To: to, Amount: 1000, Fee: 10, Nonce: nonce}
			k.Sign(txs[i], s.params.GenesisHash())
		}
		tip := s.builder.Tip()
		blk, err := s.builder.NewBlockTemplate(txs, chaintest.Key("miner").Address(), tip.Header.Time+s.params.TargetSpacing)
		if err != nil {
			return err
		}
		if len(blk.Txs) != benchTxs {
			return fmt.Errorf("template holds %d txs, want %d", len(blk.Txs), benchTxs)
		}
		for blk.Header.Nonce = 0; consensus.CheckProofOfWork(blk.Header.Hash(), blk.Header.Bits, s.params.PowLimit) != nil; blk.Header.Nonce++ {
		}
		if _, err := s.builder.ProcessBlock(blk); err != nil {
			return err
		}
		s.blocks = append(s.blocks, blk.Encode())
		s.ids = append(s.ids, blk.TxIDs()...)
	}
	return nil
}

// seed returns the seed of the given size, built on first use.
func seed(b *testing.B, accounts int) *stateSeed {
	s := seeds[accounts]
	s.once.Do(func() { s.build(b) })
	if s.err != nil {
		b.Fatal(s.err)
	}
	return s
}

// benchImportAt imports b.N blocks of benchTxs pre-verified txs into a
// copy of the seed state of the given size.
func benchImportAt(b *testing.B, accounts, cacheMB int) {
	s := seed(b, accounts)
	if err := s.extend(b.N); err != nil {
		b.Fatal(err)
	}
	sigs := chain.NewSigCache(len(s.ids))
	for _, id := range s.ids {
		sigs.Add(id)
	}
	c, err := s.open(filepath.Join(b.TempDir(), "chain"), chain.Config{Sigs: sigs, CacheMB: cacheMB})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dec, err := types.DecodeBlock(s.blocks[i], s.params.MaxBlockSize)
		if err != nil {
			b.Fatal(err)
		}
		res, err := c.ProcessBlock(dec)
		if err != nil || res.Status != chain.StatusConnected {
			b.Fatalf("import block %d: %v %v", i, res.Status, err)
		}
	}
	b.ReportMetric(float64(b.N*benchTxs)/b.Elapsed().Seconds(), "tx/s")
}

func BenchmarkImportAt1MAccounts(b *testing.B)  { benchImportAt(b, 1_000_000, 0) }
func BenchmarkImportAt10kAccounts(b *testing.B) { benchImportAt(b, 10_000, 0) }

// BenchmarkImportAtAccountsOptions is the same import with the bloom
// filter on and off, and block caches of several sizes ("bloom=off
// cache=8" is the options before either was set: goleveldb's default
// cache). Run with -dboptions.
func BenchmarkImportAtAccountsOptions(b *testing.B) {
	if !*dbOptions {
		b.Skip("run with -dboptions")
	}
	for _, accounts := range []int{1_000_000, 10_000} {
		for _, bloom := range []int{0, 10} {
			for _, cacheMB := range []int{8, 32, 128} {
				b.Run(fmt.Sprintf("accounts=%d/bloom=%d/cache=%d", accounts, bloom, cacheMB), func(b *testing.B) {
					defer chain.SetBloomBitsPerKey(bloom)()
					benchImportAt(b, accounts, cacheMB)
				})
			}
		}
	}
}

// TestMain removes the seed databases when the benchmarks are done.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range seeds {
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
	}
	os.Exit(code)
}
