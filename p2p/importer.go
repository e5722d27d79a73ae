package p2p

// The importer side of the body phase (see fetcher.go): ready blocks are
// handed to the importer goroutine in height order, and each import
// result is filed.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// feed hands ready blocks to the importer in height order.
func (f *fetcher) feed() {
	for f.cursor < len(f.order) {
		it := f.order[f.cursor]
		switch it.state {
		case itemImporting, itemDead:
			f.cursor++
			continue
		case itemReady:
		default:
			return
		}
		select {
		case f.importCh <- it:
			it.state = itemImporting
			f.importing++
			f.cursor++
		default:
			return
		}
	}
}

// startImporter starts the importer goroutine.
func (f *fetcher) startImporter(ctx context.Context) {
	f.jobs.Add(1)
	go func() {
		defer f.jobs.Done()
		f.importer(ctx)
	}()
}

// importer imports the blocks it is handed, in order, until ctx ends; then
// it only hands them back, so that a stopping node does not import what
// was queued.
//
// Each import is registered with the owner, not only checked against
// ctx: a context reports its cancellation before its descendants do (Err
// is set before the children are cancelled, one by one), so a block could
// be imported after Stop has begun, after the caller was told the node
// stopped. The owner refuses work from the moment Stop begins.
//
// The importer pipelines: the blocks handed to it behind the one it
// imports, up to preverifyLookahead of them, have their signatures
// batch-verified (Preverifier), a whole block per batch, by one verifier
// goroutine per core taking them in order, so that each block's import
// finds them in the signature cache and only applies it — verification of
// the blocks ahead overlaps the application of this one. The verifiers
// run on while a block is applied, and the importer on while they work,
// so a core left idle by one side (a block slow to apply, a compaction, a
// verifier waiting for blocks) is taken by the other: measured on the
// full-block sync of make bench, a lookahead of one block, verified while
// the next was applied, left more of the cores idle. The lookahead holds
// blocks that are in memory anyway, in the fetch window. A block whose
// signatures do not all verify is left for its import, which finds and
// refuses it exactly as without the pipeline.
func (f *fetcher) importer(ctx context.Context) {
	pv, _ := f.chain.(Preverifier)
	// work feeds the verifiers; it never holds more than the lookahead,
	// as the queue below hands it no more.
	var work chan preverifyJob
	if pv != nil {
		work = make(chan preverifyJob, preverifyLookahead)
		var verifiers sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			verifiers.Go(func() {
				for j := range work {
					if ctx.Err() == nil {
						pv.PreverifySignatures(j.block)
					}
					f.preverifying.Add(-1)
					close(j.done)
				}
			})
		}
		defer verifiers.Wait()
		defer close(work)
	}
	// queue holds the blocks taken from importCh and not imported yet, in
	// order.
	var queue []queued
	closed := false
	// failed: the last import failed. The blocks behind a refused one are
	// most likely refused too, at their import, without a look at their
	// signatures; verifying them ahead would let a peer that served one
	// bad block make the pipeline verify every block queued behind it. So
	// the pipeline pauses until an import succeeds again: what it verifies
	// behind a bad block is what its lookahead held when that block was
	// refused.
	failed := false
	for {
		if len(queue) == 0 {
			if closed {
				return
			}
			it, ok := <-f.importCh
			if !ok {
				return
			}
			queue = append(queue, queued{it: it})
		}
		q := queue[0]
		queue = queue[1:]
		if q.done != nil {
			<-q.done // the oldest handed over: under way or done
		}
		// Fill the lookahead with what is waiting, the block just taken
		// out of it no longer counted.
	fill:
		for !closed && len(queue) < preverifyLookahead {
			var e queued
			select {
			case it, ok := <-f.importCh:
				if !ok {
					closed = true
					continue
				}
				e.it = it
			default:
				break fill
			}
			if work != nil && !failed && ctx.Err() == nil && len(e.it.block.Txs) >= f.s.preverifyMinTxs {
				// (A smaller block is not worth the handover: its import
				// verifies it.)
				e.done = make(chan struct{})
				f.s.notePreverifying(f.preverifying.Add(1))
				work <- preverifyJob{block: e.it.block, done: e.done}
			}
			queue = append(queue, e)
		}
		it := q.it
		if ctx.Err() != nil || !f.s.owner.acquire() {
			f.resultCh <- importResult{it: it, err: context.Canceled}
			continue
		}
		_, err := f.chain.ProcessBlock(it.block, chain.Origin{Peer: string(it.from)})
		f.s.owner.release()
		failed = err != nil
		f.resultCh <- importResult{it: it, err: err}
	}
}

// queued is a block the importer has taken and not imported yet; done
// is closed when the verifiers, if it was handed to them, are through
// with it (nil: not handed).
type queued struct {
	it   *fetchItem
	done chan struct{}
}

