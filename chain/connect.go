package chain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// Connecting the best chain, the third tier of the block path (see
// process.go), after btcd's connectBestChain: fork choice by most work,
// the first seen winning a tie (docs/PROTOCOL.md §17 Fork choice).

// connectBestChain stores the accepted block a and keeps the branch with
// the most work as the main chain. There are three cases:
//
//   - a extends the tip: it is connected, and stored in the same batch
//     (extendTip, the one-block case of switchBranch);
//   - a lands on a side branch with no more work than the tip: it is only
//     stored (storeBlock);
//   - a's branch, or a branch of stored blocks that a completes, now has
//     more work than the tip: the chain reorganises to it
//     (reorganizeFor).
//
// Callers hold c.mu.
func (c *Chain) connectBestChain(a *acceptedBlock, res *Result) (ProcessStatus, error) {
	if a.node.parent == c.tip {
		return c.extendTip(a, res)
	}
	if err := c.storeBlock(a); err != nil {
		return 0, err
	}
	if best := c.bestCandidate(); best == nil || best.work.Cmp(c.tip.work) <= 0 {
		c.cfg.Logger.Debug("stored side-chain block", "height", a.node.height(), "hash", a.node.hash)
		return StatusSideChain, nil
	}
	return c.reorganizeFor(a, res)
}

// extendTip connects a, a child of the tip: a switch of branch with
// nothing to detach and one block to attach, whose batch stores a as well.
// Bodies that arrived before a (headers-first sync) may follow it at once.
// Callers hold c.mu.
func (c *Chain) extendTip(a *acceptedBlock, res *Result) (ProcessStatus, error) {
	sw := c.planSwitch(a.node, a)
	err := c.switchBranch(sw, res)
	if sw.invalid != nil {
		// a broke a rule: its body is not stored.
		if err != nil {
			c.cfg.Logger.Error("write invalid mark", "hash", a.node.hash, "err", err)
		}
		return 0, sw.invalid
	}
	if err != nil {
		return 0, err
	}
	if c.propagateChainData(a.node) {
		if err := c.activateBestChain(res); err != nil {
			return StatusConnected, err
		}
	}
	return StatusConnected, nil
}

// activateBestChain reorganises to the best candidate as long as one has
// more work than the tip (docs/PROTOCOL.md §17 Fork choice). The whole new
// branch is validated in memory before anything is written; a block that
// breaks a rule is marked invalid with its descendants, and the search
// starts again, so the node settles on the best valid chain. Each switch
// is one batch. Callers hold c.mu.
func (c *Chain) activateBestChain(res *Result) error {
	for {
		cand := c.bestCandidate()
		if cand == nil || cand.work.Cmp(c.tip.work) <= 0 {
			return nil
		}
		if err := c.reorganize(cand, res); err != nil {
			return err
		}
	}
}

// bestCandidate returns the candidate that should be the tip. Callers hold
// c.mu.
func (c *Chain) bestCandidate() *blockNode {
	var best *blockNode
	for n := range c.candidates {
		if c.isInvalid(n) {
			delete(c.candidates, n)
			continue
		}
		if best == nil || n.betterThan(best) {
			best = n
		}
	}
	return best
}

// reorganizeFor reorganises to the best branch now that a, stored, makes
// or completes one with more work than the tip (activateBestChain). a is
// then connected (StatusConnected), or left on a side branch if another
// branch won or its own broke a rule below it. If connecting showed a or
// an ancestor invalid, a is refused with its rule error, or
// ErrInvalidAncestor for an ancestor's; the Result still reports what the
// main chain did meanwhile. Callers hold c.mu.
func (c *Chain) reorganizeFor(a *acceptedBlock, res *Result) (ProcessStatus, error) {
	before := len(res.Connected)
	if err := c.activateBestChain(res); err != nil {
		return 0, err
	}
	n := a.node
	if c.isInvalid(n) {
		// Connecting the branch showed that n, or one of its ancestors,
		// breaks a rule: refuse n like any invalid block, so that it is
		// not relayed.
		if err, ok := c.rejected[n.hash]; ok && n.status&statusInvalid != 0 {
			return 0, err
		}
		return 0, consensus.NewRuleError(consensus.ErrInvalidAncestor, "an ancestor of %s broke a rule when its branch was connected", n.hash)
	}
	if len(res.Connected) > before {
		return StatusConnected, nil
	}
	c.cfg.Logger.Debug("stored side-chain block", "height", n.height(), "hash", n.hash)
	return StatusSideChain, nil
}

