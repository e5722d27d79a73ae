package chain_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
)

// tablesWithFilter counts the tables of the database in dir that carry a
// bloom filter (their metaindex names it, "filter.leveldb.BuiltinBloomFilter",
// of which snappy keeps the first 28 bytes as they are) and those that do
// not.
func tablesWithFilter(t *testing.T, dir string) (with, without int) {
	t.Helper()
	tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
	for _, p := range tables {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("filter.leveldb.BuiltinBloomF")) {
			with++
		} else {
			without++
		}
	}
	return with, without
}

// TestOpenDatadirWithoutFilters: a datadir written before tables carried
// bloom filters opens with them turned on, reads every account (present
// and absent) as before, takes new blocks into tables with filters, reads
// the same from the mix of both, before and after a compaction, and passes
// Check.
func TestOpenDatadirWithoutFilters(t *testing.T) {
	g := chaintest.New(t)
	old := g.Payments("a", "genesis", 30, 2)
	dir := filepath.Join(t.TempDir(), "chain")
	restore := chain.SetBloomBitsPerKey(0)
	g.Store(dir, old)
	restore()
	if with, without := tablesWithFilter(t, dir); with != 0 || without == 0 {
		t.Fatalf("the old datadir has %d tables with a filter, %d without; want none with, some without", with, without)
	}

	cfg := chain.Config{Params: g.Params}
	c, err := chain.Open(dir, cfg)
	if err != nil {
		t.Fatalf("open the old datadir with filters: %v", err)
	}
	absent := chaintest.Key("nobody").Address()
	checkState := func(name string) {
		t.Helper()
		for a, want := range g.State(name) {
			if got, err := c.Account(a); err != nil || got != want {
				t.Fatalf("after %s: account %s is %+v, %v; want %+v", name, a, got, err, want)
			}
		}
		if got, err := c.Account(absent); err != nil || got != (chain.Account{}) {
			t.Fatalf("after %s: an absent account reads %+v, %v", name, got, err)
		}
	}
	g.CheckTip(c, "a30")
	checkState("a30")
	for _, blk := range g.Payments("a", "a30", 10, 1) {
		if _, err := c.ProcessBlock(blk); err != nil {
			t.Fatal(err)
		}
	}
	g.CheckTip(c, "a40")
	checkState("a40")
	// Reopened, the new blocks are in a table of their own (LevelDB writes
	// its journal into one as it opens), with a filter, beside the old
	// tables without.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err = chain.Open(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if with, without := tablesWithFilter(t, dir); with == 0 || without == 0 {
		t.Fatalf("after new blocks %d tables have a filter, %d not; want some of each", with, without)
	}
	g.CheckTip(c, "a40")
	checkState("a40")
	// Compaction merges them (a table it only moves to the next level
	// keeps having none).
	if err := c.Compact(); err != nil {
		t.Fatal(err)
	}
	checkState("a40")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := chain.Check(dir, cfg)
	if err != nil || !r.OK() {
		t.Fatalf("check: %v %+v", err, r)
	}
	if c, err = chain.Open(dir, cfg); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g.CheckTip(c, "a40")
	checkState("a40")
}

// TestConfigCacheMB: the cache size is checked by Open.
func TestConfigCacheMB(t *testing.T) {
	g := chaintest.New(t)
	for _, mb := range []int{-1, chain.MaxCacheMB + 1} {
		if c, err := chain.Open(filepath.Join(t.TempDir(), "chain"), chain.Config{Params: g.Params, CacheMB: mb}); err == nil {
			c.Close()
			t.Errorf("CacheMB %d accepted", mb)
		}
	}
	c, err := chain.Open(filepath.Join(t.TempDir(), "chain"), chain.Config{Params: g.Params, CacheMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Account(types.Address{}); err != nil {
		t.Fatal(err)
	}
}
