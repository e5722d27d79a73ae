package chain_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
)

func TestSmokeReorg(t *testing.T) {
	g := chaintest.New(t)
	bob := chaintest.Key("bob").Address()
	g.Block("a1", "genesis", func(b *chaintest.BlockGen) { b.Pay("alice", bob, 5, 1) })
	g.Chain("a", "a1", 2)
	g.Block("b2", "a1", func(b *chaintest.BlockGen) { b.Pay("carol", bob, 7, 2) })
	g.Chain("b", "b2", 2)
	c := g.Open(chain.Config{})
	g.Process(c, "a1", "a2", "a3")
	g.CheckTip(c, "a3")
	g.Process(c, "b2", "b3")
	g.CheckTip(c, "a3")
	res, err := c.ProcessBlock(g.Get("b4"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Disconnected) != 2 || len(res.Connected) != 3 {
		t.Fatalf("res %+v", res)
	}
	g.CheckTip(c, "b4")
}
