package txpool_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

func TestConfigValidate(t *testing.T) {
	g := types.Sum([]byte("genesis"))
	for _, tc := range []struct {
		name string
		cfg  txpool.Config
		ok   bool
	}{
		{"defaults", txpool.Config{Genesis: g}, true},
		{"no genesis", txpool.Config{}, false},
		{"negative MaxTxs", txpool.Config{Genesis: g, MaxTxs: -1}, false},
		{"negative MaxPerSender", txpool.Config{Genesis: g, MaxPerSender: -1}, false},
		{"MaxBytes below one tx", txpool.Config{Genesis: g, MaxBytes: types.MaxTxSize - 1}, false},
		{"MaxBytes of one tx", txpool.Config{Genesis: g, MaxBytes: types.MaxTxSize}, true},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		if _, err := txpool.New(tc.cfg, &richState{}); (err == nil) != tc.ok {
			t.Errorf("%s: New() = %v", tc.name, err)
		}
	}
}

// TestReplacement: same sender and nonce replaces with a fee 10 % higher,
// not 9 %, and at least the minimum relay fee higher; the replaced tx is
// gone everywhere, the counts are the same.
func TestReplacement(t *testing.T) {
	e := newEnv(t, nil)
	orig := e.add(e.tx("alice", bob, 1, 10_000, 0))
	next := e.add(e.tx("alice", bob, 1, 2_000, 1))
	before := viewOf(e.p)
	if _, err := e.p.Add(e.tx("alice", carol, 1, 10_900, 0)); txpool.ReasonOf(err) != txpool.ReasonReplacementUnderpriced {
		t.Fatalf("+9%%: %v", err)
	}
	sameView(t, e.p, before)
	repl := e.add(e.tx("alice", carol, 1, 11_000, 0))
	if e.p.Has(orig) {
		t.Fatal("the replaced tx is still in the pool")
	}
	if _, ok := e.p.Get(orig); ok {
		t.Fatal("Get finds the replaced tx")
	}
	if !e.p.Has(repl) || !e.p.Has(next) {
		t.Fatal("the replacement or the next tx is missing")
	}
	if st := e.p.Status(); st.Pending != 2 || st.Queued != 0 || st.Bytes != before.status.Bytes {
		t.Fatalf("status %+v", st)
	}
	if tmpl := e.p.Template(1 << 20); len(tmpl) != 2 || tmpl[0].ID() != repl || tmpl[1].ID() != next {
		t.Fatalf("template %s", txList(tmpl))
	}
	// The replaced tx may not come back: it would be a 10 % cut.
	if _, err := e.p.Add(e.tx("alice", bob, 1, 10_000, 0)); txpool.ReasonOf(err) != txpool.ReasonReplacementUnderpriced {
		t.Fatalf("re-adding the replaced tx: %v", err)
	}
	// A queued tx is replaced the same way: at 3,000, 10 % is less than
	// the minimum relay fee of 1,000, which the replacement must add.
	q := e.add(e.tx("alice", bob, 1, 3_000, 5))
	if _, err := e.p.Add(e.tx("alice", bob, 1, 3_999, 5)); txpool.ReasonOf(err) != txpool.ReasonReplacementUnderpriced {
		t.Fatalf("queued, +999: %v", err)
	}
	q2 := e.add(e.tx("alice", bob, 1, 4_000, 5))
	if e.p.Has(q) || !e.p.Has(q2) || e.p.IsPending(q2) {
		t.Fatal("queued replacement")
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 300)
}

