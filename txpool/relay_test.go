package txpool_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// TestIsPending: a tx is pending when its sender's nonces from the
// account's are complete up to it; a queued one becomes pending when the
// gap fills, a pending one is no longer in the pool once mined; unknown ids
// are not pending.
func TestIsPending(t *testing.T) {
	e := newEnv(t, nil)
	t0 := e.tx("alice", bob, 1, 2000, 0)
	t2 := e.add(e.tx("alice", bob, 1, 2000, 2))
	if e.p.IsPending(t2) {
		t.Fatal("nonce 2 with 0 and 1 missing is pending")
	}
	if e.p.IsPending(t0.ID()) {
		t.Fatal("a tx not in the pool is pending")
	}
	e.add(t0)
	if !e.p.IsPending(t0.ID()) || e.p.IsPending(t2) {
		t.Fatalf("after nonce 0: %v %v", e.p.IsPending(t0.ID()), e.p.IsPending(t2))
	}
	t1 := e.add(e.tx("alice", bob, 1, 2000, 1))
	for _, id := range []types.Hash{t0.ID(), t1, t2} {
		if !e.p.IsPending(id) {
			t.Fatalf("%s not pending once the gap filled", id)
		}
	}
	e.mine(t0)
	if e.p.IsPending(t0.ID()) || !e.p.IsPending(t1) || !e.p.IsPending(t2) {
		t.Fatal("after mining nonce 0")
	}
}

// TestPendingIDs: pending ids only, highest fee first, ties by id, at most
// max.
func TestPendingIDs(t *testing.T) {
	e := newEnv(t, nil)
	a0 := e.add(e.tx("alice", bob, 1, 2000, 0))
	a1 := e.add(e.tx("alice", bob, 1, 7000, 1))
	e.add(e.tx("alice", bob, 1, 99_000, 3)) // queued: not listed
	b0 := e.add(e.tx("bob", alice, 1, 5000, 0))
	c0 := e.add(e.tx("carol", alice, 1, 2000, 0))
	lo, hi := a0, c0
	if compareHash(c0, a0) < 0 {
		lo, hi = c0, a0
	}
	want := []types.Hash{a1, b0, lo, hi}
	if got := e.p.PendingIDs(10); !slices.Equal(got, want) {
		t.Fatalf("PendingIDs(10) = %v, want %v", got, want)
	}
	if got := e.p.PendingIDs(2); !slices.Equal(got, want[:2]) {
		t.Fatalf("PendingIDs(2) = %v, want %v", got, want[:2])
	}
	if got := e.p.PendingIDs(0); len(got) != 0 {
		t.Fatalf("PendingIDs(0) = %v", got)
	}
}

// TestBySenderNonce finds pending and queued txs by sender and nonce, and
// nothing else.
func TestBySenderNonce(t *testing.T) {
	e := newEnv(t, nil)
	t0 := e.tx("alice", bob, 1, 2000, 0)
	t5 := e.tx("alice", bob, 1, 2000, 5)
	e.add(t0)
	e.add(t5)
	for _, tc := range []struct {
		sender types.Address
		nonce  uint64
		want   *types.Tx
	}{
		{alice, 0, t0}, {alice, 5, t5}, {alice, 1, nil}, {bob, 0, nil},
	} {
		got, ok := e.p.BySenderNonce(tc.sender, tc.nonce)
		if got != tc.want || ok != (tc.want != nil) {
			t.Errorf("BySenderNonce(%s, %d) = %v, %v", short(tc.sender), tc.nonce, got, ok)
		}
	}
	repl := e.add(e.tx("alice", carol, 1, 3000, 5))
	if got, ok := e.p.BySenderNonce(alice, 5); !ok || got.ID() != repl {
		t.Fatal("BySenderNonce after a replacement")
	}
}

