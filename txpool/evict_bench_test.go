package txpool

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// evictBenchSenders is the number of senders of a full pool in
// BenchmarkAddEvict65536Senders, one tx each: the default MaxTxs.
const evictBenchSenders = 1 << 16

// richAccounts is a State in which every account holds a large balance at
// nonce 0.
type richAccounts struct{}

func (richAccounts) Account(types.Address) (chain.Account, error) {
	return chain.Account{Balance: 1 << 62}, nil
}

var evictBench struct {
	mu  sync.Mutex
	txs []*types.Tx
}

// evictBenchTxs returns n unsigned txs, each of its own sender at nonce 0:
// the first evictBenchSenders with fees spread over 1,000..100,999, the
// rest with fees from 200,000 up, each higher than all before it.
func evictBenchTxs(n int) []*types.Tx {
	s := &evictBench
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.txs); i < n; i++ {
		tx := &types.Tx{Version: types.TxVersion, To: types.Address{0xbe, 0xef}, Amount: 1, Nonce: 0}
		binary.BigEndian.PutUint64(tx.From[:], uint64(i))
		copy(tx.From[8:], "txpool eviction bench sender")
		if i < evictBenchSenders {
			tx.Fee = 1000 + uint64(i)*2654435761%100_000
		} else {
			tx.Fee = 200_000 + uint64(i)
		}
		s.txs = append(s.txs, tx)
	}
	return s.txs[:n]
}

// BenchmarkAddEvict65536Senders admits txs into a pool that is full at
// its default caps: 65,536 txs of 65,536 senders. Each admitted tx comes
// from a new sender and pays more than any pooled one, so each evicts one.
// Signature verification is stubbed out: it costs the same with or
// without eviction (BenchmarkAdmission times it); the figure is the
// pool's own work per add, most of it under the write lock. Target: at
// most 20 µs per add.
func BenchmarkAddEvict65536Senders(b *testing.B) {
	txs := evictBenchTxs(evictBenchSenders + b.N)
	p := fullBenchPool(b, txs[:evictBenchSenders])
	incoming := txs[evictBenchSenders:]
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Add(incoming[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if st := p.Status(); st.Pending != evictBenchSenders || st.Queued != 0 {
		b.Fatalf("pool %+v, want %d pending", st, evictBenchSenders)
	}
	if !p.Has(incoming[b.N-1].ID()) {
		b.Fatal("the last tx is not pooled")
	}
}

// BenchmarkPendingIDs65536 lists the 4,096 highest-fee ids of a pool of
// 65,536 pending txs, as for reconciling pools between peers. The pool's
// read lock is held only while the pending txs are copied.
func BenchmarkPendingIDs65536(b *testing.B) {
	p := fullBenchPool(b, evictBenchTxs(evictBenchSenders))
	var n int
	for b.Loop() {
		n = len(p.PendingIDs(4096))
	}
	if n != 4096 {
		b.Fatalf("%d ids", n)
	}
}

// fullBenchPool returns a pool with default caps holding txs, which must
// fit, with signature verification stubbed out.
func fullBenchPool(b *testing.B, txs []*types.Tx) *Pool {
	b.Helper()
	p, err := New(Config{Genesis: types.Sum([]byte("txpool eviction bench"))}, richAccounts{})
	if err != nil {
		b.Fatal(err)
	}
	p.verify = func(types.PubKey, types.Hash, types.Signature) bool { return true }
	for _, tx := range txs {
		if _, err := p.Add(tx); err != nil {
			b.Fatal(err)
		}
	}
	return p
}
