package txpool_test

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// Helpers shared by the tests: a pool on a real chain built with chaintest,
// a view of the pool to show it unchanged, and the invariant check run
// after every step of the property and concurrency tests.

func addr(name string) types.Address { return chaintest.Key(name).Address() }

var (
	alice = addr("alice")
	bob   = addr("bob")
	carol = addr("carol")
	dave  = addr("dave")
)

// env is a pool on a chain on an in-memory database, with blocks named
// m1, m2, … on the main chain.
type env struct {
	t   testing.TB
	g   *chaintest.Builder
	c   *chain.Chain
	p   *txpool.Pool
	cfg txpool.Config
	tip string
	n   int
}

// newEnv opens a chain at genesis and a pool on it; mod, if not nil,
// adjusts the pool's Config (Genesis is already set).
func newEnv(t testing.TB, mod func(*txpool.Config)) *env {
	t.Helper()
	g := chaintest.New(t)
	c := g.Open(chain.Config{})
	cfg := txpool.Config{Genesis: g.Params.GenesisHash()}
	if mod != nil {
		mod(&cfg)
	}
	p, err := txpool.New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, g: g, c: c, p: p, cfg: cfg, tip: "genesis"}
}

// tx signs a tx of the named wallet for this network.
func (e *env) tx(from string, to types.Address, amount, fee, nonce uint64) *types.Tx {
	return e.g.Tx(from, to, amount, fee, nonce)
}

// add admits tx or fails the test.
func (e *env) add(tx *types.Tx) types.Hash {
	e.t.Helper()
	id, err := e.p.Add(tx)
	if err != nil {
		e.t.Fatalf("add %s (nonce %d, fee %d): %v", tx.Sender(), tx.Nonce, tx.Fee, err)
	}
	return id
}

// mine builds a block on the tip holding txs, imports it and updates the
// pool with the result. It returns the block's name.
func (e *env) mine(txs ...*types.Tx) string {
	e.t.Helper()
	e.n++
	name := fmt.Sprintf("m%d", e.n)
	e.g.Block(name, e.tip, func(b *chaintest.BlockGen) { b.Txs = txs })
	e.process(name)
	e.tip = name
	return name
}

// process imports the named block and updates the pool with the result.
func (e *env) process(name string) chain.Result {
	e.t.Helper()
	res, err := e.c.ProcessBlock(e.g.Get(name))
	if err != nil {
		e.t.Fatalf("process %s: %v", name, err)
	}
	e.p.Update(res.Connected, res.Disconnected)
	return res
}

// fund has alice pay amount to the named key in a block of its own, so
// that the key is a low-balance sender.
func (e *env) fund(name string, amount uint64) types.Address {
	e.t.Helper()
	acct, err := e.c.Account(alice)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mine(e.tx("alice", addr(name), amount, 1000, acct.Nonce))
	return addr(name)
}

// account reads addr at the tip.
func (e *env) account(a types.Address) chain.Account {
	e.t.Helper()
	acct, err := e.c.Account(a)
	if err != nil {
		e.t.Fatal(err)
	}
	return acct
}

// view is what a caller can see of the pool.
type view struct {
	status  txpool.Status
	content []txpool.SenderTxs
	ids     []types.Hash
}

func viewOf(p *txpool.Pool) view {
	v := view{status: p.Status(), content: p.Content()}
	for _, s := range v.content {
		for _, tx := range slices.Concat(s.Pending, s.Queued) {
			v.ids = append(v.ids, tx.ID())
		}
	}
	return v
}

// sameView fails unless p shows exactly what v showed: the same status and
// content, every id of v still there, and the ids in absent not there.
func sameView(t fataler, p *txpool.Pool, v view, absent ...types.Hash) {
	t.Helper()
	now := viewOf(p)
	if now.status != v.status {
		t.Fatalf("status %+v, was %+v", now.status, v.status)
	}
	if !reflect.DeepEqual(now.content, v.content) {
		t.Fatalf("content changed:\nnow %s\nwas %s", dump(now.content), dump(v.content))
	}
	for _, id := range v.ids {
		if !p.Has(id) {
			t.Fatalf("tx %s is gone", id)
		}
	}
	for _, id := range absent {
		if p.Has(id) {
			t.Fatalf("tx %s is in the pool", id)
		}
	}
}

func dump(c []txpool.SenderTxs) string {
	var b bytes.Buffer
	for _, s := range c {
		fmt.Fprintf(&b, "[%s pending", short(s.Sender))
		for _, tx := range s.Pending {
			fmt.Fprintf(&b, " %d/%d", tx.Nonce, tx.Fee)
		}
		b.WriteString(" queued")
		for _, tx := range s.Queued {
			fmt.Fprintf(&b, " %d/%d", tx.Nonce, tx.Fee)
		}
		b.WriteString("] ")
	}
	return b.String()
}

