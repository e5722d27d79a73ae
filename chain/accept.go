package chain

import (
	"fmt"
	"math/big"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// Acceptance, the second tier of the block path (see process.go): what the
// index alone decides about a block, and storing it.

// acceptedBlock is a block that passed every check short of connecting
// it, with its index node: a new one, not yet in the index, or that of its
// header known from headers-first sync. Neither stores its body yet.
type acceptedBlock struct {
	node  *blockNode
	block *types.Block
	ids   []types.Hash // tx ids, in block order
	sigs  *sigCheck    // its signatures, verified while it is applied
	start time.Time    // when processing under the lock began, for the log
}

// acceptBlock decides what can be decided about blk from the index: a
// duplicate (stored, or held as an orphan) and a block known invalid are
// answered from it; a block whose parent is unknown is held as an orphan
// if it passes the orphan rules (holdOrphan); a child of an invalid block,
// an unrequested block of too little work and a header that fails against
// its parent are refused (checkBlockContext). Any other block is returned
// with its index node, to be stored and connected. checked says what blk
// passed before the lock (nothing, for an orphan from the pool). Callers
// hold c.mu.
func (c *Chain) acceptBlock(blk *types.Block, o Origin, checked *checkedBlock) (*acceptedBlock, ProcessStatus, error) {
	start := time.Now()
	hash := blk.Hash()
	known, st, err := c.knownBlock(hash)
	if st != 0 || err != nil {
		return nil, st, err
	}
	parent := c.index[blk.Header.Parent]
	if parent != c.tip { // an orphan's parent (nil) is not the tip either
		// Only a block that extends the tip is applied while its
		// signatures are verified; any other is stored or held only once
		// they all verify.
		if err := c.awaitSignatures(checked, hash); err != nil {
			return nil, 0, err
		}
	}
	if parent == nil {
		st, err := c.holdOrphan(blk, hash, o)
		return nil, st, err
	}
	if err := c.checkBlockContext(&blk.Header, hash, known, parent, o, checked); err != nil {
		if serr := c.awaitSignatures(checked, hash); serr != nil {
			return nil, 0, serr // the fault found first before the lock
		}
		return nil, 0, err
	}
	ids := checked.ids
	if ids == nil {
		ids = txIDs(blk) // an orphan's: hashed again, checked when it was held
	}
	c.seq++
	n := known // a header known without its body keeps its place
	if n == nil {
		n = &blockNode{hash: hash, header: blk.Header, parent: parent, seq: c.seq,
			work: new(big.Int).Add(parent.work, consensus.CalcWork(blk.Header.Bits))}
		n.setSkip()
	}
	return &acceptedBlock{node: n, block: blk, ids: ids, sigs: checked.sigs, start: start}, 0, nil
}

// checkBlockContext checks the block with header h (index node known, if
// its header is known) against its parent: the parent is not invalid; an
// unrequested block has enough work (checkWanted); a header not yet in the
// index, and not checked before the lock, passes the header rules. A rule
// broken is remembered (not ErrTimeTooNew: such a block may be valid
// later). Callers hold c.mu.
func (c *Chain) checkBlockContext(h *types.Header, hash types.Hash, known, parent *blockNode, o Origin, checked *checkedBlock) error {
	if c.isInvalid(parent) {
		err := consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s is invalid", parent.hash)
		c.reject(hash, err)
		return err
	}
	if o.Unrequested {
		if err := c.checkWanted(known, parent, h, hash); err != nil {
			return err
		}
	}
	// A header already in the index passed these checks in ProcessHeaders.
	if known == nil && !checked.headerChecked {
		if err := c.params.CheckHeader(h, hash, parent.parentInfo(), c.cfg.Now().UnixMilli()); err != nil {
			if consensus.CodeOf(err) != consensus.ErrTimeTooNew {
				c.reject(hash, err)
			}
			return err
		}
	}
	return nil
}

// checkWanted refuses an unrequested block (header h, index node n if its
// header is known, parent known) whose branch has less work than the tip
// and which is not on the best header chain. Callers hold c.mu, at least
// for reading.
func (c *Chain) checkWanted(n, parent *blockNode, h *types.Header, hash types.Hash) error {
	if n != nil && c.bestHeader.ancestor(n.height()) == n {
		return nil
	}
	work := new(big.Int).Add(parent.work, consensus.CalcWork(h.Bits))
	if work.Cmp(c.tip.work) >= 0 {
		return nil
	}
	return fmt.Errorf("block %s at height %d: %w: its branch does not reach the tip's work", hash, h.Height, ErrLowWork)
}

// holdOrphan holds blk, whose parent is unknown, in the orphan pool if it
// passes the orphan rules (checkOrphan). One that breaks a rule (a child
// of a block refused as invalid, a bad proof of work) is refused and
// remembered; one refused with ErrLowWork is not. Callers hold c.mu.
func (c *Chain) holdOrphan(blk *types.Block, hash types.Hash, o Origin) (ProcessStatus, error) {
	if err := c.checkOrphan(&blk.Header, hash); err != nil {
		if consensus.IsRuleError(err) {
			c.reject(hash, err)
		}
		return 0, err
	}
	c.orphans.add(hash, blk, blk.EncodedSize(), o, c.cfg.Now())
	return StatusOrphan, nil
}

// checkOrphan applies the orphan rules to the header h of a block whose
// parent is unknown:
// height within maxOrphanLead of the tip's, target within
// orphanTargetSlack of the tip child's, proof of work against it. A block
// breaking them is refused with ErrLowWork (nothing is remembered: it may
// be valid, only not worth holding); one with a bad proof of work is
// refused as invalid, and so is a child of a block refused as invalid.
// Callers hold c.mu, at least for reading.
func (c *Chain) checkOrphan(h *types.Header, hash types.Hash) error {
	if h.Height == 0 {
		return consensus.NewRuleError(consensus.ErrBadGenesis, "block %s claims height 0", hash)
	}
	// A child of a block refused for good is invalid too: refuse it
	// rather than hold it as an orphan until it expires.
	if _, bad := c.rejected[h.Parent]; bad {
		return consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s was refused as invalid", h.Parent)
	}
	tipH := c.tip.height()
	if h.Height+maxOrphanLead < tipH || h.Height > tipH+maxOrphanLead {
		return fmt.Errorf("orphan %s at height %d, tip at %d: %w", hash, h.Height, tipH, ErrLowWork)
	}
	want := consensus.CompactToBig(c.params.NextBits(tipH, c.tip.header.Time))
	limit := new(big.Int).Mul(want, big.NewInt(orphanTargetSlack))
	if got := consensus.CompactToBig(h.Bits); got.Sign() <= 0 || got.Cmp(limit) > 0 {
		return fmt.Errorf("orphan %s declares bits %08x, easier than %d times the tip's next %08x: %w",
			hash, h.Bits, orphanTargetSlack, c.params.NextBits(tipH, c.tip.header.Time), ErrLowWork)
	}
	// Proof of work needs no context: without it, anyone could fill the
	// orphan pool for free and push out real orphans.
	return consensus.CheckProofOfWork(hash, h.Bits, c.params.PowLimit)
}

// storeBlock writes the header record and body of a, a block that does
// not extend the tip, in one batch, and adds it to the index: a candidate
// for the tip if its branch is complete and has more work, and so are the
// stored blocks below it that it completes (propagateChainData). Callers
// hold c.mu.
func (c *Chain) storeBlock(a *acceptedBlock) error {
	n := a.node
	n.status |= statusDataStored
	n.chainData = n.parent.chainData
	batch := new(leveldb.Batch)
	batch.Put(hashKey(prefixHeader, n.hash), encodeHeaderRecord(n))
	batch.Put(hashKey(prefixBlock, n.hash), a.block.Encode())
	if err := c.db.Write(batch, c.wopts); err != nil {
		n.status &^= statusDataStored
		n.chainData = false
		return fmt.Errorf("write block %s: %w", n.hash, err)
	}
	c.addNode(n)
	c.considerCandidate(n)
	c.propagateChainData(n)
	return nil
}

// propagateChainData marks the stored descendants of n as connectable once
// n is, and makes candidates of them; it reports whether any became one.
// Callers hold c.mu.
func (c *Chain) propagateChainData(n *blockNode) bool {
	if !n.chainData {
		return false
	}
	added := false
	stack := append([]*blockNode(nil), n.children...)
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.chainData || m.status&statusDataStored == 0 || c.isInvalid(m) {
			continue
		}
		m.chainData = true
		before := len(c.candidates)
		c.considerCandidate(m)
		added = added || len(c.candidates) > before
		stack = append(stack, m.children...)
	}
	return added
}

