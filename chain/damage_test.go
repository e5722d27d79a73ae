package chain_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
)

// Damage: LevelDB verifies checksums on every read, damage met becomes
// the chain's fault (which stops all writing), Check finds it and says
// where, and Reindex rebuilds a database that Check passes from the bodies
// that survive, for a flipped byte, a damaged MANIFEST and a missing table.

// damageBlocks is the length of the stored chain of these tests.
const damageBlocks = 1000

// storedDamageChain builds damageBlocks blocks, every tenth with a payment
// (so that the tx index and the state are not trivial), into a datadir,
// closed and reopened once so that LevelDB has written its tables.
func storedDamageChain(t *testing.T) (dir string, blocks []*types.Block, g *chaintest.Builder) {
	t.Helper()
	g = chaintest.New(t)
	blocks = g.Payments("a", "genesis", damageBlocks, 10)
	dir = filepath.Join(t.TempDir(), "chain")
	g.Store(dir, blocks)
	return dir, blocks, g
}

// TestFaultOnDamagedRead: a byte flipped among the stored blocks is met
// on reading (Scan reads everything) as ErrCorrupt; the fault is reported
// once, and from then on the chain refuses every block and template.
func TestFaultOnDamagedRead(t *testing.T) {
	dir, blocks, g := storedDamageChain(t)
	chaintest.FlipInBody(t, dir, blocks[499].Txs[0])
	var faults atomic.Int32
	faulted := make(chan error, 4)
	c, err := chain.Open(dir, chain.Config{Params: g.Params, OnFault: func(err error) {
		faults.Add(1)
		faulted <- err
	}})
	if err != nil {
		t.Fatalf("open: %v (the flip should be among the bodies, which Open does not read)", err)
	}
	defer c.Close()
	if c.Fault() != nil {
		t.Fatalf("fault before any damaged read: %v", c.Fault())
	}
	var readErr error
	for h := range uint64(damageBlocks) {
		if _, err := c.BlockByHeight(h); err != nil {
			readErr = err
			break
		}
	}
	if !errors.Is(readErr, chain.ErrCorrupt) {
		t.Fatalf("reading every block: %v, want ErrCorrupt", readErr)
	}
	if err := c.Scan(context.Background(), 0); !errors.Is(err, chain.ErrCorrupt) || !strings.Contains(err.Error(), ".ldb") {
		t.Fatalf("Scan: %v, want ErrCorrupt naming the table", err)
	}
	if err := <-faulted; !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("OnFault got %v", err)
	}
	if !errors.Is(c.Fault(), chain.ErrCorrupt) {
		t.Fatalf("Fault() = %v", c.Fault())
	}
	next := g.Block("next", g.BlockName(blocks[len(blocks)-1].Hash()), nil)
	if _, err := c.ProcessBlock(next); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("ProcessBlock after the fault: %v, want the fault", err)
	}
	if _, err := c.NewBlockTemplate(nil, types.Address{}, 0); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("NewBlockTemplate after the fault: %v, want the fault", err)
	}
	if c.Tip().Height != damageBlocks {
		t.Fatalf("tip moved to %d", c.Tip().Height)
	}
	if n := faults.Load(); n != 1 {
		t.Fatalf("OnFault called %d times, want once", n)
	}
}

