package txpool_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// TestRejectReasons refuses one tx per case, each for exactly one reason,
// and checks that the refusal left the pool as it was: the same Status,
// the same Content, every pooled id still there and the refused one not
// (a duplicate is refused while its twin stays, so it is there before and
// after).
func TestRejectReasons(t *testing.T) {
	otherNet := types.Sum([]byte("another cairn network"))
	unknownNet := types.Sum([]byte("a network nobody told the pool of"))
	cases := []struct {
		name   string
		reason txpool.Reason
		cfg    func(*txpool.Config)
		// setup prepares the chain and the pool; refused returns the raw
		// bytes or the tx that must be refused.
		setup   func(e *env)
		raw     func(e *env) []byte
		refused func(e *env) *types.Tx
	}{
		{name: "garbage bytes", reason: txpool.ReasonUndecodable,
			raw: func(e *env) []byte { return []byte{0xde, 0xad, 0xbe, 0xef} }},
		{name: "empty bytes", reason: txpool.ReasonUndecodable,
			raw: func(e *env) []byte { return nil }},
		{name: "truncated", reason: txpool.ReasonUndecodable,
			raw: func(e *env) []byte { b := e.tx("alice", bob, 1, 2000, 0).Encode(); return b[:len(b)-1] }},
		{name: "trailing byte", reason: txpool.ReasonUndecodable,
			raw: func(e *env) []byte { return append(e.tx("alice", bob, 1, 2000, 0).Encode(), 0) }},
		{name: "unknown version", reason: txpool.ReasonUndecodable,
			raw: func(e *env) []byte { b := e.tx("alice", bob, 1, 2000, 0).Encode(); b[0] = 2; return b }},
		{name: "amount plus fee overflows", reason: txpool.ReasonInvalid,
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, math.MaxUint64-1000, 2000, 0) }},
		{name: "version of a tx built in memory", reason: txpool.ReasonInvalid,
			refused: func(e *env) *types.Tx {
				tx := &types.Tx{Version: 2, To: bob, Amount: 1, Fee: 2000}
				signer("alice").Sign(tx, e.g.Params.GenesisHash())
				return tx
			}},
		{name: "small-order sender key", reason: txpool.ReasonSmallOrderKey,
			refused: func(e *env) *types.Tx { return smallOrderTx(types.PubKey{1}, 0) }},
		{name: "small-order sender key, non-canonical, raw", reason: txpool.ReasonSmallOrderKey,
			raw: func(e *env) []byte { return smallOrderTx(chaintest.SmallOrderKeys()[13], 0).Encode() }},
		{name: "flipped signature bit", reason: txpool.ReasonBadSignature,
			setup: func(e *env) { e.add(e.tx("bob", alice, 1, 2000, 0)) },
			refused: func(e *env) *types.Tx {
				tx := e.tx("alice", bob, 1, 2000, 0)
				tx.Sig[10] ^= 1
				return tx
			}},
		{name: "signed for an unknown network", reason: txpool.ReasonBadSignature,
			cfg: func(c *txpool.Config) { c.OtherNetworks = []types.Hash{otherNet} },
			refused: func(e *env) *types.Tx {
				tx := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1, Fee: 2000}
				signer("alice").Sign(tx, unknownNet)
				return tx
			}},
		{name: "signed for another known network", reason: txpool.ReasonWrongNetwork,
			cfg:   func(c *txpool.Config) { c.OtherNetworks = []types.Hash{unknownNet, otherNet} },
			setup: func(e *env) { e.add(e.tx("bob", alice, 1, 2000, 0)) },
			refused: func(e *env) *types.Tx {
				tx := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1, Fee: 2000}
				signer("alice").Sign(tx, otherNet)
				return tx
			}},
		{name: "fee below the minimum relay fee", reason: txpool.ReasonFeeTooLow,
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 999, 0) }},
		{name: "fee below a configured minimum", reason: txpool.ReasonFeeTooLow,
			cfg:     func(c *txpool.Config) { c.MinRelayFee = 5000 },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 4999, 0) }},
		{name: "amount 0", reason: txpool.ReasonAmountTooLow,
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 0, 2000, 0) }},
		{name: "amount 0 replacing a pooled tx", reason: txpool.ReasonAmountTooLow,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 2000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", alice, 0, 90_000, 0) }},
		{name: "amount below a configured minimum", reason: txpool.ReasonAmountTooLow,
			cfg:     func(c *txpool.Config) { c.MinAmount = 10_000 },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 9_999, 2000, 0) }},
		{name: "nonce already mined", reason: txpool.ReasonNonceTooLow,
			setup: func(e *env) {
				e.mine(e.tx("alice", bob, 1, 2000, 0))
				e.add(e.tx("alice", bob, 1, 2000, 1))
			},
			refused: func(e *env) *types.Tx { return e.tx("alice", carol, 5, 9000, 0) }},
		{name: "nonce beyond MaxNonceGap", reason: txpool.ReasonNonceTooHigh,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 2000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 2000, 65) }},
		{name: "nonce beyond a configured gap", reason: txpool.ReasonNonceTooHigh,
			cfg:     func(c *txpool.Config) { c.MaxNonceGap = 2 },
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 2000, 2)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 2000, 3) }},
		{name: "balance short of one tx", reason: txpool.ReasonInsufficientBalance,
			setup:   func(e *env) { e.fund("low", 10_000) },
			refused: func(e *env) *types.Tx { return e.tx("low", bob, 8_001, 2000, 0) }},
		{name: "two txs affordable alone, not together", reason: txpool.ReasonInsufficientBalance,
			setup: func(e *env) {
				e.fund("low", 10_000)
				e.add(e.tx("low", bob, 5_000, 1000, 0))
			},
			refused: func(e *env) *types.Tx { return e.tx("low", bob, 4_001, 1000, 1) }},
		{name: "an earlier nonce that the queued later one leaves unpaid", reason: txpool.ReasonInsufficientBalance,
			setup: func(e *env) {
				e.fund("low", 10_000)
				e.add(e.tx("low", bob, 5_000, 1000, 1))
			},
			refused: func(e *env) *types.Tx { return e.tx("low", bob, 4_001, 1000, 0) }},
		{name: "replacement that costs more than the balance leaves", reason: txpool.ReasonInsufficientBalance,
			setup: func(e *env) {
				e.fund("low", 10_000)
				e.add(e.tx("low", bob, 3_000, 1000, 0))
				e.add(e.tx("low", bob, 3_000, 1000, 1))
			},
			refused: func(e *env) *types.Tx { return e.tx("low", bob, 6_000, 2000, 0) }},
		{name: "duplicate", reason: txpool.ReasonDuplicate,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 2000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 2000, 0) }},
		{name: "duplicate of a queued tx", reason: txpool.ReasonDuplicate,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 2000, 3)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 2000, 3) }},
		{name: "replacement 9% dearer", reason: txpool.ReasonReplacementUnderpriced,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 10_000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 2, 10_900, 0) }},
		{name: "replacement 10% dearer less one unit", reason: txpool.ReasonReplacementUnderpriced,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 10_000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 2, 10_999, 0) }},
		{name: "replacement 10% dearer but less than the minimum relay fee more", reason: txpool.ReasonReplacementUnderpriced,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 5_000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 2, 5_999, 0) }},
		{name: "replacement the minimum relay fee dearer but less than 10%", reason: txpool.ReasonReplacementUnderpriced,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 50_000, 0)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 2, 54_999, 0) }},
		{name: "replacement of a queued tx at the same fee", reason: txpool.ReasonReplacementUnderpriced,
			setup:   func(e *env) { e.add(e.tx("alice", bob, 1, 10_000, 4)) },
			refused: func(e *env) *types.Tx { return e.tx("alice", carol, 1, 10_000, 4) }},
		{name: "sender at MaxPerSender", reason: txpool.ReasonSenderLimit,
			cfg: func(c *txpool.Config) { c.MaxPerSender = 3 },
			setup: func(e *env) {
				for n := uint64(0); n < 3; n++ {
					e.add(e.tx("alice", bob, 1, 2000, n))
				}
			},
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 90_000, 3) }},
		{name: "sender at MaxQueuedPerSender, another queued nonce", reason: txpool.ReasonSenderLimit,
			cfg: func(c *txpool.Config) { c.MaxQueuedPerSender = 2 },
			setup: func(e *env) {
				e.add(e.tx("alice", bob, 1, 2000, 0))
				e.add(e.tx("alice", bob, 1, 2000, 2))
				e.add(e.tx("alice", bob, 1, 2000, 3))
			},
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 90_000, 5) }},
		{name: "queued at MaxQueued, fee equal to the cheapest queued", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxQueued = 2 },
			setup:   queueTwo,
			refused: func(e *env) *types.Tx { return e.tx("carol", bob, 1, 2000, 1) }},
		{name: "queued at MaxQueued, only the sender's own queued txs are cheaper", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxQueued = 2 },
			setup:   queueTwo,
			refused: func(e *env) *types.Tx { return e.tx("alice", bob, 1, 2500, 4) }},
		{name: "pool full, a queued tx may not evict a pending one", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxTxs = 3 },
			setup:   fillThree,
			refused: func(e *env) *types.Tx { return e.tx("dave", bob, 1, 90_000, 1) }},
		{name: "pool full, fee equal to the cheapest", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxTxs = 3 },
			setup:   fillThree,
			refused: func(e *env) *types.Tx { return e.tx("dave", bob, 1, 2000, 0) }},
		{name: "pool full, fee lower than the cheapest", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxTxs = 3 },
			setup:   fillThree,
			refused: func(e *env) *types.Tx { return e.tx("dave", bob, 1, 1500, 0) }},
		{name: "pool full, only the sender's own txs are cheaper", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxTxs = 3 },
			setup:   fillThree,
			refused: func(e *env) *types.Tx { return e.tx("bob", alice, 1, 2500, 1) }},
		{name: "byte cap, fee equal to the cheapest", reason: txpool.ReasonPoolFull,
			cfg:     func(c *txpool.Config) { c.MaxBytes = 3*types.MinTxSize + 10 },
			setup:   fillThree,
			refused: func(e *env) *types.Tx { return e.tx("dave", bob, 1, 2000, 0) }},
		{name: "byte cap, a replacement grown past it", reason: txpool.ReasonPoolFull,
			cfg:   func(c *txpool.Config) { c.MaxBytes = 3*types.MinTxSize + 10 },
			setup: fillThree,
			refused: func(e *env) *types.Tx {
				tx := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1, Fee: 3000, Memo: make([]byte, 40)}
				signer("bob").Sign(tx, e.g.Params.GenesisHash())
				return tx
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := viewOf(e.p)
			var id types.Hash
			var err error
			if tc.raw != nil {
				_, err = e.p.AddRaw(tc.raw(e))
			} else {
				tx := tc.refused(e)
				id = tx.ID()
				_, err = e.p.Add(tx)
			}
			if got := txpool.ReasonOf(err); got != tc.reason {
				t.Fatalf("refused with %v (reason %v), want %v", err, got, tc.reason)
			}
			if !errors.Is(err, &txpool.RejectError{Reason: tc.reason}) {
				t.Fatalf("errors.Is(%v, %v) is false", err, tc.reason)
			}
			for r := txpool.ReasonUndecodable; r <= txpool.ReasonAmountTooLow; r++ {
				if r != tc.reason && errors.Is(err, &txpool.RejectError{Reason: r}) {
					t.Fatalf("error %v also matches %v", err, r)
				}
			}
			if tc.reason == txpool.ReasonDuplicate {
				sameView(t, e.p, before)
			} else {
				sameView(t, e.p, before, id)
			}
			checkPool(t, e.c, e.p, limitsOf(e.cfg), 1<<20)
		})
	}
}

