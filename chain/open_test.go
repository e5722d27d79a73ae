package chain_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// Opening a datadir: what is stored comes back, and a datadir that is not
// this network's, not this schema's, not cairn's, or damaged is refused
// with a clear error and never a panic.

// The stored layout these tests poke at directly (chain/store.go).
var (
	openKeySchema = []byte("mschema")
	openKeyTip    = []byte("mtip")
	openKeyLtHash = []byte("mlthash")
)

func openAccountKey(a types.Address) []byte { return append([]byte{'a'}, a[:]...) }
func openHashKey(prefix byte, h types.Hash) []byte {
	return append([]byte{prefix}, h[:]...)
}
func openHeightKey(h uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'n'}, h) }

// openDisk opens the chain in dir on p; the caller closes it.
func openDisk(t *testing.T, dir string, p *consensus.Params) (*chain.Chain, error) {
	t.Helper()
	return chain.Open(dir, chain.Config{Params: p})
}

func mustOpenDisk(t *testing.T, dir string, p *consensus.Params) *chain.Chain {
	t.Helper()
	c, err := openDisk(t, dir, p)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return c
}

// editDB applies edit to the closed LevelDB in dir.
func editDB(t *testing.T, dir string, edit func(db *leveldb.DB)) {
	t.Helper()
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatalf("open leveldb %s: %v", dir, err)
	}
	edit(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustPut(t *testing.T, db *leveldb.DB, k, v []byte) {
	t.Helper()
	if err := db.Put(k, v, nil); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, db *leveldb.DB, k []byte) []byte {
	t.Helper()
	v, err := db.Get(k, nil)
	if err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	return v
}

// openScene is the chain most tests here start from:
//
//	genesis -> a1 -> a2 -> a3     (main; a2 holds tx1: alice -> bob)
//	             \-> b2           (side; holds tx2: carol -> bob)
type openScene struct {
	b        *chaintest.Builder
	tx1, tx2 *types.Tx
}

func newOpenScene(t *testing.T) *openScene {
	s := &openScene{b: chaintest.New(t)}
	bob := chaintest.Key("bob").Address()
	s.b.Chain("a", "genesis", 1)
	s.b.Block("a2", "a1", func(g *chaintest.BlockGen) {
		g.Pay("carol", bob, 9, 1) // index 0
		s.tx1 = g.Pay("alice", bob, 5, 1)
	})
	s.b.Chain("a", "a2", 1)
	s.b.Block("b2", "a1", func(g *chaintest.BlockGen) { s.tx2 = g.Pay("dave", bob, 7, 2) })
	s.b.Chain("b", "b2", 2) // b3, b4: not processed unless a test reorgs
	return s
}

// build processes the scene into c.
func (s *openScene) build(t *testing.T, c *chain.Chain) {
	t.Helper()
	s.b.Process(c, "a1", "a2", "a3", "b2")
	s.b.CheckTip(c, "a3")
}

// checkAccessors checks every read accessor on the scene's chain.
func (s *openScene) checkAccessors(t *testing.T, c *chain.Chain) {
	t.Helper()
	b := s.b
	s.b.CheckTip(c, "a3")
	if c.GenesisHash() != b.Params.GenesisHash() {
		t.Fatalf("GenesisHash %s", c.GenesisHash())
	}
	tip := c.Tip()
	if tip.Height != 3 || tip.Header != b.Get("a3").Header || tip.Work.Sign() <= 0 {
		t.Fatalf("Tip = %+v", tip)
	}

	for h, name := range []string{"genesis", "a1", "a2", "a3"} {
		info, err := c.HeaderByHeight(uint64(h))
		if err != nil || info.Hash != b.Hash(name) || info.Header != b.Get(name).Header ||
			!info.MainChain || !info.Valid || info.Invalid || !info.HasData {
			t.Fatalf("HeaderByHeight(%d) = %+v, %v; want main-chain %s", h, info, err, name)
		}
		blk, err := c.BlockByHeight(uint64(h))
		if err != nil || !bytes.Equal(blk.Encode(), b.Get(name).Encode()) {
			t.Fatalf("BlockByHeight(%d) = %v; want %s", h, err, name)
		}
		blk, err = c.Block(b.Hash(name))
		if err != nil || !bytes.Equal(blk.Encode(), b.Get(name).Encode()) {
			t.Fatalf("Block(%s): %v", name, err)
		}
		hi, err := c.Header(b.Hash(name))
		if err != nil || hi.Hash != info.Hash || hi.Work.Cmp(info.Work) != 0 || !hi.MainChain {
			t.Fatalf("Header(%s) = %+v, %v", name, hi, err)
		}
	}
	if _, err := c.HeaderByHeight(4); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("HeaderByHeight above the tip: %v", err)
	}
	if _, err := c.BlockByHeight(4); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("BlockByHeight above the tip: %v", err)
	}

	// The side branch: known, stored, not on the main chain, never
	// connected, not invalid; work one block more than a1's.
	side, err := c.Header(b.Hash("b2"))
	if err != nil || side.MainChain || side.Valid || side.Invalid || !side.HasData || side.Header != b.Get("b2").Header {
		t.Fatalf("Header(b2) = %+v, %v; want a stored side-chain block", side, err)
	}
	a2, _ := c.Header(b.Hash("a2"))
	if side.Work.Cmp(a2.Work) != 0 {
		t.Fatalf("b2 work %v, a2 work %v", side.Work, a2.Work)
	}
	blk, err := c.Block(b.Hash("b2"))
	if err != nil || !bytes.Equal(blk.Encode(), b.Get("b2").Encode()) {
		t.Fatalf("Block(b2): %v", err)
	}
	if hi, _ := c.HeaderByHeight(2); hi.Hash == b.Hash("b2") {
		t.Fatal("HeaderByHeight(2) is the side-chain block")
	}

	loc, err := c.TxLocation(s.tx1.ID())
	if want := (chain.TxLocation{Block: b.Hash("a2"), Height: 2, Index: 1}); err != nil || loc != want {
		t.Fatalf("TxLocation(tx1) = %+v, %v; want %+v", loc, err, want)
	}
	if _, err := c.TxLocation(s.tx2.ID()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("TxLocation(side-chain tx) = %v, want ErrNotFound", err)
	}
	unknown := types.Sum([]byte("unknown"))
	if _, err := c.TxLocation(unknown); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("TxLocation(unknown) = %v", err)
	}
	if _, err := c.Block(unknown); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("Block(unknown) = %v", err)
	}
	if _, err := c.Header(unknown); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("Header(unknown) = %v", err)
	}
}