// TestScanHealthy: Scan of an undamaged store finds nothing, and stops at
// its context's end.
func TestScanHealthy(t *testing.T) {
	dir, _, g := storedDamageChain(t)
	c, err := chain.Open(dir, chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Scan(context.Background(), 0); err != nil || c.Fault() != nil {
		t.Fatalf("Scan: %v, fault %v", err, c.Fault())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Scan(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan at 1 B/s with its context ended: %v", err)
	}
}

// damage is one way of damaging a datadir, and what Check must say.
type damage struct {
	name  string
	apply func(t *testing.T, dir string, blocks []*types.Block)
	says  string // in Check's problems
}

var damages = []damage{
	{"flipped byte in a block body", func(t *testing.T, dir string, blocks []*types.Block) {
		chaintest.FlipInBody(t, dir, blocks[499].Txs[0])
	}, ".ldb"},
	{"flipped byte mid-table", func(t *testing.T, dir string, _ []*types.Block) {
		chaintest.FlipAt(t, chaintest.LargestTable(t, dir), 0.5)
	}, ".ldb"},
	{"flipped byte at a tenth of the table", func(t *testing.T, dir string, _ []*types.Block) {
		chaintest.FlipAt(t, chaintest.LargestTable(t, dir), 0.1)
	}, ".ldb"},
	{"damaged MANIFEST", func(t *testing.T, dir string, _ []*types.Block) {
		m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
		if len(m) != 1 {
			t.Fatalf("manifests: %v", m)
		}
		chaintest.FlipAt(t, m[0], 0.5)
	}, "MANIFEST"},
	{"missing table", func(t *testing.T, dir string, _ []*types.Block) {
		if err := os.Remove(chaintest.LargestTable(t, dir)); err != nil {
			t.Fatal(err)
		}
	}, "missing"},
}

// TestCheckAndReindex: Check passes a healthy store and finds each damage,
// saying where; Reindex then rebuilds a store Check passes, holding a
// valid prefix of the chain, which the blocks it lost complete again.
func TestCheckAndReindex(t *testing.T) {
	dir, blocks, g := storedDamageChain(t)
	cfg := chain.Config{Params: g.Params}
	r, err := chain.Check(dir, cfg)
	if err != nil || !r.OK() {
		t.Fatalf("healthy store: %v %+v", err, r)
	}
	if r.Headers != damageBlocks+1 || r.Blocks != damageBlocks+1 || r.Undo != damageBlocks+1 ||
		r.TxIndex != damageBlocks/10 || r.TipHeight != damageBlocks || r.Tip != blocks[len(blocks)-1].Hash() {
		t.Fatalf("healthy store: %+v", r)
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			ddir := filepath.Join(t.TempDir(), "chain")
			copyTree(t, dir, ddir)
			d.apply(t, ddir, blocks)
			r, err := chain.Check(ddir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), "corrupt") ||
				!strings.Contains(strings.Join(r.Problems, "\n"), d.says) {
				t.Fatalf("Check found %d problems, want corrupt and %q: %q", r.Damaged, d.says, r.Problems)
			}
			rep, err := chain.Reindex(ddir, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("reindex: %+v", *rep)
			if r, err := chain.Check(ddir, cfg); err != nil || !r.OK() {
				t.Fatalf("after reindex: %v %q", err, r.Problems)
			}
			if _, err := os.Stat(ddir + ".old"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s.old left: %v", ddir, err)
			}
			c, err := chain.Open(ddir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tip := c.Tip()
			if tip.Height != uint64(rep.Stored) || (tip.Height > 0 && tip.Hash != blocks[tip.Height-1].Hash()) {
				t.Fatalf("tip %d %s after storing %d", tip.Height, tip.Hash, rep.Stored)
			}
			for _, b := range blocks[tip.Height:] {
				if _, err := c.ProcessBlock(b); err != nil {
					t.Fatal(err)
				}
			}
			if c.Tip().Hash != blocks[len(blocks)-1].Hash() {
				t.Fatal("the lost blocks did not complete the chain")
			}
			if err := c.Verify(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReindexHealthy keeps every block of an undamaged store.
func TestReindexHealthy(t *testing.T) {
	dir, blocks, g := storedDamageChain(t)
	cfg := chain.Config{Params: g.Params}
	other := chaintest.Params()
	other.GenesisTime++
	if err := other.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Reindex(dir, chain.Config{Params: other}, nil); err == nil || !strings.Contains(err.Error(), "another network") {
		t.Fatalf("reindex for another network: %v", err)
	}
	rep, err := chain.Reindex(dir, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stored != damageBlocks || rep.Tip.Hash != blocks[len(blocks)-1].Hash() || rep.Unreadable+rep.Invalid+rep.Unconnected != 0 {
		t.Fatalf("%+v", rep)
	}
	if r, err := chain.Check(dir, cfg); err != nil || !r.OK() {
		t.Fatalf("after reindex: %v %+v", err, r)
	}
}

// TestReindexSwapCutShort: a crash between Reindex's two renames leaves
// dir missing beside dir.old and a complete dir.reindex; Open refuses to
// create a fresh chain there, and Reindex finishes the swap.
func TestReindexSwapCutShort(t *testing.T) {
	dir, blocks, g := storedDamageChain(t)
	cfg := chain.Config{Params: g.Params}
	copyTree(t, dir, dir+".reindex")
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Open(dir, cfg); !errors.Is(err, chain.ErrCorrupt) || !strings.Contains(err.Error(), "reindex") {
		t.Fatalf("Open beside an unfinished swap: %v", err)
	}
	if _, err := chain.Reindex(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir + ".old", dir + ".reindex"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left: %v", p, err)
		}
	}
	c, err := chain.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Tip().Hash != blocks[len(blocks)-1].Hash() {
		t.Fatal("tip lost")
	}
}

// copyTree copies the files of directory src into a new directory dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// TestRandomDamage flips random bytes in random files of a stored chain:
// Open either works or fails with ErrCorrupt, a scan of what opened meets
// any damage as ErrCorrupt, Check reports without failing, and Reindex
// always leaves a store that Check passes and whose tip is a prefix of
// the chain. Nothing panics. The seed is logged.
func TestRandomDamage(t *testing.T) {
	g := chaintest.New(t)
	blocks := g.Payments("a", "genesis", 300, 5)
	dir := filepath.Join(t.TempDir(), "chain")
	g.Store(dir, blocks)
	cfg := chain.Config{Params: g.Params}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	rounds := 25
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		ddir := filepath.Join(t.TempDir(), "chain")
		copyTree(t, dir, ddir)
		files, _ := os.ReadDir(ddir)
		var flipped []string
		for range 1 + rng.IntN(3) {
			f := files[rng.IntN(len(files))]
			p := filepath.Join(ddir, f.Name())
			b, err := os.ReadFile(p)
			if err != nil || len(b) == 0 {
				continue
			}
			i := rng.IntN(len(b))
			b[i] ^= byte(1 + rng.IntN(255))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			flipped = append(flipped, fmt.Sprintf("%s@%d", f.Name(), i))
		}
		c, err := chain.Open(ddir, cfg)
		switch {
		case err == nil:
			if err := c.Scan(context.Background(), 0); err != nil && !errors.Is(err, chain.ErrCorrupt) {
				t.Fatalf("round %d (%v): Scan: %v", round, flipped, err)
			}
			c.Close()
		case !errors.Is(err, chain.ErrCorrupt):
			t.Fatalf("round %d (%v): Open: %v, want ErrCorrupt", round, flipped, err)
		}
		if _, err := chain.Check(ddir, cfg); err != nil {
			t.Fatalf("round %d (%v): Check: %v", round, flipped, err)
		}
		rep, err := chain.Reindex(ddir, cfg, nil)
		if err != nil {
			t.Fatalf("round %d (%v): Reindex: %v", round, flipped, err)
		}
		if r, err := chain.Check(ddir, cfg); err != nil || !r.OK() {
			t.Fatalf("round %d (%v): Check after Reindex: %v %q", round, flipped, err, r.Problems)
		}
		if h := rep.Tip.Height; h > 0 && rep.Tip.Hash != blocks[h-1].Hash() {
			t.Fatalf("round %d (%v): tip %d is not the chain's", round, flipped, h)
		}
	}
}
