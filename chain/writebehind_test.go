package chain

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

func memStore(t *testing.T) *store {
	t.Helper()
	db, err := leveldb.Open(storage.NewMemStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &store{DB: db}
}

// A batch written behind is seen by every read that follows it — Get,
// an iterator, a snapshot — however long its write takes, and by the
// write after it, which lands after it.
func TestWriteBehindReadsWait(t *testing.T) {
	s := memStore(t)
	defer s.Close()
	const n = 100_000 // a write of some milliseconds
	key := func(i int) []byte { return binary.BigEndian.AppendUint32([]byte{'k'}, uint32(i)) }
	for round := range 3 {
		b := new(leveldb.Batch)
		for i := range n {
			b.Put(key(i), []byte{byte(round)})
		}
		s.writeBehind(b, nil, nil)
		switch round {
		case 0:
			if v, err := s.Get(key(n-1), nil); err != nil || v[0] != 0 {
				t.Fatalf("Get after the write behind: %v %v", v, err)
			}
		case 1:
			it := s.NewIterator(util.BytesPrefix([]byte{'k'}), nil)
			count := 0
			for it.Next() {
				if it.Value()[0] != 1 {
					t.Fatalf("iterator read %x = %d, want 1", it.Key(), it.Value()[0])
				}
				count++
			}
			it.Release()
			if count != n {
				t.Fatalf("iterator read %d records, want %d", count, n)
			}
		case 2:
			// A plain write after it lands after it.
			last := new(leveldb.Batch)
			last.Put(key(n-1), []byte{9})
			if err := s.Write(last, nil); err != nil {
				t.Fatal(err)
			}
			snap, err := s.GetSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			v, err := snap.Get(key(n-1), nil)
			snap.Release()
			if err != nil || v[0] != 9 {
				t.Fatalf("the write after the write behind was overwritten by it: %v %v", v, err)
			}
		}
	}
}

// A write behind that fails is the store's fault whatever its error, as
// its caller went on as if it had landed: the next write is refused with
// it.
func TestWriteBehindFailureIsFault(t *testing.T) {
	s := memStore(t)
	if err := s.DB.Close(); err != nil {
		t.Fatal(err)
	}
	b := new(leveldb.Batch)
	b.Put([]byte("k"), []byte("v"))
	s.writeBehind(b, nil, nil)
	s.settle()
	fault := s.faultErr()
	if !errors.Is(fault, ErrStoreFailed) || !errors.Is(fault, leveldb.ErrClosed) {
		t.Fatalf("fault after a failed write behind: %v", fault)
	}
	if err := s.Write(b, nil); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("write after the fault: %v", err)
	}
}

// A write behind whose goroutine has not started is done by the first
// read that needs it, which does not wait for that goroutine.
func TestWriteBehindClaimedByReader(t *testing.T) {
	s := memStore(t)
	defer s.Close()
	b := new(leveldb.Batch)
	b.Put([]byte("k"), []byte("v"))
	w := &behindWrite{batch: b, done: make(chan struct{})}
	s.behind.Store(w) // no goroutine: only a reader can write it
	if v, err := s.Get([]byte("k"), nil); err != nil || string(v) != "v" {
		t.Fatalf("Get: %q %v", v, err)
	}
	select {
	case <-w.done:
	default:
		t.Fatal("the write behind is not done after the read that claimed it")
	}
	s.runBehind(w) // its goroutine, late: writes nothing again
	if s.behind.Load() != nil {
		t.Fatal("a settled write behind is still pending")
	}
}

// The accounts of the next block are read without waiting for the write
// behind: one the write changes from its accts, the value it writes
// (deleted: the zero Account), any other from LevelDB, which holds the
// same before the write as after it. A read of another kind still waits.
func TestAccountReadsDoNotWaitForWriteBehind(t *testing.T) {
	s := memStore(t)
	defer s.Close()
	addr := func(b byte) types.Address { return types.Address{b} }
	stored := new(leveldb.Batch)
	stored.Put(accountKey(addr(2)), Account{Balance: 5, Nonce: 1}.encode())
	stored.Put(accountKey(addr(3)), Account{Balance: 9}.encode())
	if err := s.Write(stored, nil); err != nil {
		t.Fatal(err)
	}
	// The batch credits 1, empties 2, and leaves 3 and 4 alone.
	b := new(leveldb.Batch)
	b.Put(accountKey(addr(1)), Account{Balance: 7}.encode())
	b.Delete(accountKey(addr(2)))
	b.Put([]byte("mother"), []byte("x"))
	accts := map[types.Address]Account{addr(1): {Balance: 7}, addr(2): {}}
	w := &behindWrite{batch: b, done: make(chan struct{}), accts: accts}
	s.behind.Store(w) // no goroutine: a read that waited would claim it
	for a, want := range map[types.Address]Account{
		addr(1): {Balance: 7}, addr(2): {}, addr(3): {Balance: 9}, addr(4): {},
	} {
		got, err := s.account(a)
		if err != nil || got != want {
			t.Fatalf("account %x with the write behind pending: %+v %v, want %+v", a[:1], got, err, want)
		}
	}
	if w.claimed.Load() {
		t.Fatal("an account read claimed the write behind")
	}
	if v, err := s.Get([]byte("mother"), nil); err != nil || string(v) != "x" {
		t.Fatalf("Get of a key of the batch: %q %v", v, err)
	}
	if !w.claimed.Load() || s.behind.Load() != nil {
		t.Fatal("Get did not wait for the write behind")
	}
	// Written: the same answers from LevelDB.
	for a, want := range map[types.Address]Account{addr(1): {Balance: 7}, addr(2): {}, addr(3): {Balance: 9}} {
		if got, err := s.account(a); err != nil || got != want {
			t.Fatalf("account %x after the write: %+v %v, want %+v", a[:1], got, err, want)
		}
	}
}

// A block whose signatures the cache holds, every one, starts no
// goroutine; one it lacks a signature of does, and the unknown one is
// checked.
func TestSigCheckAllKnown(t *testing.T) {
	blk := &types.Block{}
	var ids []types.Hash
	cache := NewSigCache(1000)
	for i := range 3 * minParallel {
		tx := &types.Tx{Version: types.TxVersion, Nonce: uint64(i)}
		blk.Txs = append(blk.Txs, tx)
		ids = append(ids, tx.ID())
		cache.Add(tx.ID())
	}
	c := &Chain{cfg: Config{Sigs: cache}}
	s := c.startSigCheck(blk, ids)
	if s.run != nil {
		t.Fatal("verifier goroutines started for signatures all verified before")
	}
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := &types.Tx{Version: types.TxVersion, Nonce: 1 << 40, Sig: types.Signature{1}} // a signature it never made
	copy(bad.From[:], pub)
	blk.Txs[len(ids)-1], ids[len(ids)-1] = bad, bad.ID()
	s = c.startSigCheck(blk, ids)
	if s.run == nil {
		t.Fatal("no verifier for a signature the cache lacks")
	}
	if err := s.wait(); err == nil {
		t.Fatal("a bad signature passed")
	}
}
