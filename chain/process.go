package chain

import (
	"errors"
	"fmt"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// The block path, in the tiers of btcd's blockchain package:
//
//  1. checkBlockSanity (this file), before the lock: the context-free
//     rules — body and signatures — and the header against its parent as
//     precheck found it.
//  2. acceptBlock (accept.go), under the lock: duplicates, known-invalid
//     blocks and orphans are dealt with from the index; the header is
//     checked against its parent if it was not yet; the block gets its
//     index node.
//  3. connectBestChain (connect.go): the block extends the tip, is stored
//     on a side branch, or its branch wins and the chain reorganises.
//
// processOne runs tiers 2 and 3 for one block, ProcessBlockFrom the whole
// path and then the orphans that were waiting for the block.

// ProcessStatus says what ProcessBlock did with a block.
type ProcessStatus int

const (
	// StatusConnected: the block is on the main chain now (the tip moved).
	StatusConnected ProcessStatus = iota + 1
	// StatusSideChain: stored on a branch with no more work than the tip.
	StatusSideChain
	// StatusOrphan: parent unknown; held in the orphan pool.
	StatusOrphan
	// StatusDuplicate: already known; nothing done.
	StatusDuplicate
)

func (s ProcessStatus) String() string {
	switch s {
	case StatusConnected:
		return "connected"
	case StatusSideChain:
		return "side chain"
	case StatusOrphan:
		return "orphan"
	case StatusDuplicate:
		return "duplicate"
	}
	return fmt.Sprintf("ProcessStatus(%d)", int(s))
}

// Result reports the effect of ProcessBlock on the main chain, orphans
// connected along the way included. Disconnected lists blocks removed from
// the main chain, old tip first; Connected the blocks added, in order.
type Result struct {
	Status       ProcessStatus
	Connected    []*types.Block
	Disconnected []*types.Block
}

// ErrKnownInvalid is wrapped when a block was already found invalid.
var ErrKnownInvalid = errors.New("block already known invalid")

// ProcessBlock validates blk and adds it to the chain: extending the tip,
// storing it on a side branch, reorganising to a branch that now has more
// work, or holding it as an orphan. It returns a *consensus.RuleError for a
// block that breaks a rule (ErrTimeTooNew for one from the future, which
// may be offered again later), also when blk was stored on a side branch
// and connecting that branch showed blk or an ancestor invalid
// (ErrInvalidAncestor for the latter); the Result returned with such an
// error still reports any change of the main chain made before the fault
// was found. Safe for concurrent use.
func (c *Chain) ProcessBlock(blk *types.Block) (Result, error) {
	return c.ProcessBlockFrom(blk, Origin{})
}

// Origin says where a block handed to ProcessBlockFrom came from.
type Origin struct {
	// Peer names the peer that sent the block; empty for this node's own
	// blocks (mined, or submitted over RPC).
	Peer string
	// Unrequested marks a block relayed by gossip rather than asked for by
	// sync (see ProcessBlockFrom).
	Unrequested bool
}

// ErrLowWork is returned, wrapped, for an unrequested block whose branch
// has less work than the tip, and by ProcessHeaders for headers whose branch
// stays below AntiDoSWork: nothing of them is stored. It is no rule
// violation (an honest peer on a losing branch sends such blocks); a relay
// should ignore the block, not penalise its sender.
var ErrLowWork = errors.New("branch has too little work")

// Orphan acceptance: a block whose parent is unknown is held only if it
// is near the tip — at most maxOrphanLead blocks above or below it — and
// declares a target at most orphanTargetSlack times that of the
// tip's child, so that its proof of work, checked against the bits it
// declares, costs about as much as a real block.
const (
	maxOrphanLead     = 32
	orphanTargetSlack = 4
)

// ProcessBlockFrom is ProcessBlock for a block from origin o. A block with
// o.Unrequested (relayed by gossip) is processed and stored only if its
// branch has at least the tip's work or it is on the best header chain
// (sync would fetch it); otherwise it fails with ErrLowWork and nothing is
// stored. An orphan is held only if it passes the orphan rules above.
//
// The expensive checks — proof of work, the body rules and every
// signature — begin before the chain lock is taken; under the lock the
// block is looked up again and connected or stored. The signatures are
// batch-verified on other goroutines (startSigCheck) from before the lock
// until they are needed: a block that extends the tip is applied under
// the lock meanwhile, and its commit waits for them, so the lock is held
// for the longer of the two rather than for their sum, and the cores that
// verify are not idle while one applies; any other block waits for them
// before it is stored or held (awaitSignatures). A block of a few txs is
// verified at once, before the lock.
func (c *Chain) ProcessBlockFrom(blk *types.Block, o Origin) (Result, error) {
	if err := c.Fault(); err != nil {
		return Result{}, err
	}
	hash := blk.Hash()
	pre, err := c.precheck(&blk.Header, hash, o)
	if consensus.IsRuleError(err) {
		// Invalid ancestry or proof of work: remembered, as the header is
		// at fault, and so are the orphans waiting for it.
		c.mu.Lock()
		c.reject(hash, err)
		var res Result
		c.takeOrphans(hash, &res)
		c.mu.Unlock()
		return res, err
	}
	if err != nil || pre.status != 0 {
		return Result{Status: pre.status}, err
	}
	ids, err := c.checkBlockSanity(blk, hash, pre)
	if err != nil {
		return Result{}, err
	}
	sigs := c.startSigCheck(blk, ids)
	defer sigs.cancel() // after the unlock: deferred calls run last first

	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{}
	checked := &checkedBlock{ids: ids, headerChecked: pre.checkHeader, sigs: sigs}
	st, err := c.processOne(blk, o, checked, &res)
	res.Status = st
	if st == StatusOrphan || st == StatusDuplicate || err != nil && !c.condemned(hash) {
		return res, err
	}
	c.takeOrphans(hash, &res)
	if err != nil {
		return res, err
	}
	if len(res.Connected) > 0 && res.Status == StatusSideChain {
		res.Status = StatusConnected
	}
	return res, nil
}

// checkBlockSanity runs the checks of blk that need no lock, in this
// order: the body rules (context-free) and the header against its parent
// as precheck found it (if pre.checkHeader). It returns blk's tx ids. A
// body that breaks a rule does not condemn the block hash, since a
// relayed copy could break them without the header being at fault; a
// header that does is remembered (taking the lock for that moment only).
// The signatures are checked after it (startSigCheck, awaitSignatures).
func (c *Chain) checkBlockSanity(blk *types.Block, hash types.Hash, pre prechecked) ([]types.Hash, error) {
	ids := txIDs(blk)
	if err := c.params.CheckBlockBody(blk, ids, blk.EncodedSize()); err != nil {
		// Body rules that a relayed copy could break without the header
		// being at fault (size, txRoot, duplicates) do not condemn the
		// block hash.
		return nil, err
	}
	if pre.checkHeader {
		if err := c.params.CheckHeader(&blk.Header, hash, pre.parent, c.cfg.Now().UnixMilli()); err != nil {
			if consensus.CodeOf(err) != consensus.ErrTimeTooNew {
				c.mu.Lock()
				c.reject(hash, err)
				c.mu.Unlock()
			}
			return nil, err
		}
	}
	return ids, nil
}

// awaitSignatures waits for the signature check of the block hash that
// ProcessBlockFrom started (checked.sigs), and condemns the block if a
// signature does not verify: txRoot commits to the signatures, so the
// header is at fault. Callers hold c.mu.
func (c *Chain) awaitSignatures(checked *checkedBlock, hash types.Hash) error {
	err := checked.sigs.wait()
	if err != nil {
		if n := c.index[hash]; n != nil {
			c.condemn(n, err)
		} else {
			c.reject(hash, err)
		}
	}
	return err
}

// processOne accepts blk (acceptBlock) and connects the best chain with it
// (connectBestChain): the two tiers under the lock. checked says what blk
// passed before; for an orphan taken from the pool, nothing of this call.
// Callers hold c.mu.
func (c *Chain) processOne(blk *types.Block, o Origin, checked *checkedBlock, res *Result) (ProcessStatus, error) {
	a, st, err := c.acceptBlock(blk, o, checked)
	if a == nil {
		return st, err
	}
	return c.connectBestChain(a, res)
}

// takeOrphans connects the orphans waiting for block h, breadth first;
// those waiting for a block found invalid are refused in turn. Their
// bodies and signatures were checked before they were held. Callers hold
// c.mu.
func (c *Chain) takeOrphans(h types.Hash, res *Result) {
	queue := []types.Hash{h}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, kid := range c.orphans.takeChildren(h) {
			kh := kid.block.Hash()
			if _, err := c.processOne(kid.block, kid.origin, &checkedBlock{}, res); err != nil {
				c.cfg.Logger.Debug("orphan refused", "hash", kh, "err", err)
				if c.condemned(kh) {
					queue = append(queue, kh) // its own orphans are refused in turn
				}
				continue
			}
			queue = append(queue, kh)
		}
	}
}

