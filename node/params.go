package node

import (
	_ "embed"
	"fmt"

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

// DefaultGenesisJSON returns the built-in genesis file.
func DefaultGenesisJSON() []byte { return append([]byte(nil), defaultGenesis...) }
