package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
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
	// SyncWrites makes every batch an fsync'ed write. Without it a batch is
	// still atomic and survives a killed process (the OS holds it); only a
	// power loss can drop the newest blocks, never corrupt the database.
	SyncWrites bool
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Params == nil || cfg.Params.Genesis() == nil {
		return cfg, errors.New("chain: Config.Params missing or not validated")
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
	db      *leveldb.DB
	wopts   *opt.WriteOptions

	mu timedMutex // guards everything below
	// index holds every known header; candidates the blocks with chainData
	// that are not invalid and have at least the tip's work.
	index      map[types.Hash]*blockNode
	candidates map[*blockNode]struct{}
	// leaves are the headers without children; fallbacks the parents of
	// blocks marked invalid. The best header is among them.
	leaves, fallbacks map[*blockNode]struct{}
	// invalidNodes are the blocks marked invalid (statusInvalid);
	// invalidEpoch counts them, starting at 1. See isInvalid.
	invalidNodes []*blockNode
	invalidEpoch uint32
	tip          *blockNode
	bestHeader   *blockNode   // most work among headers not known invalid
	main         []*blockNode // main chain by height
	lt           consensus.LtHash
	seq          uint64
	orphans      *orphanPool
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
	if err := createDB(dir, cfg); err != nil {
		return nil, err
	}
	db, err := leveldb.OpenFile(dir, &opt.Options{ErrorIfMissing: true})
	if err != nil {
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
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil { // left by a creation cut short
		return fmt.Errorf("create chain database: %w", err)
	}
	db, err := leveldb.OpenFile(tmp, &opt.Options{})
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
	if d, err := os.Open(filepath.Dir(dir)); err == nil {
		d.Sync() // make the rename durable; best effort (not every file system syncs directories)
		d.Close()
	}
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

// Close closes the database. The Chain must not be used afterwards.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}

func newChain(db *leveldb.DB, cfg Config) (*Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Chain{
		cfg:          cfg,
		params:       cfg.Params,
		genesis:      cfg.Params.GenesisHash(),
		db:           db,
		wopts:        &opt.WriteOptions{Sync: cfg.SyncWrites},
		index:        make(map[types.Hash]*blockNode),
		candidates:   make(map[*blockNode]struct{}),
		leaves:       make(map[*blockNode]struct{}),
		fallbacks:    make(map[*blockNode]struct{}),
		invalidEpoch: 1,
		orphans:      newOrphanPool(cfg.MaxOrphans, cfg.MaxOrphanBytes, cfg.OrphanTTL),
		rejected:     make(map[types.Hash]error),
	}
	schema, err := getOptional(db, keySchema)
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
	batch := new(leveldb.Batch)
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
	if len(schema) != 1 || schema[0] != SchemaVersion {
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
		return fmt.Errorf("load header index: %w", err)
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
func (c *Chain) considerCandidate(n *blockNode) {
	if n.chainData && !c.isInvalid(n) && n.work.Cmp(c.tip.work) > 0 {
		c.candidates[n] = struct{}{}
	}
}

// ProcessStatus says what ProcessBlock did with a block.
type ProcessStatus int

const (
	// StatusConnected: the block is on the main chain now (the tip moved).
	StatusConnected ProcessStatus = iota + 1
	// StatusSideChain: stored on a branch with no more work than the tip.
	StatusSideChain
	// StatusOrphan: parent unknown; held in the orphan pool.
	StatusOrphan
	// StatusDuplicate: already known; nothing done.
	StatusDuplicate
)

func (s ProcessStatus) String() string {
	switch s {
	case StatusConnected:
		return "connected"
	case StatusSideChain:
		return "side chain"
	case StatusOrphan:
		return "orphan"
	case StatusDuplicate:
		return "duplicate"
	}
	return fmt.Sprintf("ProcessStatus(%d)", int(s))
}

// Result reports the effect of ProcessBlock on the main chain, orphans
// connected along the way included. Disconnected lists blocks removed from
// the main chain, old tip first; Connected the blocks added, in order.
type Result struct {
	Status       ProcessStatus
	Connected    []*types.Block
	Disconnected []*types.Block
}

// ErrKnownInvalid is wrapped when a block was already found invalid.
var ErrKnownInvalid = errors.New("block already known invalid")

// ProcessBlock validates blk and adds it to the chain: extending the tip,
// storing it on a side branch, reorganising to a branch that now has more
// work, or holding it as an orphan. It returns a *consensus.RuleError for a
// block that breaks a rule (ErrTimeTooNew for one from the future, which
// may be offered again later), also when blk was stored on a side branch
// and connecting that branch showed blk or an ancestor invalid
// (ErrInvalidAncestor for the latter); the Result returned with such an
// error still reports any change of the main chain made before the fault
// was found. Safe for concurrent use.
func (c *Chain) ProcessBlock(blk *types.Block) (Result, error) {
	return c.ProcessBlockFrom(blk, Origin{})
}

// Origin says where a block handed to ProcessBlockFrom came from.
type Origin struct {
	// Peer names the peer that sent the block; empty for this node's own
	// blocks (mined, or submitted over RPC).
	Peer string
	// Unrequested marks a block relayed by gossip rather than asked for by
	// sync (see ProcessBlockFrom).
	Unrequested bool
}

// ErrLowWork is returned, wrapped, for an unrequested block whose branch
// has less work than the tip, and by ProcessHeaders for headers whose branch
// stays below AntiDoSWork: nothing of them is stored. It is no rule
// violation (an honest peer on a losing branch sends such blocks); a relay
// should ignore the block, not penalise its sender.
var ErrLowWork = errors.New("branch has too little work")

// Orphan acceptance: a block whose parent is unknown is held only if it
// is near the tip — at most maxOrphanLead blocks above or below it — and
// declares a target at most orphanTargetSlack times that of the
// tip's child, so that its proof of work, checked against the bits it
// declares, costs about as much as a real block.
const (
	maxOrphanLead     = 32
	orphanTargetSlack = 4
)

// ProcessBlockFrom is ProcessBlock for a block from origin o. A block with
// o.Unrequested (relayed by gossip) is processed and stored only if its
// branch has at least the tip's work or it is on the best header chain
// (sync would fetch it); otherwise it fails with ErrLowWork and nothing is
// stored. An orphan is held only if it passes the orphan rules above.
//
// The expensive checks — proof of work, the body rules and every
// signature — run before the chain lock is taken, so that a block being
// verified never delays readers or another block's import; under the lock
// the block is only looked up again and connected or stored.
func (c *Chain) ProcessBlockFrom(blk *types.Block, o Origin) (Result, error) {
	hash := blk.Hash()
	pre, err := c.precheck(&blk.Header, hash, o)
	if consensus.IsRuleError(err) {
		// Invalid ancestry or proof of work: remembered, as the header is
		// at fault, and so are the orphans waiting for it.
		c.mu.Lock()
		c.reject(hash, err)
		var res Result
		c.takeOrphans(hash, &res)
		c.mu.Unlock()
		return res, err
	}
	if err != nil || pre.status != 0 {
		return Result{Status: pre.status}, err
	}
	ids := txIDs(blk)
	if err := c.params.CheckBlockBody(blk, ids, blk.EncodedSize()); err != nil {
		// Body rules that a relayed copy could break without the header
		// being at fault (size, txRoot, duplicates) do not condemn the
		// block hash.
		return Result{}, err
	}
	if pre.checkHeader {
		if err := c.params.CheckHeader(&blk.Header, hash, pre.parent, c.cfg.Now().UnixMilli()); err != nil {
			if consensus.CodeOf(err) != consensus.ErrTimeTooNew {
				c.mu.Lock()
				c.reject(hash, err)
				c.mu.Unlock()
			}
			return Result{}, err
		}
	}
	var known func(types.Hash) bool
	if c.cfg.Sigs != nil {
		known = c.cfg.Sigs.Verified
	}
	if err := c.verifySignatures(blk, ids, known); err != nil {
		// txRoot commits to the signatures: the header is at fault.
		c.mu.Lock()
		if n := c.index[hash]; n != nil {
			c.condemn(n, err)
		} else {
			c.reject(hash, err)
		}
		c.mu.Unlock()
		return Result{}, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{}
	checked := &checkedBlock{ids: ids, headerChecked: pre.checkHeader}
	st, err := c.processOne(blk, o, checked, &res)
	res.Status = st
	if st == StatusOrphan || st == StatusDuplicate || err != nil && !c.condemned(hash) {
		return res, err
	}
	c.takeOrphans(hash, &res)
	if err != nil {
		return res, err
	}
	if len(res.Connected) > 0 && res.Status == StatusSideChain {
		res.Status = StatusConnected
	}
	return res, nil
}

// takeOrphans connects the orphans waiting for block h, breadth first;
// those waiting for a block found invalid are refused in turn. Their
// bodies and signatures were checked before they were held.
func (c *Chain) takeOrphans(h types.Hash, res *Result) {
	queue := []types.Hash{h}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, kid := range c.orphans.takeChildren(h) {
			kh := kid.block.Hash()
			if _, err := c.processOne(kid.block, kid.origin, &checkedBlock{}, res); err != nil {
				c.cfg.Logger.Debug("orphan refused", "hash", kh, "err", err)
				if c.condemned(kh) {
					queue = append(queue, kh) // its own orphans are refused in turn
				}
				continue
			}
			queue = append(queue, kh)
		}
	}
}

// prechecked is what precheck learnt under the read lock.
type prechecked struct {
	status      ProcessStatus // StatusDuplicate: nothing more to do
	checkHeader bool          // the header is not in the index: check it against parent
	parent      consensus.ParentInfo
}

// checkedBlock records the checks a block passed before the lock was
// taken: its tx ids (nil: the body and signatures were checked when it
// was held as an orphan) and, if headerChecked, the header rules.
type checkedBlock struct {
	ids           []types.Hash
	headerChecked bool
}

// precheck does the cheap checks of ProcessBlockFrom under the read lock:
// known, known invalid, unrequested and too little work, orphan rules
// (for an orphan, proof of work included).
func (c *Chain) precheck(h *types.Header, hash types.Hash, o Origin) (prechecked, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := c.index[hash]
	if n != nil {
		if c.isInvalid(n) {
			return prechecked{}, fmt.Errorf("block %s: %w", hash, ErrKnownInvalid)
		}
		if n.status&statusDataStored != 0 {
			return prechecked{status: StatusDuplicate}, nil
		}
	}
	if err, ok := c.rejected[hash]; ok {
		return prechecked{}, fmt.Errorf("block %s: %w: %w", hash, ErrKnownInvalid, err)
	}
	if c.orphans.has(hash) {
		return prechecked{status: StatusDuplicate}, nil
	}
	parent := c.index[h.Parent]
	if parent == nil {
		return prechecked{}, c.checkOrphan(h, hash)
	}
	if c.isInvalid(parent) {
		return prechecked{}, consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s is invalid", parent.hash)
	}
	if o.Unrequested {
		if err := c.checkWanted(n, parent, h, hash); err != nil {
			return prechecked{}, err
		}
	}
	if n != nil {
		return prechecked{}, nil // its header passed the rules in ProcessHeaders
	}
	return prechecked{checkHeader: true, parent: parent.parentInfo()}, nil
}

// WantBlock tells a relay, from a block's header alone, whether the block
// is worth decoding and processing as an unrequested block: nil if so;
// StatusDuplicate if it is stored or held already; an error wrapping
// ErrLowWork if ProcessBlockFrom would refuse it for too little work, a
// *consensus.RuleError or ErrKnownInvalid if it is invalid. Safe for
// concurrent use; it takes the read lock only.
func (c *Chain) WantBlock(h *types.Header) (ProcessStatus, error) {
	pre, err := c.precheck(h, h.Hash(), Origin{Unrequested: true})
	return pre.status, err
}

// checkWanted refuses an unrequested block (header h, index node n if its
// header is known, parent known) whose branch has less work than the tip
// and which is not on the best header chain.
func (c *Chain) checkWanted(n, parent *blockNode, h *types.Header, hash types.Hash) error {
	if n != nil && c.bestHeader.ancestor(n.height()) == n {
		return nil
	}
	work := new(big.Int).Add(parent.work, consensus.CalcWork(h.Bits))
	if work.Cmp(c.tip.work) >= 0 {
		return nil
	}
	return fmt.Errorf("block %s at height %d: %w: its branch does not reach the tip's work", hash, h.Height, ErrLowWork)
}

// checkOrphan applies the orphan rules to the header h of a block whose
// parent is unknown:
// height within maxOrphanLead of the tip's, target within
// orphanTargetSlack of the tip child's, proof of work against it. A block
// breaking them is refused with ErrLowWork (nothing is remembered: it may
// be valid, only not worth holding); one with a bad proof of work is
// refused as invalid.
func (c *Chain) checkOrphan(h *types.Header, hash types.Hash) error {
	if h.Height == 0 {
		return consensus.NewRuleError(consensus.ErrBadGenesis, "block %s claims height 0", hash)
	}
	// A child of a block refused for good is invalid too: refuse it
	// rather than hold it as an orphan until it expires.
	if _, bad := c.rejected[h.Parent]; bad {
		return consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s was refused as invalid", h.Parent)
	}
	tipH := c.tip.height()
	if h.Height+maxOrphanLead < tipH || h.Height > tipH+maxOrphanLead {
		return fmt.Errorf("orphan %s at height %d, tip at %d: %w", hash, h.Height, tipH, ErrLowWork)
	}
	want := consensus.CompactToBig(c.params.NextBits(tipH, c.tip.header.Time))
	limit := new(big.Int).Mul(want, big.NewInt(orphanTargetSlack))
	if got := consensus.CompactToBig(h.Bits); got.Sign() <= 0 || got.Cmp(limit) > 0 {
		return fmt.Errorf("orphan %s declares bits %08x, easier than %d times the tip's next %08x: %w",
			hash, h.Bits, orphanTargetSlack, c.params.NextBits(tipH, c.tip.header.Time), ErrLowWork)
	}
	// Proof of work needs no context: without it, anyone could fill the
	// orphan pool for free and push out real orphans.
	return consensus.CheckProofOfWork(hash, h.Bits, c.params.PowLimit)
}

func (c *Chain) processOne(blk *types.Block, o Origin, checked *checkedBlock, res *Result) (ProcessStatus, error) {
	start := time.Now()
	hash := blk.Hash()
	if n := c.index[hash]; n != nil {
		if c.isInvalid(n) {
			return 0, fmt.Errorf("block %s: %w", hash, ErrKnownInvalid)
		}
		if n.status&statusDataStored != 0 {
			return StatusDuplicate, nil
		}
	}
	if err, ok := c.rejected[hash]; ok {
		return 0, fmt.Errorf("block %s: %w: %w", hash, ErrKnownInvalid, err)
	}
	if c.orphans.has(hash) {
		return StatusDuplicate, nil
	}
	parent := c.index[blk.Header.Parent]
	if parent == nil {
		// A child of a block refused for good is invalid too: refuse it
		// rather than hold it as an orphan until it expires.
		if _, bad := c.rejected[blk.Header.Parent]; bad {
			err := consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s was refused as invalid", blk.Header.Parent)
			c.reject(hash, err)
			return 0, err
		}
		if err := c.checkOrphan(&blk.Header, hash); err != nil {
			if consensus.IsRuleError(err) {
				c.reject(hash, err)
			}
			return 0, err
		}
		c.orphans.add(hash, blk, blk.EncodedSize(), o, c.cfg.Now())
		return StatusOrphan, nil
	}
	if c.isInvalid(parent) {
		err := consensus.NewRuleError(consensus.ErrInvalidAncestor, "parent %s is invalid", parent.hash)
		c.reject(hash, err)
		return 0, err
	}
	if o.Unrequested {
		if err := c.checkWanted(c.index[hash], parent, &blk.Header, hash); err != nil {
			return 0, err
		}
	}
	// A header already in the index passed these checks in ProcessHeaders.
	if c.index[hash] == nil && !checked.headerChecked {
		if err := c.params.CheckHeader(&blk.Header, hash, parent.parentInfo(), c.cfg.Now().UnixMilli()); err != nil {
			if consensus.CodeOf(err) != consensus.ErrTimeTooNew {
				c.reject(hash, err)
			}
			return 0, err
		}
	}
	ids := checked.ids
	if ids == nil {
		ids = txIDs(blk) // an orphan's: hashed again, checked when it was held
	}

	c.seq++
	n := c.index[hash] // a header known without its body keeps its place
	if n == nil {
		n = &blockNode{hash: hash, header: blk.Header, parent: parent, seq: c.seq,
			work: new(big.Int).Add(parent.work, consensus.CalcWork(blk.Header.Bits))}
		n.setSkip()
	}
	n.status |= statusDataStored
	n.chainData = parent.chainData
	enc := blk.Encode()

	if parent == c.tip {
		view := newStateView(c.db, &c.lt)
		undo, err := view.connect(c.params, blk)
		if err != nil {
			n.status &^= statusDataStored
			if consensus.IsRuleError(err) {
				c.condemn(n, err)
			}
			return 0, err
		}
		n.status |= statusValid
		batch := new(leveldb.Batch)
		batch.Put(hashKey(prefixHeader, hash), encodeHeaderRecord(n))
		batch.Put(hashKey(prefixBlock, hash), enc)
		c.writeConnect(batch, n, blk, ids, undo)
		view.write(batch)
		batch.Put(keyTip, hash[:])
		if err := c.db.Write(batch, c.wopts); err != nil {
			n.status &^= statusDataStored | statusValid
			return 0, fmt.Errorf("write block %s: %w", hash, err)
		}
		c.addNode(n)
		c.lt = view.lt
		c.setTip(n)
		res.Connected = append(res.Connected, blk)
		c.cfg.Logger.Info("imported block", "height", n.height(), "hash", hash, "txs", len(blk.Txs),
			"took", time.Since(start).Round(time.Microsecond))
		// Bodies that arrived before this one (headers-first sync) can
		// follow it now.
		if c.propagateChainData(n) {
			if err := c.activateBestChain(res); err != nil {
				return StatusConnected, err
			}
		}
		return StatusConnected, nil
	}

	batch := new(leveldb.Batch)
	batch.Put(hashKey(prefixHeader, hash), encodeHeaderRecord(n))
	batch.Put(hashKey(prefixBlock, hash), enc)
	if err := c.db.Write(batch, c.wopts); err != nil {
		n.status &^= statusDataStored
		return 0, fmt.Errorf("write block %s: %w", hash, err)
	}
	c.addNode(n)
	c.considerCandidate(n)
	c.propagateChainData(n)
	before := len(res.Connected)
	if err := c.activateBestChain(res); err != nil {
		return 0, err
	}
	if c.isInvalid(n) {
		// Connecting the branch showed that n, or one of its ancestors,
		// breaks a rule: refuse n like any invalid block, so that it is
		// not relayed.
		if err, ok := c.rejected[hash]; ok && n.status&statusInvalid != 0 {
			return 0, err
		}
		return 0, consensus.NewRuleError(consensus.ErrInvalidAncestor, "an ancestor of %s broke a rule when its branch was connected", hash)
	}
	if len(res.Connected) > before {
		return StatusConnected, nil
	}
	c.cfg.Logger.Debug("stored side-chain block", "height", n.height(), "hash", hash)
	return StatusSideChain, nil
}

// condemned reports whether the block h is known to break a rule, so that
// every descendant of it does too.
func (c *Chain) condemned(h types.Hash) bool {
	if n := c.index[h]; n != nil {
		return c.isInvalid(n)
	}
	_, ok := c.rejected[h]
	return ok
}

// propagateChainData marks the stored descendants of n as connectable once
// n is, and makes candidates of them; it reports whether any became one.
func (c *Chain) propagateChainData(n *blockNode) bool {
	if !n.chainData {
		return false
	}
	added := false
	stack := append([]*blockNode(nil), n.children...)
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.chainData || m.status&statusDataStored == 0 || c.isInvalid(m) {
			continue
		}
		m.chainData = true
		before := len(c.candidates)
		c.considerCandidate(m)
		added = added || len(c.candidates) > before
		stack = append(stack, m.children...)
	}
	return added
}

// condemn records that n broke a rule: in the rejected set, and, for a
// block whose header is in the index (known from headers-first sync), as
// invalid in memory and on disk (its descendants by implication, see
// isInvalid).
func (c *Chain) condemn(n *blockNode, err error) {
	c.reject(n.hash, err)
	if c.index[n.hash] != n {
		return // never indexed: nothing else to undo
	}
	batch := new(leveldb.Batch)
	c.markInvalid(n, batch)
	if werr := c.db.Write(batch, c.wopts); werr != nil {
		c.cfg.Logger.Error("write invalid mark", "hash", n.hash, "err", werr)
	}
}

func (c *Chain) reject(hash types.Hash, err error) {
	if len(c.rejected) >= 4096 {
		clear(c.rejected)
	}
	c.rejected[hash] = err
}

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
// not grow with the headers hanging below an invalid block.
func (c *Chain) recomputeBestHeader() {
	c.bestHeader = c.tip
	for _, set := range []map[*blockNode]struct{}{c.leaves, c.fallbacks} {
		for n := range set {
			switch {
			case c.isInvalid(n):
				delete(set, n) // for good: nothing is added below an invalid block
			case n.betterThan(c.bestHeader):
				c.bestHeader = n
			}
		}
	}
}

// setTip moves the tip to n, updates the main chain and prunes candidates
// that can no longer win.
func (c *Chain) setTip(n *blockNode) {
	c.tip = n
	fork := n
	for fork.height() >= uint64(len(c.main)) || c.main[fork.height()] != fork {
		fork = fork.parent
	}
	c.main = c.main[:fork.height()+1]
	var path []*blockNode
	for it := n; it != fork; it = it.parent {
		path = append(path, it)
	}
	for i := len(path) - 1; i >= 0; i-- {
		c.main = append(c.main, path[i])
	}
	for cand := range c.candidates {
		if cand.work.Cmp(n.work) <= 0 {
			delete(c.candidates, cand)
		}
	}
}

// writeConnect adds the index records of connecting n to batch: undo,
// main-chain height, tx locations, status.
func (c *Chain) writeConnect(batch *leveldb.Batch, n *blockNode, blk *types.Block, ids []types.Hash, undo []undoEntry) {
	batch.Put(hashKey(prefixUndo, n.hash), encodeUndo(undo))
	batch.Put(heightKey(n.height()), n.hash[:])
	for i, id := range ids {
		batch.Put(hashKey(prefixTx, id), encodeTxLoc(n.hash, i))
	}
	batch.Put(hashKey(prefixHeader, n.hash), encodeHeaderRecord(n))
}

// bestCandidate returns the candidate that should be the tip.
func (c *Chain) bestCandidate() *blockNode {
	var best *blockNode
	for n := range c.candidates {
		if c.isInvalid(n) {
			delete(c.candidates, n)
			continue
		}
		if best == nil || n.betterThan(best) {
			best = n
		}
	}
	return best
}

// activateBestChain reorganises to the best candidate as long as one has
// more work than the tip (DESIGN.md §4). The whole new branch is validated
// in memory before anything is written; a block that breaks a rule is
// marked invalid with its descendants, and the search starts again, so the
// node settles on the best valid chain. Each switch is one batch.
func (c *Chain) activateBestChain(res *Result) error {
	for {
		cand := c.bestCandidate()
		if cand == nil || cand.work.Cmp(c.tip.work) <= 0 {
			return nil
		}
		if err := c.reorganize(cand, res); err != nil {
			return err
		}
	}
}

func (c *Chain) reorganize(target *blockNode, res *Result) error {
	start := time.Now()
	oldTip := c.tip
	fork := findFork(oldTip, target)
	var attach []*blockNode
	for n := target; n != fork; n = n.parent {
		attach = append(attach, n)
	}
	slices.Reverse(attach)

	view := newStateView(c.db, &c.lt)
	var detached []*types.Block
	for n := oldTip; n != fork; n = n.parent {
		blk, err := c.readBlock(n.hash)
		if err != nil {
			return err
		}
		ub, err := getRecord(c.db, hashKey(prefixUndo, n.hash), "undo record of "+n.hash.String())
		if err != nil {
			return err
		}
		undo, err := decodeUndo(ub)
		if err != nil {
			return err
		}
		if err := view.disconnect(undo, n.parent.header.StateRoot); err != nil {
			return err
		}
		detached = append(detached, blk)
	}

	batch := new(leveldb.Batch)
	marks := new(leveldb.Batch) // invalid marks: written whatever happens
	var connected []*types.Block
	var connectedIDs [][]types.Hash // tx ids of connected, hashed once
	newTip := fork
	for _, n := range attach {
		blk, err := c.readBlock(n.hash)
		if err != nil {
			return err
		}
		undo, err := view.connect(c.params, blk)
		if err != nil {
			if !consensus.IsRuleError(err) {
				return err
			}
			c.cfg.Logger.Warn("invalid block in heavier branch", "height", n.height(), "hash", n.hash, "err", err)
			c.reject(n.hash, err) // the reason, for ProcessBlock's answer
			c.markInvalid(n, marks)
			break
		}
		n.status |= statusValid
		ids := txIDs(blk)
		c.writeConnect(batch, n, blk, ids, undo)
		connected = append(connected, blk)
		connectedIDs = append(connectedIDs, ids)
		newTip = n
	}
	if newTip.work.Cmp(oldTip.work) <= 0 {
		// The valid part of the branch does not beat the tip: keep the tip
		// and record only the invalid marks.
		if err := c.db.Write(marks, c.wopts); err != nil {
			return fmt.Errorf("write invalid marks: %w", err)
		}
		return nil
	}
	if err := marks.Replay(batch); err != nil {
		return err
	}
	for n := oldTip; n != fork; n = n.parent {
		if n.height() > newTip.height() {
			batch.Delete(heightKey(n.height()))
		}
		batch.Delete(hashKey(prefixUndo, n.hash))
	}
	for _, blk := range detached {
		for _, tx := range blk.Txs {
			batch.Delete(hashKey(prefixTx, tx.ID()))
		}
	}
	// A tx both in the old and in the new branch keeps its new location:
	// re-put the connected ones after the deletes (a batch applies in order).
	for i, ids := range connectedIDs {
		for j, id := range ids {
			batch.Put(hashKey(prefixTx, id), encodeTxLoc(attach[i].hash, j))
		}
	}
	view.write(batch)
	batch.Put(keyTip, newTip.hash[:])
	if err := c.db.Write(batch, c.wopts); err != nil {
		return fmt.Errorf("write reorganisation to %s: %w", newTip.hash, err)
	}
	c.lt = view.lt
	c.setTip(newTip)
	res.Disconnected = append(res.Disconnected, detached...)
	res.Connected = append(res.Connected, connected...)
	if len(detached) > 0 {
		c.cfg.Logger.Info("reorganized", "depth", len(detached), "old", oldTip.hash, "new", newTip.hash,
			"height", newTip.height(), "connected", len(connected), "took", time.Since(start).Round(time.Microsecond))
	} else {
		c.cfg.Logger.Info("connected branch", "height", newTip.height(), "hash", newTip.hash, "blocks", len(connected))
	}
	return nil
}

// markInvalid marks n invalid, in memory and in batch. Its descendants
// are invalid too, but nothing walks them: isInvalid finds out when it
// looks at one (see invalidEpoch), so the cost does not depend on how many
// headers hang below n.
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
// Nothing walks the descendants of an invalid block.
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

// readBlock reads and decodes the stored block h: ErrCorrupt if its record
// is missing, damaged or does not decode; any other read error (a closed
// database is not corrupt) wrapped as it is. It needs no lock.
func (c *Chain) readBlock(h types.Hash) (*types.Block, error) {
	b, err := getRecord(c.db, hashKey(prefixBlock, h), "block "+h.String())
	if err != nil {
		return nil, err
	}
	blk, err := types.DecodeBlock(b, types.MaxBlockSizeLimit)
	if err != nil {
		return nil, fmt.Errorf("%w: block %s: %w", ErrCorrupt, h, err)
	}
	return blk, nil
}
