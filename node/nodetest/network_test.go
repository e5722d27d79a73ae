package nodetest_test

import (
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/node/nodetest"
)

const wait = 30 * time.Second

func tx(h *nodetest.Harness, from, to string, amount, fee, nonce uint64) *types.Tx {
	tx := &types.Tx{Version: types.TxVersion, To: chaintest.Key(to).Address(), Amount: amount, Fee: fee, Nonce: nonce}
	chaintest.Key(from).Sign(tx, h.Params.GenesisHash())
	return tx
}

// Five nodes: a tx submitted at one reaches every pool; a block mined at
// one becomes every node's tip.
func TestFiveNodesGossip(t *testing.T) {
	h := nodetest.New(t, 5, nodetest.Options{})
	h.WaitGossipReady(wait)
	id, err := h.Nodes[2].SubmitTx(tx(h, "alice", "bob", 12345, 2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(wait, id)
	blk := h.Mine(0, 1)[0]
	if len(blk.Txs) != 1 {
		t.Fatalf("mined block has %d txs, want the gossiped one", len(blk.Txs))
	}
	h.WaitTip(wait, blk.Hash())
	for _, nd := range h.Nodes {
		if nd.Pool().Has(id) {
			t.Fatalf("%s still pools the mined tx", nd.Name)
		}
		acc, _ := nd.Chain().Account(chaintest.Key("bob").Address())
		if acc.Balance != chaintest.GenesisFunds+12345 {
			t.Fatalf("%s: bob has %d", nd.Name, acc.Balance)
		}
	}
}

// A fresh node joining after 500 blocks syncs to the same tip and state.
func TestLateJoinerSyncs(t *testing.T) {
	h := nodetest.New(t, 2, nodetest.Options{})
	h.Mine(0, 500)
	h.WaitSameTip(wait)
	nd := h.AddNode()
	tip := h.WaitSameTip(wait)
	if tip.Height != 500 || nd.Chain().Tip().Header.StateRoot != h.Nodes[0].Chain().Tip().Header.StateRoot {
		t.Fatalf("late joiner at height %d", nd.Chain().Tip().Height)
	}
}

// A node restarted in the middle of a sync resumes and finishes.
func TestRestartMidSync(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{})
	h.Mine(0, 400)
	nd := h.AddNode()
	h.WaitFor("sync under way", wait, func() bool {
		return nd.Chain().BestHeader().Header.Height > 0 || nd.Chain().Tip().Height > 0
	})
	h.Restart(1)
	tip := h.WaitSameTip(wait)
	if tip.Height != 400 {
		t.Fatalf("tip height %d", tip.Height)
	}
}
