package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// ErrInUse is returned, wrapped, by Open, Check and Reindex for a database
// that a running node holds open (LevelDB's file lock).
var ErrInUse = errors.New("chain database in use by a running node")

// CheckReport is what Check found.
type CheckReport struct {
	Headers   int        // header records
	Blocks    int        // block bodies that decode and hash to their key
	Tip       types.Hash // the stored tip
	TipHeight uint64
	Undo      int // main-chain undo records that decode
	TxIndex   int // tx index entries
	History   int // address history records
	Accounts  int // stored accounts
	// Problems are the damage found, each naming where ("block <hash>
	// (height h)", "table 000012.ldb", "account index") and what; at most
	// maxProblems are kept, Damaged counts them all.
	Problems []string
	Damaged  int
}

// OK reports whether Check found no damage.
func (r *CheckReport) OK() bool { return r.Damaged == 0 }

const maxProblems = 20

func (r *CheckReport) problem(format string, args ...any) {
	r.Damaged++
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Check walks the whole chain database in dir, read-only: every header
// record decodes and hashes to its key; every stored block decodes, hashes
// to its index entry and carries its header; the main chain runs from the
// stored tip to genesis through the height index, with an undo record for
// each block; the tx index has an entry for every main-chain tx pointing
// at it, and no other, and so has the address history index for every
// event of the main chain; the state commitment recomputed from the stored
// accounts equals the tip's stateRoot and the stored running value. Every
// table block read has its checksum verified, so damage anywhere in the
// files is met. Damage goes into the report (Check then reads on where it
// can); the error is for a database that could not be examined at all (in
// use, missing, another network's).
func Check(dir string, cfg Config) (*CheckReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &CheckReport{}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no chain database in %s", dir)
	}
	ldb, opened, closeDB, err := openReadOnly(dir, cfg.CacheMB)
	switch {
	case errors.Is(classify(err), ErrInUse):
		return nil, fmt.Errorf("%s: %w: stop it first", dir, ErrInUse)
	case errors.Is(classify(err), ErrCorrupt):
		r.problem("corrupt: database files: %v", err)
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("open chain database %s: %w", dir, err)
	}
	defer closeDB()
	if err := missingTables(ldb, opened); err != nil {
		r.problem("corrupt: database files: %v", err)
		return r, nil // every read would fail on them
	}
	k := &checker{db: ldb, r: r, params: cfg.Params}
	if err := k.meta(); err != nil {
		return nil, err
	}
	k.tables()
	k.headers()
	k.mainChain()
	k.blocks()
	k.txIndex()
	k.historyIndex()
	k.state()
	return r, nil
}

// checker holds what one Check has learnt so far.
type checker struct {
	db       *leveldb.DB
	r        *CheckReport
	params   *consensus.Params
	hdrs     map[types.Hash]checkedHeader
	main     map[types.Hash]uint64 // main-chain block -> height
	tip      *types.Header
	mainTx   int // txs in the main-chain blocks read
	mainRead int // main-chain blocks read
	history  bool
	mainHist int // history records of the main-chain blocks read
}

type checkedHeader struct {
	header types.Header
	status uint8
}

// corrupt records damage met reading: where names the record, err is
// LevelDB's (which names the table file) or the decoder's.
func (k *checker) corrupt(where string, err error) {
	k.r.problem("corrupt: %s: %v", where, err)
}

func (k *checker) meta() error {
	schema, err := k.db.Get(keySchema, nil)
	if err != nil {
		if errors.Is(classify(err), ErrCorrupt) {
			k.corrupt("schema version", err)
			return nil
		}
		return fmt.Errorf("not a cairn chain database: %w", err)
	}
	if !knownSchema(schema) {
		return fmt.Errorf("chain database has schema version %v, this build reads version %d", schema, SchemaVersion)
	}
	k.history = schema[0] == SchemaVersion // versions 1 and 2 have none or an old one (cairnd upgrades it at start)
	g, err := k.db.Get(keyGenesis, nil)
	if err != nil {
		k.corrupt("genesis hash", err)
		return nil
	}
	if want := k.params.GenesisHash(); !bytes.Equal(g, want[:]) {
		return fmt.Errorf("chain database belongs to another network (genesis %x, not %s): pass its --genesis", g, want)
	}
	return nil
}

// tables reads every record, old versions of a key included, so that
// every table block has its checksum verified; damage in records no
// lookup reads (an overwritten version) is found too.
func (k *checker) tables() {
	it := k.db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	for it.Next() {
	}
	if err := it.Error(); err != nil {
		k.corrupt("table data", err)
	}
}

