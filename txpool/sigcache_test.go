package txpool_test

import (
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// countingSigs wraps a SigCache and counts the lookups that let block
// import skip a signature.
type countingSigs struct {
	*chain.SigCache
	skipped atomic.Int64
}

func (c *countingSigs) Verified(id types.Hash) bool {
	ok := c.SigCache.Verified(id)
	if ok {
		c.skipped.Add(1)
	}
	return ok
}

// TestSigCacheWiring: every tx the pool admits is recorded in Config.Sigs,
// refused ones are not, and a chain opened with the same cache imports a
// block of pooled txs without verifying their signatures again, while it
// still verifies a tx the pool never saw.
func TestSigCacheWiring(t *testing.T) {
	g := chaintest.New(t)
	cache := chain.NewSigCache(100)
	sigs := &countingSigs{SigCache: cache}
	c := g.Open(chain.Config{Sigs: sigs})
	p, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash(), Sigs: cache}, c)
	if err != nil {
		t.Fatal(err)
	}
	var pooled []types.Hash
	for _, tx := range []*types.Tx{
		g.Tx("alice", bob, 1, 2000, 0),
		g.Tx("alice", bob, 1, 2000, 1),
		g.Tx("bob", carol, 1, 3000, 0),
	} {
		id, err := p.Add(tx)
		if err != nil {
			t.Fatal(err)
		}
		pooled = append(pooled, id)
	}
	low := g.Tx("carol", bob, 1, 999, 0)
	if _, err := p.Add(low); txpool.ReasonOf(err) != txpool.ReasonFeeTooLow {
		t.Fatal(err)
	}
	badNonce := g.Tx("dave", bob, 1, 2000, 100) // verifies, then refused
	if _, err := p.Add(badNonce); txpool.ReasonOf(err) != txpool.ReasonNonceTooHigh {
		t.Fatal(err)
	}
	if cache.Len() != len(pooled) {
		t.Fatalf("cache holds %d ids, want %d", cache.Len(), len(pooled))
	}
	for _, id := range pooled {
		if !cache.Verified(id) {
			t.Fatalf("admitted tx %s not recorded", id)
		}
	}
	if cache.Verified(low.ID()) || cache.Verified(badNonce.ID()) {
		t.Fatal("a refused tx is recorded")
	}

	foreign := g.Tx("dave", bob, 1, 2000, 0) // never offered to the pool
	txs := append(p.Template(1<<20), foreign)
	blk := g.Block("a1", "genesis", func(b *chaintest.BlockGen) { b.Txs = txs })
	sigs.skipped.Store(0)
	res, err := c.ProcessBlock(blk)
	if err != nil {
		t.Fatal(err)
	}
	if n := sigs.skipped.Load(); n != int64(len(pooled)) {
		t.Fatalf("import skipped %d signatures, want %d (the pooled txs)", n, len(pooled))
	}
	p.Update(res.Connected, res.Disconnected)
	if st := p.Status(); st != (txpool.Status{}) {
		t.Fatalf("status %+v", st)
	}

	// A tx with a bad signature cannot borrow a pooled tx's record: the id
	// commits to the signature.
	forged := *g.Tx("alice", bob, 1, 2000, 2)
	forged.Sig[0] ^= 1
	blk2 := g.Block("a2", "a1", func(b *chaintest.BlockGen) { b.Txs = []*types.Tx{&forged} })
	if _, err := c.ProcessBlock(blk2); err == nil {
		t.Fatal("a block with a forged signature was imported")
	}
}
