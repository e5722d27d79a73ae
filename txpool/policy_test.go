package txpool_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// Tests of the pool policy against the attacks that measured the old
// pool: queued txs pinning it, free replacement churn, transfers of
// nothing, queued txs kept for hours.

// txSpec is a tx to sign: from the named key, amount 1 to bob.
type txSpec struct {
	from       string
	fee, nonce uint64
}

// signAll signs the specs for genesis on every core.
func signAll(genesis types.Hash, specs []txSpec) []*types.Tx {
	txs := make([]*types.Tx, len(specs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(specs); i += workers {
				sp := specs[i]
				tx := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1, Fee: sp.fee, Nonce: sp.nonce}
				signer(sp.from).Sign(tx, genesis)
				txs[i] = tx
			}
		})
	}
	wg.Wait()
	return txs
}

// TestQueuedPinningAttack replays the attack that pinned the old pool, at
// 1/16 of the default caps (MaxTxs 4,096, MaxQueued 256, MaxBytes 2 MiB;
// the per-sender caps and the nonce gap as by default): attackers send
// nonces 1..64 (0 is never sent) at fee 20,000, as many txs as the pool
// holds (64 senders × 64 txs; at full scale 1,024 × 64 = 65,536 filled the
// old pool with 13.1 CRN of capital and no fee ever paid). Then as many
// honest txs as the pool holds, at the minimum relay fee, must all be
// admitted and all be in the template.
func TestQueuedPinningAttack(t *testing.T) {
	const (
		scale     = 16
		maxTxs    = (1 << 16) / scale
		maxQueued = 4096 / scale
		attackFee = 20_000
		perSender = 64
		attackers = maxTxs / perSender
	)
	genesis := types.Sum([]byte("pinning attack"))
	st := &richState{accts: map[types.Address]chain.Account{}}
	var specs []txSpec
	for a := range attackers {
		name := fmt.Sprintf("attacker%d", a)
		// Just enough capital for its 64 txs, as the attack needs.
		st.accts[addr(name)] = chain.Account{Balance: perSender * (attackFee + 1)}
		for n := uint64(1); n <= perSender; n++ {
			specs = append(specs, txSpec{name, attackFee, n})
		}
	}
	for h := range maxTxs {
		specs = append(specs, txSpec{fmt.Sprintf("honest%d", h), 1000, 0})
	}
	txs := signAll(genesis, specs)
	attack, honest := txs[:attackers*perSender], txs[attackers*perSender:]

	p, err := txpool.New(txpool.Config{Genesis: genesis, MaxTxs: maxTxs, MaxQueued: maxQueued, MaxBytes: (32 << 20) / scale}, st)
	if err != nil {
		t.Fatal(err)
	}
	refused := map[txpool.Reason]int{}
	for _, tx := range attack {
		if _, err := p.Add(tx); err != nil {
			refused[txpool.ReasonOf(err)]++
		} else if p.IsPending(tx.ID()) {
			t.Fatalf("attack tx %d of %s is pending", tx.Nonce, short(tx.Sender()))
		}
	}
	t.Logf("attack: %+v; refused %v", p.Status(), refused)
	if st := p.Status(); st.Queued != maxQueued || st.Pending != 0 {
		t.Fatalf("after the attack: %+v, want %d queued (MaxQueued)", st, maxQueued)
	}
	if refused[txpool.ReasonSenderLimit] == 0 || refused[txpool.ReasonPoolFull] == 0 || len(refused) != 2 {
		t.Fatalf("attack refusals %v, want sender-limit (16 queued per sender) and pool-full (MaxQueued)", refused)
	}
	for i, tx := range honest {
		if _, err := p.Add(tx); err != nil {
			t.Fatalf("honest tx %d at the minimum fee: %v", i, err)
		}
	}
	if st := p.Status(); st.Pending != maxTxs || st.Queued != 0 {
		t.Fatalf("after the honest txs: %+v, want %d pending and the queued txs evicted", st, maxTxs)
	}
	tmpl := p.Template(1 << 30)
	if len(tmpl) != maxTxs {
		t.Fatalf("template of %d txs, want the %d honest ones", len(tmpl), maxTxs)
	}
	in := map[types.Hash]bool{}
	for _, tx := range tmpl {
		in[tx.ID()] = true
	}
	for _, tx := range honest {
		if !in[tx.ID()] {
			t.Fatalf("honest tx of %s missing from the template", short(tx.Sender()))
		}
	}
	// (checkPool's independent template is quadratic: too slow here.)
	if err := p.CheckIndexes(); err != nil {
		t.Fatal(err)
	}
}

