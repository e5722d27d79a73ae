package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// ReindexReport is what Reindex did.
type ReindexReport struct {
	Recovered   bool // LevelDB could not open the database and recovered it
	Bodies      int  // block bodies found that decode and hash to their key
	Unreadable  int  // block records dropped: damaged, or not a block
	Stored      int  // bodies re-validated and stored (genesis not counted)
	Invalid     int  // bodies that broke a rule
	Unconnected int  // bodies whose ancestry was lost: sync fetches them again
	Tip         Tip  // the new tip
}

// Reindex rebuilds the chain database in dir from its own block bodies:
// the header index, the state, the undo records and the tx index are made
// anew by validating every stored block again, in height order, on a fresh
// database, which then replaces dir. The result is the longest valid chain
// the surviving bodies hold (a block whose parent's body was lost is left
// for sync to fetch again).
//
// Damage is dealt with first: LevelDB's recovery (leveldb.RecoverFile)
// rebuilds a damaged or missing MANIFEST from the tables present and
// rewrites each damaged table with the records it can still read, and a
// body that does not decode or hash to its key is dropped. Nothing outside
// dir is touched. progress, if set, is called now and then with the
// bodies stored so far and the number found.
//
// It is crash-safe: the new database is built in dir+".reindex" and swapped
// in by two renames, dir to dir+".old" and the new one to dir; a Reindex
// (or Open) after a crash between them finishes the swap or asks for a new
// Reindex, never opening half of either.
func Reindex(dir string, cfg Config, progress func(done, total int)) (*ReindexReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := finishSwap(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no chain database in %s", dir)
	}
	rep := &ReindexReport{}
	src, err := openForReindex(dir, cfg.CacheMB, rep)
	if err != nil {
		return nil, err
	}
	tmp := dir + ".reindex"
	err = rebuild(src, tmp, cfg, rep, progress)
	// The old database is replaced: a failure to close it (a compaction
	// that met its damage, say) does not matter.
	src.Close()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		return nil, err
	}
	if err := finishSwap(dir); err != nil {
		return nil, err
	}
	return rep, nil
}

// openForReindex opens the database in dir to read its block bodies (it
// is replaced afterwards, so it may change): as it is if LevelDB can open
// it; if not for damage (a damaged MANIFEST, a missing table), through
// LevelDB's recovery, which rebuilds the MANIFEST from the tables present
// and rewrites a damaged table with what it can still read — or, if that
// fails, drops the damaged tables whole.
func openForReindex(dir string, cacheMB int, rep *ReindexReport) (*leveldb.DB, error) {
	o := dbOptions(cacheMB)
	src, err := leveldb.OpenFile(dir, o)
	if errors.Is(classify(err), ErrInUse) {
		return nil, fmt.Errorf("%s: %w: stop it first", dir, ErrInUse)
	}
	if err == nil {
		if err = missingTables(src, dir); err == nil {
			return src, nil
		}
		src.Close()
	}
	if !errors.Is(classify(err), ErrCorrupt) {
		return nil, err
	}
	rep.Recovered = true
	o = dbOptions(cacheMB)
	o.ErrorIfMissing = false
	if src, err = leveldb.RecoverFile(dir, o); err == nil {
		return src, nil
	}
	// goleveldb's rewrite of a damaged table can fail on the table itself
	// (it refuses to write the several versions of one key a table may
	// hold, "keys are not in increasing order"); then the damaged tables
	// are dropped.
	o.Strict |= opt.StrictRecovery
	if src, err = leveldb.RecoverFile(dir, o); err != nil {
		return nil, fmt.Errorf("recover chain database %s: %w", dir, classify(err))
	}
	return src, nil
}

// finishSwap completes a swap of Reindex that a crash cut short, if one
// did: with dir+".old" present, either the new database was renamed into
// place already (dir exists) or it is complete in dir+".reindex", since the
// old one is renamed away only after the new one is closed.
func finishSwap(dir string) error {
	old, tmp := dir+".old", dir+".reindex"
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(tmp) // an unfinished rebuild, if any
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("finish the reindex of %s: %w", dir, err)
		}
	}
	syncDir(filepath.Dir(dir))
	return os.RemoveAll(old)
}

