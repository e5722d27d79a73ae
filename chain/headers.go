package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// Headers-first sync (docs/PROTOCOL.md §23): a node first accepts a peer's header
// chain — proof of work, difficulty, time and height checked against each
// header's parent — into the index without bodies, then fetches the bodies
// of the best header chain and imports them in order with ProcessBlock.

// ErrUnconnected is returned by ProcessHeaders for a header whose parent is
// not known: the peer's headers do not connect to this node's index.
var ErrUnconnected = errors.New("header does not connect to a known header")

// MaxHeadersPerRequest is the most headers one answer carries.
const MaxHeadersPerRequest = 2000

// AntiDoSBlocks is how many blocks' worth of work (at the tip's
// difficulty) a header branch may stay below the tip's work and still be
// stored: the anti-DoS work threshold of Bitcoin Core, whose 144 blocks
// cairn keeps. See AntiDoSWork.
const AntiDoSBlocks = 144

// AntiDoSWork returns the least total work a header branch must have for
// its headers to be stored: the tip's work minus AntiDoSBlocks blocks of
// the tip's work, and at least Config.MinChainWork. Below it, headers cost
// a peer almost nothing to make (a branch forked from an old block can
// drift to the easiest target), so sync checks them outside the index
// (CheckHeaders) until their branch passes it. Safe for concurrent use.
func (c *Chain) AntiDoSWork() *big.Int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.antiDoSWorkLocked()
}

// antiDoSWorkLocked is AntiDoSWork for callers that hold c.mu, at least
// for reading.
func (c *Chain) antiDoSWorkLocked() *big.Int {
	w := new(big.Int).Mul(consensus.CalcWork(c.tip.header.Bits), big.NewInt(AntiDoSBlocks))
	w.Sub(c.tip.work, w)
	if w.Sign() < 0 {
		w.SetInt64(0)
	}
	if m := c.cfg.MinChainWork; m != nil && w.Cmp(m) < 0 {
		w.Set(m)
	}
	return w
}

// ProcessHeaders validates hs, in order, against their parents and adds the
// new ones to the index (and the database, so that a restarted sync keeps
// them) without bodies, if the branch they end has at least AntiDoSWork;
// it is ProcessHeadersProven with no proof.
func (c *Chain) ProcessHeaders(hs []types.Header) (int, error) {
	return c.ProcessHeadersProven(hs, nil)
}