// reorganize makes the branch of the stored block target the main chain,
// or as much of it as is valid if that beats the tip. Callers hold c.mu.
func (c *Chain) reorganize(target *blockNode, res *Result) error {
	return c.switchBranch(c.planSwitch(target, nil), res)
}

// branchSwitch is one change of the main chain: from oldTip back to fork,
// and from fork on to target.
type branchSwitch struct {
	oldTip, fork, target *blockNode
	detach               []*blockNode // old tip first
	attach               []*blockNode // the fork's child first
	// pending is the block being accepted when it extends the tip (attach
	// is then just its node): its body is in memory and is stored by the
	// switch's batch. nil for a switch between stored blocks.
	pending *acceptedBlock
	start   time.Time
	// invalid is the rule error of the block of attach found invalid, if
	// one was.
	invalid error
}

// attachedBlock is a block of a branch being attached that connected on
// the state view, with what its connection writes.
type attachedBlock struct {
	node    *blockNode
	block   *types.Block
	ids     []types.Hash
	senders []types.Address
	undo    []undoEntry
}

// planSwitch finds the fork between the tip and target and lists the
// blocks to detach and attach. pending, if not nil, is target's accepted
// block, a child of the tip. Callers hold c.mu.
func (c *Chain) planSwitch(target *blockNode, pending *acceptedBlock) *branchSwitch {
	sw := &branchSwitch{oldTip: c.tip, target: target, pending: pending, start: time.Now()}
	if pending != nil {
		sw.start = pending.start
	}
	sw.fork = findFork(c.tip, target)
	for n := c.tip; n != sw.fork; n = n.parent {
		sw.detach = append(sw.detach, n)
	}
	for n := target; n != sw.fork; n = n.parent {
		sw.attach = append(sw.attach, n)
	}
	slices.Reverse(sw.attach)
	return sw
}

// switchBranch carries out sw in steps: detach the old branch from a
// state view (detachBlocks); attach the new one on it, validating every
// block, up to the first that breaks a rule, which is marked invalid
// (attachBlocks); then, if what attached has more work than the old tip,
// write it all in one batch (commitSwitch) and report it
// (reportSwitch); otherwise keep the tip and write only the invalid marks.
// Callers hold c.mu.
func (c *Chain) switchBranch(sw *branchSwitch, res *Result) error {
	view := newStateView(c.db, &c.lt)
	detached, err := c.detachBlocks(view, sw)
	if err != nil {
		return err
	}
	marks := new(leveldb.Batch) // invalid marks: written whatever happens
	attached, err := c.attachBlocks(view, sw, marks)
	if err != nil {
		return err
	}
	newTip := sw.fork
	if len(attached) > 0 {
		newTip = attached[len(attached)-1].node
	}
	if newTip.work.Cmp(sw.oldTip.work) <= 0 {
		// The valid part of the branch does not beat the tip: keep the tip
		// and record only the invalid marks.
		return c.writeMarks(marks)
	}
	if err := c.commitSwitch(sw, view, detached, attached, marks); err != nil {
		var bad badSignatures
		if !errors.As(err, &bad) {
			return err
		}
		// The pending block applied, but a signature of it does not
		// verify: refuse it, and write only the invalid marks.
		c.refuse(sw.pending.node, bad.err, marks)
		sw.invalid = bad.err
		return c.writeMarks(marks)
	}
	c.reportSwitch(sw, res, detached, attached)
	return nil
}

// detachBlocks reverts the blocks of sw.detach on view with their undo
// records, tip first, and returns them in that order. Callers hold c.mu.
func (c *Chain) detachBlocks(view *stateView, sw *branchSwitch) ([]*types.Block, error) {
	var detached []*types.Block
	for _, n := range sw.detach {
		blk, err := c.readBlock(n.hash)
		if err != nil {
			return nil, err
		}
		ub, err := getRecord(c.db, hashKey(prefixUndo, n.hash), "undo record of "+n.hash.String())
		if err != nil {
			return nil, err
		}
		undo, err := decodeUndo(ub)
		if err != nil {
			return nil, c.db.failed(err)
		}
		if err := view.disconnect(undo, n.parent.header.StateRoot); err != nil {
			return nil, err
		}
		detached = append(detached, blk)
	}
	return detached, nil
}

