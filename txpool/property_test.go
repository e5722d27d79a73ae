package txpool_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
	"pgregory.net/rapid"
)

// rapidTB lets chaintest report through a rapid.T: failures go to rapid
// (so that it can shrink), the rest to the enclosing test.
type rapidTB struct {
	testing.TB
	rt *rapid.T
}

func (r rapidTB) Helper()                   { r.rt.Helper() }
func (r rapidTB) Fatalf(f string, a ...any) { r.rt.Fatalf(f, a...) }
func (r rapidTB) Fatal(a ...any)            { r.rt.Fatal(a...) }
func (r rapidTB) Errorf(f string, a ...any) { r.rt.Errorf(f, a...) }
func (r rapidTB) Error(a ...any)            { r.rt.Error(a...) }
func (r rapidTB) Logf(f string, a ...any)   { r.rt.Logf(f, a...) }
func (r rapidTB) Cleanup(f func())          { r.rt.Cleanup(f) }

// poolMachine is one run of the property test: a pool with small caps on a
// real chain, driven by random adds, replacements, blocks built from its
// templates, blocks with txs it never saw, reorganisations and expiry.
type poolMachine struct {
	g     *chaintest.Builder
	c     *chain.Chain
	p     *txpool.Pool
	lim   limits
	now   time.Time
	names []string        // wallets that send: the funded ones and some low-balance keys
	low   map[string]bool // the low-balance keys
	main  []string        // main chain by height, from genesis
	n     int             // blocks built
}

func newPoolMachine(t *testing.T, rt *rapid.T) *poolMachine {
	g := chaintest.New(rapidTB{TB: t, rt: rt})
	c := g.Open(chain.Config{}) // closed at the end of the run
	m := &poolMachine{
		g: g, c: c,
		lim:   limits{maxTxs: 8, maxBytes: 7 * types.MinTxSize, maxPerSender: 3, maxQueued: 3, maxQueuedPerSender: 2},
		now:   time.Unix(1_800_000_000, 0),
		names: slices.Clone(chaintest.Wallets),
		low:   map[string]bool{},
		main:  []string{"genesis"},
	}
	var err error
	m.p, err = txpool.New(txpool.Config{
		Genesis:            g.Params.GenesisHash(),
		MaxTxs:             m.lim.maxTxs,
		MaxBytes:           m.lim.maxBytes,
		MaxPerSender:       m.lim.maxPerSender,
		MaxQueued:          m.lim.maxQueued,
		MaxQueuedPerSender: m.lim.maxQueuedPerSender,
		MaxNonceGap:        3,
		QueuedTTL:          time.Hour,
		Now:                func() time.Time { return m.now },
	}, c)
	if err != nil {
		rt.Fatal(err)
	}
	// Fund three low-balance keys from alice.
	var funding []*types.Tx
	for i := range 3 {
		name := fmt.Sprintf("low%d", i)
		amount := rapid.Uint64Range(2_000, 40_000).Draw(rt, name+" funds")
		funding = append(funding, g.Tx("alice", addr(name), amount, 1000, uint64(i)))
		m.names = append(m.names, name)
		m.low[name] = true
	}
	m.connect(rt, funding)
	return m
}

func (m *poolMachine) account(rt *rapid.T, a types.Address) chain.Account {
	acct, err := m.c.Account(a)
	if err != nil {
		rt.Fatal(err)
	}
	return acct
}

// sign draws the parts of a tx not given and signs it.
func (m *poolMachine) sign(rt *rapid.T, from string, nonce, fee uint64) *types.Tx {
	var amount uint64
	switch {
	case m.low[from]:
		amount = rapid.Uint64Range(0, 30_000).Draw(rt, "amount")
	case rapid.IntRange(0, 9).Draw(rt, "unaffordable") == 0:
		amount = 2 * chaintest.GenesisFunds
	default:
		amount = rapid.Uint64Range(0, 10_000).Draw(rt, "amount")
	}
	tx := &types.Tx{
		Version: types.TxVersion,
		To:      addr(rapid.SampledFrom(m.names).Draw(rt, "to")),
		Amount:  amount,
		Fee:     fee,
		Nonce:   nonce,
	}
	if n := rapid.SampledFrom([]int{0, 0, 0, 20, types.MaxMemoSize}).Draw(rt, "memo"); n > 0 {
		tx.Memo = make([]byte, n)
	}
	signer(from).Sign(tx, m.g.Params.GenesisHash())
	return tx
}

