package chain_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

func mine(t *testing.T, p *consensus.Params, blk *types.Block) {
	t.Helper()
	for blk.Header.Nonce = 0; consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, p.PowLimit) != nil; blk.Header.Nonce++ {
	}
}

func TestNewBlockTemplate(t *testing.T) {
	g := chaintest.New(t)
	c := g.Open(chain.Config{})
	g.Chain("a", "genesis", 3)
	g.Process(c, "a1", "a2", "a3")
	bob := chaintest.Key("bob").Address()
	miner := chaintest.Key("carol").Address()
	txs := []*types.Tx{
		g.Tx("alice", bob, 100, 1000, 0),
		g.Tx("alice", bob, 100, 1000, 2),  // gap: left out, with the rest of alice's
		g.Tx("alice", bob, 100, 1000, 1),  // after a skipped one of the same sender: out
		g.Tx("dave", bob, 1<<62, 1000, 0), // unaffordable
		g.Tx("bob", miner, 5, 1000, 0),    // fine
		g.Tx("bob", miner, 6, 1000, 0),    // same nonce again: out
	}
	tip := c.Tip()
	blk, err := c.NewBlockTemplate(txs, miner, tip.Header.Time+1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(blk.Txs) != 2 || blk.Txs[0] != txs[0] || blk.Txs[1] != txs[4] {
		t.Fatalf("template has %d txs", len(blk.Txs))
	}
	mine(t, g.Params, blk)
	res, err := c.ProcessBlock(blk)
	if err != nil || res.Status != chain.StatusConnected {
		t.Fatalf("template block refused: %v %v", res.Status, err)
	}
	acc, _ := c.Account(miner)
	if want := uint64(chaintest.GenesisFunds) + 5 + g.Params.Subsidy(4) + 2000; acc.Balance != want {
		t.Fatalf("miner balance %d, want %d", acc.Balance, want)
	}
	// A time at or before the median time past is raised past it.
	blk2, err := c.NewBlockTemplate(nil, miner, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine(t, g.Params, blk2)
	if _, err := c.ProcessBlock(blk2); err != nil {
		t.Fatalf("template with early time: %v", err)
	}
}
