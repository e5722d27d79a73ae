package consensus_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/consensus"
)

// TestErrorCodeStringer checks the name of every code, as btcd's
// blockchain/error_test.go does: a new code without a name, or a name
// without a row here, fails.
func TestErrorCodeStringer(t *testing.T) {
	tests := []struct {
		in   consensus.ErrorCode
		want string
	}{
		{consensus.ErrDecode, "ErrDecode"},
		{consensus.ErrBadVersion, "ErrBadVersion"},
		{consensus.ErrBadPoW, "ErrBadPoW"},
		{consensus.ErrBadTarget, "ErrBadTarget"},
		{consensus.ErrWrongBits, "ErrWrongBits"},
		{consensus.ErrTimeTooOld, "ErrTimeTooOld"},
		{consensus.ErrTimeTooNew, "ErrTimeTooNew"},
		{consensus.ErrWrongHeight, "ErrWrongHeight"},
		{consensus.ErrBlockTooBig, "ErrBlockTooBig"},
		{consensus.ErrBadTxRoot, "ErrBadTxRoot"},
		{consensus.ErrDuplicateTx, "ErrDuplicateTx"},
		{consensus.ErrBadSignature, "ErrBadSignature"},
		{consensus.ErrAmountOverflow, "ErrAmountOverflow"},
		{consensus.ErrWrongNonce, "ErrWrongNonce"},
		{consensus.ErrInsufficientBalance, "ErrInsufficientBalance"},
		{consensus.ErrBalanceOverflow, "ErrBalanceOverflow"},
		{consensus.ErrBadStateRoot, "ErrBadStateRoot"},
		{consensus.ErrBadGenesis, "ErrBadGenesis"},
		{consensus.ErrInvalidAncestor, "ErrInvalidAncestor"},
		{consensus.ErrSmallOrderKey, "ErrSmallOrderKey"},
	}
	seen := map[consensus.ErrorCode]bool{}
	for i, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("String #%d: got %q, want %q", i, got, tc.want)
		}
		if seen[tc.in] {
			t.Errorf("code %d (%s) listed twice: codes must be distinct", int(tc.in), tc.want)
		}
		seen[tc.in] = true
		// The %v and %s forms are the name too.
		if got := fmt.Sprintf("%v|%s", tc.in, tc.in); got != tc.want+"|"+tc.want {
			t.Errorf("formatted %d as %q", int(tc.in), got)
		}
	}
	// The codes are 1..n with no gaps, 0 meaning "no rule violated", and
	// every named code is in the table above.
	n := 0
	for c := consensus.ErrorCode(1); !strings.HasPrefix(c.String(), "Unknown"); c++ {
		if !seen[c] {
			t.Errorf("code %d (%s) has a name but no row in this test", int(c), c)
		}
		n++
	}
	if n != len(tests) {
		t.Errorf("%d named codes, %d in the table", n, len(tests))
	}
}

func TestErrorCodeUnknown(t *testing.T) {
	last := consensus.ErrSmallOrderKey
	for _, c := range []consensus.ErrorCode{0, -1, last + 1, 1000} {
		want := fmt.Sprintf("Unknown ErrorCode (%d)", int(c))
		if got := c.String(); got != want {
			t.Errorf("ErrorCode(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestRuleError(t *testing.T) {
	err := consensus.NewRuleError(consensus.ErrWrongNonce, "tx %d: nonce %d", 3, 7)
	if got, want := err.Error(), "ErrWrongNonce: tx 3: nonce 7"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}

	// errors.Is matches any RuleError of the same code, whatever the reason.
	if !errors.Is(err, &consensus.RuleError{Code: consensus.ErrWrongNonce}) {
		t.Error("errors.Is with the same code is false")
	}
	if !errors.Is(err, &consensus.RuleError{Code: consensus.ErrWrongNonce, Reason: "something else"}) {
		t.Error("errors.Is with the same code and another reason is false")
	}
	if errors.Is(err, &consensus.RuleError{Code: consensus.ErrBadPoW}) {
		t.Error("errors.Is with another code is true")
	}
	if errors.Is(err, io.EOF) {
		t.Error("errors.Is(rule error, io.EOF) is true")
	}

	// errors.As finds it through any number of %w wraps.
	wrapped := fmt.Errorf("block %s: %w", "abcd", fmt.Errorf("connect: %w", err))
	var re *consensus.RuleError
	if !errors.As(wrapped, &re) || re.Code != consensus.ErrWrongNonce || re.Reason != "tx 3: nonce 7" {
		t.Fatalf("errors.As(wrapped) = %+v", re)
	}
	if !errors.Is(wrapped, &consensus.RuleError{Code: consensus.ErrWrongNonce}) {
		t.Error("errors.Is(wrapped) is false")
	}
	if !strings.Contains(wrapped.Error(), "ErrWrongNonce: tx 3: nonce 7") {
		t.Errorf("wrapped text %q lost the rule", wrapped)
	}

	// Joined with another error (a %w: %w wrap, as the chain uses for a
	// block refused again).
	sentinel := errors.New("block already known invalid")
	both := fmt.Errorf("block x: %w: %w", sentinel, err)
	if !errors.Is(both, sentinel) || !errors.Is(both, &consensus.RuleError{Code: consensus.ErrWrongNonce}) {
		t.Errorf("double wrap lost an error: %v", both)
	}
}

func TestCodeOf(t *testing.T) {
	rule := consensus.NewRuleError(consensus.ErrBadStateRoot, "root")
	cases := []struct {
		name string
		err  error
		want consensus.ErrorCode
	}{
		{"nil", nil, 0},
		{"plain error", errors.New("disk full"), 0},
		{"io.EOF wrapped", fmt.Errorf("read: %w", io.EOF), 0},
		{"rule error", rule, consensus.ErrBadStateRoot},
		{"formatted with %v, not wrapped", fmt.Errorf("%v", rule), 0},
		{"wrapped once", fmt.Errorf("block: %w", rule), consensus.ErrBadStateRoot},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", rule)), consensus.ErrBadStateRoot},
		{"joined", errors.Join(errors.New("x"), rule), consensus.ErrBadStateRoot},
		{"double %w, rule second", fmt.Errorf("%w: %w", io.EOF, rule), consensus.ErrBadStateRoot},
		{"two rules: the first wins", fmt.Errorf("%w; %w", consensus.NewRuleError(consensus.ErrBadPoW, "p"), rule), consensus.ErrBadPoW},
		{"literal", &consensus.RuleError{Code: consensus.ErrDecode}, consensus.ErrDecode},
	}
	for _, tc := range cases {
		if got := consensus.CodeOf(tc.err); got != tc.want {
			t.Errorf("%s: CodeOf = %v, want %v", tc.name, got, tc.want)
		}
		if got := consensus.IsRuleError(tc.err); got != (tc.want != 0) {
			t.Errorf("%s: IsRuleError = %v", tc.name, got)
		}
	}
}