// ProcessHeadersProven validates hs, in order, against their parents and
// adds the new ones to the index and the database, without bodies. It
// returns how many were new. A header that breaks a rule stops the
// processing with its *consensus.RuleError (ErrTimeTooNew for one from the
// future); one whose parent is unknown with ErrUnconnected. Headers before
// the fault stay accepted if they qualify:
//
// New headers are stored only if the branch reaches AntiDoSWork: the last
// valid header's total work, or proven — the total work of a descendant
// of that header which the caller checked with CheckHeaders (sync checks a
// long branch first and stores it batch by batch once its end qualifies).
// Otherwise nothing is stored and the error wraps ErrLowWork. Safe for
// concurrent use.
func (c *Chain) ProcessHeadersProven(hs []types.Header, proven *big.Int) (int, error) {
	if err := c.Fault(); err != nil {
		return 0, err
	}
	hashes := make([]types.Hash, len(hs))
	for i := range hs {
		hashes[i] = hs[i].Hash()
	}
	// Skip the headers known already; stop at one known invalid.
	c.mu.RLock()
	skip := 0
	var ferr error
	for ; skip < len(hs); skip++ {
		n := c.index[hashes[skip]]
		if n == nil {
			break
		}
		if c.isInvalid(n) {
			ferr = fmt.Errorf("header %s: %w", hashes[skip], ErrKnownInvalid)
			break
		}
	}
	c.mu.RUnlock()
	if ferr != nil || skip == len(hs) {
		return 0, ferr
	}
	// Check the rest by every rule without the lock: the work is in the
	// proofs of work and ASERT, not in the index.
	hs, hashes = hs[skip:], hashes[skip:]
	cur, err := c.Cursor(hs[0].Parent)
	if err != nil {
		if errors.Is(err, ErrKnownInvalid) {
			err = consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s of header %s is invalid", hs[0].Parent, hashes[0])
			c.mu.Lock()
			c.reject(hashes[0], err)
			c.mu.Unlock()
			return 0, err
		}
		return 0, fmt.Errorf("header %s at height %d: %w (parent %s)", hashes[0], hs[0].Height, ErrUnconnected, hs[0].Parent)
	}
	works := make([]*big.Int, len(hs))
	_, valid, ferr := c.checkHeaders(cur, hs, hashes, works)
	if ferr != nil && consensus.IsRuleError(ferr) && consensus.CodeOf(ferr) != consensus.ErrTimeTooNew {
		c.mu.Lock()
		c.reject(hashes[valid], ferr)
		c.mu.Unlock()
	}
	if valid == 0 {
		return 0, ferr
	}
	hs, hashes = hs[:valid], hashes[:valid]
	// The nodes and their records, built before the lock too; linked to
	// their parents under it.
	nodes := make([]*blockNode, len(hs))
	records := make([][]byte, len(hs))
	for i := range hs {
		nodes[i] = &blockNode{hash: hashes[i], header: hs[i], work: works[i]}
		records[i] = encodeHeaderRecord(nodes[i])
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	parent := c.index[hs[0].Parent]
	if parent == nil || c.isInvalid(parent) {
		// Marked invalid meanwhile (the index only grows).
		return 0, consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s of header %s is invalid", hs[0].Parent, hashes[0])
	}
	var added []*blockNode
	batch := new(leveldb.Batch)
	for i, n := range nodes {
		if old := c.index[n.hash]; old != nil { // stored meanwhile by another peer's batch
			parent = old
			continue
		}
		n.parent = parent
		n.setSkip()
		added = append(added, n)
		batch.Put(hashKey(prefixHeader, n.hash), records[i])
		parent = n
	}
	if len(added) == 0 {
		return 0, ferr
	}
	last := added[len(added)-1]
	if threshold := c.antiDoSWorkLocked(); last.work.Cmp(threshold) < 0 && (proven == nil || proven.Cmp(threshold) < 0) {
		err := fmt.Errorf("%d headers up to height %d: %w: work %s below the anti-DoS threshold %s",
			len(added), last.height(), ErrLowWork, last.work, threshold)
		if ferr != nil {
			err = fmt.Errorf("%w (and then: %w)", err, ferr)
		}
		return 0, err
	}
	if err := c.db.Write(batch, c.wopts); err != nil {
		return 0, fmt.Errorf("write headers: %w", err)
	}
	for _, n := range added {
		c.seq++
		n.seq = c.seq
		c.addNode(n)
	}
	c.cfg.Logger.Debug("accepted headers", "count", len(added), "height", last.height(), "hash", last.hash)
	return len(added), ferr
}

// HeaderCursor is the end of a header chain being checked outside the
// index by CheckHeaders: a header's hash, height and total work, and the
// times of it and its predecessors that the next header's rules need.
type HeaderCursor struct {
	Hash   types.Hash
	Height uint64
	Work   *big.Int
	times  [consensus.MedianTimeBlocks]int64 // oldest first; the last nTimes hold
	nTimes int
}

func (hc *HeaderCursor) parentInfo() consensus.ParentInfo {
	ts := hc.times[len(hc.times)-hc.nTimes:]
	return consensus.ParentInfo{Height: hc.Height, Time: ts[len(ts)-1], MedianTimePast: consensus.MedianTimePast(ts)}
}

func (hc *HeaderCursor) advance(h *types.Header, hash types.Hash) {
	copy(hc.times[:], hc.times[1:])
	hc.times[len(hc.times)-1] = h.Time
	hc.nTimes = min(hc.nTimes+1, len(hc.times))
	hc.Hash, hc.Height = hash, h.Height
	hc.Work = new(big.Int).Add(hc.Work, consensus.CalcWork(h.Bits))
}

// Cursor returns a HeaderCursor at the indexed header h, which must not be
// known invalid. Safe for concurrent use.
func (c *Chain) Cursor(h types.Hash) (HeaderCursor, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[h]
	if n == nil {
		return HeaderCursor{}, fmt.Errorf("header %s: %w", h, ErrUnconnected)
	}
	if c.isInvalid(n) {
		return HeaderCursor{}, fmt.Errorf("header %s: %w", h, ErrKnownInvalid)
	}
	hc := HeaderCursor{Hash: n.hash, Height: n.height(), Work: new(big.Int).Set(n.work)}
	for m := n; m != nil && hc.nTimes < len(hc.times); m = m.parent {
		hc.nTimes++
		hc.times[len(hc.times)-hc.nTimes] = m.header.Time
	}
	return hc, nil
}

// CheckHeaders checks hs, in order, as the continuation of the chain
// ending at cur, by every header rule, without storing anything, and
// returns the cursor at the last header that passed with how many did.
// The first header that fails stops it with its error: ErrUnconnected if
// it does not follow the previous one, ErrKnownInvalid if it was refused
// before, or its *consensus.RuleError. Safe for concurrent use; the chain
// lock is held only to look up refused hashes.
func (c *Chain) CheckHeaders(cur HeaderCursor, hs []types.Header) (HeaderCursor, int, error) {
	hashes := make([]types.Hash, len(hs))
	for i := range hs {
		hashes[i] = hs[i].Hash()
	}
	return c.checkHeaders(cur, hs, hashes, nil)
}

// checkHeaders is CheckHeaders for headers already hashed; if works is not
// nil, works[i] is set to the total work at hs[i] for each that passed.
// Like CheckHeaders it takes the read lock itself, briefly: callers must
// not hold c.mu.
func (c *Chain) checkHeaders(cur HeaderCursor, hs []types.Header, hashes []types.Hash, works []*big.Int) (HeaderCursor, int, error) {
	refused := -1
	var rerr error
	c.mu.RLock()
	for i, h := range hashes {
		if err, ok := c.rejected[h]; ok {
			refused, rerr = i, err
			break
		}
	}
	c.mu.RUnlock()
	now := c.cfg.Now().UnixMilli()
	for i := range hs {
		h := &hs[i]
		if i == refused {
			return cur, i, fmt.Errorf("header %s: %w: %w", hashes[i], ErrKnownInvalid, rerr)
		}
		if h.Parent != cur.Hash {
			return cur, i, fmt.Errorf("header %s at height %d: %w (parent %s, expected %s)", hashes[i], h.Height, ErrUnconnected, h.Parent, cur.Hash)
		}
		if err := c.params.CheckHeader(h, hashes[i], cur.parentInfo(), now); err != nil {
			return cur, i, err
		}
		cur.advance(h, hashes[i])
		if works != nil {
			works[i] = cur.Work // a new value at each advance
		}
	}
	return cur, len(hs), nil
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
