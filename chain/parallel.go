package chain

import (
	"runtime"
	"sync"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// minParallel is the smallest amount of work worth splitting across cores.
const minParallel = 64

// forEachChunk calls fn on consecutive chunks [lo, hi) covering [0, n),
// one chunk per core when n is large enough, and returns when all are done.
// The goroutines it starts never outlive the call (like btcd's per-block
// script validation), so the package still owns no background goroutine.
func forEachChunk(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n/minParallel {
		workers = n / minParallel
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := step; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Go(func() { fn(lo, hi) })
	}
	fn(0, min(step, n))
	wg.Wait()
}

// txIDs returns the ids of blk's transactions, hashed on every core.
func txIDs(blk *types.Block) []types.Hash {
	ids := make([]types.Hash, len(blk.Txs))
	forEachChunk(len(ids), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ids[i] = blk.Txs[i].ID()
		}
	})
	return ids
}

// verifySignatures batch-verifies the signatures of blk on every core and
// returns the error of the lowest-index bad tx, if any. It needs no lock
// (it runs before ProcessBlockFrom takes it).
func (c *Chain) verifySignatures(blk *types.Block, ids []types.Hash, known func(types.Hash) bool) error {
	var mu sync.Mutex
	var first error
	firstLo := len(ids)
	forEachChunk(len(ids), func(lo, hi int) {
		if err := consensus.VerifyTxSignatures(blk.Txs, ids, lo, hi, c.genesis, known); err != nil {
			mu.Lock()
			if lo < firstLo {
				first, firstLo = err, lo
			}
			mu.Unlock()
		}
	})
	return first
}

// PreverifySignatures batch-verifies, on the calling goroutine, the
// signatures of blk's txs that the signature cache (Config.Sigs) does not
// hold, and adds them all to it if they all verify; it reports whether
// they did. It changes nothing else: sync calls it on the block after the
// one it imports, so that this block's import finds the work done while
// the other is applied, and a block with a bad signature is left to its
// import, which finds and refuses it as ever. Without a cache that takes
// additions it does nothing. Safe for concurrent use.
func (c *Chain) PreverifySignatures(blk *types.Block) bool {
	cache, ok := c.cfg.Sigs.(interface {
		SigChecker
		Add(types.Hash)
	})
	if !ok {
		return false
	}
	ids := txIDs(blk)
	if consensus.VerifyTxSignatures(blk.Txs, ids, 0, len(ids), c.genesis, cache.Verified) != nil {
		return false
	}
	for _, id := range ids {
		cache.Add(id)
	}
	return true
}
