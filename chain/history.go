package chain

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// The address history index: for every address, the main-chain events
// that changed its balance — a tx it sent or received, the reward of a
// block it mined, a genesis allocation — one record each:
//
//	'x' ‖ address ‖ height u64 ‖ pos u32 -> kind u8
//
// pos is the tx's index in its block, or posReward for the block reward
// and the genesis allocations, so that a reverse scan of an address's
// records gives them newest first. The rest of an entry (counterparty,
// amount, fee, nonce, tx id) is read from the main-chain block at that
// height when the history is asked for (History), not copied into the
// record: a block of 1,000 transfers writes 2,001 records, and with those
// fields they were 110 bytes each, more than the block itself, all written
// again by every LevelDB compaction (schema version 2 kept them; Open
// rewrites such records, slimHistory). The records of a block are written and
// deleted in the batch that connects or disconnects it, so the index is
// as crash-safe as the chain and follows every reorganisation.

// HistoryKind says how an event changed an address's balance.
type HistoryKind uint8

const (
	HistorySent     HistoryKind = 1 + iota // a tx from the address to another
	HistoryReceived                        // a tx from another address to it
	HistorySelf                            // a tx from the address to itself
	HistoryMined                           // the reward of a block it mined: subsidy + fees
	HistoryGenesis                         // its genesis allocation
)