// offer adds tx and checks the outcome: a refusal has a reason and leaves
// the pool as it was; an admission holds the tx, and whatever left the pool
// was the tx it replaced or the last tx of another sender (so that no
// sender is left with a gap) that it may evict: a queued one if it is
// pending, else one with a lower fee, never a pending one if it is queued.
func (m *poolMachine) offer(rt *rapid.T, tx *types.Tx) {
	before := viewOf(m.p)
	id, err := m.p.Add(tx)
	if err != nil {
		if txpool.ReasonOf(err) == 0 {
			rt.Fatalf("refused without a reason: %v", err)
		}
		rt.Logf("refused %s/%d/%d: %v", short(tx.Sender()), tx.Nonce, tx.Fee, err)
		if txpool.ReasonOf(err) == txpool.ReasonPoolFull && m.roomExists(rt, before, tx) {
			rt.Fatalf("refused as pool-full, but evicting what it may evict makes room: %s", dump(before.content))
		}
		if txpool.ReasonOf(err) == txpool.ReasonDuplicate {
			sameView(rt, m.p, before)
		} else {
			sameView(rt, m.p, before, id)
		}
		return
	}
	if !m.p.Has(id) {
		rt.Fatalf("admitted tx %s is not in the pool", id)
	}
	pending := m.p.IsPending(id)
	wasQueued := map[types.Hash]bool{}
	for _, s := range before.content {
		for _, q := range s.Queued {
			wasQueued[q.ID()] = true
		}
	}
	var victims []*types.Tx
	after := map[types.Address][]*types.Tx{}
	for _, s := range m.p.Content() {
		after[s.Sender] = slices.Concat(s.Pending, s.Queued)
	}
	for _, s := range before.content {
		for _, old := range slices.Concat(s.Pending, s.Queued) {
			if m.p.Has(old.ID()) {
				continue
			}
			switch {
			case old.Sender() == tx.Sender() && old.Nonce == tx.Nonce:
				// replaced
			case old.Sender() != tx.Sender() && (wasQueued[old.ID()] && (pending || old.Fee < tx.Fee) ||
				!wasQueued[old.ID()] && pending && old.Fee < tx.Fee):
				for _, o := range after[old.Sender()] {
					if o.Nonce > old.Nonce {
						rt.Fatalf("evicted nonce %d of %s, which has nonce %d pooled", old.Nonce, old.Sender(), o.Nonce)
					}
				}
			default:
				rt.Fatalf("admitting %d/%d (pending %v) pushed out %d/%d (queued %v) of %s", tx.Nonce, tx.Fee, pending, old.Nonce, old.Fee, wasQueued[old.ID()], old.Sender())
			}
			victims = append(victims, old)
		}
	}
	// The cheapest go first: no sender untouched by the eviction has a
	// last tx that goes before a victim (queued before pending, then
	// lower fee, then higher id).
	evictedFirst := func(a, b *types.Tx) bool {
		if wasQueued[a.ID()] != wasQueued[b.ID()] {
			return wasQueued[a.ID()]
		}
		if a.Fee != b.Fee {
			return a.Fee < b.Fee
		}
		ia, ib := a.ID(), b.ID()
		return bytes.Compare(ia[:], ib[:]) > 0
	}
	for _, v := range victims {
		if v.Sender() == tx.Sender() {
			continue
		}
		for _, s := range before.content {
			all := slices.Concat(s.Pending, s.Queued)
			last := all[len(all)-1]
			if s.Sender == tx.Sender() || !m.p.Has(last.ID()) {
				continue
			}
			if evictedFirst(last, v) {
				rt.Fatalf("evicted %d/%d of %s, but %d/%d of %s goes first", v.Nonce, v.Fee, short(v.Sender()), last.Nonce, last.Fee, short(s.Sender))
			}
		}
	}
}

