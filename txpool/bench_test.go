package txpool_test

import (
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// Benchmarks of the pool: admission rate (compared by `make bench`
// with BenchmarkVerifySingle of package consensus, target >= 0.7 of it),
// template building from a large pool, and memory per pooled tx. They run
// on a State stub with large balances, so that they time the pool and not
// the database; signatures are made once per process and reused.

// benchPerSender is how many consecutive nonces each bench sender signs.
const benchPerSender = 10

var benchGenesis = types.Sum([]byte("txpool bench genesis"))

// benchSigned holds the bench txs signed so far: tx j is nonce
// j%benchPerSender of sender j/benchPerSender, with a fee spread over
// 1,000..100,999 so that templates have something to sort.
var benchSigned struct {
	mu   sync.Mutex
	keys []ed25519.PrivateKey
	txs  []*types.Tx
}

// benchTxs returns the first n bench txs, signing the ones missing on
// every core.
func benchTxs(n int) []*types.Tx {
	s := &benchSigned
	s.mu.Lock()
	defer s.mu.Unlock()
	have := len(s.txs)
	if n <= have {
		return s.txs[:n]
	}
	for len(s.keys)*benchPerSender < n {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(len(s.keys)))
		copy(seed[8:], "txpool bench sender")
		s.keys = append(s.keys, ed25519.NewKeyFromSeed(seed[:]))
	}
	s.txs = append(s.txs, make([]*types.Tx, n-have)...)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for j := have + w; j < n; j += workers {
				key := s.keys[j/benchPerSender]
				tx := &types.Tx{
					Version: types.TxVersion,
					To:      types.Address{byte(j), byte(j >> 8), 0xbe},
					Amount:  1,
					Fee:     1000 + uint64(j)*2654435761%100_000,
					Nonce:   uint64(j % benchPerSender),
				}
				copy(tx.From[:], key.Public().(ed25519.PublicKey))
				d := tx.SigningDigest(benchGenesis)
				copy(tx.Sig[:], ed25519.Sign(key, d[:]))
				s.txs[j] = tx
			}
		})
	}
	wg.Wait()
	return s.txs[:n]
}

// newBenchPool returns a pool that holds n txs without evicting any.
func newBenchPool(b *testing.B, n int) *txpool.Pool {
	b.Helper()
	p, err := txpool.New(txpool.Config{
		Genesis:  benchGenesis,
		MaxTxs:   n + 1,
		MaxBytes: (n + 1) * types.MaxTxSize,
	}, &richState{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkAdmissionSerial admits distinct pre-signed txs, one goroutine:
// the cost of one admission, signature verification included.
func BenchmarkAdmissionSerial(b *testing.B) {
	txs := benchTxs(b.N)
	p := newBenchPool(b, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Add(txs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkAdmission admits distinct pre-signed txs from every core at
// once, as a node's gossip validators and RPC handlers do: the figure
// `make bench` reports.
func BenchmarkAdmission(b *testing.B) {
	txs := benchTxs(b.N)
	p := newBenchPool(b, b.N)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Add(txs[next.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

var pool50k struct {
	once sync.Once
	p    *txpool.Pool
	mu   sync.Mutex
	err  error // the first refusal while filling, if any
}

// BenchmarkTemplate50k builds a 1 MiB template from a pool of 50,000
// pending txs (5,000 senders × 10 nonces).
func BenchmarkTemplate50k(b *testing.B) {
	const n = 50_000
	pool50k.once.Do(func() {
		txs := benchTxs(n)
		p := newBenchPool(b, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
					if _, err := p.Add(txs[i]); err != nil {
						pool50k.mu.Lock()
						pool50k.err = cmp.Or(pool50k.err, err)
						pool50k.mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		pool50k.p = p
	})
	if pool50k.err != nil {
		b.Fatal(pool50k.err)
	}
	p := pool50k.p
	if st := p.Status(); st.Pending != n {
		b.Fatalf("pool: %+v", st)
	}
	var picked int
	for b.Loop() {
		picked = len(p.Template(1 << 20))
	}
	b.ReportMetric(float64(picked), "txs/template")
}

// BenchmarkPoolMemoryPerTx fills a pool with 10,000 txs given as bytes
// (AddRaw, as from the network, so the decoded tx counts too) and reports
// the heap it holds per tx after a GC.
func BenchmarkPoolMemoryPerTx(b *testing.B) {
	const n = 10_000
	var raws [][]byte
	for _, tx := range benchTxs(n) {
		raws = append(raws, tx.Encode())
	}
	var perTx float64
	var ms runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		b.StartTimer()
		p := newBenchPool(b, n)
		for _, r := range raws {
			if _, err := p.AddRaw(r); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		perTx = float64(int64(ms.HeapAlloc)-int64(before)) / n
		runtime.KeepAlive(p)
		b.StartTimer()
	}
	b.ReportMetric(perTx, "B/tx")
}
