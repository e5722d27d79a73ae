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
