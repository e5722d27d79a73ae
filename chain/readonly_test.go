package chain

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// TestOpenReadOnlyTwoJournals: a database closed with two journal files
// (right after a memtable rotation), which goleveldb's read-only open
// refuses with io.EOF, is read by openReadOnly through a copy, and left
// exactly as it was (but for goleveldb's LOG of what it did).
func TestOpenReadOnlyTwoJournals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chain")
	db, err := leveldb.OpenFile(dir, &opt.Options{WriteBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		if err := db.Put([]byte(fmt.Sprintf("k%05d", i)), make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	journals, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	list := func() []string {
		var out []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() == "LOG" {
				continue // goleveldb's own log, which it appends to even read-only
			}
			fi, _ := e.Info()
			out = append(out, fmt.Sprintf("%s %d %v", e.Name(), fi.Size(), fi.ModTime()))
		}
		return out
	}
	before := list()
	o := dbOptions()
	o.ReadOnly = true
	if _, err := leveldb.OpenFile(dir, o); !errors.Is(err, io.EOF) {
		t.Fatalf("the setup should leave a database goleveldb cannot open read-only: %v (journals %v)", err, journals)
	}
	rdb, opened, closeDB, err := openReadOnly(dir)
	if err != nil || opened == dir {
		t.Fatalf("openReadOnly: %v, opened %s", err, opened)
	}
	it := rdb.NewIterator(nil, nil)
	count := 0
	for it.Next() {
		count++
	}
	it.Release()
	closeDB()
	if count != n {
		t.Fatalf("read %d records, want %d", count, n)
	}
	if after := list(); !slices.Equal(before, after) {
		t.Fatalf("the database changed:\n%v\n%v", before, after)
	}
	if _, err := os.Stat(opened); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the copy %s is left: %v", opened, err)
	}
}
