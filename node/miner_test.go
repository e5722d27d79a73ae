package node

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// The midstate shortcut must give exactly H(header) for every nonce and
// time the worker tries.
func TestWorkerHashMatchesHeaderHash(t *testing.T) {
	h := types.Header{Version: 1, Height: 7, Time: 1_700_000_123_456, Bits: 0x207fffff, Nonce: 99}
	h.Parent[0], h.TxRoot[5], h.StateRoot[31], h.Miner[19] = 1, 2, 3, 4
	var total atomic.Uint64
	var always [32]byte
	for i := range always {
		always[i] = 0xff
	}
	// Times ahead of the clock, which the worker keeps.
	for _, time := range []int64{1 << 41, 1<<41 + 1, 1 << 50} {
		w := newWorker(h, always, &total)
		w.time = time
		got, ok := w.run(context.Background(), time)
		if !ok {
			t.Fatal("no win with the maximal target")
		}
		want := h
		want.Time, want.Nonce = time, got.Nonce
		if got != want {
			t.Fatalf("worker header %+v, want %+v", got, want)
		}
		// Recompute the hash the slow way and compare with a target just
		// at it: the worker must find exactly that hash.
		sum := got.Hash()
		w2 := newWorker(h, sum, &total)
		w2.time, w2.nonce = time, got.Nonce
		types.PutNonceTime(&w2.enc, time, got.Nonce)
		if _, ok := w2.scan(1); !ok {
			t.Fatalf("time %d: midstate hash differs from Header.Hash", time)
		}
		var below [32]byte
		copy(below[:], sum[:])
		for i := 31; i >= 0; i-- { // target = hash - 1
			if below[i] > 0 {
				below[i]--
				break
			}
			below[i] = 0xff
		}
		w3 := newWorker(h, below, &total)
		w3.time, w3.nonce = time, got.Nonce
		types.PutNonceTime(&w3.enc, time, got.Nonce)
		if _, ok := w3.scan(1); ok {
			t.Fatalf("time %d: a hash above the target won", time)
		}
	}
}

// A template's old time is brought up to the clock.
func TestWorkerKeepsTimeCurrent(t *testing.T) {
	h := types.Header{Version: 1, Height: 7, Time: 1_700_000_000_000, Bits: 0x207fffff}
	var total atomic.Uint64
	var always [32]byte
	for i := range always {
		always[i] = 0xff
	}
	before := time.Now().UnixMilli()
	got, ok := newWorker(h, always, &total).run(context.Background(), h.Time)
	if !ok || got.Time < before || got.Time > time.Now().UnixMilli() {
		t.Fatalf("time %d, want between %d and now", got.Time, before)
	}
	if total.Load() != 1 {
		t.Fatalf("counted %d hashes for one", total.Load())
	}
}

func testNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.Params == nil {
		cfg.Params = chaintest.Params()
	}
	cfg.NoNetwork = true
	return startNode(t, cfg)
}