// fataler is what checkPool needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// limits are a pool's effective caps, for checkPool.
type limits struct {
	maxTxs, maxBytes, maxPerSender int
	maxQueued, maxQueuedPerSender  int
}

// checkPool checks the pool against the chain state st:
//
//   - its internal indexes agree with its txs (CheckIndexes);
//   - every sender's txs are ascending by nonce, none below the account's;
//     the pending ones are consecutive from it, the first queued one is not
//     the next; all of them together cost at most the balance;
//   - the caps hold in count, bytes and per sender, for all txs and for
//     queued ones, and Status agrees with Content; Has, Get, NextNonce,
//     IsPending, BySenderNonce, Missing and PendingIDs agree too;
//   - Template, with no size limit and with sizeLimit, is exactly what an
//     independent greedy selection over the pending txs gives (highest fee
//     first among each sender's next tx, ties by id, a sender whose next tx
//     does not fit is skipped), gives the same answer twice, and applies to
//     st in order as a block would (nonces match, balances cover).
func checkPool(t fataler, st txpool.State, p *txpool.Pool, lim limits, sizeLimit int) {
	t.Helper()
	if err := p.CheckIndexes(); err != nil {
		t.Fatalf("indexes: %v", err)
	}
	content := p.Content()
	status := p.Status()
	var pending [][]*types.Tx
	var nPending, nQueued, size int
	for _, s := range content {
		acct, err := st.Account(s.Sender)
		if err != nil {
			t.Fatalf("account %s: %v", s.Sender, err)
		}
		all := slices.Concat(s.Pending, s.Queued)
		if len(all) == 0 || len(all) > lim.maxPerSender || len(s.Queued) > lim.maxQueuedPerSender {
			t.Fatalf("sender %s has %d txs, %d queued (max %d, %d)", s.Sender, len(all), len(s.Queued), lim.maxPerSender, lim.maxQueuedPerSender)
		}
		var spend uint64
		for i, tx := range all {
			if tx.Sender() != s.Sender {
				t.Fatalf("tx of %s listed under %s", tx.Sender(), s.Sender)
			}
			if i > 0 && tx.Nonce <= all[i-1].Nonce {
				t.Fatalf("sender %s: nonces not ascending: %s", s.Sender, dump(content))
			}
			if tx.Nonce < acct.Nonce {
				t.Fatalf("sender %s at nonce %d: pooled tx with nonce %d", s.Sender, acct.Nonce, tx.Nonce)
			}
			if i < len(s.Pending) && tx.Nonce != acct.Nonce+uint64(i) {
				t.Fatalf("sender %s at nonce %d: pending tx %d has nonce %d", s.Sender, acct.Nonce, i, tx.Nonce)
			}
			cost, ok := tx.Cost()
			if !ok || spend+cost < spend {
				t.Fatalf("sender %s: cost overflows", s.Sender)
			}
			spend += cost
			id := tx.ID()
			if got, ok := p.Get(id); !ok || got != tx {
				t.Fatalf("Content lists %s, Get says %v", id, ok)
			}
			if got, ok := p.BySenderNonce(s.Sender, tx.Nonce); !ok || got != tx {
				t.Fatalf("Content lists %s nonce %d, BySenderNonce says %v", s.Sender, tx.Nonce, ok)
			}
			if p.IsPending(id) != (i < len(s.Pending)) {
				t.Fatalf("IsPending(%s) = %v, Content lists it as pending: %v", id, !(i < len(s.Pending)), i < len(s.Pending))
			}
			size += tx.EncodedSize()
		}
		if spend > acct.Balance {
			t.Fatalf("sender %s: pooled txs cost %d, balance %d", s.Sender, spend, acct.Balance)
		}
		if len(s.Queued) > 0 && s.Queued[0].Nonce == acct.Nonce+uint64(len(s.Pending)) {
			t.Fatalf("sender %s: queued tx with the next nonce %d", s.Sender, s.Queued[0].Nonce)
		}
		from, to, ok := p.Missing(s.Sender)
		if ok != (len(s.Queued) > 0) || ok && (from != acct.Nonce+uint64(len(s.Pending)) || to != s.Queued[0].Nonce) {
			t.Fatalf("sender %s: Missing = [%d, %d), %v; content %s", s.Sender, from, to, ok, dump(content))
		}
		if n, err := p.NextNonce(s.Sender); err != nil || n != acct.Nonce+uint64(len(s.Pending)) {
			t.Fatalf("NextNonce(%s) = %d, %v; want %d", s.Sender, n, err, acct.Nonce+uint64(len(s.Pending)))
		}
		nPending += len(s.Pending)
		nQueued += len(s.Queued)
		if len(s.Pending) > 0 {
			pending = append(pending, s.Pending)
		}
	}
	if status != (txpool.Status{Pending: nPending, Queued: nQueued, Bytes: size}) {
		t.Fatalf("status %+v, content has %d pending, %d queued, %d bytes", status, nPending, nQueued, size)
	}
	if nPending+nQueued > lim.maxTxs || size > lim.maxBytes || nQueued > lim.maxQueued {
		t.Fatalf("pool holds %d txs (%d queued), %d bytes; caps %d (%d), %d", nPending+nQueued, nQueued, size, lim.maxTxs, lim.maxQueued, lim.maxBytes)
	}
	// PendingIDs: the pending txs by fee, highest first, ties by id; a
	// shorter list is a prefix.
	var byFee []*types.Tx
	for _, txs := range pending {
		byFee = append(byFee, txs...)
	}
	slices.SortFunc(byFee, func(a, b *types.Tx) int {
		if c := cmp.Compare(b.Fee, a.Fee); c != 0 {
			return c
		}
		ia, ib := a.ID(), b.ID()
		return bytes.Compare(ia[:], ib[:])
	})
	for _, max := range []int{len(byFee) + 1, len(byFee), len(byFee) / 2, 1} {
		ids := p.PendingIDs(max)
		want := byFee[:min(max, len(byFee))]
		if len(ids) != len(want) {
			t.Fatalf("PendingIDs(%d) has %d ids, want %d", max, len(ids), len(want))
		}
		for i, tx := range want {
			if ids[i] != tx.ID() {
				t.Fatalf("PendingIDs(%d)[%d] = %s, want %s (%s)", max, i, ids[i], tx.ID(), txList(want))
			}
		}
	}
	for _, max := range []int{1 << 30, sizeLimit} {
		tmpl := p.Template(max)
		if again := p.Template(max); !slices.Equal(tmpl, again) {
			t.Fatalf("Template(%d) differs between two calls", max)
		}
		if want := greedyTemplate(pending, max); !slices.Equal(tmpl, want) {
			t.Fatalf("Template(%d):\n got %s\nwant %s", max, txList(tmpl), txList(want))
		}
		if err := applies(st, tmpl); err != nil {
			t.Fatalf("Template(%d) does not apply to the tip: %v", max, err)
		}
	}
}

