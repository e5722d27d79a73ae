package txpool_test

import (
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// pausingState is a State whose next read of one address returns the
// value of the moment it was called, but only after the test lets it go:
// an Add that read the chain just before a block.
type pausingState struct {
	mu     sync.Mutex
	accts  map[types.Address]chain.Account
	target types.Address
	read   chan struct{} // closed when the paused read has its value
	resume chan struct{} // closed by the test to let it return
}

func (s *pausingState) Account(a types.Address) (chain.Account, error) {
	s.mu.Lock()
	acct := s.accts[a]
	pause := a == s.target && s.read != nil
	var read, resume chan struct{}
	if pause {
		read, resume = s.read, s.resume
		s.read = nil // once
	}
	s.mu.Unlock()
	if pause {
		close(read)
		<-resume
	}
	return acct, nil
}

func (s *pausingState) set(a types.Address, acct chain.Account) {
	s.mu.Lock()
	s.accts[a] = acct
	s.mu.Unlock()
}

// TestAddRacingUpdate: an Add reads a new sender's account, a block moves
// that account on and Update runs, then the Add goes on. It must check the
// tx against the account after the block, not the one it read: here the
// block mined another tx with the same nonce, so the tx is refused. (Had
// the pool admitted it, no later Update would drop it: Update ran already,
// and the block it applied did not concern a pooled sender.)
func TestAddRacingUpdate(t *testing.T) {
	g := chaintest.New(t)
	x := addr("racer")
	st := &pausingState{
		accts:  map[types.Address]chain.Account{x: {Balance: 100_000}},
		target: x,
		read:   make(chan struct{}),
		resume: make(chan struct{}),
	}
	p, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash()}, st)
	if err != nil {
		t.Fatal(err)
	}
	read := st.read
	done := make(chan error, 1)
	go func() {
		_, err := p.Add(g.Tx("racer", bob, 1, 2000, 0))
		done <- err
	}()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("Add did not read the account")
	}
	// The block: another tx of racer with nonce 0.
	mined := g.Tx("racer", carol, 5, 1000, 0)
	st.set(x, chain.Account{Balance: 100_000 - 1005, Nonce: 1})
	p.Update([]*types.Block{{Txs: []*types.Tx{mined}}}, nil)
	close(st.resume)
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Add did not return")
	}
	if txpool.ReasonOf(err) != txpool.ReasonNonceTooLow {
		t.Fatalf("Add after the racing block: %v, want nonce-too-low", err)
	}
	if st := p.Status(); st != (txpool.Status{}) {
		t.Fatalf("status %+v", st)
	}
}

// TestAddRacingBlock: while a block that mined a pooled tx is imported but
// before Update, one Add reads the account from before the block and
// another from after it. The pool must judge both against one state of
// the account, the one its pooled txs are consistent with, so that it
// never admits a tx the next Update drops as unpaid: here the two new txs
// together cost more than the block left, and the second one is refused.
func TestAddRacingBlock(t *testing.T) {
	g := chaintest.New(t)
	x := addr("racer")
	st := &pausingState{accts: map[types.Address]chain.Account{x: {Balance: 10_000}}}
	p, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash()}, st)
	if err != nil {
		t.Fatal(err)
	}
	n0 := g.Tx("racer", bob, 5_000, 1000, 0)
	if _, err := p.Add(n0); err != nil {
		t.Fatal(err)
	}
	// Add 1 reads the account before the block and waits.
	st.mu.Lock()
	st.target, st.read, st.resume = x, make(chan struct{}), make(chan struct{})
	read := st.read
	st.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := p.Add(g.Tx("racer", bob, 2_500, 1000, 1))
		done <- err
	}()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("Add did not read the account")
	}
	// The block mines n0: 4,000 left. Add 2 reads that and goes through.
	st.set(x, chain.Account{Balance: 4_000, Nonce: 1})
	n2 := g.Tx("racer", bob, 1, 1000, 2)
	if _, err := p.Add(n2); err != nil {
		t.Fatal(err)
	}
	close(st.resume)
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Add did not return")
	}
	if txpool.ReasonOf(err) != txpool.ReasonInsufficientBalance {
		t.Fatalf("Add 1: %v, want insufficient-balance (3,500 + 1,001 > 4,000)", err)
	}
	p.Update([]*types.Block{{Txs: []*types.Tx{n0}}}, nil)
	if !p.Has(n2.ID()) || p.Has(n0.ID()) {
		t.Fatalf("after Update: n0 pooled %v, n2 pooled %v", p.Has(n0.ID()), p.Has(n2.ID()))
	}
	checkPool(t, st, p, limitsOf(txpool.Config{}), 1<<20)
}
