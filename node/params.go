package node

import (
	_ "embed"
	"fmt"
	"math/big"

	"github.com/cairn-ledger/cairn/consensus"
)

// defaultGenesis is the built-in network "cairn-dev": 30 s blocks at the
// difficulty of about one CPU thread, 50 CRN a block, no premine. A node
// started without --genesis joins it.
//
//go:embed genesis.json
var defaultGenesis []byte

// DefaultParams returns the built-in network's parameters.
func DefaultParams() *consensus.Params {
	p, err := consensus.ParseGenesis(defaultGenesis)
	if err != nil {
		panic(fmt.Sprintf("node: built-in genesis.json: %v", err))
	}
	return p
}

// defaultMinChainWork is the built-in network's minimum chain work
// (chain.Config.MinChainWork), as Bitcoin Core ships nMinimumChainWork:
// node policy, not consensus, raised with releases to the work of a chain
// known then. cairn-dev has no public chain whose work could be pinned yet,
// so it is 0; the tip-relative part of the anti-DoS threshold applies
// alone.
const defaultMinChainWork = "0"

// DefaultMinChainWork returns the built-in network's minimum chain work.
func DefaultMinChainWork() *big.Int {
	w, ok := new(big.Int).SetString(defaultMinChainWork, 16)
	if !ok {
		panic("node: bad defaultMinChainWork")
	}
	return w
}

// DefaultGenesisJSON returns the built-in genesis file.
func DefaultGenesisJSON() []byte { return append([]byte(nil), defaultGenesis...) }