// preverifyJob is a block handed to the importer's verifiers, and the
// done of its queued entry.
type preverifyJob struct {
	block *types.Block
	done  chan struct{}
}

// preverifyLookahead is how many blocks the importer holds for
// preverification ahead of the one it imports: queued for the verifiers
// or being verified.
const preverifyLookahead = 4

// preverifyMinTxs is the fewest txs a block needs to be preverified (the
// syncer's default): for a smaller one the goroutine and the handover
// cost more than verifying it at its import (the chain verifies a block
// of up to 64 txs at once). Measured on the empty-block sync of make
// bench, preverifying every block held it at 0.75 of the local import.
const preverifyMinTxs = 64

// notePreverifying records n blocks being preverified at once in the
// syncer's high-water mark.
func (s *syncer) notePreverifying(n int32) {
	for high := s.preverifyHigh.Load(); n > high && !s.preverifyHigh.CompareAndSwap(high, n); high = s.preverifyHigh.Load() {
	}
}

// Preverifier is what a Backend may offer sync's importer: a batch
// verification of a block's signatures on the calling goroutine that
// stores what verifies where the block's import will find it (the node's
// signature cache), changing nothing else. It reports whether all did.
type Preverifier interface {
	PreverifySignatures(blk *types.Block) bool
}

// handleImports files r and every other result already waiting.
func (f *fetcher) handleImports(r importResult) error {
	for {
		if err := f.handleImport(r); err != nil {
			return err
		}
		select {
		case r = <-f.resultCh:
		default:
			return nil
		}
	}
}

// handleImport files an import result: a body that does not fit its
// header or breaks a rule costs its supplier a penalty and its place in
// the round; a body-only fault is asked of another peer.
func (f *fetcher) handleImport(r importResult) error {
	f.importing--
	it := r.it
	it.block = nil
	if r.err == nil {
		f.imported++
		if f.items[it.hash] == it {
			delete(f.items, it.hash)
		}
		// A quarter of the blocks tracked imported: look further.
		// Counted from the last refill, not as a multiple of the
		// window, which changes as blocks arrive (the first window,
		// of blocks assumed large, is small).
		if f.sinceRefill++; f.sinceRefill > min(f.window(), len(f.order))/4 {
			f.dirty = true
		}
		return nil
	}
	code := consensus.CodeOf(r.err)
	switch {
	case code == consensus.ErrTimeTooNew:
		f.s.log.Debug("synced block is from the future", "hash", it.hash, "err", r.err)
		it.state = itemDead
		return nil
	case code != 0 || errors.Is(r.err, chain.ErrKnownInvalid):
	default:
		return fmt.Errorf("import block %s: %w", it.hash, r.err)
	}
	// One penalty per peer and round: the other blocks of its answers
	// are likely bad too.
	if fp := f.all[it.from]; fp != nil && !fp.dropped {
		fp.dropped = true
		f.s.judge.penalize(it.from, fmt.Sprintf("synced block %s: %v", it.hash, r.err), PenaltyBadSyncAnswer)
		f.s.dropPeer(it.from)
	}
	switch code {
	case consensus.ErrBlockTooBig, consensus.ErrBadTxRoot, consensus.ErrDuplicateTx:
		// The body does not match its header: ask someone else.
		if f.items[it.hash] == it {
			it.tried = append(it.tried, it.from)
			f.requeue(it)
			f.cursor = min(f.cursor, it.pos)
		}
	default:
		// The block is invalid and the chain has condemned it: the best
		// header chain is another one now.
		delete(f.items, it.hash)
		f.dirty = true
	}
	return nil
}

// logProgress logs the sync progress — height, target, percent done,
// blocks/s and the time left at that rate — at most every progressEvery.
func (f *fetcher) logProgress() {
	if time.Since(f.lastLog) < f.s.progressEvery {
		return
	}
	f.lastLog = time.Now()
	tip, best := f.chain.Tip(), f.chain.BestHeader()
	target := max(best.Header.Height, f.s.status().TargetHeight)
	done := tip.Height - min(tip.Height, f.tip0.Height)
	total := target - min(target, f.tip0.Height)
	pct := 100.0
	if total > 0 {
		pct = float64(int64(float64(done)/float64(total)*1000)) / 10
	}
	el := time.Since(f.start)
	eta := "unknown"
	if done > 0 && target > tip.Height {
		d := time.Duration(float64(el) / float64(done) * float64(target-tip.Height))
		eta = d.Round(time.Second).String()
		if d < 10*time.Second {
			eta = d.Round(100 * time.Millisecond).String()
		}
	}
	f.s.log.Info("sync progress", "height", tip.Height, "target", target, "percent", pct,
		"blocks/s", rate(f.imported, el), "eta", eta)
}
