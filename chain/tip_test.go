package chain_test

import (
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
)

// Tip takes no lock: a reader polling the head (chain_getHead) never
// holds up an import waiting for the lock, and gets the tip the last
// import made.
func TestTipWithoutLock(t *testing.T) {
	g := chaintest.New(t)
	c := g.Open(chain.Config{})
	blocks := g.Payments("a", "genesis", 3, 2)
	for _, b := range blocks {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	release := c.HoldLock()
	defer release()
	got := make(chan chain.Tip)
	go func() { got <- c.Tip() }()
	select {
	case tip := <-got:
		if tip.Hash != blocks[2].Hash() || tip.Height != 3 {
			t.Fatalf("tip %s at %d, want %s at 3", tip.Hash, tip.Height, blocks[2].Hash())
		}
		tip.Work.SetInt64(0) // the caller's copy
		if c.Tip().Work.Sign() == 0 {
			t.Fatal("Tip's work is shared with its callers")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Tip waited for the chain's lock")
	}
}