func TestReadAccessorsMainAndSideChain(t *testing.T) {
	s := newOpenScene(t)
	c := s.b.Open(chain.Config{})
	s.build(t, c)
	s.checkAccessors(t, c)

	// After a reorg to the b branch, the accessors follow it.
	s.b.Process(c, "b3", "b4")
	s.b.CheckTip(c, "b4")
	loc, err := c.TxLocation(s.tx2.ID())
	if want := (chain.TxLocation{Block: s.b.Hash("b2"), Height: 2, Index: 0}); err != nil || loc != want {
		t.Fatalf("TxLocation(tx2) after reorg = %+v, %v; want %+v", loc, err, want)
	}
	if _, err := c.TxLocation(s.tx1.ID()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("TxLocation(tx1) after reorg = %v, want ErrNotFound", err)
	}
	if info, err := c.Header(s.b.Hash("a2")); err != nil || info.MainChain || !info.Valid {
		t.Fatalf("Header(a2) after reorg = %+v, %v", info, err)
	}
	if info, err := c.HeaderByHeight(4); err != nil || info.Hash != s.b.Hash("b4") {
		t.Fatalf("HeaderByHeight(4) after reorg = %+v, %v", info, err)
	}
}

func TestOpenReopenKeepsTipStateAndIndex(t *testing.T) {
	dir := t.TempDir()
	s := newOpenScene(t)
	c := mustOpenDisk(t, dir, s.b.Params)
	s.build(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c = mustOpenDisk(t, dir, s.b.Params)
	s.checkAccessors(t, c)
	if err := c.Verify(); err != nil {
		t.Fatal(err)
	}
	// Undo data survived too: the reopened chain can reorganise past the
	// blocks it connected before.
	s.b.Process(c, "b3", "b4")
	s.b.CheckTip(c, "b4")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c = mustOpenDisk(t, dir, s.b.Params)
	defer c.Close()
	s.b.CheckTip(c, "b4")
	if loc, err := c.TxLocation(s.tx2.ID()); err != nil || loc.Block != s.b.Hash("b2") {
		t.Fatalf("TxLocation(tx2) = %+v, %v", loc, err)
	}
	// Duplicates are still recognised as such.
	if res, err := c.ProcessBlock(s.b.Get("a2")); err != nil || res.Status != chain.StatusDuplicate {
		t.Fatalf("a2 again: %v, %v", res.Status, err)
	}
}

func TestOpenNewDatadirHoldsGenesis(t *testing.T) {
	b := chaintest.New(t)
	c := mustOpenDisk(t, t.TempDir(), b.Params)
	defer c.Close()
	b.CheckTip(c, "genesis")
	if tip := c.Tip(); tip.Height != 0 || tip.Work.Cmp(consensus.CalcWork(b.Params.GenesisBits)) != 0 {
		t.Fatalf("Tip = %+v", tip)
	}
}

func TestOpenRefusesOtherGenesis(t *testing.T) {
	dir := t.TempDir()
	p := chaintest.Params()
	c := mustOpenDisk(t, dir, p)
	c.Close()

	other := rulesParams(t, func(q *consensus.Params) { q.Network = "cairn-other" })
	_, err := openDisk(t, dir, other)
	if err == nil {
		t.Fatal("datadir of another network opened")
	}
	msg := err.Error()
	for _, want := range []string{"network", p.NetID(), other.NetID(), "datadir"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	// Refusing did not touch it: the right network still opens it.
	c = mustOpenDisk(t, dir, p)
	c.Close()
}

func TestOpenRefusesOtherSchema(t *testing.T) {
	for _, schema := range [][]byte{{chain.SchemaVersion + 1}, {0}, {chain.SchemaVersion, 0}, {}} {
		dir := t.TempDir()
		p := chaintest.Params()
		c := mustOpenDisk(t, dir, p)
		c.Close()
		editDB(t, dir, func(db *leveldb.DB) { mustPut(t, db, openKeySchema, schema) })
		_, err := openDisk(t, dir, p)
		if err == nil {
			t.Fatalf("datadir of schema %v opened", schema)
		}
		if !strings.Contains(err.Error(), "schema version") {
			t.Errorf("schema %v: error %q does not mention the schema version", schema, err)
		}
		// Nothing was rewritten.
		editDB(t, dir, func(db *leveldb.DB) {
			if v := mustGet(t, db, openKeySchema); !bytes.Equal(v, schema) {
				t.Errorf("schema record rewritten to %v", v)
			}
		})
	}
}

func TestOpenRefusesForeignLevelDB(t *testing.T) {
	dir := t.TempDir()
	editDB(t, dir, func(db *leveldb.DB) { mustPut(t, db, []byte("hello"), []byte("world")) })
	_, err := openDisk(t, dir, chaintest.Params())
	if !errors.Is(err, chain.ErrCorrupt) || !strings.Contains(err.Error(), "not a cairn") {
		t.Fatalf("foreign LevelDB: %v, want ErrCorrupt saying it is not a cairn database", err)
	}
	editDB(t, dir, func(db *leveldb.DB) {
		if ok, _ := db.Has(openKeySchema, nil); ok {
			t.Error("a schema record was written into a foreign database")
		}
		if v := mustGet(t, db, []byte("hello")); string(v) != "world" {
			t.Errorf("foreign record changed to %q", v)
		}
	})
}

func TestOpenRefusesMissingParamsAndLockedDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := chain.Open(dir, chain.Config{}); err == nil {
		t.Fatal("Open without Params succeeded")
	}
	if _, err := chain.OpenMemory(chain.Config{Params: &consensus.Params{}}); err == nil {
		t.Fatal("Open with unvalidated Params succeeded")
	}
	c := mustOpenDisk(t, dir, chaintest.Params())
	defer c.Close()
	if c2, err := openDisk(t, dir, chaintest.Params()); err == nil {
		c2.Close()
		t.Fatal("a datadir in use was opened twice")
	}
}

// TestVerifyDetectsCorruptState: a changed account record does not stop
// Open (which trusts the stored commitment, not reading every account) but
// Verify, which recomputes the commitment from every account, finds it.
func TestVerifyDetectsCorruptState(t *testing.T) {
	bob := chaintest.Key("bob").Address()
	eve := chaintest.Key("eve").Address()
	enc := func(balance, nonce uint64) []byte {
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, balance), nonce)
	}
	cases := []struct {
		name string
		edit func(t *testing.T, s *openScene, db *leveldb.DB)
	}{
		{"balance changed", func(t *testing.T, s *openScene, db *leveldb.DB) {
			v := mustGet(t, db, openAccountKey(bob))
			v[7]++
			mustPut(t, db, openAccountKey(bob), v)
		}},
		{"nonce changed", func(t *testing.T, s *openScene, db *leveldb.DB) {
			v := mustGet(t, db, openAccountKey(bob))
			v[15]++
			mustPut(t, db, openAccountKey(bob), v)
		}},
		{"account deleted", func(t *testing.T, s *openScene, db *leveldb.DB) {
			if err := db.Delete(openAccountKey(bob), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"account added", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openAccountKey(eve), enc(1, 0))
		}},
		{"zero account stored", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openAccountKey(eve), enc(0, 0))
		}},
		{"account record truncated", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openAccountKey(bob), mustGet(t, db, openAccountKey(bob))[:15])
		}},
		{"height index entry deleted", func(t *testing.T, s *openScene, db *leveldb.DB) {
			if err := db.Delete(openHeightKey(2), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"height index points at side block", func(t *testing.T, s *openScene, db *leveldb.DB) {
			h := s.b.Hash("b2")
			mustPut(t, db, openHeightKey(2), h[:])
		}},
		{"height index above the tip", func(t *testing.T, s *openScene, db *leveldb.DB) {
			h := s.b.Hash("b2")
			mustPut(t, db, openHeightKey(4), h[:])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newOpenScene(t)
			c := mustOpenDisk(t, dir, s.b.Params)
			s.build(t, c)
			c.Close()
			editDB(t, dir, func(db *leveldb.DB) { tc.edit(t, s, db) })
			c, err := openDisk(t, dir, s.b.Params)
			if err != nil {
				// Refusing to open is fine too, if it says why.
				if !errors.Is(err, chain.ErrCorrupt) {
					t.Fatalf("Open: %v, want nil or ErrCorrupt", err)
				}
				return
			}
			defer c.Close()
			err = c.Verify()
			if !errors.Is(err, chain.ErrCorrupt) {
				t.Fatalf("Verify after %s: %v, want ErrCorrupt", tc.name, err)
			}
			t.Logf("Verify: %v", err)
		})
	}
}