// headers reads every header record.
func (k *checker) headers() {
	k.hdrs = make(map[types.Hash]checkedHeader)
	it := k.db.NewIterator(util.BytesPrefix([]byte{prefixHeader}), &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	for it.Next() {
		h, status, _, err := decodeHeaderRecord(it.Value())
		if err != nil {
			k.corrupt(fmt.Sprintf("header record %x", it.Key()[1:]), err)
			continue
		}
		if hash := h.Hash(); !bytes.Equal(hash[:], it.Key()[1:]) {
			k.corrupt(fmt.Sprintf("header record %x", it.Key()[1:]), fmt.Errorf("hashes to %s", hash))
			continue
		}
		k.hdrs[types.Hash(it.Key()[1:])] = checkedHeader{h, status}
	}
	if err := it.Error(); err != nil {
		k.corrupt("header index", err)
	}
	k.r.Headers = len(k.hdrs)
}

// mainChain follows the stored tip back to genesis, checking the height
// index and the undo records on the way, and that the height index ends
// at the tip.
func (k *checker) mainChain() {
	k.main = make(map[types.Hash]uint64)
	tb, err := k.db.Get(keyTip, nil)
	if err != nil || len(tb) != types.HashSize {
		k.corrupt("tip record", fmt.Errorf("%d bytes, %v", len(tb), err))
		return
	}
	tip := types.Hash(tb)
	hdr, ok := k.hdrs[tip]
	if !ok {
		k.corrupt("tip record", fmt.Errorf("tip %s has no header record", tip))
		return
	}
	k.r.Tip, k.r.TipHeight, k.tip = tip, hdr.header.Height, &hdr.header
	for h, height := tip, hdr.header.Height; ; height-- {
		where := fmt.Sprintf("main-chain block %s (height %d)", h, height)
		ch, ok := k.hdrs[h]
		if !ok {
			k.corrupt(where, errors.New("no header record"))
			return
		}
		if ch.header.Height != height {
			k.corrupt(where, fmt.Errorf("header says height %d", ch.header.Height))
			return
		}
		k.main[h] = height
		if v, err := k.db.Get(heightKey(height), nil); err != nil || !bytes.Equal(v, h[:]) {
			k.corrupt(fmt.Sprintf("height index at %d", height), fmt.Errorf("holds %x, %v; the main chain has %s", v, err, h))
		}
		if u, err := k.db.Get(hashKey(prefixUndo, h), nil); err != nil {
			k.corrupt("undo record of "+where, err)
		} else if _, err := decodeUndo(u); err != nil {
			k.corrupt("undo record of "+where, err)
		} else {
			k.r.Undo++
		}
		if height == 0 {
			if h != k.params.GenesisHash() {
				k.corrupt(where, errors.New("the main chain does not start at genesis"))
			}
			break
		}
		h = ch.header.Parent
	}
	if _, err := k.db.Get(heightKey(k.r.TipHeight+1), nil); !errors.Is(err, leveldb.ErrNotFound) {
		k.corrupt("height index", fmt.Errorf("continues above the tip (height %d): %v", k.r.TipHeight+1, err))
	}
}

// blocks reads every block the index says is stored, and checks the tx
// index entries of the main-chain ones.
func (k *checker) blocks() {
	for h, ch := range k.hdrs {
		if ch.status&statusDataStored == 0 {
			continue
		}
		where := fmt.Sprintf("block %s (height %d)", h, ch.header.Height)
		b, err := k.db.Get(hashKey(prefixBlock, h), nil)
		if err != nil {
			k.corrupt(where, err)
			continue
		}
		blk, err := types.DecodeBlock(b, types.MaxBlockSizeLimit)
		if err != nil {
			k.corrupt(where, err)
			continue
		}
		if blk.Header != ch.header {
			k.corrupt(where, errors.New("the stored body carries another header"))
			continue
		}
		k.r.Blocks++
		if _, ok := k.main[h]; !ok {
			continue
		}
		k.mainRead++
		ids := txIDs(blk)
		for i, id := range ids {
			v, err := k.db.Get(hashKey(prefixTx, id), nil)
			if err != nil || !bytes.Equal(v, encodeTxLoc(h, i)) {
				k.corrupt(fmt.Sprintf("tx index entry of tx %s", id), fmt.Errorf("want %s index %d, have %x, %v", h, i, v, err))
			}
			k.mainTx++
		}
		if !k.history {
			continue
		}
		for _, rec := range historyOf(k.params, blk, ids, nil) {
			v, err := k.db.Get(historyKey(rec.addr, rec.entry.Height, rec.entry.Pos), nil)
			if err != nil || !bytes.Equal(v, rec.entry.encode()) {
				k.corrupt(fmt.Sprintf("history record of %s at height %d", rec.addr, rec.entry.Height),
					fmt.Errorf("want %x, have %x, %v", rec.entry.encode(), v, err))
			}
			k.mainHist++
		}
	}
}

// txIndex counts the tx index: with an entry checked for every main-chain
// tx, any more are entries for txs not on the main chain.
func (k *checker) txIndex() {
	var ok bool
	if k.r.TxIndex, ok = k.count(prefixTx, "tx index"); ok && k.r.TxIndex > k.mainTx && k.mainRead == len(k.main) {
		k.corrupt("tx index", fmt.Errorf("%d entries for %d main-chain txs", k.r.TxIndex, k.mainTx))
	}
}

// historyIndex counts the history index: with a record checked for every
// main-chain event, any more are records of blocks not on the main chain.
func (k *checker) historyIndex() {
	if !k.history {
		return
	}
	var ok bool
	if k.r.History, ok = k.count(prefixHistory, "history index"); ok && k.r.History > k.mainHist && k.mainRead == len(k.main) {
		k.corrupt("history index", fmt.Errorf("%d records for %d main-chain events", k.r.History, k.mainHist))
	}
}

// count counts the records under prefix; a read that fails is damage to
// what (reported), and ok is false.
func (k *checker) count(prefix byte, what string) (n int, ok bool) {
	it := k.db.NewIterator(util.BytesPrefix([]byte{prefix}), &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	for it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		k.corrupt(what, err)
		return n, false
	}
	return n, true
}

// state recomputes the state commitment from the stored accounts.
func (k *checker) state() {
	var lt consensus.LtHash
	it := k.db.NewIterator(util.BytesPrefix([]byte{prefixAccount}), &opt.ReadOptions{DontFillCache: true})
	for it.Next() {
		acc, err := decodeAccount(it.Value())
		if err == nil && acc.IsZero() {
			err = errors.New("zero account stored")
		}
		if err != nil {
			k.corrupt(fmt.Sprintf("account %x", it.Key()[1:]), err)
			continue
		}
		lt.AddAccount(types.Address(it.Key()[1:]), acc.Balance, acc.Nonce)
		k.r.Accounts++
	}
	it.Release()
	if err := it.Error(); err != nil {
		k.corrupt("account state", err)
		return
	}
	root := lt.Sum()
	if k.tip != nil && root != k.tip.StateRoot {
		k.corrupt("account state", fmt.Errorf("the %d accounts commit to %s, the tip's stateRoot is %s", k.r.Accounts, root, k.tip.StateRoot))
	}
	b, err := k.db.Get(keyLtHash, nil)
	if err != nil {
		k.corrupt("state commitment record", err)
		return
	}
	if stored, err := consensus.LtHashFromBytes(b); err != nil {
		k.corrupt("state commitment record", err)
	} else if stored.Sum() != root {
		k.corrupt("state commitment record", fmt.Errorf("commits to %s, the accounts to %s", stored.Sum(), root))
	}
}

// ScanRate is the pace of Scan in bytes a second: a whole store of a few
// GB in a minute or so of background reading.
const ScanRate = 64 << 20

// Scan reads every record of the database once, oldest tables and newest
// alike, so that LevelDB verifies the checksum of every table block: damage
// anywhere is met now, as the chain's fault (Config.OnFault), rather than
// when a peer happens to ask for the damaged block. It reads about rate
// bytes a second (0: ScanRate), from a snapshot, and returns early, with
// ctx's error, when ctx ends. Safe for concurrent use.
func (c *Chain) Scan(ctx context.Context, rate int) error {
	if rate <= 0 {
		rate = ScanRate
	}
	snap, err := c.db.GetSnapshot()
	if err != nil {
		return c.db.failed(err)
	}
	defer snap.Release()
	it := snap.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	start, read, next := time.Now(), 0, 1<<20
	if err := ctx.Err(); err != nil {
		return err
	}
	for it.Next() {
		read += len(it.Key()) + len(it.Value())
		if read >= next { // pace about every MiB
			next += 1 << 20
			due := start.Add(time.Duration(float64(read) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			} else if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if err := it.Error(); err != nil {
		return c.db.failed(err)
	}
	return nil
}
