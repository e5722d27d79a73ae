package chain_test

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// historyModel computes every address's history from the main chain
// ending at tip, newest first, independently of the chain's index.
func historyModel(g *chaintest.Builder, tip string) map[types.Address][]chain.HistoryEntry {
	m := map[types.Address][]chain.HistoryEntry{}
	add := func(a types.Address, e chain.HistoryEntry) { m[a] = append(m[a], e) }
	for blk := g.Get(tip); ; blk = g.Get(g.BlockName(blk.Header.Parent)) {
		h := blk.Header.Height
		if h == 0 {
			for _, a := range g.Params.Alloc {
				add(a.Address, chain.HistoryEntry{Kind: chain.HistoryGenesis, Pos: math.MaxUint32, Amount: a.Amount})
			}
			return m
		}
		var fees uint64
		for _, tx := range blk.Txs {
			fees += tx.Fee
		}
		add(blk.Header.Miner, chain.HistoryEntry{Kind: chain.HistoryMined, Height: h, Pos: math.MaxUint32,
			Amount: g.Params.Subsidy(h) + fees})
		for i := len(blk.Txs) - 1; i >= 0; i-- {
			tx := blk.Txs[i]
			e := chain.HistoryEntry{Height: h, Pos: uint32(i), Amount: tx.Amount, Fee: tx.Fee, Nonce: tx.Nonce, ID: tx.ID()}
			from := tx.Sender()
			if from == tx.To {
				e.Kind, e.Counterparty = chain.HistorySelf, from
				add(from, e)
				continue
			}
			e.Kind, e.Counterparty = chain.HistorySent, tx.To
			add(from, e)
			e.Kind, e.Counterparty = chain.HistoryReceived, from
			add(tx.To, e)
		}
	}
}

// checkHistory compares every address's History with the model, whole
// and page by page.
func checkHistory(t *testing.T, c *chain.Chain, g *chaintest.Builder, tip string) {
	t.Helper()
	model := historyModel(g, tip)
	addrs := []types.Address{chaintest.Key("miner").Address(), chaintest.Key("nobody").Address()}
	for _, w := range chaintest.Wallets {
		addrs = append(addrs, chaintest.Key(w).Address())
	}
	for _, a := range addrs {
		want := model[a]
		got, more, err := c.History(a, nil, 10_000)
		if err != nil || more || !slices.Equal(got, want) {
			t.Fatalf("tip %s: history of %s: %d entries (more %v, %v), want %d:\n got %+v\nwant %+v",
				tip, a, len(got), more, err, len(want), got, want)
		}
		var paged []chain.HistoryEntry
		var cur *chain.HistoryCursor
		for {
			page, more, err := c.History(a, cur, 3)
			if err != nil || len(page) > 3 {
				t.Fatalf("page of %d: %v", len(page), err)
			}
			paged = append(paged, page...)
			if !more {
				break
			}
			last := page[len(page)-1]
			cur = &chain.HistoryCursor{Height: last.Height, Pos: last.Pos}
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("tip %s: history of %s in pages of 3 differs from the model", tip, a)
		}
	}
}

