package consensus

import (
	"bytes"
	"math"
	"math/big"
	"slices"
	"time"
)

// Making a new network's genesis: the founder states what they know (a
// name, a genesis time, a block time, the hash rate the first miners
// bring, the allocations) and GenesisSpec.Params turns it into validated
// Params, choosing the genesis bits for that hash rate. `cairn genesis
// new`, the testnet launcher and the load test all make their genesis
// this way; ParseGenesis and MarshalGenesis read and write the result.

// Bounds and defaults of a GenesisSpec. The defaults are those of the
// built-in network, cairn-dev (node/genesis.json), whose subsidy schedule
// and block size are Bitcoin's: given cairn-dev's block time of 30 s they
// give back its parameters.
const (
	// MinBlockTime and MaxBlockTime bound the block time: below 100 ms
	// blocks would outrun any network, above an hour is a typo (10h for
	// 10s) more often than a plan.
	MinBlockTime = 100 * time.Millisecond
	MaxBlockTime = time.Hour

	// DefaultHalfLifeBlocks is the ASERT half-life in block times:
	// cairn-dev's 2 h at 30 s. Every half-life the chain falls behind (or
	// runs ahead of) its schedule doubles (halves) the target.
	DefaultHalfLifeBlocks = 240
	// DefaultInitialSubsidy is 50 CRN in base units.
	DefaultInitialSubsidy = 50 * 100_000_000
	// DefaultHalvingInterval is the number of blocks between halvings.
	DefaultHalvingInterval = 210_000
	// DefaultMaxBlockSize is 1 MiB.
	DefaultMaxBlockSize = 1 << 20
	// DefaultMaxFutureDrift is how far ahead of a node's clock a block's
	// time may be.
	DefaultMaxFutureDrift = time.Minute
)

// DefaultPowLimit returns the easiest target of a new network, 2^255 - 1:
// half of all hashes meet it, so a block takes at least 2 hashes on
// average. The result is a new value. Safe for concurrent use.
func DefaultPowLimit() *big.Int {
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))
}

// GenesisSpec describes a new network. DefaultGenesisSpec fills in the
// fields a founder rarely has an opinion on; Params checks every field.
type GenesisSpec struct {
	Network string    // 1-32 characters of a-z, 0-9, '-', not starting with '-'
	Time    time.Time // genesis time, no earlier than 1970; kept to the millisecond
	// BlockTime is the target spacing: a whole number of milliseconds from
	// MinBlockTime to MaxBlockTime.
	BlockTime time.Duration
	// HashRate is the hashes per second all the miners together are
	// expected to bring at launch. It sets the genesis bits, so that the
	// first blocks come about every BlockTime; ASERT corrects the
	// difficulty within a few half-lives if it was wrong.
	HashRate        float64
	HalfLife        time.Duration // ASERT half-life: a positive whole number of milliseconds
	InitialSubsidy  uint64        // reward of the first blocks, base units
	HalvingInterval uint64        // blocks between halvings of the subsidy, > 0
	MaxBlockSize    int           // bytes
	MaxFutureDrift  time.Duration // a whole number of milliseconds >= 0
	Alloc           []Alloc       // in any order, each address at most once, each amount > 0
}

// DefaultGenesisSpec returns the spec of a network named network, with
// genesis at t, blockTime and hashRate, no allocations, and the default
// half-life (DefaultHalfLifeBlocks × blockTime), subsidy, halving interval,
// maximum block size and future drift.
func DefaultGenesisSpec(network string, t time.Time, blockTime time.Duration, hashRate float64) GenesisSpec {
	return GenesisSpec{
		Network:         network,
		Time:            t,
		BlockTime:       blockTime,
		HashRate:        hashRate,
		HalfLife:        DefaultHalfLifeBlocks * blockTime,
		InitialSubsidy:  DefaultInitialSubsidy,
		HalvingInterval: DefaultHalvingInterval,
		MaxBlockSize:    DefaultMaxBlockSize,
		MaxFutureDrift:  DefaultMaxFutureDrift,
	}
}

