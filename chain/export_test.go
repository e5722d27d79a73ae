package chain

import (
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// SetBloomBitsPerKey sets the bloom filter of the databases opened from
// now on (0: none, the options before filters were added) and returns a
// func that restores it. Not for parallel tests: the setting is global.
func SetBloomBitsPerKey(n int) (restore func()) {
	old := bloomBitsPerKey
	bloomBitsPerKey = n
	return func() { bloomBitsPerKey = old }
}

// Compact rewrites every table of the database (with the options it was
// opened with).
func (c *Chain) Compact() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.CompactRange(util.Range{})
}

// DBOptions are the options the chain database is opened with, for a
// database created anew.
func DBOptions() *opt.Options {
	o := dbOptions(DefaultCacheMB)
	o.ErrorIfMissing = false
	return o
}

// HoldLock takes the chain's lock, for a test of what does without it,
// and returns the func that releases it.
func (c *Chain) HoldLock() (release func()) {
	c.mu.Lock()
	return c.mu.Unlock
}
