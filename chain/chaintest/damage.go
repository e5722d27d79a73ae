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

// FlipInBody inverts a byte of the signature of tx, stored once in the
// largest table of the database in dir: damage within one block body,
// which only a read of that block (or of the whole table) meets. The
// signature is found as it is: LevelDB's compression leaves random bytes
// as they are.
func FlipInBody(t testing.TB, dir string, tx *types.Tx) {
	t.Helper()
	path := LargestTable(t, dir)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, tx.Sig[:])
	if i < 0 || bytes.Contains(b[i+1:], tx.Sig[:]) {
		t.Fatalf("the signature is not in %s exactly once", path)
	}
	b[i+10] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
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
