package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// ErrNotFound is returned by lookups of blocks, headers and txs that are not
// known (or not on the main chain, where that is what is asked).
var ErrNotFound = errors.New("not found")

// Tip describes the head of the main chain.
type Tip struct {
	Hash   types.Hash
	Height uint64
	Work   *big.Int
	Header types.Header
}

// Params returns the chain's consensus parameters.
func (c *Chain) Params() *consensus.Params { return c.params }

// GenesisHash returns the hash of the genesis block.
func (c *Chain) GenesisHash() types.Hash { return c.genesis }

// Tip returns the head of the main chain. Safe for concurrent use; it
// takes no lock.
func (c *Chain) Tip() Tip {
	t := *c.tipSnap.Load()
	t.Work = new(big.Int).Set(t.Work)
	return t
}

// publishTip makes c.tip what Tip returns. Callers hold c.mu.
func (c *Chain) publishTip() {
	c.tipSnap.Store(&Tip{Hash: c.tip.hash, Height: c.tip.height(), Work: new(big.Int).Set(c.tip.work), Header: c.tip.header})
}

// HeaderInfo is what the index knows of one header.
type HeaderInfo struct {
	Header    types.Header
	Hash      types.Hash
	Work      *big.Int
	MainChain bool
	Valid     bool // connected at least once
	Invalid   bool // broke a rule, or descends from a block that did
	HasData   bool
}

// Header returns the index entry of the block with hash h. Safe for
// concurrent use.
func (c *Chain) Header(h types.Hash) (HeaderInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	if n == nil {
		return HeaderInfo{}, fmt.Errorf("header %s: %w", h, ErrNotFound)
	}
	return c.info(n), nil
}

// HeaderByHeight returns the main-chain header at height. Safe for
// concurrent use.
func (c *Chain) HeaderByHeight(height uint64) (HeaderInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if height >= uint64(len(c.main)) {
		return HeaderInfo{}, fmt.Errorf("height %d above tip %d: %w", height, c.tip.height(), ErrNotFound)
	}
	return c.info(c.main[height]), nil
}

// info describes n. Callers hold c.mu, at least for reading.
func (c *Chain) info(n *blockNode) HeaderInfo {
	return HeaderInfo{
		Header: n.header, Hash: n.hash, Work: new(big.Int).Set(n.work),
		MainChain: c.onMain(n),
		Valid:     n.status&statusValid != 0,
		Invalid:   c.isInvalid(n),
		HasData:   n.status&statusDataStored != 0,
	}
}

// onMain reports whether n is on the main chain. Callers hold c.mu, at
// least for reading.
func (c *Chain) onMain(n *blockNode) bool {
	return n.height() < uint64(len(c.main)) && c.main[n.height()] == n
}

// Block returns the stored block with hash h (main chain or not). Safe for
// concurrent use.
func (c *Chain) Block(h types.Hash) (*types.Block, error) {
	c.mu.RLock()
	n := c.index[h]
	stored := n != nil && n.status&statusDataStored != 0
	c.mu.RUnlock()
	if !stored {
		return nil, fmt.Errorf("block %s: %w", h, ErrNotFound)
	}
	return c.readBlock(h)
}

// BlockBytes returns the stored encoding of block h (ErrNotFound if its
// body is not stored), as sync serves it: neither decoded nor re-encoded.
// Safe for concurrent use.
func (c *Chain) BlockBytes(h types.Hash) ([]byte, error) {
	c.mu.RLock()
	n := c.index[h]
	stored := n != nil && n.status&statusDataStored != 0
	c.mu.RUnlock()
	if !stored {
		return nil, fmt.Errorf("block %s: %w", h, ErrNotFound)
	}
	return getRecord(c.db, hashKey(prefixBlock, h), "block "+h.String())
}

// BlockByHeight returns the main-chain block at height. Safe for concurrent
// use.
func (c *Chain) BlockByHeight(height uint64) (*types.Block, error) {
	info, err := c.HeaderByHeight(height)
	if err != nil {
		return nil, err
	}
	return c.readBlock(info.Hash)
}

