package consensus_test

import (
	"errors"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
)

// workOf is CalcWork(bits) as a float: the expected hashes of a block.
func workOf(bits uint32) float64 {
	w, _ := new(big.Float).SetInt(consensus.CalcWork(bits)).Float64()
	return w
}

func TestBitsForHashes(t *testing.T) {
	powLimit := consensus.DefaultPowLimit()
	for _, hashes := range []float64{2, 3, 1e3, 4e6, 6e6, 1e9, 123456789.5, 1e15, 1e30, 1e60, 0x1p200} {
		bits := consensus.BitsForHashes(hashes, powLimit)
		if err := consensus.CheckTarget(bits, powLimit); err != nil {
			t.Errorf("BitsForHashes(%g) = %08x: %v", hashes, bits, err)
		}
		// The compact form keeps at least 15 significant bits.
		if got := workOf(bits); math.Abs(got-math.Floor(hashes))/hashes > 0x1p-15 {
			t.Errorf("BitsForHashes(%g) = %08x takes %g hashes", hashes, bits, got)
		}
	}
	// The clamps: powLimit (rounded down to a compact form) for fewer than
	// 2 hashes, a target of 1 for 2^255 hashes and more.
	for _, hashes := range []float64{-1, 0, 0.5, 1, 1.99, math.NaN(), math.Inf(-1)} {
		if got, want := consensus.BitsForHashes(hashes, powLimit), consensus.BitsForHashes(2, powLimit); got != want {
			t.Errorf("BitsForHashes(%g) = %08x, want powLimit's %08x", hashes, got, want)
		}
	}
	for _, hashes := range []float64{0x1p255, 0x1p256, 1e300, math.Inf(1)} {
		if got := consensus.BitsForHashes(hashes, powLimit); consensus.CompactToBig(got).Cmp(big.NewInt(1)) != 0 {
			t.Errorf("BitsForHashes(%g) = %08x, want the target 1", hashes, got)
		}
	}
	// A smaller powLimit is respected too.
	small := consensus.CompactToBig(0x1d00ffff)
	if got := consensus.BitsForHashes(2, small); got != 0x1d00ffff {
		t.Errorf("BitsForHashes(2, 0x1d00ffff's target) = %08x", got)
	}
	if powLimit.Cmp(consensus.DefaultPowLimit()) != 0 {
		t.Error("BitsForHashes modified powLimit")
	}
}

// TestGenesisSpecBlockTime: across hash rates and block times, the genesis
// bits make a block take, on average at the stated hash rate, from half to
// twice the block time (within 2^-15 of it when a block takes 2^15 hashes
// or more and the target keeps 15 bits), and never exceed powLimit; where
// that cannot be, Params says so.
func TestGenesisSpecBlockTime(t *testing.T) {
	rates := []float64{0.5, 1, 1.5, 3, 10, 1e3, 5e5, 1e6, 2.1e6, 3e9, 1e12, 1e15, 1e18, 7e20, 1e24, 1e70, 1e75, 1e80}
	blockTimes := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, time.Second, 2 * time.Second, 30 * time.Second, 10 * time.Minute, time.Hour}
	for _, rate := range rates {
		for _, bt := range blockTimes {
			s := consensus.DefaultGenesisSpec("cairn-bits", time.UnixMilli(1_800_000_000_000), bt, rate)
			p, err := s.Params()
			hashes := rate * bt.Seconds()
			switch {
			case hashes < 1 || hashes > 0x1p256:
				// Too slow even at powLimit, or faster than a target of 1.
				var ge *consensus.GenesisError
				if !errors.As(err, &ge) || ge.Field != "hashRate" {
					t.Errorf("%g H/s, %s: err %v, want a hashRate error", rate, bt, err)
				}
				continue
			case err != nil:
				t.Errorf("%g H/s, %s: %v", rate, bt, err)
				continue
			}
			if consensus.CompactToBig(p.GenesisBits).Cmp(p.PowLimit) > 0 {
				t.Errorf("%g H/s, %s: bits %08x above powLimit", rate, bt, p.GenesisBits)
			}
			expected := workOf(p.GenesisBits) / rate // seconds
			ratio := expected / bt.Seconds()
			if ratio < 0.5 || ratio > 2 {
				t.Errorf("%g H/s, %s: bits %08x give a block every %.3gs, not within a factor 2 of the block time", rate, bt, p.GenesisBits, expected)
			}
			if hashes >= 0x1p15 && consensus.CompactToBig(p.GenesisBits).BitLen() > 15 && math.Abs(ratio-1) > 0x1p-15 {
				t.Errorf("%g H/s, %s: bits %08x give a block every %.6gs", rate, bt, p.GenesisBits, expected)
			}
		}
	}
}

