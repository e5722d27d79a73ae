package consensus

import (
	"math"
	"testing"
)

func TestSubsidy(t *testing.T) {
	const (
		initial  = 50 * 100_000_000 // 50 CRN in base units
		interval = 210_000
	)
	tests := []struct {
		name                      string
		height, initial, interval uint64
		want                      uint64
	}{
		{"genesis", 0, initial, interval, initial},
		{"last block before the first halving", interval - 1, initial, interval, initial},
		{"first halving", interval, initial, interval, initial / 2},
		{"second halving", 2 * interval, initial, interval, initial / 4},
		{"third halving truncates", 3*interval + 5, initial, interval, initial / 8},
		{"odd amounts round down", interval, 3, interval, 1},
		{"32 halvings", 32 * interval, initial, interval, initial >> 32},
		{"subsidy runs out", 33 * interval, initial, interval, 0},
		{"63 halvings of the max", 63, math.MaxUint64, 1, 1},
		{"64 halvings", 64, math.MaxUint64, 1, 0},
		{"65 halvings", 65, math.MaxUint64, 1, 0},
		{"max height", math.MaxUint64, initial, interval, 0},
		{"max height, max interval", math.MaxUint64, initial, math.MaxUint64, initial / 2},
		{"interval 0 never halves", math.MaxUint64, initial, 0, initial},
		{"interval 0 at genesis", 0, initial, 0, initial},
		{"zero subsidy", 5, 0, interval, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Subsidy(tt.height, tt.initial, tt.interval); got != tt.want {
				t.Errorf("Subsidy(%d, %d, %d) = %d, want %d", tt.height, tt.initial, tt.interval, got, tt.want)
			}
		})
	}
}

// TestSubsidyTotalSupply checks the sum over all heights: with Bitcoin's
// parameters it is just under 21 million coins.
func TestSubsidyTotalSupply(t *testing.T) {
	const initial, interval = 50 * 100_000_000, 210_000
	var total uint64
	for era := uint64(0); era < 70; era++ {
		total += Subsidy(era*interval, initial, interval) * interval
	}
	if want := uint64(2_099_999_997_690_000); total != want {
		t.Fatalf("total supply %d, want %d", total, want)
	}
}