// TestOpenDetectsCorruptMetadata: damaged metadata or header records make
// Open fail with ErrCorrupt (no panic, no repair).
func TestOpenDetectsCorruptMetadata(t *testing.T) {
	del := func(t *testing.T, db *leveldb.DB, k []byte) {
		if err := db.Delete(k, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		edit func(t *testing.T, s *openScene, db *leveldb.DB)
	}{
		{"lthash changed", func(t *testing.T, s *openScene, db *leveldb.DB) {
			v := mustGet(t, db, openKeyLtHash)
			v[100] ^= 1
			mustPut(t, db, openKeyLtHash, v)
		}},
		{"lthash truncated", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openKeyLtHash, mustGet(t, db, openKeyLtHash)[:100])
		}},
		{"lthash empty", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openKeyLtHash, nil)
		}},
		{"lthash deleted", func(t *testing.T, s *openScene, db *leveldb.DB) { del(t, db, openKeyLtHash) }},
		{"lthash of the parent", func(t *testing.T, s *openScene, db *leveldb.DB) {
			var lt consensus.LtHash
			for a, acc := range s.b.State("a2") {
				lt.AddAccount(a, acc.Balance, acc.Nonce)
			}
			mustPut(t, db, openKeyLtHash, lt.Bytes())
		}},
		{"tip unknown", func(t *testing.T, s *openScene, db *leveldb.DB) {
			h := types.Sum([]byte("nowhere"))
			mustPut(t, db, openKeyTip, h[:])
		}},
		{"tip truncated", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openKeyTip, mustGet(t, db, openKeyTip)[:31])
		}},
		{"tip too long", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openKeyTip, append(mustGet(t, db, openKeyTip), 0))
		}},
		{"tip empty", func(t *testing.T, s *openScene, db *leveldb.DB) { mustPut(t, db, openKeyTip, nil) }},
		{"tip deleted", func(t *testing.T, s *openScene, db *leveldb.DB) { del(t, db, openKeyTip) }},
		{"tip is a side block", func(t *testing.T, s *openScene, db *leveldb.DB) {
			h := s.b.Hash("b2")
			mustPut(t, db, openKeyTip, h[:])
		}},
		{"tip is the parent", func(t *testing.T, s *openScene, db *leveldb.DB) {
			h := s.b.Hash("a2")
			mustPut(t, db, openKeyTip, h[:])
		}},
		{"header record truncated", func(t *testing.T, s *openScene, db *leveldb.DB) {
			k := openHashKey('h', s.b.Hash("a2"))
			mustPut(t, db, k, mustGet(t, db, k)[:100])
		}},
		{"header record bad work length", func(t *testing.T, s *openScene, db *leveldb.DB) {
			k := openHashKey('h', s.b.Hash("a2"))
			v := mustGet(t, db, k)
			v[types.HeaderSize+1]++
			mustPut(t, db, k, v)
		}},
		{"header record under another hash", func(t *testing.T, s *openScene, db *leveldb.DB) {
			mustPut(t, db, openHashKey('h', types.Sum([]byte("x"))), mustGet(t, db, openHashKey('h', s.b.Hash("b2"))))
		}},
		{"header record changed", func(t *testing.T, s *openScene, db *leveldb.DB) {
			k := openHashKey('h', s.b.Hash("a3"))
			v := mustGet(t, db, k)
			v[140] ^= 1 // the nonce
			mustPut(t, db, k, v)
		}},
		{"header version changed", func(t *testing.T, s *openScene, db *leveldb.DB) {
			k := openHashKey('h', s.b.Hash("a1"))
			v := mustGet(t, db, k)
			v[0] = 9
			mustPut(t, db, k, v)
		}},
		{"parent header missing", func(t *testing.T, s *openScene, db *leveldb.DB) {
			del(t, db, openHashKey('h', s.b.Hash("a1")))
		}},
		{"second genesis header", func(t *testing.T, s *openScene, db *leveldb.DB) {
			n := &types.Header{Version: types.HeaderVersion, Time: 5}
			rec := append(n.Encode(), 3, 1, 1)
			mustPut(t, db, openHashKey('h', n.Hash()), rec)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newOpenScene(t)
			c := mustOpenDisk(t, dir, s.b.Params)
			s.build(t, c)
			c.Close()
			editDB(t, dir, func(db *leveldb.DB) { tc.edit(t, s, db) })
			c, err := openDisk(t, dir, s.b.Params)
			if err == nil {
				c.Close()
				t.Fatalf("Open after %s succeeded", tc.name)
			}
			if !errors.Is(err, chain.ErrCorrupt) {
				t.Fatalf("Open after %s: %v, want ErrCorrupt", tc.name, err)
			}
			t.Logf("Open: %v", err)
		})
	}
}

