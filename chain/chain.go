package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// SigChecker reports transactions whose signature was already verified on
// this network (by the txpool), so block import need not verify it again.
// Implementations must be safe for concurrent use.
type SigChecker interface {
	Verified(id types.Hash) bool
}

// Config configures a Chain. Zero values take the documented defaults.
type Config struct {
	// Params are the network's consensus parameters (validated). Required.
	Params *consensus.Params
	// Now is the local clock; default time.Now.
	Now func() time.Time
	// Sigs, if set, lets import skip signatures verified earlier.
	Sigs SigChecker
	// Logger receives one line per imported block and per reorg; default
	// discards.
	Logger *slog.Logger
	// MaxOrphans and MaxOrphanBytes bound the orphan pool; defaults 256
	// blocks and 32 MiB, each peer holding at most an eighth of either. OrphanTTL is how long an orphan is kept; default
	// 10 minutes.
	MaxOrphans     int
	MaxOrphanBytes int
	OrphanTTL      time.Duration
	// MinChainWork is the least total work a header branch needs before
	// its headers are stored (see AntiDoSWork): node policy shipped with a
	// network, never part of the genesis hash; nil means none.
	MinChainWork *big.Int
	// OnFault, if set, is called once, on a goroutine of its own, with the
	// first store failure the chain meets (see ErrCorrupt, ErrDiskFull,
	// ErrStoreFailed); the chain stores nothing from then on. A node stops
	// on it: the store needs repair, or space.
	OnFault func(error)
	// SyncWrites makes every batch an fsync'ed write. Without it a batch is
	// still atomic and survives a killed process (the OS holds it); only a
	// power loss can drop the newest blocks, never corrupt the database.
	SyncWrites bool
	// CacheMB is the size of the database's block cache in MiB (the
	// decoded table blocks, bloom filters and indexes LevelDB keeps in
	// memory); default DefaultCacheMB, at most 1,048,576.
	CacheMB int
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Params == nil || cfg.Params.Genesis() == nil {
		return cfg, errors.New("chain: Config.Params missing or not validated")
	}
	if cfg.CacheMB < 0 || cfg.CacheMB > MaxCacheMB {
		return cfg, fmt.Errorf("chain: Config.CacheMB %d out of range (0 for the default, up to %d)", cfg.CacheMB, MaxCacheMB)
	}
	if cfg.CacheMB == 0 {
		cfg.CacheMB = DefaultCacheMB
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxOrphans == 0 {
		cfg.MaxOrphans = 256
	}
	if cfg.MaxOrphanBytes == 0 {
		cfg.MaxOrphanBytes = 32 << 20
	}
	if cfg.OrphanTTL == 0 {
		cfg.OrphanTTL = 10 * time.Minute
	}
	return cfg, nil
}

// Chain is the block chain of one node. See the package comment.
type Chain struct {
	cfg     Config
	params  *consensus.Params
	genesis types.Hash
	db      *store
	wopts   *opt.WriteOptions

	// mu guards everything below, and the fields of the blockNodes in
	// index that change (status, children, chainData). Every unexported
	// method that reads or changes them says so in its comment: "Callers
	// hold c.mu" (for writing), or "at least for reading". Open, before
	// the chain is shared, needs no lock. A name ending in Locked marks
	// the lock-free twin of an exported method that takes the lock.
	mu timedMutex
	// index holds every known header; candidates the blocks with chainData
	// that are not invalid and have at least the tip's work.
	index      map[types.Hash]*blockNode
	candidates map[*blockNode]struct{}
	// leaves are the headers without children; fallbacks the parents of
	// blocks marked invalid. The best header is among them. deadLeaves
	// are the leaves found invalid, which recomputeBestHeader moves out
	// of leaves for good (Tips lists them).
	leaves, fallbacks, deadLeaves map[*blockNode]struct{}
	// invalidNodes are the blocks marked invalid (statusInvalid);
	// invalidEpoch counts them, starting at 1. See isInvalid.
	invalidNodes []*blockNode
	invalidEpoch uint32
	tip          *blockNode
	// tipSnap is what Tip returns, set with tip (publishTip): read
	// without the lock, so that frequent readers (RPC's chain_getHead,
	// status polls) never hold up an import waiting for the lock.
	tipSnap    atomic.Pointer[Tip]
	bestHeader *blockNode   // most work among headers not known invalid
	main       []*blockNode // main chain by height
	lt         consensus.LtHash
	seq        uint64
	orphans    *orphanPool
	// rejected remembers blocks refused for a permanent rule violation, with
	// the reason: those never stored, so they are refused again without
	// work, and those a reorganisation found invalid.
	rejected map[types.Hash]error
}

// Open opens (or creates) the chain database in dir.
//
// A new database is made in dir+".new" and renamed to dir once its genesis
// is written: goleveldb cannot reopen a database whose creation was cut
// short (its first manifest written, CURRENT not yet), so creating it in
// place would leave a node killed during its very first start unable to
// restart without repair. A missing or empty dir is created this way.
func Open(dir string, cfg Config) (*Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := createDB(dir, cfg); err != nil {
		return nil, err
	}
	db, err := leveldb.OpenFile(dir, dbOptions(cfg.CacheMB))
	if err != nil {
		return nil, fmt.Errorf("open chain database %s: %w", dir, classify(err))
	}
	if err := missingTables(db, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("open chain database %s: %w", dir, err)
	}
	c, err := newChain(db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// createDB creates the database of dir, holding genesis, if dir is missing
// or empty; see Open.
func createDB(dir string, cfg Config) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open chain database %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return nil
	}
	if _, err := os.Stat(dir + ".old"); err == nil {
		return fmt.Errorf("%w: %s is missing and %s.old is there: a reindex was cut short; run it again to finish it", ErrCorrupt, dir, dir)
	}
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil { // left by a creation cut short
		return fmt.Errorf("create chain database: %w", err)
	}
	o := dbOptions(cfg.CacheMB)
	o.ErrorIfMissing = false
	db, err := leveldb.OpenFile(tmp, o)
	if err != nil {
		return fmt.Errorf("create chain database %s: %w", tmp, err)
	}
	c, err := newChain(db, cfg)
	if err != nil {
		db.Close()
		os.RemoveAll(tmp)
		return err
	}
	if err := c.Close(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("create chain database %s: %w", tmp, err)
	}
	// os.Rename refuses an existing directory, even an empty one: remove it
	// first. A kill in between leaves dir missing, which is recreated.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(tmp)
		return fmt.Errorf("create chain database: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("create chain database: %w", err)
	}
	syncDir(filepath.Dir(dir))
	return nil
}

// OpenMemory opens a chain on an in-memory LevelDB, for tests.
func OpenMemory(cfg Config) (*Chain, error) {
	db, err := leveldb.Open(storage.NewMemStorage(), nil)
	if err != nil {
		return nil, err
	}
	c, err := newChain(db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Fault returns the first store failure the chain met (it then stores
// nothing more), or nil. Safe for concurrent use.
func (c *Chain) Fault() error { return c.db.faultErr() }

// Close closes the database. The Chain must not be used afterwards.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}

func newChain(ldb *leveldb.DB, cfg Config) (*Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Chain{
		cfg:          cfg,
		params:       cfg.Params,
		genesis:      cfg.Params.GenesisHash(),
		db:           &store{DB: ldb, onFault: cfg.OnFault},
		wopts:        &opt.WriteOptions{Sync: cfg.SyncWrites},
		index:        make(map[types.Hash]*blockNode),
		candidates:   make(map[*blockNode]struct{}),
		leaves:       make(map[*blockNode]struct{}),
		deadLeaves:   make(map[*blockNode]struct{}),
		fallbacks:    make(map[*blockNode]struct{}),
		invalidEpoch: 1,
		orphans:      newOrphanPool(cfg.MaxOrphans, cfg.MaxOrphanBytes, cfg.OrphanTTL),
		rejected:     make(map[types.Hash]error),
	}
	schema, err := getOptional(c.db, keySchema)
	if err != nil {
		return nil, fmt.Errorf("read chain schema: %w", err)
	}
	if schema == nil {
		if err := c.initGenesis(); err != nil {
			return nil, err
		}
	} else if err := c.checkMeta(schema); err != nil {
		return nil, err
	}
	if err := c.loadIndex(); err != nil {
		return nil, err
	}
	if schema != nil && schema[0] == schemaNoHistory {
		if err := c.buildHistory(); err != nil {
			return nil, err
		}
	}
	if schema != nil && schema[0] == schemaFullHistory {
		if err := c.slimHistory(); err != nil {
			return nil, err
		}
	}
	// A branch stored with more work than the tip whose reorganisation was
	// never written (the process died between the two batches) wins now,
	// not only when the next side-chain block happens to arrive.
	if err := c.activateBestChain(&Result{}); err != nil {
		return nil, fmt.Errorf("activate best chain: %w", err)
	}
	return c, nil
}

// initGenesis writes a fresh database: metadata, genesis header and block,
// allocations and the LtHash, in one batch.
func (c *Chain) initGenesis() error {
	it := c.db.NewIterator(nil, nil)
	nonEmpty := it.Next()
	it.Release()
	if nonEmpty {
		return fmt.Errorf("%w: records present but no schema version; not a cairn chain database", ErrCorrupt)
	}
	g := c.params.Genesis()
	var lt consensus.LtHash
	// A batch that grows by doubling: goleveldb's own growth turns linear
	// past 3,000 records, which makes a genesis of a million allocations
	// (two records each, the account and its history) take half a minute
	// of copying.
	batch := leveldb.MakeBatchWithConfig(&leveldb.BatchConfig{GrowLimit: math.MaxInt32})
	for _, a := range c.params.Alloc {
		lt.AddAccount(a.Address, a.Amount, 0)
		batch.Put(accountKey(a.Address), Account{Balance: a.Amount}.encode())
	}
	if lt.Sum() != g.Header.StateRoot {
		return errors.New("chain: genesis stateRoot does not match its allocations")
	}
	n := &blockNode{hash: c.genesis, header: g.Header, status: statusDataStored | statusValid,
		work: consensus.CalcWork(g.Header.Bits)}
	batch.Put(hashKey(prefixHeader, n.hash), encodeHeaderRecord(n))
	batch.Put(hashKey(prefixBlock, n.hash), g.Encode())
	batch.Put(heightKey(0), n.hash[:])
	batch.Put(hashKey(prefixUndo, n.hash), encodeUndo(nil))
	putHistory(batch, historyOf(c.params, g, nil, nil))
	batch.Put(keyLtHash, lt.Bytes())
	batch.Put(keyTip, n.hash[:])
	batch.Put(keyGenesis, c.genesis[:])
	batch.Put(keySchema, []byte{SchemaVersion})
	if err := c.db.Write(batch, &opt.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	return nil
}

// checkMeta refuses a database of another schema version or network.
func (c *Chain) checkMeta(schema []byte) error {
	if !knownSchema(schema) {
		return fmt.Errorf("chain database has schema version %v, this build reads version %d: use a new datadir or a matching build", schema, SchemaVersion)
	}
	g, err := getOptional(c.db, keyGenesis)
	if err != nil {
		return fmt.Errorf("read genesis hash: %w", err)
	}
	if !bytes.Equal(g, c.genesis[:]) {
		other := types.Hash{}
		copy(other[:], g)
		return fmt.Errorf("chain database belongs to network %s (genesis %s), not to %s (genesis %s): use another datadir",
			other.String()[:8], other, c.params.NetID(), c.genesis)
	}
	return nil
}

// loadIndex reads every header record into memory, links parents, and
// restores tip, main chain, candidates and the running LtHash.
func (c *Chain) loadIndex() error {
	var nodes []*blockNode
	it := c.db.NewIterator(util.BytesPrefix([]byte{prefixHeader}), nil)
	for it.Next() {
		h, status, work, err := decodeHeaderRecord(it.Value())
		if err != nil {
			it.Release()
			return err
		}
		n := &blockNode{header: h, status: status, work: work}
		n.hash = h.Hash()
		if !bytes.Equal(n.hash[:], it.Key()[1:]) {
			err := fmt.Errorf("%w: header record under %x hashes to %s", ErrCorrupt, it.Key()[1:], n.hash)
			it.Release() // Key is not valid after Release
			return err
		}
		nodes = append(nodes, n)
	}
	it.Release()
	if err := it.Error(); err != nil {
		return fmt.Errorf("load header index: %w", c.db.failed(err))
	}
	slices.SortFunc(nodes, func(a, b *blockNode) int {
		switch {
		case a.height() < b.height():
			return -1
		case a.height() > b.height():
			return 1
		}
		return 0
	})
	for _, n := range nodes {
		c.index[n.hash] = n
	}
	for _, n := range nodes {
		c.seq++
		n.seq = c.seq
		if n.height() == 0 {
			if n.hash != c.genesis {
				return fmt.Errorf("%w: a second header at height 0 (%s)", ErrCorrupt, n.hash)
			}
			n.chainData = true
			continue
		}
		p := c.index[n.header.Parent]
		if p == nil {
			return fmt.Errorf("%w: header %s has no parent %s", ErrCorrupt, n.hash, n.header.Parent)
		}
		n.parent = p
		n.setSkip()
		p.children = append(p.children, n)
		n.chainData = p.chainData && n.status&statusDataStored != 0
	}
	tipHash, err := c.db.Get(keyTip, nil)
	if err != nil {
		return fmt.Errorf("%w: no tip: %v", ErrCorrupt, err)
	}
	var th types.Hash
	copy(th[:], tipHash)
	c.tip = c.index[th]
	if c.tip == nil || len(tipHash) != types.HashSize {
		return fmt.Errorf("%w: tip %x is not in the header index", ErrCorrupt, tipHash)
	}
	ltb, err := c.db.Get(keyLtHash, nil)
	if err != nil {
		return fmt.Errorf("%w: no state commitment: %v", ErrCorrupt, err)
	}
	if c.lt, err = consensus.LtHashFromBytes(ltb); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if root := c.lt.Sum(); root != c.tip.header.StateRoot {
		return fmt.Errorf("%w: stored state commits to %s, tip %s has stateRoot %s", ErrCorrupt, root, c.tip.hash, c.tip.header.StateRoot)
	}
	c.publishTip()
	c.main = make([]*blockNode, c.tip.height()+1)
	for n := c.tip; n != nil; n = n.parent {
		c.main[n.height()] = n
	}
	for _, n := range nodes {
		if len(n.children) == 0 {
			c.leaves[n] = struct{}{}
		}
		if n.status&statusInvalid != 0 && n.parent != nil {
			c.fallbacks[n.parent] = struct{}{}
			c.invalidNodes = append(c.invalidNodes, n)
		}
	}
	for _, n := range nodes {
		c.considerCandidate(n)
	}
	c.recomputeBestHeader()
	return nil
}

// considerCandidate adds n to the candidate set if it could become the tip.
// Callers hold c.mu.
func (c *Chain) considerCandidate(n *blockNode) {
	if n.chainData && !c.isInvalid(n) && n.work.Cmp(c.tip.work) > 0 {
		c.candidates[n] = struct{}{}
	}
}

// addNode puts n, whose parent is indexed, in the index (if it is not
// there yet) and makes it the best header if it beats it. Callers hold
// c.mu.
func (c *Chain) addNode(n *blockNode) {
	if c.index[n.hash] == nil {
		c.index[n.hash] = n
		n.parent.children = append(n.parent.children, n)
		delete(c.leaves, n.parent)
		c.leaves[n] = struct{}{}
	}
	if !c.isInvalid(n) && n.betterThan(c.bestHeader) {
		c.bestHeader = n
	}
}

// recomputeBestHeader finds the valid-looking header with the most work.
// It is a leaf of the index, or the parent of a block marked invalid
// (whose children all are): only those are looked at, so the cost does
// not grow with the headers hanging below an invalid block. Callers hold
// c.mu.
func (c *Chain) recomputeBestHeader() {
	c.bestHeader = c.tip
	for _, set := range []map[*blockNode]struct{}{c.leaves, c.fallbacks} {
		for n := range set {
			switch {
			case c.isInvalid(n):
				delete(set, n) // for good: nothing is added below an invalid block
				if len(n.children) == 0 {
					c.deadLeaves[n] = struct{}{}
				}
			case n.betterThan(c.bestHeader):
				c.bestHeader = n
			}
		}
	}
}

// markInvalid marks n invalid, in memory and in batch. Its descendants
// are invalid too, but nothing walks them: isInvalid finds out when it
// looks at one (see invalidEpoch), so the cost does not depend on how many
// headers hang below n. Callers hold c.mu.
func (c *Chain) markInvalid(n *blockNode, batch *leveldb.Batch) {
	n.status |= statusInvalid
	batch.Put(hashKey(prefixHeader, n.hash), encodeHeaderRecord(n))
	c.invalidNodes = append(c.invalidNodes, n)
	c.invalidEpoch++
	delete(c.candidates, n)
	if n.parent != nil {
		c.fallbacks[n.parent] = struct{}{}
	}
	if c.isInvalid(c.bestHeader) {
		c.recomputeBestHeader()
	}
}

// isInvalid reports whether n broke a rule or descends from a block that
// did: whether it or an ancestor is one of the blocks marked invalid
// (invalidNodes), each looked for in O(log n) steps by the skip pointers.
// A connected block and its ancestors are valid. The answer is cached in
// the node for the current invalidEpoch (markInvalid starts a new one);
// the cache is atomic, so readers holding only the read lock may fill it.
// Nothing walks the descendants of an invalid block. Callers hold c.mu, at
// least for reading.
func (c *Chain) isInvalid(n *blockNode) bool {
	if n.status&statusInvalidMask != 0 {
		return true
	}
	if n.status&statusValid != 0 {
		return false
	}
	epoch := c.invalidEpoch
	if v := n.invalidCache.Load(); v>>1 == epoch {
		return v&1 == 1
	}
	bad := false
	for _, m := range c.invalidNodes {
		if m.height() < n.height() && n.ancestor(m.height()) == m {
			bad = true
			break
		}
	}
	v := epoch << 1
	if bad {
		v |= 1
	}
	n.invalidCache.Store(v)
	return bad
}
