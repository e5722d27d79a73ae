package txpool_test

import (
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// TestUpdateRemovesIncluded: txs of a connected block leave the pool;
// the others stay, a queued one promoted by the block among them.
func TestUpdateRemovesIncluded(t *testing.T) {
	e := newEnv(t, nil)
	a0 := e.add(e.tx("alice", bob, 1, 2000, 0))
	a1 := e.add(e.tx("alice", bob, 1, 2000, 1))
	b0 := e.add(e.tx("bob", alice, 1, 2000, 0))
	c1 := e.add(e.tx("carol", alice, 1, 2000, 1)) // queued: carol's 0 is not pooled
	c0 := e.tx("carol", alice, 1, 2000, 0)
	a0tx, _ := e.p.Get(a0)
	b0tx, _ := e.p.Get(b0)
	e.mine(a0tx, b0tx, c0) // carol's 0 comes from elsewhere
	for id, want := range map[types.Hash]bool{a0: false, b0: false, a1: true, c1: true} {
		if e.p.Has(id) != want {
			t.Fatalf("Has(%s) = %v after the block", id, !want)
		}
	}
	if st := e.p.Status(); st.Pending != 2 || st.Queued != 0 {
		t.Fatalf("status %+v", st)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
	e.mine(e.p.Template(1 << 20)...)
	if st := e.p.Status(); st != (txpool.Status{}) {
		t.Fatalf("status %+v", st)
	}
}

// TestUpdateDropsInvalidated: a block that mines a competing tx with the
// same nonce, or that drains the balance, makes pooled txs invalid; Update
// drops exactly those.
func TestUpdateDropsInvalidated(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("low", 10_000)
	a0 := e.add(e.tx("bob", alice, 1, 2000, 0))
	a1 := e.add(e.tx("bob", alice, 1, 2000, 1))
	l0 := e.add(e.tx("low", bob, 1_999, 1000, 0))
	l1 := e.add(e.tx("low", bob, 5_000, 1000, 1))
	l2 := e.add(e.tx("low", bob, 1, 1000, 2)) // 10,000 in all
	// Competing txs, never pooled: bob's 0 pays carol instead; low's 0
	// spends 8,000 of its 10,000.
	e.mine(e.tx("bob", carol, 7, 1000, 0), e.tx("low", carol, 7_000, 1000, 0))
	if e.p.Has(a0) || !e.p.Has(a1) {
		t.Fatalf("bob: the mined nonce should be gone, the next stay: %s", dump(e.p.Content()))
	}
	// low is at nonce 1 with 2,000: its 1 (6,000) is unpaid, so is 2 after it.
	if e.p.Has(l0) || e.p.Has(l1) || e.p.Has(l2) {
		t.Fatalf("low: %s", dump(e.p.Content()))
	}
	if st := e.p.Status(); st.Pending != 1 || st.Queued != 0 {
		t.Fatalf("status %+v", st)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

// TestUpdateReorg: on a reorganisation the txs of the disconnected blocks
// that the new branch did not include come back, pending again with the
// pooled txs that followed them; those the new branch included, or made
// invalid, do not.
//
//	genesis -> m1 -> m2            m1: alice 0, bob 0; m2: carol 0, bob 1
//	      \-> b1 -> b2 -> b3       b1: alice 0 (the same tx), carol 0' (another)
func TestUpdateReorg(t *testing.T) {
	e := newEnv(t, nil)
	a0 := e.tx("alice", bob, 1, 2000, 0)
	b0 := e.tx("bob", alice, 1, 3000, 0)
	b1 := e.tx("bob", alice, 1, 3000, 1)
	c0 := e.tx("carol", alice, 1, 2000, 0)
	c0x := e.tx("carol", dave, 99, 2000, 0)
	e.add(a0)
	e.add(b0)
	e.mine(e.p.Template(1 << 20)...) // m1
	e.add(c0)
	e.add(b1)
	e.mine(e.p.Template(1 << 20)...) // m2
	b2 := e.add(e.tx("bob", alice, 1, 3000, 2))
	d0 := e.add(e.tx("dave", alice, 1, 2000, 0))
	if st := e.p.Status(); st.Pending != 2 {
		t.Fatalf("before the reorg: %+v", st)
	}

	other := addr("other miner")
	e.g.Block("b1", "genesis", func(g *chaintest.BlockGen) {
		g.Header.Miner = other
		g.Txs = []*types.Tx{a0, c0x}
	})
	e.g.Block("b2", "b1", func(g *chaintest.BlockGen) { g.Header.Miner = other })
	e.g.Block("b3", "b2", func(g *chaintest.BlockGen) { g.Header.Miner = other })
	e.process("b1")
	e.process("b2")
	res := e.process("b3")
	if len(res.Disconnected) != 2 || len(res.Connected) != 3 {
		t.Fatalf("reorg: %d disconnected, %d connected", len(res.Disconnected), len(res.Connected))
	}
	e.tip = "b3"
	e.g.CheckTip(e.c, "b3")

	for _, tc := range []struct {
		name string
		id   types.Hash
		want bool
	}{
		{"alice 0, in both branches", a0.ID(), false},
		{"bob 0, only in m1", b0.ID(), true},
		{"bob 1, only in m2", b1.ID(), true},
		{"bob 2, pooled before", b2, true},
		{"carol 0, replaced by carol 0' in b1", c0.ID(), false},
		{"dave 0, pooled before", d0, true},
	} {
		if e.p.Has(tc.id) != tc.want {
			t.Errorf("%s: Has = %v", tc.name, !tc.want)
		}
	}
	if st := e.p.Status(); st.Pending != 4 || st.Queued != 0 {
		t.Fatalf("after the reorg: %+v", st)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
	tmpl := e.p.Template(1 << 20)
	e.mine(tmpl...)
	if st := e.p.Status(); st != (txpool.Status{}) {
		t.Fatalf("after mining the template: %+v", st)
	}

	// Reorganising back (n3..n5 on m2) re-admits what b1, b2, b3 and m3
	// held and m1, m2 and the n blocks do not.
	e.g.Block("n3", "m2", nil)
	e.g.Block("n4", "n3", nil)
	e.g.Block("n5", "n4", nil)
	e.process("n3")
	e.process("n4")
	res = e.process("n5")
	if len(res.Disconnected) != 4 {
		t.Fatalf("reorg back: %d disconnected", len(res.Disconnected))
	}
	// On n5: alice 0, bob 0, bob 1 and carol 0 are mined. Back come bob 2
	// and dave 0 (from the block on b3); carol 0' cannot (nonce passed).
	want := []types.Hash{b2, d0}
	var got []types.Hash
	for _, s := range e.p.Content() {
		for _, tx := range slices.Concat(s.Pending, s.Queued) {
			got = append(got, tx.ID())
		}
	}
	slices.SortFunc(got, func(a, b types.Hash) int { return compareHash(a, b) })
	slices.SortFunc(want, func(a, b types.Hash) int { return compareHash(a, b) })
	if !slices.Equal(got, want) {
		t.Fatalf("after reorganising back: %s", dump(e.p.Content()))
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

func compareHash(a, b types.Hash) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// TestUpdateReorgDropsUnfunded: a reorg that takes away a sender's income
// drops its pooled txs the balance no longer covers.
func TestUpdateReorgDropsUnfunded(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("low", 10_000) // m1
	l0 := e.add(e.tx("low", bob, 5_000, 1000, 0))
	e.g.Block("x1", "genesis", nil)
	e.g.Block("x2", "x1", nil)
	e.process("x1")
	e.process("x2")
	if e.p.Has(l0) {
		t.Fatalf("low's tx outlived its funding: %s", dump(e.p.Content()))
	}
	// alice's funding tx is back instead.
	c := e.p.Content()
	if len(c) != 1 || c[0].Sender != alice || len(c[0].Pending) != 1 || c[0].Pending[0].To != addr("low") {
		t.Fatalf("content %s", dump(c))
	}
	e.tip = "x2"
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}