// startNode builds and starts a node of cfg, stopped at the end of the
// test.
func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	return n
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The miner builds on the tip, takes txs from the pool, and its blocks
// pay the miner; stopping it stops the chain from growing.
func TestMinerMinesTxsIntoBlocks(t *testing.T) {
	minerAddr := chaintest.Key("dave").Address()
	n := testNode(t, Config{Miner: MinerConfig{Enabled: true, Address: minerAddr, Threads: 2, Refresh: 50 * time.Millisecond}})
	waitFor(t, 20*time.Second, "3 blocks", func() bool { return n.Chain().Tip().Height >= 3 })

	alice := chaintest.Key("alice")
	bob := chaintest.Key("bob").Address()
	tx := &types.Tx{Version: types.TxVersion, From: alice.Pub, To: bob, Amount: 12345, Fee: 2000}
	alice.Sign(tx, n.cfg.Params.GenesisHash())
	id, err := n.SubmitTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the tx to be mined", func() bool {
		_, err := n.Chain().TxLocation(id)
		return err == nil
	})
	if err := n.Chain().Verify(); err != nil {
		t.Fatal(err)
	}
	acc, err := n.Chain().Account(bob)
	if err != nil || acc.Balance != chaintest.GenesisFunds+12345 {
		t.Fatalf("bob: %+v %v", acc, err)
	}
	st := n.Miner().State()
	if !st.Running || st.Threads != 2 || st.BlocksMined < 3 || st.Hashes == 0 {
		t.Fatalf("miner state %+v", st)
	}
	tip := n.Chain().Tip()
	blk, err := n.Chain().Block(tip.Hash)
	if err != nil || blk.Header.Miner != minerAddr {
		t.Fatalf("tip block miner %v, %v", blk.Header.Miner, err)
	}
	if err := consensus.CheckProofOfWork(tip.Hash, tip.Header.Bits, n.cfg.Params.PowLimit); err != nil {
		t.Fatal(err)
	}

	n.Miner().Stop()
	if n.Miner().State().Running {
		t.Fatal("still running after Stop")
	}
	h := n.Chain().Tip().Height
	// Nothing mines now: a block could only come from the miner.
	n.Miner().Stop() // stopping twice is fine
	if got := n.Chain().Tip().Height; got != h {
		t.Fatalf("height moved from %d to %d after Stop", h, got)
	}
	if err := n.Miner().Start(1, types.Address{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "mining to resume", func() bool { return n.Chain().Tip().Height > h })
}

func TestMinerNeedsAddress(t *testing.T) {
	n := testNode(t, Config{})
	if err := n.Miner().Start(1, types.Address{}); err == nil {
		t.Fatal("started without an address")
	}
	if err := n.Miner().Start(100000, chaintest.Key("dave").Address()); err == nil {
		t.Fatal("started with 100000 threads")
	}
	if n.Miner().State().Running {
		t.Fatal("running after failed starts")
	}
}

// BenchmarkMinerThread is one miner worker's hash rate, beside
// BenchmarkBareHeaderHash (the target of `make bench`: ≥ 0.9 of it).
func BenchmarkMinerThread(b *testing.B) {
	h := types.Header{Version: 1, Height: 1000, Time: time.Now().UnixMilli(), Bits: 0x1d00ffff}
	var total atomic.Uint64
	var never [32]byte // no hash is at most zero in practice
	w := newWorker(h, never, &total)
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; done += batch {
		types.PutNonceTime(&w.enc, w.time, w.nonce)
		if _, ok := w.scan(min(batch, b.N-done)); ok {
			b.Fatal("hit a zero target")
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hash/s")
}

// BenchmarkBareHeaderHash is the ceiling: H over a 148-byte header in a
// loop, changing the nonce.
func BenchmarkBareHeaderHash(b *testing.B) {
	h := types.Header{Version: 1, Height: 1000, Time: time.Now().UnixMilli(), Bits: 0x1d00ffff}
	enc := h.EncodeArray()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		types.PutNonceTime(&enc, h.Time, uint64(i))
		sink = types.Sum(enc[:])
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hash/s")
}

var sink types.Hash

// A refresh or a tip change abandons the search at once, with the workers
// stopped: a search on a stale template must not run on until it wins.
func TestSearchStopsOnRefreshAndTip(t *testing.T) {
	n := testNode(t, Config{})
	blk, err := n.chain.NewBlockTemplate(nil, chaintest.Key("miner").Address(), time.Now().UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	blk.Header.Bits = 0x1d00ffff // about 2^32 hashes: not found during this test
	m := n.Miner()
	refresh := make(chan time.Time, 1)
	refresh <- time.Now()
	t0 := time.Now()
	if got := m.search(context.Background(), blk, 2, refresh); got != nil {
		t.Fatal("found a block at 2^32 difficulty")
	}
	m.tipChanged()
	if got := m.search(context.Background(), blk, 2, nil); got != nil {
		t.Fatal("found a block at 2^32 difficulty")
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("search took %v to give up on a stale template", d)
	}
}
