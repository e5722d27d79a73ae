package p2p

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/txpool"
)

// TestClassifyRefusal: p2p matches the pool's reasons by name; every
// reason the pool has is classified as gossip and transaction recovery
// treated it when they matched txpool.Reason values.
func TestClassifyRefusal(t *testing.T) {
	want := map[txpool.Reason]txRefusal{
		txpool.ReasonUndecodable:            refusedUndecodable,
		txpool.ReasonInvalid:                refusedInvalid,
		txpool.ReasonBadSignature:           refusedInvalid,
		txpool.ReasonWrongNetwork:           refusedInvalid,
		txpool.ReasonSmallOrderKey:          refusedInvalid,
		txpool.ReasonDuplicate:              refusedForNow,
		txpool.ReasonSenderLimit:            refusedForNow,
		txpool.ReasonNonceTooHigh:           refusedForNow,
		txpool.ReasonPoolFull:               refusedForNow,
		txpool.ReasonFeeTooLow:              refusedByView,
		txpool.ReasonNonceTooLow:            refusedByView,
		txpool.ReasonReplacementUnderpriced: refusedByView,
		txpool.ReasonInsufficientBalance:    refusedByView,
		txpool.ReasonAmountTooLow:           refusedByView,
	}
	for r := txpool.Reason(1); !strings.HasPrefix(r.String(), "unknown-reason"); r++ {
		w, ok := want[r]
		if !ok {
			t.Errorf("reason %s: not in this test's table; decide how p2p treats it", r)
			continue
		}
		err := fmt.Errorf("add: %w", &txpool.RejectError{Reason: r, Msg: "test"})
		if got := classifyRefusal(err); got != w {
			t.Errorf("reason %s: classified %d, want %d", r, got, w)
		}
	}
	if got := classifyRefusal(errors.New("disk on fire")); got != notRefused {
		t.Errorf("a plain error classified %d, want notRefused", got)
	}
}