func (k HistoryKind) String() string {
	switch k {
	case HistorySent:
		return "sent"
	case HistoryReceived:
		return "received"
	case HistorySelf:
		return "self"
	case HistoryMined:
		return "mined"
	case HistoryGenesis:
		return "genesis"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// posReward is the pos of a block's reward and of genesis allocations.
const posReward = math.MaxUint32

// HistoryEntry is one event of an address's history.
type HistoryEntry struct {
	Kind         HistoryKind
	Height       uint64
	Pos          uint32        // the tx's index in the block (math.MaxUint32 for a reward or allocation)
	Counterparty types.Address // the other side of a tx; zero for a reward or allocation
	Amount       uint64        // transferred, or credited (reward, allocation)
	Fee          uint64        // the tx's fee
	Nonce        uint64        // the tx's nonce
	ID           types.Hash    // the tx id; zero for a reward or allocation
}

// HistoryCursor marks a place in an address's history: History returns
// the entries strictly older than it.
type HistoryCursor struct {
	Height uint64
	Pos    uint32
}

func historyKey(a types.Address, height uint64, pos uint32) []byte {
	k := make([]byte, 0, 1+types.AddressSize+12)
	k = append(k, prefixHistory)
	k = append(k, a[:]...)
	k = binary.BigEndian.AppendUint64(k, height)
	return binary.BigEndian.AppendUint32(k, pos)
}

// encode returns the value of e's record: its kind.
func (e *HistoryEntry) encode() []byte { return []byte{byte(e.Kind)} }

// decodeHistory decodes a record: the kind, height and pos of its entry.
func decodeHistory(key, v []byte) (HistoryEntry, error) {
	if len(key) != 1+types.AddressSize+12 || len(v) != 1 || v[0] < byte(HistorySent) || v[0] > byte(HistoryGenesis) {
		return HistoryEntry{}, fmt.Errorf("%w: history record of %d bytes under a key of %d", ErrCorrupt, len(v), len(key))
	}
	return HistoryEntry{
		Kind:   HistoryKind(v[0]),
		Height: binary.BigEndian.Uint64(key[1+types.AddressSize:]),
		Pos:    binary.BigEndian.Uint32(key[1+types.AddressSize+8:]),
	}, nil
}

// fullHistorySize is the size of a record's value in schema version 2:
// kind, counterparty, amount, fee, nonce, tx id.
const fullHistorySize = 1 + types.AddressSize + 8 + 8 + 8 + types.HashSize

// historyRecord is one record of the index: an entry of an address.
type historyRecord struct {
	addr  types.Address
	entry HistoryEntry
}

// historyOf returns the index records of a main-chain block: for each tx
// one for its sender and one for its recipient (one if they are the
// same), one for the miner's reward (if any), and for the genesis block one per
// allocation. senders are the txs' senders if the caller has them (the
// connect that applied the block computed them), else nil.
func historyOf(p *consensus.Params, blk *types.Block, ids []types.Hash, senders []types.Address) []historyRecord {
	h := blk.Header.Height
	if h == 0 {
		recs := make([]historyRecord, 0, len(p.Alloc))
		for _, a := range p.Alloc {
			recs = append(recs, historyRecord{a.Address, HistoryEntry{Kind: HistoryGenesis, Height: 0, Pos: posReward, Amount: a.Amount}})
		}
		return recs
	}
	recs := make([]historyRecord, 0, 2*len(blk.Txs)+1)
	var fees uint64
	for i, tx := range blk.Txs {
		pos := uint32(i)
		var from types.Address
		if senders != nil {
			from = senders[i]
		} else {
			from = tx.Sender()
		}
		fees += tx.Fee // cannot overflow in a valid block
		if from == tx.To {
			recs = append(recs, historyRecord{from, HistoryEntry{Kind: HistorySelf, Height: h, Pos: pos,
				Counterparty: from, Amount: tx.Amount, Fee: tx.Fee, Nonce: tx.Nonce, ID: ids[i]}})
			continue
		}
		recs = append(recs,
			historyRecord{from, HistoryEntry{Kind: HistorySent, Height: h, Pos: pos,
				Counterparty: tx.To, Amount: tx.Amount, Fee: tx.Fee, Nonce: tx.Nonce, ID: ids[i]}},
			historyRecord{tx.To, HistoryEntry{Kind: HistoryReceived, Height: h, Pos: pos,
				Counterparty: from, Amount: tx.Amount, Fee: tx.Fee, Nonce: tx.Nonce, ID: ids[i]}})
	}
	if reward := p.Subsidy(h) + fees; reward > 0 {
		recs = append(recs, historyRecord{blk.Header.Miner, HistoryEntry{Kind: HistoryMined, Height: h, Pos: posReward,
			Amount: reward}})
	}
	return recs
}

// putHistory and deleteHistory add a block's index records to batch.
func putHistory(batch *leveldb.Batch, recs []historyRecord) {
	for i := range recs {
		r := &recs[i]
		batch.Put(historyKey(r.addr, r.entry.Height, r.entry.Pos), r.entry.encode())
	}
}

func deleteHistory(batch *leveldb.Batch, recs []historyRecord) {
	for i := range recs {
		r := &recs[i]
		batch.Delete(historyKey(r.addr, r.entry.Height, r.entry.Pos))
	}
}

// History returns up to limit entries of addr's main-chain history,
// newest first, older than before (nil: from the tip), and whether older
// ones remain. Safe for concurrent use: it reads one snapshot.
func (c *Chain) History(addr types.Address, before *HistoryCursor, limit int) ([]HistoryEntry, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	snap, err := c.db.GetSnapshot()
	if err != nil {
		return nil, false, c.db.failed(err)
	}
	defer snap.Release()
	rng := util.BytesPrefix(append([]byte{prefixHistory}, addr[:]...))
	if before != nil {
		rng.Limit = historyKey(addr, before.Height, before.Pos)
	}
	it := snap.NewIterator(rng, nil)
	defer it.Release()
	var out []HistoryEntry
	more := false
	for ok := it.Last(); ok; ok = it.Prev() {
		if len(out) == limit {
			more = true
			break
		}
		e, err := decodeHistory(it.Key(), it.Value())
		if err != nil {
			return nil, false, c.db.failed(err)
		}
		out = append(out, e)
	}
	if err := it.Error(); err != nil {
		return nil, false, c.db.failed(err)
	}
	// The entries come newest first, those of one block together: one
	// block is held at a time, whatever the limit.
	var blk *types.Block
	for i := range out {
		if blk == nil || blk.Header.Height != out[i].Height {
			if blk, err = c.mainBlockAt(snap, out[i].Height); err != nil {
				return nil, false, err
			}
		}
		if err := c.fillHistory(addr, &out[i], blk); err != nil {
			return nil, false, err
		}
	}
	return out, more, nil
}

// fillHistory completes e, an entry of addr's history as its record gives
// it (kind, height, pos), from blk, the main-chain block at its height,
// or, for a genesis allocation, from the network's parameters.
func (c *Chain) fillHistory(addr types.Address, e *HistoryEntry, blk *types.Block) error {
	where := fmt.Sprintf("history record of %s at height %d", addr, e.Height)
	if e.Kind == HistoryGenesis {
		for _, a := range c.params.Alloc {
			if a.Address == addr {
				e.Amount = a.Amount
				return nil
			}
		}
		return c.db.failed(fmt.Errorf("%w: %s: no genesis allocation to it", ErrCorrupt, where))
	}
	if e.Kind == HistoryMined {
		if e.Pos != posReward || blk.Header.Miner != addr {
			return c.db.failed(fmt.Errorf("%w: %s: no reward of block %d to it", ErrCorrupt, where, e.Height))
		}
		e.Amount = c.params.Subsidy(e.Height)
		for _, tx := range blk.Txs {
			e.Amount += tx.Fee
		}
		return nil
	}
	if int64(e.Pos) >= int64(len(blk.Txs)) {
		return c.db.failed(fmt.Errorf("%w: %s: block %d has no tx %d", ErrCorrupt, where, e.Height, e.Pos))
	}
	tx := blk.Txs[e.Pos]
	e.Amount, e.Fee, e.Nonce, e.ID = tx.Amount, tx.Fee, tx.Nonce, tx.ID()
	switch e.Kind {
	case HistorySent:
		e.Counterparty = tx.To
	case HistoryReceived:
		e.Counterparty = tx.Sender()
	case HistorySelf:
		e.Counterparty = addr
	}
	return nil
}

// mainBlockAt reads the main-chain block at height h from snap.
func (c *Chain) mainBlockAt(snap *leveldb.Snapshot, h uint64) (*types.Block, error) {
	if h == 0 {
		return c.params.Genesis(), nil
	}
	hash, err := snap.Get(heightKey(h), nil)
	if err != nil || len(hash) != types.HashSize {
		return nil, c.db.failed(fmt.Errorf("%w: main-chain block at height %d (%d bytes): %v", ErrCorrupt, h, len(hash), err))
	}
	data, err := snap.Get(hashKey(prefixBlock, types.Hash(hash)), nil)
	if err != nil {
		return nil, c.db.failed(fmt.Errorf("%w: block %x at height %d: %v", ErrCorrupt, hash, h, err))
	}
	blk, err := c.decodeStoredBlock(types.Hash(hash), data)
	if err != nil {
		return nil, fmt.Errorf("main-chain block at height %d: %w", h, err)
	}
	return blk, nil
}

// slimHistory rewrites the records of a history index of schema version
// 2, each of which held a copy of its tx's fields, as records of their
// kind alone, in batches, the last of which sets the version. Cut short,
// it is done again at the next Open (a record already rewritten is left
// as it is). Callers own the chain (Open).
func (c *Chain) slimHistory() error {
	c.cfg.Logger.Info("upgrading the chain database: rewriting the address history index")
	it := c.db.NewIterator(util.BytesPrefix([]byte{prefixHistory}), nil)
	defer it.Release()
	batch := new(leveldb.Batch)
	for it.Next() {
		if v := it.Value(); len(v) == fullHistorySize {
			batch.Put(it.Key(), v[:1]) // a batch copies what it is given
		}
		if batch.Len() >= 4096 {
			if err := c.db.Write(batch, c.wopts); err != nil {
				return fmt.Errorf("rewrite history index: %w", err)
			}
			batch.Reset()
		}
	}
	if err := it.Error(); err != nil {
		return c.db.failed(err)
	}
	batch.Put(keySchema, []byte{SchemaVersion})
	if err := c.db.Write(batch, c.wopts); err != nil {
		return fmt.Errorf("rewrite history index: %w", err)
	}
	return nil
}

// buildHistory writes the history index of the whole main chain: the
// upgrade of a database of schema version 1, which had none, to version
// 2, in batches, the last of which sets the version. Cut short, it is
// done again at the next Open (a record written twice is the same
// record). Callers hold c.mu or own the chain (Open).
func (c *Chain) buildHistory() error {
	c.cfg.Logger.Info("upgrading the chain database: building the address history index", "blocks", len(c.main))
	batch := new(leveldb.Batch)
	for _, n := range c.main {
		var blk *types.Block
		if n.height() == 0 {
			blk = c.params.Genesis()
		} else {
			var err error
			if blk, err = c.readBlock(n.hash); err != nil {
				return err
			}
		}
		putHistory(batch, historyOf(c.params, blk, txIDs(blk), nil))
		if batch.Len() >= 4096 {
			if err := c.db.Write(batch, c.wopts); err != nil {
				return fmt.Errorf("write history index: %w", err)
			}
			batch.Reset()
		}
	}
	batch.Put(keySchema, []byte{SchemaVersion})
	if err := c.db.Write(batch, c.wopts); err != nil {
		return fmt.Errorf("write history index: %w", err)
	}
	return nil
}
