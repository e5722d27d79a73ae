package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// Headers-first sync (DESIGN.md §7): a node first accepts a peer's header
// chain — proof of work, difficulty, time and height checked against each
// header's parent — into the index without bodies, then fetches the bodies
// of the best header chain and imports them in order with ProcessBlock.

// ErrUnconnected is returned by ProcessHeaders for a header whose parent is
// not known: the peer's headers do not connect to this node's index.
var ErrUnconnected = errors.New("header does not connect to a known header")

// MaxHeadersPerRequest is the most headers one answer carries.
const MaxHeadersPerRequest = 2000

// ProcessHeaders validates hs, in order, against their parents and adds the
// new ones to the index (and the database, so that a restarted sync keeps
// them) without bodies. It returns how many were new. A header that breaks
// a rule stops the processing with its *consensus.RuleError (ErrTimeTooNew
// for one from the future); one whose parent is unknown with
// ErrUnconnected. Headers before the fault stay accepted. Safe for
// concurrent use.
func (c *Chain) ProcessHeaders(hs []types.Header) (int, error) {
	hashes := make([]types.Hash, len(hs)) // hashed before taking the lock
	for i := range hs {
		hashes[i] = hs[i].Hash()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	batch := new(leveldb.Batch)
	var added []*blockNode
	var ferr error
	now := c.cfg.Now().UnixMilli()
	for i := range hs {
		h := &hs[i]
		hash := hashes[i]
		if n := c.index[hash]; n != nil {
			if n.invalid() {
				ferr = fmt.Errorf("header %s: %w", hash, ErrKnownInvalid)
				break
			}
			continue
		}
		if err, ok := c.rejected[hash]; ok {
			ferr = fmt.Errorf("header %s: %w: %w", hash, ErrKnownInvalid, err)
			break
		}
		parent := c.index[h.Parent]
		if parent == nil {
			ferr = fmt.Errorf("header %s at height %d: %w (parent %s)", hash, h.Height, ErrUnconnected, h.Parent)
			break
		}
		if parent.invalid() {
			ferr = consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s of header %s is invalid", parent.hash, hash)
			c.reject(hash, ferr)
			break
		}
		if err := c.params.CheckHeader(h, hash, parent.parentInfo(), now); err != nil {
			if consensus.CodeOf(err) != consensus.ErrTimeTooNew {
				c.reject(hash, err)
			}
			ferr = err
			break
		}
		c.seq++
		n := &blockNode{hash: hash, header: *h, parent: parent, seq: c.seq,
			work: new(big.Int).Add(parent.work, consensus.CalcWork(h.Bits))}
		c.index[hash] = n // visible to the next header of hs
		added = append(added, n)
		batch.Put(hashKey(prefixHeader, hash), encodeHeaderRecord(n))
	}
	if len(added) > 0 {
		if err := c.db.Write(batch, c.wopts); err != nil {
			for _, n := range added {
				delete(c.index, n.hash)
			}
			return 0, fmt.Errorf("write headers: %w", err)
		}
		for _, n := range added {
			delete(c.index, n.hash)
			c.addNode(n)
		}
		last := added[len(added)-1]
		c.cfg.Logger.Debug("accepted headers", "count", len(added), "height", last.height(), "hash", last.hash)
	}
	return len(added), ferr
}

// BestHeader returns the header with the most work not known to be invalid
// (the tip, or a header further along that sync has not filled in yet). Safe
// for concurrent use.
func (c *Chain) BestHeader() HeaderInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.info(c.bestHeader)
}

// Locator returns a block locator for the best header chain: hashes at the
// best header's height, then 10 back one at a time, then back in doubling
// steps, ending with genesis. A peer answers with the headers after the
// first hash it has on its main chain. Safe for concurrent use.
func (c *Chain) Locator() []types.Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var loc []types.Hash
	step := uint64(1)
	for n := c.bestHeader; n != nil; {
		loc = append(loc, n.hash)
		if n.height() == 0 {
			break
		}
		if len(loc) >= 10 {
			step *= 2
		}
		h := uint64(0)
		if n.height() > step {
			h = n.height() - step
		}
		n = n.ancestor(h)
	}
	return loc
}

// HeadersAfter returns up to max main-chain headers following the first
// hash of locator that is on this node's main chain (genesis if none is),
// stopping after stop if it is met. Safe for concurrent use.
func (c *Chain) HeadersAfter(locator []types.Hash, stop types.Hash, max int) []types.Header {
	c.mu.RLock()
	defer c.mu.RUnlock()
	start := uint64(0)
	for _, h := range locator {
		if n := c.index[h]; n != nil && c.onMain(n) {
			start = n.height()
			break
		}
	}
	max = min(max, MaxHeadersPerRequest)
	var out []types.Header
	for h := start + 1; h < uint64(len(c.main)) && len(out) < max; h++ {
		n := c.main[h]
		out = append(out, n.header)
		if n.hash == stop {
			break
		}
	}
	return out
}

// MissingBlocks returns, in height order, up to max hashes of blocks on the
// best header chain whose bodies are not stored: what sync must fetch next.
// Safe for concurrent use.
func (c *Chain) MissingBlocks(max int) []types.Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var path []*blockNode
	for n := c.bestHeader; n != nil && !n.chainData; n = n.parent {
		path = append(path, n)
	}
	out := make([]types.Hash, 0, min(max, len(path)))
	for i := len(path) - 1; i >= 0 && len(out) < max; i-- {
		if path[i].status&statusDataStored == 0 {
			out = append(out, path[i].hash)
		}
	}
	return out
}

// HasBlock reports whether the body of block h is stored. Safe for
// concurrent use.
func (c *Chain) HasBlock(h types.Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	return n != nil && n.status&statusDataStored != 0
}
