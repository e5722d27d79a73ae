package localproc

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/wallet"
)

// PowLimit is the easiest target: half of all hashes meet it.
var PowLimit = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1))

// GenesisBits returns the compact target that takes about hashes hashes
// to meet: target = 2^256/hashes - 1, at most PowLimit.
func GenesisBits(hashes float64) uint32 {
	h, _ := new(big.Float).SetFloat64(max(hashes, 2)).Int(nil)
	t := new(big.Int).Div(new(big.Int).Lsh(big.NewInt(1), 256), h)
	t.Sub(t, big.NewInt(1))
	if t.Cmp(PowLimit) > 0 {
		t.Set(PowLimit)
	}
	return consensus.BigToCompact(t)
}

// NewParams returns validated consensus parameters of a local network
// named network: genesis at
// now, spacing blockTime, a difficulty of about hashesPerBlock, an ASERT
// half-life of 30 blocks (a testnet's hash rate is a guess; it should
// settle within a minute or two), 50 CRN a block and alloc.
func NewParams(network string, now time.Time, blockTime time.Duration, hashesPerBlock float64, alloc []consensus.Alloc) (*consensus.Params, error) {
	alloc = slices.Clone(alloc)
	slices.SortFunc(alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	spacing := blockTime.Milliseconds()
	p := &consensus.Params{
		Network:         network,
		GenesisTime:     now.UnixMilli(),
		GenesisBits:     GenesisBits(hashesPerBlock),
		PowLimit:        new(big.Int).Set(PowLimit),
		TargetSpacing:   spacing,
		HalfLife:        30 * spacing,
		InitialSubsidy:  50 * wallet.BaseUnitsPerCRN,
		HalvingInterval: 10_000_000,
		MaxBlockSize:    1 << 20,
		MaxFutureDrift:  15_000,
		Alloc:           alloc,
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return p, nil
}
