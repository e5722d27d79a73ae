package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// SchemaVersion is the version of the LevelDB layout below. A datadir with
// another version is refused, never silently reused.
const SchemaVersion = 3

// Earlier versions, which Open upgrades in place: schemaNoHistory had no
// address history index (buildHistory), schemaFullHistory kept a copy of
// each event's tx fields in its history record (slimHistory).
const (
	schemaNoHistory   = 1
	schemaFullHistory = 2
)

// knownSchema reports whether schema is a version this build reads,
// upgrading it at Open if it is an earlier one.
func knownSchema(schema []byte) bool {
	return len(schema) == 1 && schema[0] >= schemaNoHistory && schema[0] <= SchemaVersion
}

// Key prefixes, one per record kind. The layout is this node's own, not
// part of the protocol: another implementation may store its chain as it
// likes.
//
//	'h' ‖ hash          -> header(148) ‖ status u8 ‖ len u8 ‖ total work (big-endian)
//	'b' ‖ hash          -> block encoding
//	'n' ‖ height u64    -> hash of the main-chain block at that height
//	'a' ‖ address       -> balance u64 ‖ nonce u64 (absent accounts have no key)
//	'u' ‖ hash          -> undo record of a main-chain block
//	't' ‖ tx id         -> block hash ‖ index u32, for main-chain txs
//	'x' ‖ address ‖ height u64 ‖ pos u32 -> a history record (history.go)
//	'm' ‖ name          -> metadata: schema, genesis, tip, lthash
const (
	prefixHeader  = 'h'
	prefixBlock   = 'b'
	prefixHeight  = 'n'
	prefixAccount = 'a'
	prefixUndo    = 'u'
	prefixTx      = 't'
	prefixHistory = 'x'
	prefixMeta    = 'm'
)

var (
	keySchema  = []byte("mschema")
	keyGenesis = []byte("mgenesis")
	keyTip     = []byte("mtip")
	keyLtHash  = []byte("mlthash")
)

// The store's failures. Each is wrapped by the errors of the reads and
// writes that met it, and the first one met becomes the chain's fault
// (Chain.Fault), after which the chain stores nothing more.
var (
	// ErrCorrupt: stored data that does not decode, does not agree with
	// itself, or fails LevelDB's checksums, or a database LevelDB cannot
	// open for damage (a damaged MANIFEST, a missing table). Repaired by
	// Reindex.
	ErrCorrupt = errors.New("chain database corrupt")
	// ErrDiskFull: a write failed for want of space. Nothing written is
	// damaged (a LevelDB batch is atomic): free space and reopen.
	ErrDiskFull = errors.New("disk full")
	// ErrStoreFailed: any other failure to read or write the database
	// files (an I/O error, a file system turned read-only).
	ErrStoreFailed = errors.New("chain database failed")
)

// classify wraps err, met reading or writing the database, in the store
// failure it is: ErrCorrupt, ErrDiskFull or ErrStoreFailed. A closed
// database is none of them (it is shutting down) and passes unchanged, and
// so does an error classified already; a database another process holds
// open is ErrInUse.
func classify(err error) error {
	switch {
	case err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrDiskFull) ||
		errors.Is(err, ErrStoreFailed) || errors.Is(err, leveldb.ErrClosed) || errors.Is(err, ErrInUse):
		return err
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
		// goleveldb's file lock: another process has the database open.
		return fmt.Errorf("%w: %w", ErrInUse, err)
	case lerrors.IsCorrupted(err):
		var corrupted *lerrors.ErrCorrupted
		var missing *lerrors.ErrMissingFiles
		if errors.As(err, &corrupted) && errors.As(corrupted.Err, &missing) { // its text names no file
			var names []string
			for _, fd := range missing.Fds {
				names = append(names, fmt.Sprintf("%06d.ldb", fd.Num))
			}
			return fmt.Errorf("%w: table files missing: %s (%w)", ErrCorrupt, strings.Join(names, ", "), err)
		}
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case errors.Is(err, fs.ErrNotExist): // a table file the manifest lists
		return fmt.Errorf("%w: file missing: %w", ErrCorrupt, err)
	// goleveldb keeps a failed compaction's error as text in places, so
	// the message is checked too.
	case errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error()):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %w", ErrStoreFailed, err)
}

// IsStoreFailure reports whether err is a failure of the store itself
// (ErrCorrupt, ErrDiskFull or ErrStoreFailed) rather than of the data
// handed to the chain.
func IsStoreFailure(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrDiskFull) || errors.Is(err, ErrStoreFailed)
}