// roomExists is the eviction rule written plainly: whether evicting every
// tx that tx may evict (each other sender's txs from its last one back, as
// long as tx may evict them: a queued one if tx is pending, else one of a
// lower fee, and a pending one only by a pending tx) would make room for
// tx under the caps, in place of the tx of the same nonce if pooled. The
// pool evicts fewer, cheapest first, but must find room when this does.
func (m *poolMachine) roomExists(rt *rapid.T, before view, tx *types.Tx) bool {
	acct := m.account(rt, tx.Sender())
	count := before.status.Pending + before.status.Queued + 1
	size := before.status.Bytes + tx.EncodedSize()
	nq := before.status.Queued
	var own txpool.SenderTxs
	for _, s := range before.content {
		if s.Sender == tx.Sender() {
			own = s
		}
	}
	pending := tx.Nonce <= acct.Nonce+uint64(len(own.Pending))
	if !pending {
		nq++
	}
	for _, o := range slices.Concat(own.Pending, own.Queued) {
		if o.Nonce == tx.Nonce {
			count, size = count-1, size-o.EncodedSize()
			if !pending {
				nq--
			}
		}
	}
	for _, s := range before.content {
		if s.Sender == tx.Sender() {
			continue
		}
		all := slices.Concat(s.Pending, s.Queued)
		for i := len(all) - 1; i >= 0; i-- {
			o, queued := all[i], i >= len(s.Pending)
			if !(queued && (pending || o.Fee < tx.Fee) || !queued && pending && o.Fee < tx.Fee) {
				break
			}
			count, size = count-1, size-o.EncodedSize()
			if queued {
				nq--
			}
		}
	}
	return count <= m.lim.maxTxs && size <= m.lim.maxBytes && (pending || nq <= m.lim.maxQueued)
}

func (m *poolMachine) add(rt *rapid.T) {
	from := rapid.SampledFrom(m.names).Draw(rt, "from")
	acct := m.account(rt, addr(from))
	nonce := acct.Nonce + rapid.Uint64Range(0, 4).Draw(rt, "ahead")
	if acct.Nonce > 0 && rapid.IntRange(0, 9).Draw(rt, "stale") == 0 {
		nonce = acct.Nonce - 1
	}
	fee := rapid.Uint64Range(1000, 6000).Draw(rt, "fee")
	if rapid.IntRange(0, 19).Draw(rt, "cheap") == 13 {
		fee = 999
	}
	m.offer(rt, m.sign(rt, from, nonce, fee))
}

func (m *poolMachine) replace(rt *rapid.T) {
	var pooled []*types.Tx
	for _, s := range m.p.Content() {
		pooled = append(pooled, slices.Concat(s.Pending, s.Queued)...)
	}
	if len(pooled) == 0 {
		rt.Skip("nothing to replace")
	}
	old := rapid.SampledFrom(pooled).Draw(rt, "replaced")
	fee := old.Fee * rapid.Uint64Range(100, 125).Draw(rt, "bump%") / 100
	from := ""
	for _, n := range m.names {
		if addr(n) == old.Sender() {
			from = n
		}
	}
	m.offer(rt, m.sign(rt, from, old.Nonce, fee))
}

// connect builds a block of txs on the tip, imports it and updates the pool.
func (m *poolMachine) connect(rt *rapid.T, txs []*types.Tx) string {
	m.n++
	name := fmt.Sprintf("m%d", m.n)
	blk := m.g.Block(name, m.main[len(m.main)-1], func(b *chaintest.BlockGen) { b.Txs = txs })
	res, err := m.c.ProcessBlock(blk)
	if err != nil {
		rt.Fatalf("block %s of %d txs: %v", name, len(txs), err)
	}
	if len(res.Connected) != 1 || len(res.Disconnected) != 0 {
		rt.Fatalf("block %s: %d connected, %d disconnected", name, len(res.Connected), len(res.Disconnected))
	}
	m.p.Update(res.Connected, res.Disconnected)
	m.main = append(m.main, name)
	return name
}

func (m *poolMachine) mine(rt *rapid.T) {
	max := rapid.SampledFrom([]int{1 << 20, 3 * types.MinTxSize, 6 * types.MinTxSize}).Draw(rt, "block size")
	tmpl := m.p.Template(max)
	name := m.connect(rt, tmpl)
	if m.g.State(name) == nil {
		rt.Fatalf("the template is an invalid block in chaintest's model")
	}
	for _, tx := range tmpl {
		if m.p.Has(tx.ID()) {
			rt.Fatalf("mined tx %s is still pooled", tx.ID())
		}
	}
}