// attachBlocks connects the blocks of sw.attach on view, in order, and
// returns those that connected. The first block that breaks a rule ends
// the branch: it is refused, with its invalid mark put in marks, and its
// error kept in sw.invalid. Any other error stops the switch. Callers hold
// c.mu.
func (c *Chain) attachBlocks(view *stateView, sw *branchSwitch, marks *leveldb.Batch) ([]attachedBlock, error) {
	var attached []attachedBlock
	for _, n := range sw.attach {
		blk, ids, err := c.branchBlock(sw, n)
		if err != nil {
			return nil, err
		}
		undo, senders, err := view.connect(c.params, blk)
		if p := sw.pending; err != nil && p != nil && p.node == n {
			// Its signatures are being verified while it is applied
			// (commitSwitch waits for them); a bad one is its first fault,
			// whatever the apply found.
			if serr := p.sigs.wait(); serr != nil {
				err = serr
			}
		}
		if err != nil {
			if !consensus.IsRuleError(err) {
				return nil, err
			}
			if sw.pending == nil {
				c.cfg.Logger.Warn("invalid block in heavier branch", "height", n.height(), "hash", n.hash, "err", err)
			}
			c.refuse(n, err, marks) // the reason, for ProcessBlock's answer
			sw.invalid = err
			break
		}
		n.status |= statusValid
		attached = append(attached, attachedBlock{node: n, block: blk, ids: ids, senders: senders, undo: undo})
	}
	return attached, nil
}

// branchBlock returns the block of n, a block of sw.attach, and its tx
// ids: the pending block from memory, any other read from the database.
func (c *Chain) branchBlock(sw *branchSwitch, n *blockNode) (*types.Block, []types.Hash, error) {
	if p := sw.pending; p != nil && p.node == n {
		return p.block, p.ids, nil
	}
	blk, err := c.readBlock(n.hash)
	if err != nil {
		return nil, nil, err
	}
	return blk, txIDs(blk), nil
}

// commitSwitch writes the switch in one batch — the pending block's body
// and record, the invalid marks, the records of the detached blocks
// removed, those of the attached blocks written (writeConnect), the
// history index records of both, the changed accounts and the new tip — and then moves the tip in memory.
// Callers hold c.mu.
func (c *Chain) commitSwitch(sw *branchSwitch, view *stateView, detached []*types.Block, attached []attachedBlock, marks *leveldb.Batch) error {
	newTip := attached[len(attached)-1].node
	batch := new(leveldb.Batch)
	p := sw.pending
	if p != nil {
		// Its header record, stored or not before, goes with writeConnect.
		p.node.status |= statusDataStored
		p.node.chainData = true // its parent is the tip
		batch.Put(hashKey(prefixBlock, p.node.hash), p.block.Encode())
	}
	if err := marks.Replay(batch); err != nil {
		return err
	}
	// Deletes first: a batch applies in order, so a tx in both branches
	// ends at its place in the new one, and a height below the new tip
	// maps to its new block.
	for i, n := range sw.detach {
		if n.height() > newTip.height() {
			batch.Delete(heightKey(n.height()))
		}
		batch.Delete(hashKey(prefixUndo, n.hash))
		ids := txIDs(detached[i])
		for _, id := range ids {
			batch.Delete(hashKey(prefixTx, id))
		}
		deleteHistory(batch, historyOf(c.params, detached[i], ids, nil))
	}
	for _, a := range attached {
		writeConnect(batch, a)
		putHistory(batch, historyOf(c.params, a.block, a.ids, a.senders))
	}
	view.write(batch)
	batch.Put(keyTip, newTip.hash[:])
	if p != nil {
		// The pending block's signatures were verified while it was
		// applied and its batch built; nothing is written before they
		// all are.
		if err := p.sigs.wait(); err != nil {
			unmarkPending(p)
			return badSignatures{err}
		}
	}
	if p != nil && !c.wopts.Sync {
		// A block extending the tip is written behind: the next block's
		// decode, checks and signatures need no database, so its write
		// does not hold the cores up. Every read waits for it but those
		// of accounts, which take the ones it writes from view.accts.
		c.db.writeBehind(batch, c.wopts, view.accts)
	} else if err := c.db.Write(batch, c.wopts); err != nil {
		if p != nil {
			unmarkPending(p)
			return fmt.Errorf("write block %s: %w", p.node.hash, err)
		}
		return fmt.Errorf("write reorganisation to %s: %w", newTip.hash, err)
	}
	if p != nil {
		c.addNode(p.node)
	}
	c.lt = view.lt
	c.setTip(newTip)
	return nil
}

