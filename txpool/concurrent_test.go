package txpool_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// TestConcurrentAddsAndBlocks (run it under -race): 8 goroutines add
// pre-signed txs — each its own sender's and its neighbour's, so every tx
// is offered twice and some a third time at once — while the test
// goroutine builds blocks from the pool's templates, imports them and
// calls Update. Low-balance senders run out of funds part way. At the end
// the pool is consistent with the chain (checkPool), and every tx is in
// the pool, on the chain, or was refused with a reason.
func TestConcurrentAddsAndBlocks(t *testing.T) {
	const (
		workers = 8
		perSend = 40
	)
	e := newEnv(t, func(c *txpool.Config) {
		c.MaxPerSender = 16
		c.MaxNonceGap = 16
		c.Sigs = chain.NewSigCache(4096)
	})
	lim := limitsOf(e.cfg)
	senders := slices.Clone(chaintest.Wallets)
	var funding []*types.Tx
	for i := range workers - len(chaintest.Wallets) {
		name := fmt.Sprintf("thin%d", i)
		senders = append(senders, name)
		funding = append(funding, e.tx("alice", addr(name), 60_000, 1000, uint64(i)))
	}
	e.mine(funding...)

	// Pre-sign every sender's txs: nonces from its account's, fees varied;
	// a thin sender runs out of funds after about ten.
	type offer struct {
		tx  *types.Tx
		id  types.Hash
		err error
	}
	work := make([][]*offer, workers)
	byWorker := make([][]*types.Tx, len(senders))
	for s, name := range senders {
		start := e.account(addr(name)).Nonce
		for k := range uint64(perSend) {
			fee := 1000 + (uint64(s)*7919+k*104729)%5000
			tx := e.tx(name, addr(senders[(s+1)%len(senders)]), 2_000, fee, start+k)
			byWorker[s] = append(byWorker[s], tx)
		}
	}
	for w := range workers {
		for k := range perSend {
			// The worker's own sender and its neighbour's, interleaved;
			// every fifth tx twice in a row.
			for _, s := range []int{w, (w + 1) % len(senders)} {
				o := &offer{tx: byWorker[s][k], id: byWorker[s][k].ID()}
				work[w] = append(work[w], o)
				if k%5 == 0 {
					work[w] = append(work[w], &offer{tx: o.tx, id: o.id})
				}
			}
		}
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, o := range work[w] {
				_, o.err = e.p.Add(o.tx)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	deadline := time.After(2 * time.Minute)
	blocks := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-deadline:
			t.Fatal("adders did not finish within 2 minutes")
		default:
		}
		e.mine(e.p.Template(12 * types.MinTxSize)...)
		blocks++
	}
	t.Logf("%d blocks while adding", blocks)
	checkPool(t, e.c, e.p, lim, 5*types.MinTxSize)

	reasons := map[string]int{}
	for _, ws := range work {
		for _, o := range ws {
			if o.err != nil {
				r := txpool.ReasonOf(o.err)
				switch r {
				case txpool.ReasonDuplicate, txpool.ReasonNonceTooLow, txpool.ReasonNonceTooHigh,
					txpool.ReasonInsufficientBalance, txpool.ReasonSenderLimit:
				default:
					t.Fatalf("tx %s refused with %v, which this test gives no cause for", o.id, o.err)
				}
				reasons[r.String()]++
				continue
			}
			reasons["admitted"]++
			if e.p.Has(o.id) {
				continue
			}
			if _, err := e.c.TxLocation(o.id); err != nil {
				t.Fatalf("admitted tx %s (nonce %d of %s) is neither pooled nor on the chain: %v", o.id, o.tx.Nonce, o.tx.Sender(), err)
			}
		}
	}
	t.Logf("outcomes: %v", reasons)

	// The rest is mined in a few more blocks: nothing pending is stuck.
	for i := 0; i < 10 && e.p.Status().Pending > 0; i++ {
		e.mine(e.p.Template(1 << 20)...)
		checkPool(t, e.c, e.p, lim, 5*types.MinTxSize)
	}
	if st := e.p.Status(); st.Pending != 0 {
		t.Fatalf("status %+v after mining everything", st)
	}
}
