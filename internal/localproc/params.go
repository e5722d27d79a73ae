package localproc

import (
	"time"

	"github.com/cairn-ledger/cairn/consensus"
)

// GenesisSpec returns the genesis of a network of local processes named
// network: genesis at now, spacing blockTime, bits for hashRate (all the
// miners' hashes per second), alloc, and consensus.DefaultGenesisSpec's
// parameters but for an ASERT half-life of 30 blocks (a local hash rate
// is a guess; it should settle within a minute or two), a halving
// interval of 10,000,000 blocks and a future drift of 15 s. Its Params
// method makes the parameters.
func GenesisSpec(network string, now time.Time, blockTime time.Duration, hashRate float64, alloc []consensus.Alloc) consensus.GenesisSpec {
	s := consensus.DefaultGenesisSpec(network, now, blockTime, hashRate)
	s.HalfLife = 30 * blockTime
	s.HalvingInterval = 10_000_000
	s.MaxFutureDrift = 15 * time.Second
	s.Alloc = alloc
	return s
}