// TestDefaultGenesisSpecIsCairnDev: the defaults, at cairn-dev's name, time,
// block time and the hash rate its bits were made for, give back the
// built-in network, genesis hash and all.
func TestDefaultGenesisSpecIsCairnDev(t *testing.T) {
	b, err := os.ReadFile("../node/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	dev := mustParseGenesis(t, b)
	rate := workOf(dev.GenesisBits) / 30 // about 3 MH/s
	p, err := consensus.DefaultGenesisSpec("cairn-dev", time.UnixMilli(dev.GenesisTime), 30*time.Second, rate).Params()
	if err != nil {
		t.Fatal(err)
	}
	if p.GenesisHash() != dev.GenesisHash() {
		t.Errorf("defaults give %x\nwant cairn-dev's %x", p.Encode(), dev.Encode())
	}
}

func TestGenesisSpecAlloc(t *testing.T) {
	a, b := paramsAddr(1), paramsAddr(2)
	spec := func(alloc ...consensus.Alloc) consensus.GenesisSpec {
		s := consensus.DefaultGenesisSpec("cairn-alloc", time.UnixMilli(1_800_000_000_000), time.Second, 1e6)
		s.Alloc = alloc
		return s
	}
	in := []consensus.Alloc{{Address: b, Amount: 2}, {Address: a, Amount: 1}}
	p, err := spec(in...).Params()
	if err != nil {
		t.Fatal(err)
	}
	if in[0].Address != b {
		t.Error("Params sorted the caller's allocations")
	}
	q, err := spec(in[1], in[0]).Params()
	if err != nil || q.GenesisHash() != p.GenesisHash() {
		t.Errorf("the order of the allocations changes the genesis (%v)", err)
	}
	// genesis.json round trip.
	gj, err := p.MarshalGenesis()
	if err != nil {
		t.Fatal(err)
	}
	if r := mustParseGenesis(t, gj); r.GenesisHash() != p.GenesisHash() || len(r.Alloc) != 2 {
		t.Errorf("genesis.json does not round-trip:\n%s", gj)
	}
}

func TestGenesisSpecErrors(t *testing.T) {
	a := paramsAddr(1)
	for _, c := range []struct {
		name   string
		edit   func(s *consensus.GenesisSpec)
		field  string
		reason string
	}{
		{"empty network", func(s *consensus.GenesisSpec) { s.Network = "" }, "network", `"" must be 1-32 characters`},
		{"long network", func(s *consensus.GenesisSpec) { s.Network = strings.Repeat("a", 33) }, "network", "must be 1-32 characters"},
		{"upper-case network", func(s *consensus.GenesisSpec) { s.Network = "Cairn" }, "network", `"Cairn" must be`},
		{"network starting with -", func(s *consensus.GenesisSpec) { s.Network = "-x" }, "network", "starting with a letter or digit"},
		{"zero time", func(s *consensus.GenesisSpec) { s.Time = time.Time{} }, "time", "0001-01-01T00:00:00Z is before 1970"},
		{"time before 1970", func(s *consensus.GenesisSpec) { s.Time = time.UnixMilli(-1) }, "time", "before 1970"},
		{"zero block time", func(s *consensus.GenesisSpec) { s.BlockTime = 0 }, "targetSpacing", "0s: want a whole number of milliseconds from 100ms to 1h0m0s"},
		{"short block time", func(s *consensus.GenesisSpec) { s.BlockTime = 99 * time.Millisecond }, "targetSpacing", "99ms: want"},
		{"long block time", func(s *consensus.GenesisSpec) { s.BlockTime = time.Hour + time.Millisecond }, "targetSpacing", "1h0m0.001s: want"},
		{"fractional block time", func(s *consensus.GenesisSpec) { s.BlockTime = time.Second + time.Microsecond }, "targetSpacing", "1.000001s: want"},
		{"zero hash rate", func(s *consensus.GenesisSpec) { s.HashRate = 0 }, "hashRate", "0: want a positive number"},
		{"negative hash rate", func(s *consensus.GenesisSpec) { s.HashRate = -5 }, "hashRate", "-5: want a positive number"},
		{"NaN hash rate", func(s *consensus.GenesisSpec) { s.HashRate = math.NaN() }, "hashRate", "NaN: want"},
		{"infinite hash rate", func(s *consensus.GenesisSpec) { s.HashRate = math.Inf(1) }, "hashRate", "+Inf: want"},
		{"hash rate too low", func(s *consensus.GenesisSpec) { s.HashRate = 0.1 }, "hashRate", "at 0.1 H/s a block takes about 20s even at the easiest target (powLimit, 2 hashes), more than twice the block time 1s"},
		{"hash rate too high", func(s *consensus.GenesisSpec) { s.HashRate = 1e78 }, "hashRate", "1e+78 H/s is too high"},
		{"zero half-life", func(s *consensus.GenesisSpec) { s.HalfLife = 0 }, "halfLife", "0s: want a positive whole number of milliseconds"},
		{"fractional half-life", func(s *consensus.GenesisSpec) { s.HalfLife = time.Microsecond }, "halfLife", "1µs"},
		{"negative drift", func(s *consensus.GenesisSpec) { s.MaxFutureDrift = -time.Second }, "maxFutureDrift", "-1s: want a whole number"},
		{"zero halving interval", func(s *consensus.GenesisSpec) { s.HalvingInterval = 0 }, "halvingInterval", "must be positive"},
		{"small blocks", func(s *consensus.GenesisSpec) { s.MaxBlockSize = 100 }, "maxBlockSize", "got 100"},
		{"zero amount", func(s *consensus.GenesisSpec) { s.Alloc = []consensus.Alloc{{Address: a}} }, "alloc", "amount for " + a.String() + " must be positive"},
		{"address twice", func(s *consensus.GenesisSpec) {
			s.Alloc = []consensus.Alloc{{Address: a, Amount: 1}, {Address: paramsAddr(2), Amount: 1}, {Address: a, Amount: 2}}
		}, "alloc", a.String() + " is allocated twice"},
		{"sum overflow", func(s *consensus.GenesisSpec) {
			s.Alloc = []consensus.Alloc{{Address: a, Amount: math.MaxUint64}, {Address: paramsAddr(2), Amount: 1}}
		}, "alloc", "allocations sum past 2^64 base units"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := consensus.DefaultGenesisSpec("cairn-err", time.UnixMilli(1_800_000_000_000), time.Second, 1e6)
			c.edit(&s)
			p, err := s.Params()
			var ge *consensus.GenesisError
			if !errors.As(err, &ge) {
				t.Fatalf("Params = %v, %v; want a *GenesisError", p, err)
			}
			if ge.Field != c.field || !strings.Contains(ge.Reason, c.reason) {
				t.Errorf("error %q (field %s), want field %s and a reason with %q", err, ge.Field, c.field, c.reason)
			}
		})
	}
}

func TestDefaultPowLimit(t *testing.T) {
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
	p := consensus.DefaultPowLimit()
	if p.Cmp(want) != 0 {
		t.Fatalf("DefaultPowLimit = %x", p)
	}
	p.SetInt64(0)
	if consensus.DefaultPowLimit().Cmp(want) != 0 {
		t.Error("DefaultPowLimit returns a shared value")
	}
}
