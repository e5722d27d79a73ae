package chain

import (
	"encoding/binary"
	"errors"
	"testing"

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
		s.writeBehind(b, nil)
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
	s.writeBehind(b, nil)
	s.settle()
	fault := s.faultErr()
	if !errors.Is(fault, ErrStoreFailed) || !errors.Is(fault, leveldb.ErrClosed) {
		t.Fatalf("fault after a failed write behind: %v", fault)
	}
	if err := s.Write(b, nil); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("write after the fault: %v", err)
	}
}