// greedyTemplate is the pool's template rule written plainly:
// repeatedly take, among every sender's next pending tx, the highest fee
// (ties: smallest id); a sender whose next tx does not fit is done.
func greedyTemplate(pending [][]*types.Tx, maxBytes int) []*types.Tx {
	next := make([]int, len(pending))
	done := make([]bool, len(pending))
	var out []*types.Tx
	for {
		best := -1
		var bestID types.Hash
		for i, txs := range pending {
			if done[i] || next[i] == len(txs) {
				continue
			}
			tx, id := txs[next[i]], txs[next[i]].ID()
			if best < 0 {
				best, bestID = i, id
				continue
			}
			bf := pending[best][next[best]].Fee
			if tx.Fee > bf || tx.Fee == bf && bytes.Compare(id[:], bestID[:]) < 0 {
				best, bestID = i, id
			}
		}
		if best < 0 {
			return out
		}
		tx := pending[best][next[best]]
		if tx.EncodedSize() > maxBytes {
			done[best] = true
			continue
		}
		out = append(out, tx)
		maxBytes -= tx.EncodedSize()
		next[best]++
	}
}

// applies applies txs in order to the accounts of st as a block would.
func applies(st txpool.State, txs []*types.Tx) error {
	accts := map[types.Address]chain.Account{}
	get := func(a types.Address) (chain.Account, error) {
		if acct, ok := accts[a]; ok {
			return acct, nil
		}
		return st.Account(a)
	}
	for i, tx := range txs {
		from, err := get(tx.Sender())
		if err != nil {
			return err
		}
		cost, ok := tx.Cost()
		if tx.Nonce != from.Nonce || !ok || cost > from.Balance {
			return fmt.Errorf("tx %d (%s nonce %d, cost %d) on account %+v", i, tx.Sender(), tx.Nonce, cost, from)
		}
		from.Balance -= cost
		from.Nonce++
		accts[tx.Sender()] = from
		to, err := get(tx.To)
		if err != nil {
			return err
		}
		to.Balance += tx.Amount
		accts[tx.To] = to
	}
	return nil
}

func txList(txs []*types.Tx) string {
	var b bytes.Buffer
	for _, tx := range txs {
		fmt.Fprintf(&b, "%s/%d/%d ", short(tx.Sender()), tx.Nonce, tx.Fee)
	}
	return b.String()
}

// richState is a State stub for benchmarks and the fuzz test: every
// account holds a large balance at nonce 0, or what accts says.
type richState struct {
	mu    sync.RWMutex
	accts map[types.Address]chain.Account
}

func (s *richState) Account(a types.Address) (chain.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if acct, ok := s.accts[a]; ok {
		return acct, nil
	}
	return chain.Account{Balance: 1 << 62}, nil
}

func signer(name string) chaintest.Signer { return chaintest.Key(name) }

// short names an address in messages by the start of its bech32 data.
func short(a types.Address) string { return a.String()[len("cairn1"):][:8] }