// Account returns the state of addr at the tip (zero if absent). Safe for
// concurrent use.
func (c *Chain) Account(addr types.Address) (Account, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.db.account(addr)
}

// TxLocation is where a main-chain transaction is.
type TxLocation struct {
	Block  types.Hash
	Height uint64
	Index  int
}

// TxLocation finds the main-chain block holding the tx with id. Safe for
// concurrent use.
func (c *Chain) TxLocation(id types.Hash) (TxLocation, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, err := getOptional(c.db, hashKey(prefixTx, id))
	if err != nil {
		return TxLocation{}, err
	}
	if b == nil {
		return TxLocation{}, fmt.Errorf("tx %s: %w", id, ErrNotFound)
	}
	if len(b) != types.HashSize+4 {
		return TxLocation{}, c.db.failed(fmt.Errorf("%w: tx index record of %d bytes", ErrCorrupt, len(b)))
	}
	var loc TxLocation
	copy(loc.Block[:], b)
	loc.Index = int(uint32(b[32])<<24 | uint32(b[33])<<16 | uint32(b[34])<<8 | uint32(b[35]))
	n := c.index[loc.Block]
	if n == nil {
		return TxLocation{}, c.db.failed(fmt.Errorf("%w: tx %s in unknown block %s", ErrCorrupt, id, loc.Block))
	}
	loc.Height = n.height()
	return loc, nil
}

// HeaderCount returns the number of headers in the index (stored ones,
// with or without their body). Safe for concurrent use.
func (c *Chain) HeaderCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.index)
}

// OrphanCount returns the number of blocks held in the orphan pool.
func (c *Chain) OrphanCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.orphans.len()
}

// Verify recomputes the state commitment from every stored account and
// compares it with the running value and the tip's stateRoot, and checks
// that the main-chain height index, the tip and the in-memory index agree.
// It reads the whole state: for tests, start-up checks on request, and
// tools. Safe for concurrent use (it holds the read lock throughout).
func (c *Chain) Verify() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	snap, err := c.db.GetSnapshot()
	if err != nil {
		return err
	}
	defer snap.Release()
	var lt consensus.LtHash
	it := snap.NewIterator(util.BytesPrefix([]byte{prefixAccount}), nil)
	for it.Next() {
		acc, err := decodeAccount(it.Value())
		if err != nil {
			it.Release()
			return err
		}
		if acc.IsZero() {
			err := fmt.Errorf("%w: zero account stored at %x", ErrCorrupt, it.Key()[1:])
			it.Release() // Key is not valid after Release
			return err
		}
		var a types.Address
		copy(a[:], it.Key()[1:])
		lt.AddAccount(a, acc.Balance, acc.Nonce)
	}
	it.Release()
	if err := it.Error(); err != nil {
		return err
	}
	if root := lt.Sum(); root != c.tip.header.StateRoot {
		return fmt.Errorf("%w: accounts commit to %s, tip %s (height %d) has stateRoot %s",
			ErrCorrupt, root, c.tip.hash, c.tip.height(), c.tip.header.StateRoot)
	}
	if lt.Sum() != c.lt.Sum() {
		return fmt.Errorf("%w: running state commitment differs from the accounts'", ErrCorrupt)
	}
	tip, err := snap.Get(keyTip, nil)
	if err != nil || len(tip) != types.HashSize || types.Hash(tip) != c.tip.hash {
		return fmt.Errorf("%w: stored tip %x, in memory %s", ErrCorrupt, tip, c.tip.hash)
	}
	for h, n := range c.main {
		v, err := snap.Get(heightKey(uint64(h)), nil)
		if err != nil || len(v) != types.HashSize || types.Hash(v) != n.hash {
			return fmt.Errorf("%w: height %d maps to %x, main chain has %s", ErrCorrupt, h, v, n.hash)
		}
	}
	if _, err := snap.Get(heightKey(uint64(len(c.main))), nil); !errors.Is(err, leveldb.ErrNotFound) {
		return fmt.Errorf("%w: height index continues above the tip", ErrCorrupt)
	}
	return nil
}