// condemned reports whether the block h is known to break a rule, so that
// every descendant of it does too. Callers hold c.mu, at least for
// reading.
func (c *Chain) condemned(h types.Hash) bool {
	if n := c.index[h]; n != nil {
		return c.isInvalid(n)
	}
	_, ok := c.rejected[h]
	return ok
}

// condemn is refuse with the invalid mark written at once; a failure to
// write it is logged (the block stays refused in memory). Callers hold
// c.mu.
func (c *Chain) condemn(n *blockNode, err error) {
	batch := new(leveldb.Batch)
	c.refuse(n, err, batch)
	if batch.Len() == 0 {
		return // never indexed: nothing to write
	}
	if werr := c.db.Write(batch, c.wopts); werr != nil {
		c.cfg.Logger.Error("write invalid mark", "hash", n.hash, "err", werr)
	}
}

// refuse records that n broke a rule: in the rejected set, and, for a
// block whose header is in the index (a stored block, or a header known
// from headers-first sync), as invalid in memory and in batch (its
// descendants by implication, see isInvalid). Callers hold c.mu.
func (c *Chain) refuse(n *blockNode, err error, batch *leveldb.Batch) {
	c.reject(n.hash, err)
	if c.index[n.hash] == n {
		c.markInvalid(n, batch)
	}
}

// reject remembers that the block hash broke a rule, with the reason, so
// that it is refused again without work. Callers hold c.mu.
func (c *Chain) reject(hash types.Hash, err error) {
	if len(c.rejected) >= 4096 {
		clear(c.rejected)
	}
	c.rejected[hash] = err
}