// prechecked is what precheck learnt under the read lock.
type prechecked struct {
	status      ProcessStatus // StatusDuplicate: nothing more to do
	checkHeader bool          // the header is not in the index: check it against parent
	parent      consensus.ParentInfo
}

// checkedBlock records the checks a block passed before the lock was
// taken: its tx ids (nil: the body and signatures were checked when it
// was held as an orphan), if headerChecked the header rules, and the
// verification of its signatures, which may still be running.
type checkedBlock struct {
	ids           []types.Hash
	headerChecked bool
	sigs          *sigCheck // the signatures, being verified; nil: verified
}

// precheck does the cheap checks of ProcessBlockFrom under the read lock,
// which it takes itself: known, known invalid, unrequested and too little
// work, orphan rules (for an orphan, proof of work included).
func (c *Chain) precheck(h *types.Header, hash types.Hash, o Origin) (prechecked, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, st, err := c.knownBlock(hash)
	if st != 0 || err != nil {
		return prechecked{status: st}, err
	}
	parent := c.index[h.Parent]
	if parent == nil {
		return prechecked{}, c.checkOrphan(h, hash)
	}
	if c.isInvalid(parent) {
		return prechecked{}, consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s is invalid", parent.hash)
	}
	if o.Unrequested {
		if err := c.checkWanted(n, parent, h, hash); err != nil {
			return prechecked{}, err
		}
	}
	if n != nil {
		return prechecked{}, nil // its header passed the rules in ProcessHeaders
	}
	return prechecked{checkHeader: true, parent: parent.parentInfo()}, nil
}