// TestQueuedLimits: at most MaxQueuedPerSender queued txs per sender
// (sender-limit), at most MaxQueued in all; past that a queued tx evicts
// the cheapest queued tx of another sender, its last one, only if it pays
// more (pool-full otherwise), and never a pending one; a pending tx is
// not limited by either cap.
func TestQueuedLimits(t *testing.T) {
	e := newEnv(t, func(c *txpool.Config) {
		c.MaxQueuedPerSender = 3
		c.MaxQueued = 5
	})
	a2 := e.add(e.tx("alice", bob, 1, 2000, 2))
	a3 := e.add(e.tx("alice", bob, 1, 2000, 3))
	a4 := e.add(e.tx("alice", bob, 1, 2000, 4))
	if _, err := e.p.Add(e.tx("alice", bob, 1, 90_000, 5)); txpool.ReasonOf(err) != txpool.ReasonSenderLimit {
		t.Fatalf("alice's 4th queued tx: %v", err)
	}
	e.add(e.tx("bob", alice, 1, 3000, 1))
	e.add(e.tx("bob", alice, 1, 3000, 2))
	if st := e.p.Status(); st.Queued != 5 {
		t.Fatalf("status %+v", st)
	}
	before := viewOf(e.p)
	if _, err := e.p.Add(e.tx("carol", alice, 1, 2000, 1)); txpool.ReasonOf(err) != txpool.ReasonPoolFull {
		t.Fatalf("queued at MaxQueued, fee equal to the cheapest queued: %v", err)
	}
	sameView(t, e.p, before)
	c1 := e.add(e.tx("carol", alice, 1, 2500, 1))
	if e.p.Has(a4) || !e.p.Has(a3) || !e.p.Has(c1) {
		t.Fatalf("carol's queued tx should have evicted alice's last: %s", dump(e.p.Content()))
	}
	d1 := e.add(e.tx("dave", alice, 1, 2500, 1))
	if e.p.Has(a3) || !e.p.Has(a2) || !e.p.Has(d1) {
		t.Fatalf("dave's queued tx should have evicted alice's 3, now her last: %s", dump(e.p.Content()))
	}
	// Pending txs take no queued place: alice's 0 and 1 make her 2 pending.
	e.add(e.tx("alice", bob, 1, 1000, 0))
	e.add(e.tx("alice", bob, 1, 1000, 1))
	if st := e.p.Status(); st.Pending != 3 || st.Queued != 4 || !e.p.IsPending(a2) {
		t.Fatalf("status %+v", st)
	}
	// Now alice may queue again.
	e.add(e.tx("alice", bob, 1, 9000, 4))
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

// TestQueuedEvictedFirst: in a full pool, a pending tx at the minimum fee
// evicts queued txs whatever their fee, the cheapest first, before any
// pending one; then only pending txs of a lower fee.
func TestQueuedEvictedFirst(t *testing.T) {
	e := newEnv(t, func(c *txpool.Config) { c.MaxTxs = 4 })
	e.fund("low1", 100_000) // alice's nonces 0 and 1
	e.fund("low2", 100_000)
	a2 := e.add(e.tx("alice", bob, 1, 1000, 2))
	b1 := e.add(e.tx("bob", alice, 1, 50_000, 1))
	c1 := e.add(e.tx("carol", alice, 1, 40_000, 1))
	d0 := e.add(e.tx("dave", alice, 1, 1000, 0))
	l1 := e.add(e.tx("low1", bob, 1, 1000, 0))
	if e.p.Has(c1) || !e.p.Has(b1) {
		t.Fatalf("low1's pending tx should have evicted carol's queued one (the cheaper): %s", dump(e.p.Content()))
	}
	l2 := e.add(e.tx("low2", bob, 1, 1000, 0))
	if e.p.Has(b1) {
		t.Fatalf("low2's pending tx should have evicted bob's queued one: %s", dump(e.p.Content()))
	}
	before := viewOf(e.p)
	if _, err := e.p.Add(e.tx("bob", alice, 1, 1000, 0)); txpool.ReasonOf(err) != txpool.ReasonPoolFull {
		t.Fatalf("only pending txs of the same fee left: %v", err)
	}
	sameView(t, e.p, before)
	want := []types.Hash{a2, d0, l1, l2}
	if got := e.p.PendingIDs(10); len(got) != 4 || !sameSet(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

func sameSet(a, b []types.Hash) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, compareHash)
	slices.SortFunc(b, compareHash)
	return slices.Equal(a, b)
}

// TestEvictionExposesPrevious: a tx that needs the room of two evicts a
// sender's last tx and then the one before it when that is the cheapest
// candidate left, never a tx another depends on first.
func TestEvictionExposesPrevious(t *testing.T) {
	e := newEnv(t, func(c *txpool.Config) { c.MaxBytes = 3*types.MinTxSize + 10 })
	b0 := e.add(e.tx("bob", alice, 1, 2000, 0))
	b1 := e.add(e.tx("bob", alice, 1, 2500, 1))
	c0 := e.add(e.tx("carol", alice, 1, 9000, 0))
	big := &types.Tx{Version: types.TxVersion, To: alice, Amount: 1, Fee: 3000, Memo: make([]byte, types.MaxMemoSize)}
	signer("dave").Sign(big, e.g.Params.GenesisHash())
	d0 := e.add(big)
	if e.p.Has(b0) || e.p.Has(b1) || !e.p.Has(c0) || !e.p.Has(d0) {
		t.Fatalf("dave's large tx should have evicted bob's 1, then bob's 0: %s", dump(e.p.Content()))
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
}

// TestReplacementCost: each replacement must add at least the minimum
// relay fee (and 10 %), so N replacements of a tx leave the last one
// carrying at least N × MinRelayFee more than the first: the attacker pays
// that when it is mined. Checked on the chain: the sender's balance falls
// by the amount plus that fee.
func TestReplacementCost(t *testing.T) {
	const (
		n        = 40   // replacements
		minRelay = 1000 // the default MinRelayFee
		first    = 1000 // the first tx's fee
	)
	e := newEnv(t, nil)
	start := e.account(alice).Balance
	fee := uint64(first)
	var last *types.Tx
	for i := range n + 1 {
		if i > 0 {
			// One unit below each bound is refused.
			for _, under := range []uint64{fee + minRelay - 1, (fee*11+9)/10 - 1} {
				if _, err := e.p.Add(e.tx("alice", bob, 1, under, 0)); txpool.ReasonOf(err) != txpool.ReasonReplacementUnderpriced {
					t.Fatalf("replacement %d at %d over %d: %v", i, under, fee, err)
				}
			}
			fee = max(fee+minRelay, (fee*11+9)/10)
		}
		last = e.tx("alice", bob, 1, fee, 0)
		e.add(last)
	}
	if last.Fee < first+n*minRelay {
		t.Fatalf("after %d replacements the fee is %d, want at least %d", n, last.Fee, first+n*minRelay)
	}
	e.mine(e.p.Template(1 << 20)...)
	if spent := start - e.account(alice).Balance; spent != 1+last.Fee {
		t.Fatalf("alice spent %d, want 1 + the last fee %d", spent, last.Fee)
	}
	t.Logf("%d replacements: last fee %d (≥ %d)", n, last.Fee, first+n*minRelay)
}

// TestAmountTooLow: a transfer of less than MinAmount is refused, with the
// default (DefaultMinAmount, 1) and with a configured minimum.
func TestAmountTooLow(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.p.Add(e.tx("alice", bob, 0, 2000, 0)); txpool.ReasonOf(err) != txpool.ReasonAmountTooLow {
		t.Fatalf("amount 0: %v", err)
	}
	e.add(e.tx("alice", bob, txpool.DefaultMinAmount, 2000, 0))
	e2 := newEnv(t, func(c *txpool.Config) { c.MinAmount = 5000 })
	if _, err := e2.p.Add(e2.tx("alice", bob, 4999, 2000, 0)); txpool.ReasonOf(err) != txpool.ReasonAmountTooLow {
		t.Fatalf("amount 4999 under 5000: %v", err)
	}
	e2.add(e2.tx("alice", bob, 5000, 2000, 0))
}

// TestQueuedLifetime: by default a queued tx lives 10 minutes from when it
// was queued; replacing it does not extend that; a pending tx stays
// whatever its age.
func TestQueuedLifetime(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, func(c *txpool.Config) { c.Now = func() time.Time { return now } })
	p0 := e.add(e.tx("alice", bob, 1, 2000, 0))
	q := e.add(e.tx("alice", bob, 1, 2000, 5))
	now = now.Add(9 * time.Minute)
	r := e.add(e.tx("alice", bob, 1, 3000, 5)) // replaces q
	if e.p.Has(q) {
		t.Fatal("q not replaced")
	}
	now = now.Add(time.Minute) // 10 min after q was queued
	e.p.Expire()
	if !e.p.Has(r) {
		t.Fatal("expired at exactly 10 minutes")
	}
	now = now.Add(time.Nanosecond)
	e.p.Expire()
	if e.p.Has(r) || !e.p.Has(p0) {
		t.Fatalf("after 10 minutes: the replacement (queued since q) should be gone, the pending tx stay: %s", dump(e.p.Content()))
	}
	now = now.Add(24 * time.Hour)
	e.mine()
	if !e.p.Has(p0) {
		t.Fatal("a pending tx expired")
	}
}

// TestReorgTrimsQueued: a reorganisation that takes back a sender's mined
// tx, which the pool cannot take back (the sender is at MaxPerSender),
// leaves its pooled txs queued; those over MaxQueuedPerSender go, highest
// nonce first, and the rest start their queued lifetime.
//
//	genesis -> m1 (alice 0)
//	      \-> x1 -> x2
func TestReorgTrimsQueued(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := newEnv(t, func(c *txpool.Config) {
		c.MaxPerSender = 3
		c.MaxQueuedPerSender = 2
		c.Now = func() time.Time { return now }
	})
	e.mine(e.tx("alice", bob, 1, 2000, 0))
	a1 := e.add(e.tx("alice", bob, 1, 2000, 1))
	a2 := e.add(e.tx("alice", bob, 1, 2000, 2))
	a3 := e.add(e.tx("alice", bob, 1, 2000, 3))
	now = now.Add(time.Hour)
	e.g.Block("x1", "genesis", func(b *chaintest.BlockGen) { b.Header.Miner = addr("other") })
	e.g.Block("x2", "x1", func(b *chaintest.BlockGen) { b.Header.Miner = addr("other") })
	e.process("x1")
	e.process("x2")
	e.tip = "x2"
	if !e.p.Has(a1) || !e.p.Has(a2) || e.p.Has(a3) {
		t.Fatalf("after the reorg: %s", dump(e.p.Content()))
	}
	if st := e.p.Status(); st.Pending != 0 || st.Queued != 2 {
		t.Fatalf("status %+v", st)
	}
	if from, to, ok := e.p.Missing(alice); !ok || from != 0 || to != 1 {
		t.Fatalf("Missing = [%d, %d), %v", from, to, ok)
	}
	checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
	now = now.Add(10 * time.Minute)
	e.p.Expire()
	if !e.p.Has(a1) {
		t.Fatal("gone 10 minutes after the reorg: its queued lifetime must start when it became queued")
	}
	now = now.Add(time.Nanosecond)
	e.p.Expire()
	if st := e.p.Status(); st != (txpool.Status{}) {
		t.Fatalf("status %+v", st)
	}
}
