package nodetest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/rpc"
)

// TestReorgNotifiedAndTips (issue 16, acceptances 1 and 4): a subscriber
// of newHeads on the losing side of a partition gets, at the heal, a reorg
// notification listing the blocks removed and added, then the new heads;
// chain_getTips there then lists the winning tip as active and its own old
// branch as valid-fork.
func TestReorgNotifiedAndTips(t *testing.T) {
	h := nodetest.New(t, 4, nodetest.Options{RPC: true})
	h.Mine(0, 2)
	h.WaitSameTip(wait)
	h.WaitGossipReady(wait)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	loser := h.Nodes[3]
	ws, err := rpc.DialWS(ctx, loser.RPCURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sub, err := ws.Subscribe(ctx, rpc.SubNewHeads)
	if err != nil {
		t.Fatal(err)
	}
	h.Partition([]int{0, 1}, []int{2, 3})
	minority := h.Mine(2, 2)
	h.WaitTip(wait, minority[1].Hash(), 2, 3)
	majority := h.Mine(0, 4)
	h.WaitTip(wait, majority[3].Hash(), 0, 1)
	h.Heal()
	h.WaitTip(wait, majority[3].Hash())

	// Heads: the minority's two, then the reorg, then the majority's four.
	var reorg *rpc.ReorgInfo
	var after []string
	for reorg == nil || len(after) < len(majority) {
		select {
		case r := <-sub.C:
			var x struct {
				Reorg *rpc.ReorgInfo `json:"reorg"`
				Hash  string         `json:"hash"`
			}
			if err := json.Unmarshal(r, &x); err != nil {
				t.Fatal(err)
			}
			switch {
			case x.Reorg != nil:
				reorg = x.Reorg
			case reorg != nil:
				after = append(after, x.Hash)
			}
		case <-time.After(wait):
			t.Fatalf("no reorg and new heads within %v (reorg %+v, after it %v)", wait, reorg, after)
		}
	}
	if len(reorg.Removed) != 2 || reorg.Removed[0] != minority[1].Hash().String() || reorg.Removed[1] != minority[0].Hash().String() ||
		reorg.OldTip != minority[1].Hash().String() ||
		reorg.ForkHash != minority[0].Header.Parent.String() || len(reorg.Added) < 3 ||
		reorg.NewTip != reorg.Added[len(reorg.Added)-1] {
		t.Fatalf("reorg notification %+v", reorg)
	}
	// The switch happens once the majority's branch has more work: at its
	// third block, or its fourth if the blocks arrive together.
	for i, h := range reorg.Added {
		if h != majority[i].Hash().String() {
			t.Fatalf("reorg added %v, want the majority's blocks in order", reorg.Added)
		}
	}
	for i, b := range majority {
		if after[i] != b.Hash().String() {
			t.Fatalf("head %d after the reorg: %s, want %s", i, after[i], b.Hash())
		}
	}

	tips, err := rpc.NewClient(loser.RPCURL()).Tips(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tips) != 2 || tips[0].Status != chain.TipActive || tips[0].Hash != majority[3].Hash().String() ||
		tips[1].Status != chain.TipValidFork || tips[1].Hash != minority[1].Hash().String() || tips[1].BranchLen != 2 {
		t.Fatalf("chain_getTips on the losing side: %+v", tips)
	}
	if err := ws.Unsubscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
}