// writeMarks writes the invalid marks of a switch that leaves the tip
// where it is, if there are any. Callers hold c.mu.
func (c *Chain) writeMarks(marks *leveldb.Batch) error {
	if marks.Len() == 0 {
		return nil
	}
	if err := c.db.Write(marks, c.wopts); err != nil {
		return fmt.Errorf("write invalid marks: %w", err)
	}
	return nil
}

// unmarkPending takes back what commitSwitch marked on the pending block
// before its batch was written, when it is not.
func unmarkPending(p *acceptedBlock) {
	p.node.status &^= statusDataStored | statusValid
	p.node.chainData = false
}

// badSignatures is commitSwitch's answer when a signature of the pending
// block does not verify: err, its rule error.
type badSignatures struct{ err error }

func (b badSignatures) Error() string { return b.err.Error() }

// writeConnect adds the records of connecting a to batch: undo, main-chain
// height, tx locations, header record with its status. Callers hold c.mu.
func writeConnect(batch *leveldb.Batch, a attachedBlock) {
	n := a.node
	batch.Put(hashKey(prefixUndo, n.hash), encodeUndo(a.undo))
	batch.Put(heightKey(n.height()), n.hash[:])
	for i, id := range a.ids {
		batch.Put(hashKey(prefixTx, id), encodeTxLoc(n.hash, i))
	}
	batch.Put(hashKey(prefixHeader, n.hash), encodeHeaderRecord(n))
}

// reportSwitch adds a committed switch to res and logs it: one line per
// imported block when the tip was extended, one per reorganisation
// otherwise.
func (c *Chain) reportSwitch(sw *branchSwitch, res *Result, detached []*types.Block, attached []attachedBlock) {
	res.Disconnected = append(res.Disconnected, detached...)
	for _, a := range attached {
		res.Connected = append(res.Connected, a.block)
	}
	newTip := attached[len(attached)-1].node
	took := time.Since(sw.start).Round(time.Microsecond)
	switch {
	case sw.pending != nil:
		c.cfg.Logger.Info("imported block", "height", newTip.height(), "hash", newTip.hash,
			"txs", len(sw.pending.block.Txs), "took", took)
	case len(detached) > 0:
		c.cfg.Logger.Info("reorganized", "depth", len(detached), "old", sw.oldTip.hash, "new", newTip.hash,
			"height", newTip.height(), "connected", len(attached), "took", took)
	default:
		c.cfg.Logger.Info("connected branch", "height", newTip.height(), "hash", newTip.hash, "blocks", len(attached))
	}
}

// setTip moves the tip to n, updates the main chain and prunes candidates
// that can no longer win. Callers hold c.mu.
func (c *Chain) setTip(n *blockNode) {
	c.tip = n
	c.publishTip()
	fork := n
	for fork.height() >= uint64(len(c.main)) || c.main[fork.height()] != fork {
		fork = fork.parent
	}
	c.main = c.main[:fork.height()+1]
	var path []*blockNode
	for it := n; it != fork; it = it.parent {
		path = append(path, it)
	}
	for i := len(path) - 1; i >= 0; i-- {
		c.main = append(c.main, path[i])
	}
	for cand := range c.candidates {
		if cand.work.Cmp(n.work) <= 0 {
			delete(c.candidates, cand)
		}
	}
}

// readBlock reads and decodes the stored block h: ErrCorrupt, and the
// store's fault, if its record is missing, damaged or does not decode;
// other read errors classified by the store. It needs no lock.
func (c *Chain) readBlock(h types.Hash) (*types.Block, error) {
	b, err := getRecord(c.db, hashKey(prefixBlock, h), "block "+h.String())
	if err != nil {
		return nil, err
	}
	return c.decodeStoredBlock(h, b)
}

// decodeStoredBlock decodes b, the stored record of block h: ErrCorrupt,
// and the store's fault, if it does not decode.
func (c *Chain) decodeStoredBlock(h types.Hash, b []byte) (*types.Block, error) {
	blk, err := types.DecodeBlock(b, types.MaxBlockSizeLimit)
	if err != nil {
		return nil, c.db.failed(fmt.Errorf("%w: block %s: %w", ErrCorrupt, h, err))
	}
	return blk, nil
}
