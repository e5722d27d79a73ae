package chaintest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// Helpers for tests of a damaged chain database.

// Store imports blocks into a new chain database at dir and closes it,
// then opens and closes it once more, so that LevelDB has written its
// tables (a first run keeps everything in its journal).
func (b *Builder) Store(dir string, blocks []*types.Block) {
	b.t.Helper()
	c, err := chain.Open(dir, chain.Config{Params: b.Params})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, blk := range blocks {
		if _, err := c.ProcessBlock(blk); err != nil {
			c.Close()
			b.t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		b.t.Fatal(err)
	}
	if c, err = chain.Open(dir, chain.Config{Params: b.Params}); err != nil {
		b.t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		b.t.Fatal(err)
	}
}

// LargestTable returns the path of the largest LevelDB table in dir.
func LargestTable(t testing.TB, dir string) string {
	t.Helper()
	tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
	var best string
	var size int64
	for _, p := range tables {
		if fi, err := os.Stat(p); err == nil && fi.Size() > size {
			best, size = p, fi.Size()
		}
	}
	if best == "" {
		t.Fatalf("no table in %s", dir)
	}
	return best
}

// FlipAt inverts the byte at frac of path's length.
func FlipAt(t testing.TB, path string, frac float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[int(float64(len(b))*frac)] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FlipInBody inverts a byte of the signature of tx where a table of the
// database in dir stores it (once, in one table): damage within one block
// body, which only a read of that block (or of the whole table) meets.
// The signature is found as it is: LevelDB's compression leaves random
// bytes as they are.
func FlipInBody(t testing.TB, dir string, tx *types.Tx) {
	t.Helper()
	tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
	var path string
	var data []byte
	var at int
	for _, p := range tables {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, tx.Sig[:]); i >= 0 {
			if path != "" || bytes.Contains(b[i+1:], tx.Sig[:]) {
				t.Fatalf("the signature is stored more than once in %s", dir)
			}
			path, data, at = p, b, i
		}
	}
	if path == "" {
		t.Fatalf("the signature is in no table of %s", dir)
	}
	data[at+10] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Payments builds n blocks on parent named as Chain does, every every-th
// height carrying a payment of height base units from alice to bob: a
// chain whose tx index and state are not trivial.
func (b *Builder) Payments(prefix, parent string, n, every int) []*types.Block {
	b.t.Helper()
	bob := Key("bob").Address()
	return b.Branch(prefix, parent, n, func(h uint64, g *BlockGen) {
		if h%uint64(every) == 0 {
			g.Pay("alice", bob, h, 1000)
		}
	})
}
