package nodetest_test

import (
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node/nodetest"
)

// Transaction recovery at the node level (p2p/txsync.go has the protocol
// tests): what tx_send (node.SubmitTx) does with a tx the pool holds
// already, and with a queued one.

// recoveryWait bounds the waits below: well within the first
// reconciliation round after the one on connect (30 s ± 25 %), so that
// only the mechanism under test can deliver in time.
const recoveryWait = 15 * time.Second

// waitReconciled waits until each node has had its reconciliation round
// with each other on connect; the next ones are 22 s away at least.
func waitReconciled(h *nodetest.Harness) {
	h.WaitFor("reconciliation rounds on connect", wait, func() bool {
		for _, nd := range h.Nodes {
			if nd.Net().TxRecoveryStats().Rounds < uint64(len(h.Nodes)-1) {
				return false
			}
		}
		return true
	})
}

// TestTxSendDuplicateAnnounces: a tx the node holds but its peer lacks
// (it never went out) is not refused when submitted again: tx_send
// answers its id and the node announces it, and the peer fetches it.
// (Before, the answer was a duplicate error and nothing was sent.)
func TestTxSendDuplicateAnnounces(t *testing.T) {
	h := nodetest.New(t, 2, nodetest.Options{})
	h.WaitGossipReady(wait)
	waitReconciled(h)
	a, b := h.Nodes[0], h.Nodes[1]
	sent := tx(h, "alice", "bob", 12345, 2000, 0)
	if _, err := a.Pool().Add(sent); err != nil { // into a's pool only
		t.Fatal(err)
	}
	id, err := a.SubmitTx(sent)
	if err != nil || id != sent.ID() {
		t.Fatalf("SubmitTx of a pooled tx = %s, %v; want its id and no error", id, err)
	}
	h.WaitPoolHas(recoveryWait, id, 1)
	if st := b.Net().TxRecoveryStats(); st.FromAnnounce != 1 || st.FromReconcile != 0 {
		t.Errorf("b's recovery stats %+v, want the tx from an announcement", st)
	}
	if !b.Pool().IsPending(id) {
		t.Error("the announced tx is not pending at b")
	}
}

// TestQueuedTxAnnouncedWhenPending: a queued tx submitted at a node is
// not gossiped (peers would only queue it too); once the missing nonce is
// submitted the queued tx becomes pending and the node announces it, and
// the peer fetches it.
func TestQueuedTxAnnouncedWhenPending(t *testing.T) {
	h := nodetest.New(t, 2, nodetest.Options{})
	h.WaitGossipReady(wait)
	waitReconciled(h)
	a, b := h.Nodes[0], h.Nodes[1]
	second := tx(h, "alice", "bob", 12345, 2000, 1)
	if _, err := a.SubmitTx(second); err != nil {
		t.Fatal(err)
	}
	if a.Pool().IsPending(second.ID()) {
		t.Fatal("nonce 1 without nonce 0 is pending")
	}
	first := tx(h, "alice", "bob", 12345, 2000, 0)
	if _, err := a.SubmitTx(first); err != nil {
		t.Fatal(err)
	}
	h.WaitPoolHas(recoveryWait, first.ID(), 1)
	h.WaitPoolHas(recoveryWait, second.ID(), 1)
	if !b.Pool().IsPending(second.ID()) {
		t.Error("the promoted tx is not pending at b")
	}
	if st := b.Net().TxRecoveryStats(); st.FromAnnounce != 1 || st.FromReconcile != 0 {
		t.Errorf("b's recovery stats %+v, want the promoted tx from an announcement", st)
	}
	if gs := a.Net().GossipStats().Txs; gs.Published != 1 {
		t.Errorf("a published %d txs, want 1 (the queued one is not gossiped)", gs.Published)
	}
}

// TestReorgReadmittedAnnounced: a tx mined in a block that a
// reorganisation takes off the main chain goes back into the pool, and
// the node announces it: a peer that never had it (the block was mined on
// the node's side only) gets it at once, not at its next reconciliation.
func TestReorgReadmittedAnnounced(t *testing.T) {
	h := nodetest.New(t, 2, nodetest.Options{})
	h.WaitGossipReady(wait)
	waitReconciled(h)
	a, b := h.Nodes[0], h.Nodes[1]
	sent := tx(h, "alice", "bob", 12345, 2000, 0)
	if _, err := a.Pool().Add(sent); err != nil { // a's pool only: never gossiped
		t.Fatal(err)
	}
	// a mines it into a block of its own, told to nobody.
	blk, err := a.Chain().NewBlockTemplate(a.Pool().Template(1<<20), a.Miner, time.Now().UnixMilli())
	if err != nil || len(blk.Txs) != 1 {
		t.Fatalf("template: %v, %d txs", err, len(blk.Txs))
	}
	for consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, h.Params.PowLimit) != nil {
		blk.Header.Nonce++
	}
	if _, err := a.Chain().ProcessBlock(blk); err != nil {
		t.Fatal(err)
	}
	a.Pool().Update([]*types.Block{blk}, nil) // as the node does for a connected block
	if a.Pool().Has(sent.ID()) || b.Pool().Has(sent.ID()) {
		t.Fatal("the mined tx is still pooled")
	}
	// b mines two blocks on the old tip: a reorganises to them and takes
	// the tx back.
	tip := h.Mine(1, 2)[1]
	h.WaitTip(wait, tip.Hash(), 0)
	h.WaitPoolHas(recoveryWait, sent.ID(), 1)
	if st := b.Net().TxRecoveryStats(); st.FromAnnounce != 1 || st.FromReconcile != 0 {
		t.Errorf("b's recovery stats %+v, want the tx from an announcement", st)
	}
}
