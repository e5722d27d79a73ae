package txpool

import (
	"errors"
	"fmt"
)

// Reason names why the pool refused a transaction. The name travels
// unchanged to the RPC error data and the CLI message.
type Reason int

// The reasons, in the order admission checks them, but for the last two,
// appended so that the earlier ones keep their numbers.
const (
	// ReasonUndecodable: the bytes are not a canonical tx encoding.
	ReasonUndecodable Reason = iota + 1
	// ReasonInvalid: a stateless rule fails (version, memo, amount + fee
	// overflow).
	ReasonInvalid
	// ReasonFeeTooLow: the fee is below the minimum relay fee.
	ReasonFeeTooLow
	// ReasonDuplicate: the pool already holds this tx.
	ReasonDuplicate
	// ReasonBadSignature: the signature does not verify.
	ReasonBadSignature
	// ReasonWrongNetwork: the tx is signed for another known network.
	ReasonWrongNetwork
	// ReasonNonceTooLow: the sender's account is already past this nonce.
	ReasonNonceTooLow
	// ReasonNonceTooHigh: the nonce is too far beyond the account's.
	ReasonNonceTooHigh
	// ReasonReplacementUnderpriced: same sender and nonce as a pooled tx,
	// without a fee higher by 10 %, and by at least the minimum relay fee.
	ReasonReplacementUnderpriced
	// ReasonInsufficientBalance: the balance does not cover this tx
	// together with the sender's other pooled txs (a replaced one aside).
	ReasonInsufficientBalance
	// ReasonSenderLimit: the sender already has the most txs the pool holds
	// for one account, or this tx would be queued and the sender already
	// has the most queued txs the pool holds for one account.
	ReasonSenderLimit
	// ReasonPoolFull: the pool is at a cap (all txs, or queued txs) and
	// this tx may not evict the first candidate: a pending tx evicts any
	// queued tx and a pending one of lower fee; a queued tx evicts only a
	// queued one of lower fee.
	ReasonPoolFull
	// ReasonSmallOrderKey: the sender key is a point of small order
	// (consensus.ErrSmallOrderKey), which no block may contain. Checked
	// with the stateless rules, first; appended so that the earlier
	// reasons keep their numbers.
	ReasonSmallOrderKey
	// ReasonAmountTooLow: the amount is below the pool's minimum transfer
	// (Config.MinAmount). Checked right after the fee; appended too.
	ReasonAmountTooLow
)

var reasonNames = map[Reason]string{
	ReasonUndecodable:            "undecodable",
	ReasonInvalid:                "invalid",
	ReasonFeeTooLow:              "fee-too-low",
	ReasonDuplicate:              "duplicate",
	ReasonBadSignature:           "bad-signature",
	ReasonWrongNetwork:           "wrong-network",
	ReasonNonceTooLow:            "nonce-too-low",
	ReasonNonceTooHigh:           "nonce-too-high",
	ReasonReplacementUnderpriced: "replacement-underpriced",
	ReasonInsufficientBalance:    "insufficient-balance",
	ReasonSenderLimit:            "sender-limit",
	ReasonPoolFull:               "pool-full",
	ReasonSmallOrderKey:          "small-order-key",
	ReasonAmountTooLow:           "amount-too-low",
}

// String returns the reason's name, e.g. "fee-too-low".
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("unknown-reason-%d", int(r))
}

// RejectError is a refusal: a reason and a message with the particulars.
type RejectError struct {
	Reason Reason
	Msg    string
}

func (e *RejectError) Error() string { return e.Reason.String() + ": " + e.Msg }

// Is makes errors.Is(err, &RejectError{Reason: r}) match any refusal for r.
func (e *RejectError) Is(target error) bool {
	t, ok := target.(*RejectError)
	return ok && t.Reason == e.Reason
}

func reject(r Reason, format string, args ...any) error {
	return &RejectError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of a refusal, or 0 if err is not one.
func ReasonOf(err error) Reason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return 0
}

// RejectReason returns the reason's name ("fee-too-low", …). Packages that
// must not import txpool (rpc) find refusals through this method.
func (e *RejectError) RejectReason() string { return e.Reason.String() }
