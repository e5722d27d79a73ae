package txpool_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/txpool"
)

func TestSmokePoolChain(t *testing.T) {
	g := chaintest.New(t)
	sigs := chain.NewSigCache(1000)
	c := g.Open(chain.Config{Sigs: sigs})
	p, err := txpool.New(txpool.Config{Genesis: g.Params.GenesisHash(), Sigs: sigs}, c)
	if err != nil {
		t.Fatal(err)
	}
	bob := chaintest.Key("bob").Address()
	for n := uint64(0); n < 3; n++ {
		if _, err := p.Add(g.Tx("alice", bob, 10, 2000+n, n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Add(g.Tx("alice", bob, 10, 2000, 5)); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Pending != 3 || st.Queued != 1 {
		t.Fatalf("status %+v", st)
	}
	tmpl := p.Template(1 << 20)
	if len(tmpl) != 3 {
		t.Fatalf("template %d", len(tmpl))
	}
	blk := g.Block("a1", "genesis", func(b *chaintest.BlockGen) { b.Txs = tmpl })
	res, err := c.ProcessBlock(blk)
	if err != nil {
		t.Fatal(err)
	}
	p.Update(res.Connected, res.Disconnected)
	if st := p.Status(); st.Pending != 0 || st.Queued != 1 {
		t.Fatalf("status after block %+v", st)
	}
}
