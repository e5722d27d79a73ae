package nodetest_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/rpc"
)

// TestHistoryAcrossPartition (issue 15, acceptance 1): sends, receives, a
// replacement and a reorganisation — a 2|2 partition whose sides both
// mine, the majority more — and then state_getHistory on every node lists
// exactly the txs of the main chain, with the right confirmations, and
// those of its pool: the replaced tx nowhere, the minority's tx pending
// again, the minority's block rewards gone.
func TestHistoryAcrossPartition(t *testing.T) {
	h := nodetest.New(t, 4, nodetest.Options{RPC: true})
	h.Mine(0, 2)
	h.WaitSameTip(wait)
	h.WaitGossipReady(wait)
	h.Partition([]int{0, 1}, []int{2, 3})

	// The majority side: alice pays bob, then replaces it with a higher fee.
	first := tx(h, "alice", "bob", 1000, 3000, 0)
	repl := tx(h, "alice", "bob", 1000, 6000, 0)
	for _, x := range []*types.Tx{first, repl} {
		if _, err := h.Nodes[0].SubmitTx(x); err != nil {
			t.Fatal(err)
		}
	}
	h.WaitPoolHas(wait, repl.ID(), 0, 1)
	// The minority side: carol pays dave, mined there only.
	minor := tx(h, "carol", "dave", 777, 3000, 0)
	if _, err := h.Nodes[2].SubmitTx(minor); err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(wait, minor.ID(), 2, 3)
	h.Mine(2, 2)
	majority := h.Mine(0, 4)
	tip := majority[len(majority)-1].Hash()
	h.WaitTip(wait, tip, 0, 1)
	h.Heal()
	h.WaitTip(wait, tip)
	h.WaitPoolHas(wait, minor.ID(), 2, 3) // back from the minority's reorganisation
	// Its announcement at the reorganisation may go out before the healed
	// gossip mesh forms; tx_send of a tx held announces it again (the
	// reconciliation rounds, 30 s apart, would deliver it too, later).
	h.WaitGossipReady(wait)
	if _, err := h.Nodes[2].SubmitTx(minor); err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(wait, minor.ID())
	// And a tx pending everywhere: bob pays alice back.
	back := tx(h, "bob", "alice", 400, 2000, 0)
	if _, err := h.Nodes[1].SubmitTx(back); err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(wait, back.ID())

	addrs := []types.Address{}
	for _, w := range chaintest.Wallets {
		addrs = append(addrs, chaintest.Key(w).Address())
	}
	for _, nd := range h.Nodes {
		addrs = append(addrs, nd.Miner)
	}
	ctx := context.Background()
	for _, nd := range h.Nodes {
		c := rpc.NewClient(nd.RPCURL())
		tipHeight := nd.Chain().Tip().Height
		for _, a := range addrs {
			got, err := c.History(ctx, a.String(), "", rpc.MaxHistoryLimit)
			if err != nil || got.Next != "" {
				t.Fatalf("%s: history of %s: %v, next %q", nd.Name, a, err, got.Next)
			}
			want := expectedHistory(t, nd, a, tipHeight)
			if !slices.Equal(got.Entries, want) {
				t.Fatalf("%s: history of %s:\n got %+v\nwant %+v", nd.Name, a, got.Entries, want)
			}
			for _, e := range got.Entries {
				if e.ID == first.ID().String() {
					t.Fatalf("%s: the replaced tx is in %s's history", nd.Name, a)
				}
				if e.ID == minor.ID().String() && !e.Pending {
					t.Fatalf("%s: the minority's tx is confirmed in %s's history", nd.Name, a)
				}
			}
		}
	}
}

// expectedHistory is a's history on nd worked out from nd's main chain and
// pool, without the history index: pooled txs first (own by nonce, then
// others' by sender and nonce), then each block from the tip down, its
// reward before its txs, the txs last first.
func expectedHistory(t *testing.T, nd *nodetest.Node, a types.Address, tip uint64) []rpc.HistoryEntry {
	t.Helper()
	var own, in []rpc.HistoryEntry
	for _, s := range nd.Pool().Content() {
		for _, x := range append(slices.Clone(s.Pending), s.Queued...) {
			if e, ok := txEntry(a, x); ok {
				e.Pending = true
				if s.Sender == a {
					own = append(own, e)
				} else {
					in = append(in, e)
				}
			}
		}
	}
	out := append(own, in...)
	for h := int64(tip); h >= 0; h-- {
		blk, err := nd.Chain().BlockByHeight(uint64(h))
		if err != nil {
			t.Fatal(err)
		}
		conf := tip - uint64(h) + 1
		hash := blk.Hash().String()
		if h == 0 {
			for _, al := range nd.Chain().Params().Alloc {
				if al.Address == a {
					out = append(out, rpc.HistoryEntry{Direction: "genesis", Amount: strconv.FormatUint(al.Amount, 10),
						Fee: "0", BlockHash: hash, Confirmations: conf})
				}
			}
			break
		}
		if blk.Header.Miner == a {
			reward := nd.Chain().Params().Subsidy(uint64(h))
			for _, x := range blk.Txs {
				reward += x.Fee
			}
			out = append(out, rpc.HistoryEntry{Direction: "mined", Amount: strconv.FormatUint(reward, 10), Fee: "0",
				Height: uint64(h), BlockHash: hash, Confirmations: conf})
		}
		for i := len(blk.Txs) - 1; i >= 0; i-- {
			if e, ok := txEntry(a, blk.Txs[i]); ok {
				e.Height, e.BlockHash, e.Confirmations = uint64(h), hash, conf
				out = append(out, e)
			}
		}
	}
	return out
}

func txEntry(a types.Address, x *types.Tx) (rpc.HistoryEntry, bool) {
	e := rpc.HistoryEntry{ID: x.ID().String(), Amount: strconv.FormatUint(x.Amount, 10),
		Fee: strconv.FormatUint(x.Fee, 10), Nonce: x.Nonce}
	switch from := x.Sender(); {
	case from == a && x.To == a:
		e.Direction, e.Counterparty = "self", a.String()
	case from == a:
		e.Direction, e.Counterparty = "sent", x.To.String()
	case x.To == a:
		e.Direction, e.Counterparty = "received", from.String()
	default:
		return e, false
	}
	return e, true
}