// TestHistory: the address history index lists exactly the main chain's
// events of every address — sent, received, to itself, mined, genesis —
// newest first, in pages, and follows reorganisations both ways; Check
// verifies it.
func TestHistory(t *testing.T) {
	g := chaintest.New(t)
	addr := func(w string) types.Address { return chaintest.Key(w).Address() }
	pay := func(salt uint64) func(uint64, *chaintest.BlockGen) {
		return func(h uint64, bg *chaintest.BlockGen) {
			w := chaintest.Wallets
			switch (h + salt) % 4 {
			case 0:
				bg.Pay(w[h%4], addr(w[(h+1)%4]), 1000+h, 1000+salt)
			case 1:
				bg.Pay(w[h%4], addr(w[h%4]), 7, 1000) // to itself
				bg.Pay(w[(h+2)%4], addr("miner"), 5000+salt, 2000)
			case 2:
				bg.Pay(w[h%4], addr("nobody"), 1, 1000+h)
			}
		}
	}
	g.Branch("a", "genesis", 30, pay(0))
	g.Branch("b", "a20", 15, pay(1)) // more work: reorg to b35
	g.Branch("a", "a30", 10, pay(0)) // a40 beats b35: back again
	dir := filepath.Join(t.TempDir(), "chain")
	cfg := chain.Config{Params: g.Params}
	c, err := chain.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkHistory(t, c, g, "genesis")
	g.Process(c, chaintest.Seq("a", 1, 30)...)
	checkHistory(t, c, g, "a30")
	g.Process(c, chaintest.Seq("b", 21, 35)...)
	g.CheckTip(c, "b35")
	checkHistory(t, c, g, "b35")
	g.Process(c, chaintest.Seq("a", 31, 40)...)
	g.CheckTip(c, "a40")
	checkHistory(t, c, g, "a40")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r, err := chain.Check(dir, cfg); err != nil || !r.OK() || r.History == 0 {
		t.Fatalf("Check: %v %+v", err, r)
	}
	// Reindex rebuilds the same index.
	if _, err := chain.Reindex(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if c, err = chain.Open(dir, cfg); err != nil {
		t.Fatal(err)
	}
	checkHistory(t, c, g, "a40")
}

// TestHistoryUpgrade: a database of schema version 1, without the index,
// gets it built at Open.
func TestHistoryUpgrade(t *testing.T) {
	g, dir, db := upgradeScene(t)
	// Make it a version 1 database: no 'x' records, schema 1.
	batch := new(leveldb.Batch)
	it := db.NewIterator(util.BytesPrefix([]byte{'x'}), nil)
	for it.Next() {
		batch.Delete(append([]byte(nil), it.Key()...))
	}
	it.Release()
	if batch.Len() == 0 {
		t.Fatal("no history records to remove")
	}
	batch.Put([]byte("mschema"), []byte{1})
	if err := db.Write(batch, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	checkUpgrade(t, g, dir, 1)
}

// upgradeScene stores a chain of 50 blocks of payments (a1 … a50) in a
// directory and opens its LevelDB directly, for a test to make it a
// database of an earlier schema version.
func upgradeScene(t *testing.T) (*chaintest.Builder, string, *leveldb.DB) {
	t.Helper()
	g := chaintest.New(t)
	blocks := g.Payments("a", "genesis", 50, 3)
	dir := filepath.Join(t.TempDir(), "chain")
	g.Store(dir, blocks)
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g, dir, db
}

// checkUpgrade checks the database in dir, of schema version, made from
// g's chain up to a50: Check passes it without a history index to count,
// Open upgrades it to the history of the chain, and Check then passes
// the index it counts, which it returns.
func checkUpgrade(t *testing.T, g *chaintest.Builder, dir string, version int) *chain.CheckReport {
	t.Helper()
	cfg := chain.Config{Params: g.Params}
	if r, err := chain.Check(dir, cfg); err != nil || !r.OK() || r.History != 0 {
		t.Fatalf("Check of a version %d database: %v %+v", version, err, r)
	}
	c, err := chain.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkHistory(t, c, g, "a50")
	c.Close()
	r, err := chain.Check(dir, cfg)
	if err != nil || !r.OK() || r.History == 0 {
		t.Fatalf("Check after the upgrade: %v %+v", err, r)
	}
	return r
}

// TestHistoryUpgradeFromFull: a database of schema version 2, whose
// history records each held a copy of their tx's fields, has them
// rewritten as records of their kind alone at Open, with the same
// history read from them.
func TestHistoryUpgradeFromFull(t *testing.T) {
	g, dir, db := upgradeScene(t)
	// Make it a version 2 database: every record as it was then.
	batch := new(leveldb.Batch)
	for addr, entries := range historyModel(g, "a50") {
		for _, e := range entries {
			key := append([]byte{'x'}, addr[:]...)
			key = binary.BigEndian.AppendUint64(key, e.Height)
			key = binary.BigEndian.AppendUint32(key, e.Pos)
			if v, err := db.Get(key, nil); err != nil || len(v) != 1 || v[0] != byte(e.Kind) {
				t.Fatalf("record %x: %x, %v; want the kind %d alone", key, v, err, e.Kind)
			}
			v := append([]byte{byte(e.Kind)}, e.Counterparty[:]...)
			v = binary.BigEndian.AppendUint64(v, e.Amount)
			v = binary.BigEndian.AppendUint64(v, e.Fee)
			v = binary.BigEndian.AppendUint64(v, e.Nonce)
			batch.Put(key, append(v, e.ID[:]...))
		}
	}
	batch.Put([]byte("mschema"), []byte{2})
	if err := db.Write(batch, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := checkUpgrade(t, g, dir, 2)
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("mschema"), nil); err != nil || !slices.Equal(v, []byte{chain.SchemaVersion}) {
		t.Errorf("schema after the upgrade: %v %v", v, err)
	}
	it := db.NewIterator(util.BytesPrefix([]byte{'x'}), nil)
	defer it.Release()
	n := 0
	for it.Next() {
		if len(it.Value()) != 1 {
			t.Fatalf("record %x still %d bytes", it.Key(), len(it.Value()))
		}
		n++
	}
	if n != r.History {
		t.Errorf("%d records, Check counted %d", n, r.History)
	}
}
