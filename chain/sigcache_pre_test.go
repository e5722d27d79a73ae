package chain_test

import (
	"errors"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/consensus"
)

// TestPreverifySignatures: a block whose signatures all verify has them
// added to the cache, which its import then finds; a block with one bad
// signature adds none, and its import refuses it as ever.
func TestPreverifySignatures(t *testing.T) {
	g := chaintest.New(t)
	blocks := g.Payments("a", "genesis", 3, 1)
	bad := g.Block("bad", "a3", func(bg *chaintest.BlockGen) {
		bg.Pay("alice", chaintest.Key("bob").Address(), 5, 1000)
		bg.Pay("carol", chaintest.Key("bob").Address(), 6, 1000)
		bg.Txs[1].Sig[0] ^= 1
	})
	sigs := chain.NewSigCache(1 << 10)
	c := g.Open(chain.Config{Sigs: sigs})
	for _, b := range blocks {
		if !c.PreverifySignatures(b) {
			t.Fatalf("block %d: a good block failed preverification", b.Header.Height)
		}
		for _, tx := range b.Txs {
			if !sigs.Verified(tx.ID()) {
				t.Fatalf("block %d: tx %s not in the cache", b.Header.Height, tx.ID())
			}
		}
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	n := sigs.Len()
	if c.PreverifySignatures(bad) || sigs.Len() != n {
		t.Fatalf("a block with a bad signature: preverified, cache %d -> %d", n, sigs.Len())
	}
	if _, err := c.ProcessBlock(bad); consensus.CodeOf(err) != consensus.ErrBadSignature && !errors.Is(err, chain.ErrKnownInvalid) {
		t.Fatalf("import of the bad block: %v", err)
	}
	if c.Tip().Hash != blocks[2].Hash() {
		t.Fatal("the bad block moved the tip")
	}
}
