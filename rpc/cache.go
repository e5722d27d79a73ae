package rpc

import (
	"sync"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// blockBody is the part of a block's JSON that does not depend on the tip:
// its size and its txs without location. A block's content never changes
// for its hash, so bodies are cached (blockCache) and only the header's
// and the txs' confirmations are computed per request.
type blockBody struct {
	size int
	txs  []Tx // static fields only; shared, never modified
}

func newBlockBody(blk *types.Block) *blockBody {
	b := &blockBody{size: blk.EncodedSize(), txs: make([]Tx, len(blk.Txs))}
	for i, tx := range blk.Txs {
		b.txs[i] = *NewTx(tx)
	}
	return b
}

// result returns the JSON form of the block with this body whose index
// entry is info.
func (b *blockBody) result(info chain.HeaderInfo, tipHeight uint64, full bool) *Block {
	out := &Block{Header: NewHeader(info, tipHeight), Size: b.size, TxCount: len(b.txs)}
	if full {
		out.Txs = make([]*Tx, len(b.txs))
		txs := make([]Tx, len(b.txs)) // one allocation for all
		for i := range b.txs {
			txs[i] = b.txs[i]
			if info.MainChain {
				txs[i].setConfirmed(out.Hash, info.Header.Height, i, tipHeight)
			}
			out.Txs[i] = &txs[i]
		}
		return out
	}
	out.TxIDs = make([]string, len(b.txs))
	for i := range b.txs {
		out.TxIDs[i] = b.txs[i].ID
	}
	return out
}

// blockCache holds the bodies of recently served blocks, at most maxTxs
// txs in all (about 600 bytes each), evicting the oldest first. Safe for
// concurrent use.
type blockCache struct {
	maxTxs int

	mu    sync.Mutex // guards the fields below
	m     map[types.Hash]*blockBody
	order []types.Hash // insertion order, oldest first
	txs   int
}

func newBlockCache(maxTxs int) *blockCache {
	return &blockCache{maxTxs: maxTxs, m: make(map[types.Hash]*blockBody)}
}

func (c *blockCache) get(h types.Hash) *blockBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

func (c *blockCache) put(h types.Hash, b *blockBody) {
	n := len(b.txs) + 1 // an empty block costs something too
	if n > c.maxTxs {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; ok {
		return
	}
	for c.txs+n > c.maxTxs && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.txs -= len(c.m[old].txs) + 1
		delete(c.m, old)
	}
	c.m[h] = b
	c.order = append(c.order, h)
	c.txs += n
}
