package consensus

import (
	"errors"
	"fmt"
)

// ErrorCode names one consensus rule. Every block or transaction that breaks
// a rule is refused with a *RuleError carrying that rule's code.
type ErrorCode int

// The rule codes. Their numbers never change (a new code is appended);
// the order in which a block is checked against them is in the package
// comment (doc.go) and docs/PROTOCOL.md §16.
const (
	// ErrDecode: the bytes are not a canonical encoding.
	ErrDecode ErrorCode = iota + 1
	// ErrBadVersion: an unknown header or tx version.
	ErrBadVersion
	// ErrBadPoW: the header hash is above the target of its bits.
	ErrBadPoW
	// ErrBadTarget: bits encode a negative, zero or overflowing target, or
	// one above powLimit.
	ErrBadTarget
	// ErrWrongBits: bits differ from what ASERT requires after the parent.
	ErrWrongBits
	// ErrTimeTooOld: time is not after the median of the 11 previous times.
	ErrTimeTooOld
	// ErrTimeTooNew: time is beyond local clock + maxFutureDrift. Such a
	// block is ignored, never marked invalid: it may become valid later.
	ErrTimeTooNew
	// ErrWrongHeight: height is not parent height + 1.
	ErrWrongHeight
	// ErrBlockTooBig: the encoded block exceeds the max block size.
	ErrBlockTooBig
	// ErrBadTxRoot: txRoot is not the Merkle root of the tx ids.
	ErrBadTxRoot
	// ErrDuplicateTx: the same tx id appears twice in a block.
	ErrDuplicateTx
	// ErrBadSignature: a tx signature does not verify for this network.
	ErrBadSignature
	// ErrAmountOverflow: amount + fee overflows 64 bits.
	ErrAmountOverflow
	// ErrWrongNonce: a tx nonce is not the sender's current nonce.
	ErrWrongNonce
	// ErrInsufficientBalance: amount + fee exceeds the sender's balance.
	ErrInsufficientBalance
	// ErrBalanceOverflow: a credit would overflow a balance.
	ErrBalanceOverflow
	// ErrBadStateRoot: stateRoot is not the commitment after applying.
	ErrBadStateRoot
	// ErrBadGenesis: a block other than genesis claims height 0.
	ErrBadGenesis
	// ErrInvalidAncestor: the block descends from an invalid block.
	ErrInvalidAncestor
	// ErrSmallOrderKey: a tx's sender key decodes to a point of order
	// dividing 8, whatever its encoding (IsSmallOrderKey). A stateless tx
	// rule (CheckTx), checked before signatures; listed last so that the
	// earlier codes keep their numbers.
	ErrSmallOrderKey
)

var errorCodeNames = map[ErrorCode]string{
	ErrDecode:              "ErrDecode",
	ErrBadVersion:          "ErrBadVersion",
	ErrBadPoW:              "ErrBadPoW",
	ErrBadTarget:           "ErrBadTarget",
	ErrWrongBits:           "ErrWrongBits",
	ErrTimeTooOld:          "ErrTimeTooOld",
	ErrTimeTooNew:          "ErrTimeTooNew",
	ErrWrongHeight:         "ErrWrongHeight",
	ErrBlockTooBig:         "ErrBlockTooBig",
	ErrBadTxRoot:           "ErrBadTxRoot",
	ErrDuplicateTx:         "ErrDuplicateTx",
	ErrBadSignature:        "ErrBadSignature",
	ErrAmountOverflow:      "ErrAmountOverflow",
	ErrWrongNonce:          "ErrWrongNonce",
	ErrInsufficientBalance: "ErrInsufficientBalance",
	ErrBalanceOverflow:     "ErrBalanceOverflow",
	ErrBadStateRoot:        "ErrBadStateRoot",
	ErrBadGenesis:          "ErrBadGenesis",
	ErrInvalidAncestor:     "ErrInvalidAncestor",
	ErrSmallOrderKey:       "ErrSmallOrderKey",
}

// String returns the code's name, e.g. "ErrBadPoW".
func (c ErrorCode) String() string {
	if s, ok := errorCodeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Unknown ErrorCode (%d)", int(c))
}

// RuleError is a violation of a consensus rule: a code and a reason.
type RuleError struct {
	Code   ErrorCode
	Reason string
}

func (e *RuleError) Error() string { return e.Code.String() + ": " + e.Reason }

// Is makes errors.Is(err, &RuleError{Code: c}) match any RuleError of code c.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Code == e.Code
}

// ruleErr builds a *RuleError with a formatted reason.
func ruleErr(c ErrorCode, format string, args ...any) error {
	return &RuleError{Code: c, Reason: fmt.Sprintf(format, args...)}
}

// NewRuleError returns a *RuleError with a formatted reason; for packages
// that apply rules on state (chain) and must report them in the same form.
func NewRuleError(c ErrorCode, format string, args ...any) error {
	return ruleErr(c, format, args...)
}

// CodeOf returns the rule code of err, or 0 if err is not a rule violation.
func CodeOf(err error) ErrorCode {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

// IsRuleError reports whether err is a consensus rule violation (as opposed
// to an I/O or internal error, which never marks a block invalid).
func IsRuleError(err error) bool { return CodeOf(err) != 0 }
