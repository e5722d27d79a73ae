package chain

import (
	"fmt"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// NewBlockTemplate assembles an unmined child of the tip paying miner: the
// txs that apply in order on the tip's state (a tx that does not is left
// out, and so are later txs of its sender), within the max block size, with
// height, parent, bits for the given time (raised to one millisecond past
// the median time past if needed), txRoot and stateRoot filled in. The
// caller searches the nonce (and may move Time, which changes no other
// field but bits — call again for a new time). Safe for concurrent use.
func (c *Chain) NewBlockTemplate(txs []*types.Tx, miner types.Address, time int64) (*types.Block, error) {
	if err := c.Fault(); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	parent := c.tip
	if mtp := parent.medianTimePast(); time <= mtp {
		time = mtp + 1
	}
	blk := &types.Block{Header: types.Header{
		Version: types.HeaderVersion,
		Height:  parent.height() + 1,
		Parent:  parent.hash,
		Miner:   miner,
		Time:    time,
		Bits:    c.params.NextBits(parent.height(), parent.header.Time),
	}}
	view := newStateView(c.db, &c.lt)
	size := types.HeaderSize + 3 // a tx count below 2^21
	skip := make(map[types.Address]bool)
	for _, tx := range txs {
		sender := tx.Sender()
		if skip[sender] || size+tx.EncodedSize() > c.params.MaxBlockSize || consensus.CheckTx(tx) != nil {
			skip[sender] = true
			continue
		}
		// Apply the tx alone (a block of one, no reward) to see it fits
		// the state; connect below recomputes everything for real.
		if err := view.applyTx(tx, sender); err != nil {
			skip[sender] = true
			continue
		}
		blk.Txs = append(blk.Txs, tx)
		size += tx.EncodedSize()
	}
	blk.Header.TxRoot = types.MerkleRoot(txIDs(blk))
	// Compute the state root by connecting on a fresh view.
	fresh := newStateView(c.db, &c.lt)
	d, err := fresh.apply(c.params, blk)
	if err != nil {
		return nil, fmt.Errorf("build block template: %w", err)
	}
	lt := fresh.lt
	lt.Add(d.ltDelta())
	blk.Header.StateRoot = lt.Sum()
	return blk, nil
}