// store is the chain's LevelDB, watched: a read that meets damage and any
// write that fails is a store failure (classify); the first becomes the
// fault, reported once to onFault, and from then on every write is refused
// with it — a chain that cannot trust or extend its store stores nothing
// more, rather than carry on beside the damage.
//
// LevelDB verifies the checksum of every table block it reads, for reads
// and compactions alike (goleveldb's default strict level, set explicitly
// in dbOptions), so a flipped bit is met as ErrCorrupt, never as data.
//
// A block that extends the tip is written behind (writeBehind): its
// batch goes to LevelDB on a goroutine of its own while the caller goes
// on, and every read and write of the store waits for it first (settle),
// so no reader sees the database without it — except the chain's reads of
// accounts (account), which take an account the batch writes from the
// batch's own values and need not wait.
type store struct {
	*leveldb.DB
	fault   atomic.Pointer[error]
	once    sync.Once
	onFault func(error)
	// behind is the write under way, if any.
	behind atomic.Pointer[behindWrite]
}

// behindWrite is a batch to be written behind. Whoever claims it first
// writes it: its goroutine, or the first reader or writer that needs it
// (settle) if the goroutine has not started yet — on busy cores a
// goroutine can wait for a core for longer than its write takes. done is
// closed when the write returned.
type behindWrite struct {
	batch   *leveldb.Batch
	wo      *opt.WriteOptions
	claimed atomic.Bool
	done    chan struct{}
	// accts holds the value after the batch of every account it writes
	// (and of others read for it): see account.
	accts map[types.Address]Account
}

// sstableNum matches a table in the leveldb.sstables property: "5:2520550[".
var sstableNum = regexp.MustCompile(`(?m)^(\d+):\d+\[`)

// missingTables returns ErrCorrupt naming the tables the MANIFEST of the
// database in dir lists that are not there. goleveldb opens a table only
// when it first reads from it, so without this check a lost table would
// be met at some later read instead of at Open.
func missingTables(db *leveldb.DB, dir string) error {
	p, err := db.GetProperty("leveldb.sstables")
	if err != nil {
		return classify(err)
	}
	var missing []string
	for _, m := range sstableNum.FindAllStringSubmatch(p, -1) {
		base := filepath.Join(dir, fmt.Sprintf("%06s", m[1]))
		_, err1 := os.Stat(base + ".ldb")
		_, err2 := os.Stat(base + ".sst") // goleveldb's older name
		if err1 != nil && err2 != nil {
			missing = append(missing, filepath.Base(base)+".ldb")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: table files missing: %s", ErrCorrupt, strings.Join(missing, ", "))
	}
	return nil
}

// openReadOnly opens the database in dir to read it without changing it,
// and returns the directory it opened (dir, or the copy below) and a func
// that closes it. goleveldb's read-only open fails with
// io.EOF on a database that holds more than one journal file (its
// recoverJournalRO reuses a journal reader whose Reset returns the last
// file's io.EOF), as a database closed right after its memtable was
// rotated does. Such a database is opened read-write through a copy of
// hard links beside it, which changes nothing of dir: LevelDB never
// rewrites a file, it only adds and removes them, and here only in the
// copy.
func openReadOnly(dir string, cacheMB int) (*leveldb.DB, string, func(), error) {
	o := dbOptions(cacheMB)
	o.ReadOnly = true
	db, err := leveldb.OpenFile(dir, o)
	if !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, "", nil, err
		}
		return db, dir, func() { db.Close() }, nil
	}
	return openCopy(dir, cacheMB)
}

// openCopy opens the database in dir read-write through a copy of hard
// links beside it, removed by the returned func (see openReadOnly).
func openCopy(dir string, cacheMB int) (*leveldb.DB, string, func(), error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".read-")
	if err != nil {
		return nil, "", nil, err
	}
	entries, err := os.ReadDir(dir)
	// A table numbered after the newest journal may be one a compaction
	// was writing when the database was last closed, which the manifest
	// does not list: recovering the journal in the copy may create a
	// table of that very number, and through a hard link it would write
	// into the original. Such tables (a few, the newest) are copied.
	newestLog := -1
	for _, e := range entries {
		if n, ok := fileNumber(e.Name(), ".log"); ok {
			newestLog = max(newestLog, n)
		}
	}
	for _, e := range entries {
		if err != nil || !e.Type().IsRegular() || e.Name() == "LOCK" {
			continue
		}
		src, dst := filepath.Join(dir, e.Name()), filepath.Join(tmp, e.Name())
		if n, ok := fileNumber(e.Name(), ".ldb"); ok && n >= newestLog {
			err = copyFile(src, dst)
		} else {
			err = os.Link(src, dst)
		}
	}
	var db *leveldb.DB
	if err == nil {
		db, err = leveldb.OpenFile(tmp, dbOptions(cacheMB))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, "", nil, err
	}
	return db, tmp, func() { db.Close(); os.RemoveAll(tmp) }, nil
}

