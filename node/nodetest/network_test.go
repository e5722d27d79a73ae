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
	// The pool learns of the block just after the chain does.
	h.WaitFor("the mined tx to leave every pool", wait, func() bool {
		for _, nd := range h.Nodes {
			if nd.Pool().Has(id) {
				return false
			}
		}
		return true
	})
	for _, nd := range h.Nodes {
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

// 3|2 partition, both sides mine, the 3 side more; after healing all
// converge on the most-work tip, and the minority's txs that the winning
// chain lacks are back in the pools.
func TestPartitionHeal(t *testing.T) {
	h := nodetest.New(t, 5, nodetest.Options{})
	h.Mine(0, 2)
	h.WaitSameTip(wait)
	h.WaitGossipReady(wait)
	h.Partition([]int{0, 1, 2}, []int{3, 4})
	minorityTx, err := h.Nodes[3].SubmitTx(tx(h, "carol", "dave", 777, 3000, 0))
	if err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(wait, minorityTx, 3, 4)
	h.Mine(3, 2) // includes carol's tx
	majority := h.Mine(0, 4)
	h.WaitTip(wait, majority[len(majority)-1].Hash(), 0, 1, 2)
	h.WaitSameTip(wait, 3, 4)
	if h.Nodes[3].Pool().Has(minorityTx) {
		t.Fatal("minority tx should be mined on the minority side")
	}
	h.Heal()
	h.WaitTip(wait, majority[len(majority)-1].Hash())
	h.WaitPoolHas(wait, minorityTx, 3, 4)
	root := h.Nodes[0].Chain().Tip().Header.StateRoot
	for _, nd := range h.Nodes {
		if nd.Chain().Tip().Header.StateRoot != root {
			t.Fatalf("%s: state root differs", nd.Name)
		}
	}
	// The re-admitted tx can be mined on the winning chain.
	blk := h.Mine(3, 1)[0]
	if len(blk.Txs) != 1 || blk.Txs[0].ID() != minorityTx {
		t.Fatalf("re-admitted tx not mined: %d txs", len(blk.Txs))
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