// syncDir makes renames in dir durable; best effort (not every file system
// syncs directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// stageBodies copies every body of src that decodes and hashes to its key
// into sdb under height ‖ hash, and returns the hashes of those at height
// 0. Reading goes on past a damaged table block (no StrictReader): what
// recovery could not save is skipped, not fatal.
func stageBodies(src, sdb *leveldb.DB, rep *ReindexReport) ([]types.Hash, error) {
	var genesis []types.Hash
	it := src.NewIterator(util.BytesPrefix([]byte{prefixBlock}),
		&opt.ReadOptions{DontFillCache: true, Strict: opt.StrictOverride | opt.StrictBlockChecksum})
	defer it.Release()
	batch := new(leveldb.Batch)
	for it.Next() {
		blk, err := types.DecodeBlock(it.Value(), types.MaxBlockSizeLimit)
		if err != nil || len(it.Key()) != 1+types.HashSize || blk.Hash() != types.Hash(it.Key()[1:]) {
			rep.Unreadable++
			continue
		}
		rep.Bodies++
		if blk.Header.Height == 0 {
			genesis = append(genesis, blk.Hash())
		}
		k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+types.HashSize), blk.Header.Height)
		batch.Put(append(k, it.Key()[1:]...), it.Value())
		if batch.Len() >= 1024 {
			if err := sdb.Write(batch, nil); err != nil {
				return nil, fmt.Errorf("staging database: %w", classify(err))
			}
			batch.Reset()
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read the stored blocks: %w", classify(err))
	}
	if err := sdb.Write(batch, nil); err != nil {
		return nil, fmt.Errorf("staging database: %w", classify(err))
	}
	return genesis, nil
}

// sameNetwork refuses to rebuild a database of another network (another
// --genesis) or schema, which would replace its chain by a new one: by
// its metadata, or, if that is lost, by the genesis block stored.
func sameNetwork(src *leveldb.DB, p *consensus.Params, genesis []types.Hash) error {
	want := p.GenesisHash()
	if schema, err := src.Get(keySchema, nil); err == nil && !knownSchema(schema) {
		return fmt.Errorf("chain database has schema version %v, this build reads version %d: use a matching build", schema, SchemaVersion)
	}
	if g, err := src.Get(keyGenesis, nil); err == nil {
		if !bytes.Equal(g, want[:]) {
			return fmt.Errorf("chain database belongs to another network (genesis %x), not to %s (genesis %s): pass the --genesis it was made with",
				g, p.NetID(), want)
		}
		return nil
	}
	for _, h := range genesis {
		if h != want {
			return fmt.Errorf("chain database holds the genesis block %s of another network, not %s: pass the --genesis it was made with", h, want)
		}
	}
	return nil
}

// rebuild validates the bodies stored in src into a new database at tmp.
//
// The bodies are first copied, in one pass over src, into a staging
// database keyed by height (tmp+".staging"), and imported from there in
// height order: src is read once, in key order, never looked up again —
// a lookup in a damaged database can fail on a table that the scan
// skipped past — and the bodies need not fit in memory.
func rebuild(src *leveldb.DB, tmp string, cfg Config, rep *ReindexReport, progress func(int, int)) error {
	staging := tmp + ".staging"
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	sdb, err := leveldb.OpenFile(staging, &opt.Options{NoSync: true})
	if err != nil {
		return fmt.Errorf("staging database: %w", classify(err))
	}
	defer sdb.Close()
	genesisFound, err := stageBodies(src, sdb, rep)
	if err != nil {
		return err
	}
	if err := sameNetwork(src, cfg.Params, genesisFound); err != nil {
		return err
	}

	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	cfg.SyncWrites = false // the swap waits for the final synced write
	cfg.OnFault = nil
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := Open(tmp, cfg)
	if err != nil {
		return err
	}
	have := map[types.Hash]bool{c.genesis: true}
	it := sdb.NewIterator(nil, nil)
	defer it.Release()
	for i := 0; it.Next(); i++ {
		if progress != nil && i%1000 == 0 {
			progress(rep.Stored, rep.Bodies)
		}
		blk, err := types.DecodeBlock(it.Value(), types.MaxBlockSizeLimit)
		if err != nil {
			c.Close()
			return fmt.Errorf("staged block: %w", err)
		}
		if blk.Header.Height == 0 {
			continue
		}
		hash := blk.Hash()
		if !have[blk.Header.Parent] {
			rep.Unconnected++
			continue
		}
		_, err = c.ProcessBlock(blk)
		switch {
		case err == nil:
			have[hash] = true
			rep.Stored++
		case consensus.IsRuleError(err) || errors.Is(err, ErrKnownInvalid):
			rep.Invalid++
		default:
			c.Close()
			return fmt.Errorf("store block %s (height %d): %w", hash, blk.Header.Height, err)
		}
	}
	if err := it.Error(); err != nil {
		c.Close()
		return fmt.Errorf("staged blocks: %w", classify(err))
	}
	if progress != nil {
		progress(rep.Stored, rep.Bodies)
	}
	rep.Tip = c.Tip()
	// Everything into tables: the new database starts tidy, with one
	// empty journal.
	if err := c.db.CompactRange(util.Range{}); err != nil {
		c.Close()
		return fmt.Errorf("compact %s: %w", tmp, classify(err))
	}
	batch := new(leveldb.Batch)
	batch.Put(keyTip, rep.Tip.Hash[:])
	if err := c.db.Write(batch, &opt.WriteOptions{Sync: true}); err != nil {
		c.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	return nil
}