// WantBlock tells a relay, from a block's header alone, whether the block
// is worth decoding and processing as an unrequested block: nil if so;
// StatusDuplicate if it is stored or held already; an error wrapping
// ErrLowWork if ProcessBlockFrom would refuse it for too little work, a
// *consensus.RuleError or ErrKnownInvalid if it is invalid. Safe for
// concurrent use; it takes the read lock only.
func (c *Chain) WantBlock(h *types.Header) (ProcessStatus, error) {
	pre, err := c.precheck(h, h.Hash(), Origin{Unrequested: true})
	return pre.status, err
}

// knownBlock looks the block hash up among those known already: stored,
// or held as an orphan (StatusDuplicate); known invalid, or refused before
// (an error wrapping ErrKnownInvalid). Otherwise it returns status 0 and
// the index node of the block's header if the header is known (from
// headers-first sync), else nil. Callers hold c.mu, at least for reading.
func (c *Chain) knownBlock(hash types.Hash) (*blockNode, ProcessStatus, error) {
	n := c.index[hash]
	if n != nil {
		if c.isInvalid(n) {
			return nil, 0, fmt.Errorf("block %s: %w", hash, ErrKnownInvalid)
		}
		if n.status&statusDataStored != 0 {
			return nil, StatusDuplicate, nil
		}
	}
	if err, ok := c.rejected[hash]; ok {
		return nil, 0, fmt.Errorf("block %s: %w: %w", hash, ErrKnownInvalid, err)
	}
	if c.orphans.has(hash) {
		return nil, StatusDuplicate, nil
	}
	return n, 0, nil
}