// Params checks s and returns the validated parameters it describes, with
// powLimit DefaultPowLimit and the genesis bits BitsForHashes(HashRate ×
// BlockTime): a block of the genesis target takes from half to twice the
// block time on average at HashRate, and within 2^-15 of it when a block
// takes at least 2^15 hashes and the target is at least 2^15 (every
// realistic network). A hash rate at which the block time cannot be met
// within a factor of 2 (below 1 hash a block, above 2^256) is refused. Each problem
// is a *GenesisError naming the genesis.json member it concerns
// ("hashRate" for the hash rate). Safe for concurrent use; s.Alloc is not
// modified.
func (s GenesisSpec) Params() (*Params, error) {
	if err := checkNetworkName(s.Network); err != nil {
		return nil, err
	}
	if s.Time.Before(time.UnixMilli(0)) {
		return nil, genesisErr("time", "%s is before 1970", s.Time.UTC().Format(time.RFC3339))
	}
	if s.BlockTime < MinBlockTime || s.BlockTime > MaxBlockTime || s.BlockTime%time.Millisecond != 0 {
		return nil, genesisErr("targetSpacing", "%s: want a whole number of milliseconds from %s to %s", s.BlockTime, MinBlockTime, MaxBlockTime)
	}
	if math.IsNaN(s.HashRate) || math.IsInf(s.HashRate, 0) || s.HashRate <= 0 {
		return nil, genesisErr("hashRate", "%g: want a positive number of hashes per second", s.HashRate)
	}
	if s.HalfLife <= 0 || s.HalfLife%time.Millisecond != 0 {
		return nil, genesisErr("halfLife", "%s: want a positive whole number of milliseconds", s.HalfLife)
	}
	if s.MaxFutureDrift < 0 || s.MaxFutureDrift%time.Millisecond != 0 {
		return nil, genesisErr("maxFutureDrift", "%s: want a whole number of milliseconds >= 0", s.MaxFutureDrift)
	}
	alloc, err := sortedAlloc(s.Alloc)
	if err != nil {
		return nil, err
	}
	powLimit := DefaultPowLimit()
	bits := BitsForHashes(s.HashRate*s.BlockTime.Seconds(), powLimit)
	if err := checkBlockTime(bits, s.HashRate, s.BlockTime); err != nil {
		return nil, err
	}
	p := &Params{
		Network:         s.Network,
		GenesisTime:     s.Time.UnixMilli(),
		GenesisBits:     bits,
		PowLimit:        powLimit,
		TargetSpacing:   s.BlockTime.Milliseconds(),
		HalfLife:        s.HalfLife.Milliseconds(),
		InitialSubsidy:  s.InitialSubsidy,
		HalvingInterval: s.HalvingInterval,
		MaxBlockSize:    s.MaxBlockSize,
		MaxFutureDrift:  s.MaxFutureDrift.Milliseconds(),
		Alloc:           alloc,
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// sortedAlloc returns a sorted copy of alloc, refusing a zero amount and
// an address named twice.
func sortedAlloc(alloc []Alloc) ([]Alloc, error) {
	alloc = slices.Clone(alloc)
	slices.SortStableFunc(alloc, func(a, b Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	for i, a := range alloc {
		if a.Amount == 0 {
			return nil, genesisErr("alloc", "amount for %s must be positive", a.Address)
		}
		if i > 0 && alloc[i-1].Address == a.Address {
			return nil, genesisErr("alloc", "%s is allocated twice", a.Address)
		}
	}
	return alloc, nil
}

// checkBlockTime refuses bits whose expected block time at hashRate is
// not within a factor of 2 of blockTime: only the clamps of BitsForHashes
// (powLimit, and a target of 1) can cause that.
func checkBlockTime(bits uint32, hashRate float64, blockTime time.Duration) error {
	work, _ := new(big.Float).SetInt(CalcWork(bits)).Float64()
	expected := work / hashRate // seconds
	switch {
	case expected > 2*blockTime.Seconds():
		return genesisErr("hashRate", "at %g H/s a block takes about %s even at the easiest target (powLimit, %g hashes), more than twice the block time %s",
			hashRate, roundDuration(expected), work, blockTime)
	case expected < blockTime.Seconds()/2:
		return genesisErr("hashRate", "%g H/s is too high: even the hardest target gives blocks faster than half the block time %s", hashRate, blockTime)
	}
	return nil
}

// roundDuration is seconds as a Duration of 3 significant digits or so,
// saturating instead of overflowing.
func roundDuration(seconds float64) time.Duration {
	if seconds >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// BitsForHashes returns the compact form of the target that takes hashes
// hashes to meet on average: floor(2^256 / floor(hashes)) - 1, so that
// CalcWork of the result is hashes to within 2^-15 when both hashes and
// the target are at least 2^15 (the compact form keeps 15 to 23
// significant bits), and within a factor of 2 (from 2 to 2^255 hashes).
// The target is at most powLimit (fewer than 2 hashes, or NaN, give
// powLimit's compact form, rounded down) and at least 1 (from 2^255
// hashes on). Neither powLimit nor anything else is modified. Safe
// for concurrent use.
func BitsForHashes(hashes float64, powLimit *big.Int) uint32 {
	if !(hashes >= 2) { // NaN too
		hashes = 2
	}
	t := big.NewInt(1)
	if hashes < 0x1p256 {
		h, _ := big.NewFloat(hashes).Int(nil)
		t.Div(oneLsh256, h)
		t.Sub(t, big.NewInt(1))
		if t.Sign() == 0 { // more than 2^255 hashes
			t.SetInt64(1)
		}
	}
	if t.Cmp(powLimit) > 0 {
		t.Set(powLimit)
	}
	return BigToCompact(t)
}
