package chain

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// minParallel is the smallest amount of work worth splitting across cores.
const minParallel = 64

// forEachChunk calls fn on consecutive chunks [lo, hi) covering [0, n),
// on every core when n is large enough, and returns when all are done.
//
// The chunks (a few per core) are claimed in order by the caller and by
// one helper goroutine per other core, and the caller waits only for the
// chunks a helper is running, not for the helpers: when the other cores
// are busy (sync's verifiers, a compaction) a helper may be scheduled only
// after the caller has run every chunk itself, and then finds none left
// and ends. Waiting for the helpers instead held the block import, sync's
// critical path, blocked for a fifth of its time in the full-block sync of
// make bench (measured with runtime/trace). No chunk runs after the call
// returns, so fn and what it touches are the caller's again.
func forEachChunk(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n/minParallel {
		workers = n / minParallel
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	step := max(minParallel, (n+4*workers-1)/(4*workers))
	chunks := (n + step - 1) / step
	var next, left atomic.Int64
	left.Store(int64(chunks))
	done := make(chan struct{})
	run := func() {
		for {
			lo := int(next.Add(int64(step))) - step
			if lo >= n {
				return
			}
			fn(lo, min(lo+step, n))
			if left.Add(-1) == 0 {
				close(done)
			}
		}
	}
	for range workers - 1 {
		go run()
	}
	run()
	<-done
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

// sigCheck is the batch verification of a block's signatures, started
// before the chain lock is taken and running on other goroutines while
// the block is applied under it: a block's signatures and its state
// transition are independent, so the two overlap, and only the commit
// waits for both (see awaitSignatures). The goroutines never outlive
// ProcessBlockFrom, which stops and joins them (cancel) before it
// returns, so the package still owns no background goroutine.
type sigCheck struct {
	wg    sync.WaitGroup
	stop  atomic.Bool
	mu    sync.Mutex
	err   error // of the lowest-index bad tx found
	errAt int
	// run verifies units until none is left (or one failed); wait runs
	// it too, so the goroutine that waits helps rather than idles. nil
	// when the check was done at once.
	run func()
}

// startSigCheck starts the batch verification of the signatures of blk
// (tx ids ids) that c's signature cache does not hold: in units of a few
// hundred txs, taken in order by one goroutine per core and by the
// goroutine that waits for them (wait), so that a bad signature stops the
// work at once yet the error is still that of the lowest-index bad tx. A
// block too small to be worth splitting is verified on the calling
// goroutine at once.
func (c *Chain) startSigCheck(blk *types.Block, ids []types.Hash) *sigCheck {
	var known func(types.Hash) bool
	if c.cfg.Sigs != nil {
		known = c.cfg.Sigs.Verified
	}
	n := len(ids)
	s := &sigCheck{errAt: n}
	if known != nil {
		// The cache is asked once per tx, here. Every signature verified
		// before (sync's verifiers, the txpool): no goroutine to start,
		// none for the commit to wait for while the cores are busy
		// elsewhere.
		// Only a block of both kinds keeps the answers, in a set.
		isKnown := make([]bool, n)
		count := 0
		for i, id := range ids {
			if isKnown[i] = known(id); isKnown[i] {
				count++
			}
		}
		switch count {
		case n:
			return s
		case 0:
			known = nil
		default:
			seen := make(map[types.Hash]struct{}, count)
			for i, id := range ids {
				if isKnown[i] {
					seen[id] = struct{}{}
				}
			}
			known = func(id types.Hash) bool { _, ok := seen[id]; return ok }
		}
	}
	if n <= minParallel {
		s.err = consensus.VerifyTxSignatures(blk.Txs, ids, 0, n, c.genesis, known)
		return s
	}
	workers := runtime.GOMAXPROCS(0)
	// A unit per core and one for the goroutine that waits: units as
	// large as can be (a batch of 250 costs 1.2 times as much per
	// signature as one of 1,000, one of 334 1.08 times), yet the cores
	// finish close together, the apply having taken a share of one.
	unit := max(minParallel, (n+workers)/(workers+1))
	var next atomic.Int64
	s.run = func() {
		for !s.stop.Load() {
			lo := int(next.Add(int64(unit))) - unit
			if lo >= n {
				return
			}
			err := consensus.VerifyTxSignatures(blk.Txs, ids, lo, min(lo+unit, n), c.genesis, known)
			if err != nil {
				// Units below lo were taken before it and finish;
				// those above it are not worth verifying.
				s.stop.Store(true)
				s.mu.Lock()
				if lo < s.errAt {
					s.err, s.errAt = err, lo
				}
				s.mu.Unlock()
			}
		}
	}
	for w := 0; w < workers && w*unit < n; w++ {
		s.wg.Go(s.run)
	}
	return s
}

// wait waits for the verification to end and returns the error of the
// lowest-index bad tx, if any. Safe to call again; nil s verified nothing
// and waits for nothing.
func (s *sigCheck) wait() error {
	if s == nil {
		return nil
	}
	if s.run != nil {
		s.run()
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// cancel stops the verification and waits for its goroutines.
func (s *sigCheck) cancel() {
	if s != nil {
		s.stop.Store(true)
		s.wg.Wait()
	}
}

// PreverifySignatures batch-verifies, on the calling goroutine and in one
// batch (a batch of a whole block costs less per signature than the
// halves the import splits it into), the signatures of blk's txs that the
// signature cache (Config.Sigs) does not hold, and adds them all to it if
// they all verify; it reports whether they did. It changes nothing else:
// sync calls it on the blocks ahead of the one it imports, so that their
// imports find the work done, and a block with a bad signature is left to
// its import, which finds and refuses it as ever. Without a cache that
// takes additions it does nothing. Safe for concurrent use.
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