// TestPoolFullEviction: when MaxTxs is reached, a tx with a higher fee
// evicts the cheapest evictable tx, which is the last tx of some other
// sender (never one that would leave a gap), and only one.
func TestPoolFullEviction(t *testing.T) {
	e := newEnv(t, func(c *txpool.Config) { c.MaxTxs = 3 })
	a0 := e.add(e.tx("alice", bob, 1, 1500, 0)) // cheapest, but alice's 1 depends on it
	a1 := e.add(e.tx("alice", bob, 1, 5000, 1))
	b0 := e.add(e.tx("bob", alice, 1, 3000, 0))
	c0 := e.add(e.tx("carol", alice, 1, 4000, 0))
	if e.p.Has(b0) || !e.p.Has(a0) || !e.p.Has(a1) || !e.p.Has(c0) {
		t.Fatalf("carol's tx should have evicted bob's (the cheapest last tx): %s", dump(e.p.Content()))
	}
	before := viewOf(e.p)
	// Now the evictable txs are alice's 1 (5000) and carol's 0 (4000).
	if _, err := e.p.Add(e.tx("dave", alice, 1, 4000, 0)); txpool.ReasonOf(err) != txpool.ReasonPoolFull {
		t.Fatalf("equal fee: %v", err)
	}
	sameView(t, e.p, before)
	d0 := e.add(e.tx("dave", alice, 1, 4001, 0))
	if e.p.Has(c0) || !e.p.Has(d0) {
		t.Fatalf("dave's tx should have evicted carol's: %s", dump(e.p.Content()))
	}
	// A replacement needs no room.
	e.add(e.tx("dave", alice, 2, 5001, 0))
	if st := e.p.Status(); st.Pending != 3 {
		t.Fatalf("status %+v", st)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

// TestByteCapEviction: a tx that needs the room of two evicts the two
// cheapest evictable txs; Status.Bytes stays under MaxBytes.
func TestByteCapEviction(t *testing.T) {
	max := 3*types.MinTxSize + 10
	e := newEnv(t, func(c *txpool.Config) { c.MaxBytes = max })
	a0 := e.add(e.tx("alice", bob, 1, 3000, 0))
	b0 := e.add(e.tx("bob", alice, 1, 2000, 0))
	c0 := e.add(e.tx("carol", alice, 1, 4000, 0))
	big := &types.Tx{Version: types.TxVersion, To: alice, Amount: 1, Fee: 3500, Memo: make([]byte, types.MaxMemoSize)}
	signer("dave").Sign(big, e.g.Params.GenesisHash())
	d0 := e.add(big)
	if e.p.Has(a0) || e.p.Has(b0) || !e.p.Has(c0) || !e.p.Has(d0) {
		t.Fatalf("dave's large tx should have evicted bob's and alice's: %s", dump(e.p.Content()))
	}
	if st := e.p.Status(); st.Bytes != types.MinTxSize+types.MaxTxSize || st.Bytes > max {
		t.Fatalf("status %+v", st)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

// TestQueuedPromotion: a nonce gap makes a tx queued; filling the gap
// promotes it, and the template then holds all of them in nonce order.
func TestQueuedPromotion(t *testing.T) {
	e := newEnv(t, nil)
	t0 := e.tx("alice", bob, 1, 2000, 0)
	t1 := e.tx("alice", bob, 1, 2000, 1)
	t2 := e.tx("alice", bob, 1, 9000, 2) // the highest fee, but needs 0 and 1
	t3 := e.tx("alice", bob, 1, 2000, 3)
	e.add(t0)
	e.add(t2)
	e.add(t3)
	if st := e.p.Status(); st.Pending != 1 || st.Queued != 2 {
		t.Fatalf("with a gap at 1: %+v", st)
	}
	c := e.p.Content()
	if len(c) != 1 || !slices.Equal(c[0].Pending, []*types.Tx{t0}) || !slices.Equal(c[0].Queued, []*types.Tx{t2, t3}) {
		t.Fatalf("content %s", dump(c))
	}
	if tmpl := e.p.Template(1 << 20); !slices.Equal(tmpl, []*types.Tx{t0}) {
		t.Fatalf("template with a gap: %s", txList(tmpl))
	}
	e.add(t1)
	if st := e.p.Status(); st.Pending != 4 || st.Queued != 0 {
		t.Fatalf("gap filled: %+v", st)
	}
	if tmpl := e.p.Template(1 << 20); !slices.Equal(tmpl, []*types.Tx{t0, t1, t2, t3}) {
		t.Fatalf("template: %s", txList(tmpl))
	}
	// A template too small for t1 stops alice there.
	if tmpl := e.p.Template(2*types.MinTxSize - 1); !slices.Equal(tmpl, []*types.Tx{t0}) {
		t.Fatalf("small template: %s", txList(tmpl))
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 3*types.MinTxSize)
}

// TestTemplateOrder: highest fee first among the senders' next txs, each
// sender in nonce order, ties broken by id.
func TestTemplateOrder(t *testing.T) {
	e := newEnv(t, nil)
	a0 := e.tx("alice", bob, 1, 1000, 0)
	a1 := e.tx("alice", bob, 1, 9000, 1)
	b0 := e.tx("bob", alice, 1, 5000, 0)
	b1 := e.tx("bob", alice, 1, 1500, 1)
	c0 := e.tx("carol", alice, 1, 2000, 0)
	d0 := e.tx("dave", alice, 1, 2000, 0)
	for _, tx := range []*types.Tx{a1, a0, b1, b0, c0, d0} {
		e.add(tx)
	}
	cd := []*types.Tx{c0, d0}
	if id0, id1 := c0.ID(), d0.ID(); string(id1[:]) < string(id0[:]) {
		cd = []*types.Tx{d0, c0}
	}
	want := slices.Concat([]*types.Tx{b0}, cd, []*types.Tx{b1, a0, a1})
	if tmpl := e.p.Template(1 << 20); !slices.Equal(tmpl, want) {
		t.Fatalf("template\n got %s\nwant %s", txList(tmpl), txList(want))
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 4*types.MinTxSize)
	// The template is a valid block.
	e.mine(e.p.Template(1 << 20)...)
	if st := e.p.Status(); st != (txpool.Status{}) {
		t.Fatalf("after mining the template: %+v", st)
	}
}

// TestNextNonce counts the account's nonce and the pending txs, not the
// queued ones.
func TestNextNonce(t *testing.T) {
	e := newEnv(t, nil)
	next := func(want uint64) {
		t.Helper()
		if n, err := e.p.NextNonce(alice); err != nil || n != want {
			t.Fatalf("NextNonce = %d, %v; want %d", n, err, want)
		}
	}
	next(0)
	e.mine(e.tx("alice", bob, 1, 2000, 0))
	next(1)
	e.add(e.tx("alice", bob, 1, 2000, 1))
	e.add(e.tx("alice", bob, 1, 2000, 2))
	next(3)
	e.add(e.tx("alice", bob, 1, 2000, 4))
	next(3)
	e.add(e.tx("alice", bob, 1, 2000, 3))
	next(5)
	if n, err := e.p.NextNonce(addr("nobody")); err != nil || n != 0 {
		t.Fatalf("unknown address: %d, %v", n, err)
	}
}

// TestNonceGapBoundary: MaxNonceGap beyond the account's nonce is the last
// one admitted, as queued.
func TestNonceGapBoundary(t *testing.T) {
	e := newEnv(t, func(c *txpool.Config) { c.MaxNonceGap = 3 })
	e.mine(e.tx("alice", bob, 1, 2000, 0))
	e.add(e.tx("alice", bob, 1, 2000, 4))
	if _, err := e.p.Add(e.tx("alice", bob, 1, 2000, 5)); txpool.ReasonOf(err) != txpool.ReasonNonceTooHigh {
		t.Fatalf("nonce 5 at account nonce 1, gap 3: %v", err)
	}
	if st := e.p.Status(); st.Queued != 1 {
		t.Fatalf("status %+v", st)
	}
}

// TestExpire: queued txs older than QueuedTTL go, pending ones stay
// whatever their age, and younger queued ones stay.
func TestExpire(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, func(c *txpool.Config) {
		c.QueuedTTL = time.Hour
		c.Now = func() time.Time { return now }
	})
	p0 := e.add(e.tx("alice", bob, 1, 2000, 0))
	oldQ := e.add(e.tx("alice", bob, 1, 2000, 2))
	bobQ := e.add(e.tx("bob", alice, 1, 2000, 1))
	now = now.Add(40 * time.Minute)
	youngQ := e.add(e.tx("alice", bob, 1, 2000, 3))
	now = now.Add(20 * time.Minute) // oldQ is exactly QueuedTTL old: kept
	e.p.Expire()
	if st := e.p.Status(); st.Pending != 1 || st.Queued != 3 {
		t.Fatalf("at the TTL: %+v", st)
	}
	now = now.Add(time.Millisecond)
	e.p.Expire()
	if !e.p.Has(p0) || e.p.Has(oldQ) || e.p.Has(bobQ) || !e.p.Has(youngQ) {
		t.Fatalf("after the TTL: %s", dump(e.p.Content()))
	}
	// A tx promoted to pending no longer expires.
	e.add(e.tx("alice", bob, 1, 2000, 1))
	e.add(e.tx("alice", bob, 1, 2000, 2))
	now = now.Add(3 * time.Hour)
	e.p.Expire()
	if st := e.p.Status(); st.Pending != 4 || st.Queued != 0 {
		t.Fatalf("promoted: %+v", st)
	}
	// Update expires too.
	e.add(e.tx("bob", alice, 1, 2000, 1))
	now = now.Add(2 * time.Hour)
	e.mine()
	if st := e.p.Status(); st.Pending != 4 || st.Queued != 0 {
		t.Fatalf("after a block: %+v", st)
	}
}
