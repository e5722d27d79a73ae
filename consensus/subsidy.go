package consensus

// Subsidy returns the new coins a block at height may credit to its miner
// (docs/PROTOCOL.md §11): initialSubsidy >> (height / halvingInterval), in
// base units. Once the shift reaches 64 the subsidy is 0 (Go would give 0
// for an unsigned shift that large too; the check makes it explicit).
//
// A halvingInterval of 0 means the subsidy never halves: every block gets
// initialSubsidy. (Genesis validation may well refuse 0; this only keeps the
// division from panicking.) Safe for concurrent use.
func Subsidy(height, initialSubsidy, halvingInterval uint64) uint64 {
	if halvingInterval == 0 {
		return initialSubsidy
	}
	halvings := height / halvingInterval
	if halvings >= 64 {
		return 0
	}
	return initialSubsidy >> halvings
}