// TestMissing: the nonces missing before a sender's first queued tx, from
// its next one (account nonce plus pending txs), as the chain and the pool
// move.
func TestMissing(t *testing.T) {
	e := newEnv(t, nil)
	missing := func(from, to uint64, ok bool) {
		t.Helper()
		f, tt, o := e.p.Missing(alice)
		if f != from || tt != to || o != ok {
			t.Fatalf("Missing = [%d, %d), %v; want [%d, %d), %v", f, tt, o, from, to, ok)
		}
	}
	missing(0, 0, false)
	e.add(e.tx("alice", bob, 1, 2000, 4))
	missing(0, 4, true)
	e.add(e.tx("alice", bob, 1, 2000, 7))
	missing(0, 4, true)
	e.add(e.tx("alice", bob, 1, 2000, 0))
	missing(1, 4, true)
	// A block of alice's nonces 0 (another tx than the pooled one), 1 and
	// 2: the pooled 0 goes, alice is at 3.
	e.mine(e.tx("alice", carol, 1, 2000, 0), e.tx("alice", carol, 1, 2000, 1), e.tx("alice", carol, 1, 2000, 2))
	missing(3, 4, true)
	e.add(e.tx("alice", bob, 1, 2000, 3))
	missing(5, 7, true)
	if _, _, ok := e.p.Missing(bob); ok {
		t.Fatal("Missing for a sender with no tx")
	}
}

// TestStale: pending txs announced more than age ago, oldest first, at
// most max, each marked so that it comes back only after another age;
// queued txs never; a tx promoted from queued comes back at once, since
// it was never relayed.
func TestStale(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, func(c *txpool.Config) { c.Now = func() time.Time { return now } })
	a0 := e.tx("alice", bob, 1, 2000, 0)
	e.add(a0)
	now = now.Add(time.Minute)
	b0 := e.tx("bob", alice, 1, 2000, 0)
	e.add(b0)
	q := e.tx("carol", alice, 1, 2000, 1) // queued
	e.add(q)
	now = now.Add(time.Minute)
	c := e.tx("dave", alice, 1, 2000, 0)
	e.add(c)

	if got := e.p.Stale(2*time.Minute, 10); len(got) != 0 {
		t.Fatalf("nothing is older than 2 min: %s", txList(got))
	}
	if got := e.p.Stale(time.Minute-1, 1); !slices.Equal(got, []*types.Tx{a0}) {
		t.Fatalf("Stale(1 min, 1) = %s, want alice's (the oldest)", txList(got))
	}
	if got := e.p.Stale(time.Minute-1, 10); !slices.Equal(got, []*types.Tx{b0}) {
		t.Fatalf("Stale(1 min, 10) = %s, want bob's: alice's was just returned, dave's is young, carol's queued", txList(got))
	}
	if got := e.p.Stale(time.Minute-1, 10); len(got) != 0 {
		t.Fatalf("again at once: %s", txList(got))
	}
	now = now.Add(time.Minute)
	if got, want := e.p.Stale(time.Minute-1, 10), []*types.Tx{a0, b0, c}; !slices.Equal(got, sortedByID(want)) {
		t.Fatalf("a minute later: %s, want alice's, bob's and dave's, all announced a minute ago, by id", txList(got))
	}
	// carol's queued tx becomes pending when nonce 0 arrives: it is due at
	// once, before the older ones; the tx that filled the gap was relayed
	// by whoever added it.
	c0 := e.tx("carol", alice, 1, 2000, 0)
	e.add(c0)
	if got := e.p.Stale(time.Hour, 10); !slices.Equal(got, []*types.Tx{q}) {
		t.Fatalf("after the gap filled: %s, want carol's promoted tx", txList(got))
	}
	now = now.Add(time.Hour)
	got := e.p.Stale(time.Hour-1, 10)
	if want := []*types.Tx{c0, q, a0, b0, c}; !slices.Equal(got, sortedByID(want)) {
		t.Fatalf("an hour later: %s, want all five", txList(got))
	}
	if got := e.p.Stale(-time.Hour, 10); len(got) != 0 {
		t.Fatalf("a negative age counts as 0: %s", txList(got))
	}
	// A replaced pending tx is announced by whoever replaced it.
	now = now.Add(time.Hour)
	r := e.tx("alice", carol, 1, 3000, 0)
	e.add(r)
	if got := e.p.Stale(30*time.Minute, 10); slices.Contains(got, r) || len(got) != 4 {
		t.Fatalf("after replacing alice's: %s", txList(got))
	}
}

func sortedByID(txs []*types.Tx) []*types.Tx {
	out := slices.Clone(txs)
	slices.SortFunc(out, func(a, b *types.Tx) int { return compareHash(a.ID(), b.ID()) })
	return out
}
