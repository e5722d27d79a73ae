package chain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// TestOpenReadOnlyTwoJournals: a database closed right after memtable
// rotations — with two journal files to replay, goleveldb's read-only open
// fails with io.EOF — is read whole by openReadOnly and by openCopy, its
// way around that, and left exactly as it was (but for goleveldb's LOG of
// what it did).
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
	o := dbOptions(DefaultCacheMB)
	o.ReadOnly = true
	if db, err := leveldb.OpenFile(dir, o); err != nil {
		t.Logf("goleveldb's read-only open: %v (journals %v)", err, journals)
	} else {
		db.Close()
	}
	read := func(name string, open func(string) (*leveldb.DB, string, func(), error)) {
		t.Helper()
		rdb, opened, closeDB, err := open(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		it := rdb.NewIterator(nil, nil)
		count := 0
		for it.Next() {
			count++
		}
		it.Release()
		closeDB()
		if count != n {
			t.Fatalf("%s read %d records, want %d", name, count, n)
		}
		if opened != dir {
			if _, err := os.Stat(opened); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s left its copy %s: %v", name, opened, err)
			}
		}
	}
	read("openReadOnly", func(dir string) (*leveldb.DB, string, func(), error) { return openReadOnly(dir, DefaultCacheMB) })
	read("openCopy", func(dir string) (*leveldb.DB, string, func(), error) { return openCopy(dir, DefaultCacheMB) }) // the way around the read-only open's io.EOF, whether or not this database meets it
	if after := list(); !slices.Equal(before, after) {
		t.Fatalf("the database changed:\n%v\n%v", before, after)
	}
}
