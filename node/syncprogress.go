package node

import (
	"fmt"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/rpc"
)

// stallAfter is how long a node behind its peers may go without a new
// tip before its sync state says stalled.
const stallAfter = time.Minute

// etaWindow is how far back the tip's rate of climb is measured for the
// sync ETA.
const etaWindow = time.Minute

// progress remembers when the tip changed, for the sync state's ETA and
// stall detection. Safe for concurrent use.
type progress struct {
	mu      sync.Mutex
	samples []heightAt // the tip's height at its recent changes, oldest first
	since   time.Time  // when tracking began (no change yet counts from it)
}

type heightAt struct {
	at     time.Time
	height uint64
}

// tip records that the tip moved to height at now.
func (p *progress) tip(height uint64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, heightAt{now, height})
	// Keep the window and one sample before it.
	i := 0
	for i+1 < len(p.samples) && now.Sub(p.samples[i+1].at) > etaWindow {
		i++
	}
	p.samples = p.samples[i:]
}

// judge turns a "syncing" state into "syncing" with an ETA or "stalled"
// with its reason; other states pass unchanged.
func (p *progress) judge(s rpc.SyncInfo, now time.Time) rpc.SyncInfo {
	if s.State != rpc.SyncSyncing || s.Height >= s.TargetHeight {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.since
	if n := len(p.samples); n > 0 {
		last = p.samples[n-1].at
	}
	if !last.IsZero() && now.Sub(last) > stallAfter {
		s.State = rpc.SyncStalled
		s.Reason = fmt.Sprintf("no new block for %v, %d below the best height peers claim (%d)",
			now.Sub(last).Round(time.Second), s.TargetHeight-s.Height, s.TargetHeight)
		return s
	}
	// The rate of climb over the window: from the oldest sample in it.
	var first *heightAt
	for i := range p.samples {
		if now.Sub(p.samples[i].at) <= etaWindow {
			first = &p.samples[i]
			break
		}
	}
	if first != nil {
		if dt, dh := now.Sub(first.at).Seconds(), float64(s.Height)-float64(first.height); dt >= 1 && dh > 0 {
			s.EtaS = float64(s.TargetHeight-s.Height) / (dh / dt)
		}
	}
	return s
}
