package chain

import (
	"sync"
	"sync/atomic"
	"time"
)

// timedMutex is the chain's RWMutex, recording the longest time the write
// lock was held, so that tests and metrics can see that no call holds it
// for long (validation runs before it is taken).
type timedMutex struct {
	sync.RWMutex
	since   time.Time    // when the write lock was taken; guarded by it
	maxHold atomic.Int64 // nanoseconds
}

func (m *timedMutex) Lock() {
	m.RWMutex.Lock()
	m.since = time.Now()
}

func (m *timedMutex) Unlock() {
	d := int64(time.Since(m.since))
	for {
		cur := m.maxHold.Load()
		if d <= cur || m.maxHold.CompareAndSwap(cur, d) {
			break
		}
	}
	m.RWMutex.Unlock()
}

// MaxLockHold returns the longest time the chain's write lock was held
// since the chain was opened or since the last call with reset. Safe for
// concurrent use.
func (c *Chain) MaxLockHold(reset bool) time.Duration {
	if reset {
		return time.Duration(c.mu.maxHold.Swap(0))
	}
	return time.Duration(c.mu.maxHold.Load())
}