// TestOpenCorruptBodyIsErrCorrupt: a damaged block body is reported as
// ErrCorrupt by the accessors that read it.
func TestOpenCorruptBodyIsErrCorrupt(t *testing.T) {
	dir := t.TempDir()
	s := newOpenScene(t)
	c := mustOpenDisk(t, dir, s.b.Params)
	s.build(t, c)
	c.Close()
	editDB(t, dir, func(db *leveldb.DB) {
		k := openHashKey('b', s.b.Hash("a2"))
		mustPut(t, db, k, mustGet(t, db, k)[:200])
	})
	c = mustOpenDisk(t, dir, s.b.Params)
	defer c.Close()
	if _, err := c.Block(s.b.Hash("a2")); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("Block(a2) = %v, want ErrCorrupt", err)
	}
	if _, err := c.BlockByHeight(2); !errors.Is(err, chain.ErrCorrupt) {
		t.Fatalf("BlockByHeight(2) = %v, want ErrCorrupt", err)
	}
}

// TestClosedIsNotCorrupt: reading a block from a closed chain fails with
// leveldb.ErrClosed, never ErrCorrupt: nothing is wrong with the data.
func TestClosedIsNotCorrupt(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 1)
	c, err := chain.OpenMemory(chain.Config{Params: g.Params})
	if err != nil {
		t.Fatal(err)
	}
	g.Process(c, "a1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	a1 := g.Hash("a1")
	reads := []struct {
		name string
		read func() error
	}{
		{"Block", func() error { _, err := c.Block(a1); return err }},
		{"BlockByHeight", func() error { _, err := c.BlockByHeight(1); return err }},
		{"BlockBytes", func() error { _, err := c.BlockBytes(a1); return err }},
	}
	for _, r := range reads {
		if err := r.read(); errors.Is(err, chain.ErrCorrupt) || !errors.Is(err, leveldb.ErrClosed) {
			t.Errorf("%s on a closed chain: %v, want leveldb.ErrClosed and not ErrCorrupt", r.name, err)
		}
	}
}