// fileNumber parses a LevelDB file name NNNNNN<ext>.
func fileNumber(name, ext string) (int, bool) {
	num, ok := strings.CutSuffix(name, ext)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// copyFile copies the file src to dst, a new file.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// DefaultCacheMB is the default size of the chain database's block cache
// in MiB (Config.CacheMB): at a million accounts it holds the index blocks,
// the bloom filters and the hot data blocks of the state.
const DefaultCacheMB = 32

// MaxCacheMB is the largest Config.CacheMB (1 TiB).
const MaxCacheMB = 1 << 20

// bloomBitsPerKey is the size of the bloom filter each table carries, in
// bits per key: 10 gives about 1% false positives, so a lookup of a key
// not in a table (an account not yet in the state, the most common read
// of a busy chain) reads no data block of it 99 times in 100. Tables
// written before the filter was turned on carry none; goleveldb reads them
// as before (a table names its filter, and one without is read without),
// and a compaction that merges one writes it anew with one. A variable
// so that the benchmarks can measure the state without it.
var bloomBitsPerKey = 10

// dbOptions are the options the chain database is opened with: a bloom
// filter per table, a block cache of cacheMB MiB, and no compression.
//
// What the chain stores is mostly hashes, keys and signatures, which
// snappy barely shrinks, while compressing costs CPU on every table a
// compaction writes and decompressing costs it on every block read that
// misses the cache (index and filter blocks included). Measured on
// 1,000-tx blocks (BenchmarkImportAt1MAccounts): without compression the
// import at a million accounts ran at 0.78 of the import at ten thousand
// instead of 0.47–0.66, and a fresh database of 300 such blocks took 132
// MB on disk instead of 94 MB. Bitcoin Core's chainstate makes the same
// call (kNoCompression). Tables written with compression before stay
// readable: each block names its own compression.
func dbOptions(cacheMB int) *opt.Options {
	o := &opt.Options{ErrorIfMissing: true, Strict: opt.DefaultStrict, BlockCacheCapacity: cacheMB << 20,
		Compression: opt.NoCompression}
	if bloomBitsPerKey > 0 {
		o.Filter = filter.NewBloomFilter(bloomBitsPerKey)
	}
	return o
}

// writeBehind writes b on a goroutine of its own, after the write before
// it, and returns at once. A failure is recorded as the store's fault
// whatever it is: the caller has gone on as if the batch were written.
func (s *store) writeBehind(b *leveldb.Batch, wo *opt.WriteOptions, accts map[types.Address]Account) {
	s.settle()
	w := &behindWrite{batch: b, wo: wo, done: make(chan struct{}), accts: accts}
	s.behind.Store(w)
	go s.runBehind(w)
}

// runBehind writes w if nobody claimed it yet.
func (s *store) runBehind(w *behindWrite) {
	if !w.claimed.CompareAndSwap(false, true) {
		return
	}
	defer close(w.done)
	if err := s.write(w.batch, w.wo); err != nil && !IsStoreFailure(err) {
		s.failed(fmt.Errorf("%w: write behind: %w", ErrStoreFailed, err))
	}
}

// settle waits for the write under way, if there is one, or writes it
// itself if it has not started.
func (s *store) settle() {
	if w := s.behind.Load(); w != nil {
		s.runBehind(w)
		<-w.done
		s.behind.CompareAndSwap(w, nil)
	}
}

// account reads the account a: the zero Account if there is none. It does
// not wait for the write under way: an account that write changes is
// taken from its accts, which hold every one it writes, and any other
// reads the same from LevelDB before the write as after it. So the next
// block's reads need not wait for its parent's batch to be written.
// Callers hold the chain's lock, read or write (its writes hold it), so
// the write under way is not replaced meanwhile.
func (s *store) account(a types.Address) (Account, error) {
	get := s.Get
	if w := s.behind.Load(); w != nil && w.accts != nil {
		if acc, ok := w.accts[a]; ok {
			return acc, nil
		}
		get = s.getNow
	}
	b, err := get(accountKey(a), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return Account{}, nil
	}
	if err != nil {
		return Account{}, err
	}
	acc, err := decodeAccount(b)
	if err != nil {
		return Account{}, s.failed(err)
	}
	return acc, nil
}

// getNow is Get without waiting for the write under way.
func (s *store) getNow(key []byte, ro *opt.ReadOptions) ([]byte, error) {
	v, err := s.DB.Get(key, ro)
	if err != nil && !errors.Is(err, leveldb.ErrNotFound) {
		return nil, s.failed(err)
	}
	return v, err
}

// Get is leveldb.DB.Get, after the write under way, with failures other
// than ErrNotFound classified and recorded.
func (s *store) Get(key []byte, ro *opt.ReadOptions) ([]byte, error) {
	s.settle()
	return s.getNow(key, ro)
}

// Write is leveldb.DB.Write after the write under way, refused after a
// fault, with a failure classified and recorded.
func (s *store) Write(b *leveldb.Batch, wo *opt.WriteOptions) error {
	s.settle()
	return s.write(b, wo)
}

// write is Write without waiting for the write under way.
func (s *store) write(b *leveldb.Batch, wo *opt.WriteOptions) error {
	if f := s.fault.Load(); f != nil {
		return *f
	}
	if err := s.DB.Write(b, wo); err != nil {
		return s.failed(err)
	}
	return nil
}

// failed classifies err and, if it is a store failure, records it as the
// fault unless one is recorded already; it returns err classified.
func (s *store) failed(err error) error {
	err = classify(err)
	if !IsStoreFailure(err) {
		return err
	}
	s.once.Do(func() {
		s.fault.Store(&err)
		if s.onFault != nil {
			go s.onFault(err)
		}
	})
	return err
}

// NewIterator is leveldb.DB.NewIterator after the write under way.
func (s *store) NewIterator(r *util.Range, ro *opt.ReadOptions) iterator.Iterator {
	s.settle()
	return s.DB.NewIterator(r, ro)
}

// GetSnapshot is leveldb.DB.GetSnapshot after the write under way.
func (s *store) GetSnapshot() (*leveldb.Snapshot, error) {
	s.settle()
	return s.DB.GetSnapshot()
}

// CompactRange is leveldb.DB.CompactRange after the write under way.
func (s *store) CompactRange(r util.Range) error {
	s.settle()
	return s.DB.CompactRange(r)
}

// Close closes the database after the write under way.
func (s *store) Close() error {
	s.settle()
	return s.DB.Close()
}

// faultErr returns the recorded fault, or nil.
func (s *store) faultErr() error {
	if f := s.fault.Load(); f != nil {
		return *f
	}
	return nil
}

func hashKey(prefix byte, h types.Hash) []byte {
	k := make([]byte, 1+types.HashSize)
	k[0] = prefix
	copy(k[1:], h[:])
	return k
}

func heightKey(height uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixHeight
	binary.BigEndian.PutUint64(k[1:], height)
	return k
}

func accountKey(a types.Address) []byte {
	k := make([]byte, 1+types.AddressSize)
	k[0] = prefixAccount
	copy(k[1:], a[:])
	return k
}

// Header status flags, stored with each header record.
const (
	statusDataStored      uint8 = 1 << 0 // the block body is stored
	statusValid           uint8 = 1 << 1 // connected at least once: state-valid
	statusInvalid         uint8 = 1 << 2 // broke a rule
	statusInvalidAncestor uint8 = 1 << 3 // descends from an invalid block

	statusInvalidMask = statusInvalid | statusInvalidAncestor
)

func encodeHeaderRecord(n *blockNode) []byte {
	w := n.work.Bytes()
	b := make([]byte, 0, types.HeaderSize+2+len(w))
	b = n.header.AppendEncode(b)
	b = append(b, n.status, byte(len(w)))
	return append(b, w...)
}

func decodeHeaderRecord(b []byte) (types.Header, uint8, *big.Int, error) {
	if len(b) < types.HeaderSize+2 || len(b) != types.HeaderSize+2+int(b[types.HeaderSize+1]) {
		return types.Header{}, 0, nil, fmt.Errorf("%w: header record of %d bytes", ErrCorrupt, len(b))
	}
	h, err := types.DecodeHeader(b[:types.HeaderSize])
	if err != nil {
		return types.Header{}, 0, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return h, b[types.HeaderSize], new(big.Int).SetBytes(b[types.HeaderSize+2:]), nil
}

func encodeTxLoc(block types.Hash, index int) []byte {
	b := make([]byte, types.HashSize+4)
	copy(b, block[:])
	binary.BigEndian.PutUint32(b[types.HashSize:], uint32(index))
	return b
}

// getRecord reads a record that the index says is stored; what names it
// in errors. A missing or damaged record is ErrCorrupt, and the store's
// fault; other failures are classified by the store.
func getRecord(db *store, key []byte, what string) ([]byte, error) {
	v, err := db.Get(key, nil)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, leveldb.ErrNotFound):
		return nil, db.failed(fmt.Errorf("%w: %s: missing", ErrCorrupt, what))
	}
	return nil, fmt.Errorf("read %s: %w", what, err)
}

// getOptional reads key, returning nil without error if it is absent.
func getOptional(db *store, key []byte) ([]byte, error) {
	v, err := db.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
