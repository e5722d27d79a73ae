package localproc

import (
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
)

func TestGenesisSpec(t *testing.T) {
	alloc := []consensus.Alloc{{Address: [20]byte{2}, Amount: 2}, {Address: [20]byte{1}, Amount: 1}}
	p, err := GenesisSpec("cairn-local", time.UnixMilli(1_800_000_000_000), 1500*time.Millisecond, 2e6, alloc).Params()
	if err != nil {
		t.Fatal(err)
	}
	if p.Network != "cairn-local" || p.GenesisTime != 1_800_000_000_000 || p.TargetSpacing != 1500 {
		t.Errorf("network %s, time %d, spacing %d", p.Network, p.GenesisTime, p.TargetSpacing)
	}
	// The local choices: a quick ASERT, no halving in practice, a small
	// drift.
	if p.HalfLife != 30*1500 || p.HalvingInterval != 10_000_000 || p.MaxFutureDrift != 15_000 {
		t.Errorf("half-life %d, halving interval %d, drift %d", p.HalfLife, p.HalvingInterval, p.MaxFutureDrift)
	}
	if p.GenesisBits != consensus.BitsForHashes(3e6, p.PowLimit) {
		t.Errorf("bits %08x, want those of 3e6 hashes", p.GenesisBits)
	}
	if len(p.Alloc) != 2 || p.Alloc[0].Amount != 1 {
		t.Errorf("alloc %v", p.Alloc)
	}
}