// fillThree pools one tx each of alice (fee 3000), bob (2000) and carol
// (4000), all with empty memos.
func fillThree(e *env) {
	e.add(e.tx("alice", bob, 1, 3000, 0))
	e.add(e.tx("bob", alice, 1, 2000, 0))
	e.add(e.tx("carol", alice, 1, 4000, 0))
}

// queueTwo pools one queued tx each of alice (nonce 2, fee 2000) and bob
// (nonce 1, fee 3000), and alice's nonce 0.
func queueTwo(e *env) {
	e.add(e.tx("alice", bob, 1, 2000, 0))
	e.add(e.tx("alice", bob, 1, 2000, 2))
	e.add(e.tx("bob", alice, 1, 3000, 1))
}

// limitsOf returns cfg's caps with the documented defaults filled in.
func limitsOf(cfg txpool.Config) limits {
	l := limits{maxTxs: cfg.MaxTxs, maxBytes: cfg.MaxBytes, maxPerSender: cfg.MaxPerSender,
		maxQueued: cfg.MaxQueued, maxQueuedPerSender: cfg.MaxQueuedPerSender}
	if l.maxTxs == 0 {
		l.maxTxs = 1 << 16
	}
	if l.maxBytes == 0 {
		l.maxBytes = 32 << 20
	}
	if l.maxPerSender == 0 {
		l.maxPerSender = 64
	}
	if l.maxQueued == 0 {
		l.maxQueued = 4096
	}
	if l.maxQueuedPerSender == 0 {
		l.maxQueuedPerSender = 16
	}
	return l
}

