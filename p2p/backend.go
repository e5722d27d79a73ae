package p2p

import (
	"math/big"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Backend is what the network needs of the chain, for sync and block
// validation (the pool is a TxPool of its own). The node package
// implements it; ProcessBlock there also updates the txpool and the
// miner. All methods must be safe for concurrent use.
type Backend interface {
	// Params are the network's consensus parameters.
	Params() *consensus.Params
	// Tip is the head of the main chain.
	Tip() chain.Tip
	// BestHeader is the most-work header known, perhaps without its body.
	BestHeader() chain.HeaderInfo
	// BlockBytes returns a stored block's encoding (chain.ErrNotFound if
	// not).
	BlockBytes(h types.Hash) ([]byte, error)
	// Header returns an indexed header, with or without its body
	// (chain.ErrNotFound if not); sync asks for a missing block only
	// peers that claim its height.
	Header(h types.Hash) (chain.HeaderInfo, error)
	// Locator returns a block locator of the best header chain.
	Locator() []types.Hash
	// HeadersAfter answers a headers request (see chain.HeadersAfter).
	HeadersAfter(locator []types.Hash, stop types.Hash, max int) []types.Header
	// MissingBlocks lists bodies to fetch, in height order.
	MissingBlocks(max int) []types.Hash
	// ProcessHeaders adds validated headers to the index if their branch
	// reaches the anti-DoS threshold or proven does
	// (chain.ProcessHeadersProven).
	ProcessHeaders(hs []types.Header, proven *big.Int) (int, error)
	// AntiDoSWork is the work a header branch needs to be stored
	// (chain.AntiDoSWork).
	AntiDoSWork() *big.Int
	// Cursor starts a header check at an indexed header (chain.Cursor).
	Cursor(h types.Hash) (chain.HeaderCursor, error)
	// CheckHeaders checks headers without storing them
	// (chain.CheckHeaders).
	CheckHeaders(cur chain.HeaderCursor, hs []types.Header) (chain.HeaderCursor, int, error)
	// WantBlock judges an unrequested block by its header
	// (chain.WantBlock).
	WantBlock(h *types.Header) (chain.ProcessStatus, error)
	// ProcessBlock validates and stores a block from origin o
	// (chain.ProcessBlockFrom).
	ProcessBlock(b *types.Block, o chain.Origin) (chain.Result, error)
}
