package chain

import (
	"sync"

	"github.com/cairn-ledger/cairn/chain/types"
)

// SigCache is a bounded record of transactions whose signature has been
// verified on this network, keyed by tx id (which commits to the
// signature). The txpool adds to it on admission; block import skips the
// signatures it holds. When full, the oldest entries are forgotten. Safe for
// concurrent use.
type SigCache struct {
	mu   sync.RWMutex
	set  map[types.Hash]struct{}
	ring []types.Hash
	max  int
	next int
}

// NewSigCache returns a cache holding at most max ids.
func NewSigCache(max int) *SigCache {
	if max < 1 {
		max = 1
	}
	// Grown as ids arrive: an idle node should not hold megabytes of
	// empty slots.
	return &SigCache{set: make(map[types.Hash]struct{}), max: max}
}

// Add records that the signature of tx id verified.
func (s *SigCache) Add(id types.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[id]; ok {
		return
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, id)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[id] = struct{}{}
}

// Verified reports whether the signature of tx id is known to verify.
func (s *SigCache) Verified(id types.Hash) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.set[id]
	return ok
}

// Len returns the number of ids held.
func (s *SigCache) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.set)
}

var _ SigChecker = (*SigCache)(nil)