// TestReasonNames pins the names that travel to RPC clients.
func TestReasonNames(t *testing.T) {
	want := map[txpool.Reason]string{
		txpool.ReasonUndecodable:            "undecodable",
		txpool.ReasonInvalid:                "invalid",
		txpool.ReasonFeeTooLow:              "fee-too-low",
		txpool.ReasonDuplicate:              "duplicate",
		txpool.ReasonBadSignature:           "bad-signature",
		txpool.ReasonWrongNetwork:           "wrong-network",
		txpool.ReasonNonceTooLow:            "nonce-too-low",
		txpool.ReasonNonceTooHigh:           "nonce-too-high",
		txpool.ReasonReplacementUnderpriced: "replacement-underpriced",
		txpool.ReasonInsufficientBalance:    "insufficient-balance",
		txpool.ReasonSenderLimit:            "sender-limit",
		txpool.ReasonPoolFull:               "pool-full",
		txpool.ReasonSmallOrderKey:          "small-order-key",
		txpool.ReasonAmountTooLow:           "amount-too-low",
	}
	for r, name := range want {
		if r.String() != name {
			t.Errorf("%d is %q, want %q", int(r), r.String(), name)
		}
		err := &txpool.RejectError{Reason: r, Msg: "details"}
		if err.Error() != name+": details" {
			t.Errorf("Error() = %q", err.Error())
		}
	}
	// Every named reason has a row above.
	for r := txpool.Reason(1); r.String() != fmt.Sprintf("unknown-reason-%d", int(r)); r++ {
		if _, ok := want[r]; !ok {
			t.Errorf("reason %d (%s) has no row in this test", int(r), r)
		}
	}
	if s := txpool.Reason(99).String(); s != "unknown-reason-99" {
		t.Errorf("Reason(99) is %q", s)
	}
	if r := txpool.ReasonOf(errors.New("plain")); r != 0 {
		t.Errorf("ReasonOf(plain error) = %v", r)
	}
}