// mineForeign connects a block with a tx the pool never saw: the sender's
// next nonce, spending a random part of its balance, so that pooled txs
// of that nonce, or that the rest no longer covers, become invalid.
func (m *poolMachine) mineForeign(rt *rapid.T) {
	from := rapid.SampledFrom(m.names).Draw(rt, "from")
	acct := m.account(rt, addr(from))
	if acct.Balance < 1000 {
		rt.Skip("sender cannot pay a fee")
	}
	max := min(acct.Balance-1000, 50_000)
	tx := m.g.Tx(from, addr("sink"), rapid.Uint64Range(0, max).Draw(rt, "amount"), 1000, acct.Nonce)
	m.connect(rt, []*types.Tx{tx})
}

// reorg builds a branch from a block 1 to 3 below the tip, one block
// longer than the main chain from there, whose first block holds a prefix
// of the txs of the main-chain block it competes with, and imports it.
func (m *poolMachine) reorg(rt *rapid.T) {
	h := len(m.main) - 1
	if h < 1 {
		rt.Skip("no block to disconnect")
	}
	d := rapid.IntRange(1, min(3, h)).Draw(rt, "depth")
	fork := h - d
	old := m.g.Get(m.main[fork+1]).Txs
	k := rapid.IntRange(0, len(old)).Draw(rt, "shared txs")
	parent := m.main[fork]
	branch := slices.Clone(m.main[:fork+1])
	var res chain.Result
	for i := 0; i <= d; i++ {
		m.n++
		name := fmt.Sprintf("r%d", m.n)
		m.g.Block(name, parent, func(b *chaintest.BlockGen) {
			b.Header.Miner = addr(name) // unlike any other block
			if i == 0 {
				b.Txs = old[:k]
			}
		})
		var err error
		if res, err = m.c.ProcessBlock(m.g.Get(name)); err != nil {
			rt.Fatalf("branch block %s: %v", name, err)
		}
		m.p.Update(res.Connected, res.Disconnected)
		branch = append(branch, name)
		parent = name
	}
	if len(res.Disconnected) != d || len(res.Connected) != d+1 {
		rt.Fatalf("reorg of depth %d: %d disconnected, %d connected", d, len(res.Disconnected), len(res.Connected))
	}
	m.main = branch
	if tip := m.c.Tip(); tip.Hash != m.g.Hash(parent) {
		rt.Fatalf("tip is not the branch's")
	}
	if err := m.c.Verify(); err != nil {
		rt.Fatal(err)
	}
	for _, tx := range old[:k] {
		if m.p.Has(tx.ID()) {
			rt.Fatalf("tx %s mined on the new branch is back in the pool", tx.ID())
		}
	}
}

func (m *poolMachine) expire(rt *rapid.T) {
	m.now = m.now.Add(time.Duration(rapid.IntRange(0, 90).Draw(rt, "minutes")) * time.Minute)
	m.p.Expire()
}

// stale asks for the pending txs announced long ago: every one returned is
// pending, and asking again at once returns none of them.
func (m *poolMachine) stale(rt *rapid.T) {
	age := time.Duration(rapid.IntRange(0, 90).Draw(rt, "age minutes")) * time.Minute
	max := rapid.IntRange(1, 10).Draw(rt, "max")
	got := m.p.Stale(age, max)
	if len(got) > max {
		rt.Fatalf("Stale(%v, %d) returned %d txs", age, max, len(got))
	}
	for _, tx := range got {
		if !m.p.IsPending(tx.ID()) {
			rt.Fatalf("Stale returned %s, which is not pending", tx.ID())
		}
	}
	for _, tx := range m.p.Stale(age, len(got)+10) {
		if slices.Contains(got, tx) {
			rt.Fatalf("Stale returned %s twice at %v", tx.ID(), m.now)
		}
	}
}

func (m *poolMachine) check(rt *rapid.T) {
	checkPool(rt, m.c, m.p, m.lim, 4*types.MinTxSize)
}

// TestPoolProperties is the property test: after every step the pool is
// consistent with the chain's tip (checkPool: pending txs apply in nonce
// order, caps hold, Template is the greedy fee order and deterministic),
// every template it gives is accepted by the chain as a block, refusals
// leave it unchanged, and admissions push out only what the rules allow.
func TestPoolProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newPoolMachine(t, rt)
		rt.Repeat(map[string]func(*rapid.T){
			"add":         m.add,
			"add2":        m.add,
			"add3":        m.add,
			"add4":        m.add,
			"replace":     m.replace,
			"mine":        m.mine,
			"mineForeign": m.mineForeign,
			"reorg":       m.reorg,
			"expire":      m.expire,
			"stale":       m.stale,
			"":            m.check,
		})
	})
}
