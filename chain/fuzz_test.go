package chain

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// The datadir is input too, as untrusted as the network: every stored
// record decoder must refuse garbage with ErrCorrupt and never panic.

func FuzzDecodeHeaderRecord(f *testing.F) {
	n := &blockNode{header: types.Header{Version: 1, Height: 7, Bits: 0x207fffff}, status: statusDataStored | statusValid,
		work: big.NewInt(123456789)}
	f.Add(encodeHeaderRecord(n))
	f.Add([]byte{})
	f.Add(make([]byte, types.HeaderSize+2))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, status, work, err := decodeHeaderRecord(b)
		if err != nil {
			return
		}
		again := encodeHeaderRecord(&blockNode{header: h, status: status, work: work})
		// Work is stored minimally by encode; a record with leading zero
		// bytes in the work decodes to the same value but re-encodes shorter.
		if len(b) == len(again) && !bytes.Equal(again, b) {
			t.Fatalf("record re-encodes differently:\n%x\n%x", b, again)
		}
	})
}

func FuzzDecodeUndo(f *testing.F) {
	f.Add(encodeUndo(nil))
	f.Add(encodeUndo([]undoEntry{{addr: types.Address{1}, old: Account{Balance: 5, Nonce: 2}}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeUndo(b)
		if err != nil {
			return
		}
		if again := encodeUndo(entries); !bytes.Equal(again, b) {
			t.Fatalf("undo re-encodes differently:\n%x\n%x", b, again)
		}
	})
}

func FuzzDecodeAccount(f *testing.F) {
	f.Add(Account{Balance: 1, Nonce: 2}.encode())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		acc, err := decodeAccount(b)
		if err != nil {
			return
		}
		if !bytes.Equal(acc.encode(), b) {
			t.Fatalf("account re-encodes differently")
		}
	})
}

func FuzzDecodeHistory(f *testing.F) {
	f.Add(historyKey(types.Address{7}, 12, 3), []byte{byte(HistorySent)})
	f.Add(historyKey(types.Address{}, 0, posReward), []byte{byte(HistoryGenesis)})
	f.Add([]byte{prefixHistory}, make([]byte, fullHistorySize))
	f.Fuzz(func(t *testing.T, key, v []byte) {
		e, err := decodeHistory(key, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused without ErrCorrupt: %v", err)
			}
			return
		}
		var a types.Address
		copy(a[:], key[1:])
		if !bytes.Equal(historyKey(a, e.Height, e.Pos)[1:], key[1:]) || !bytes.Equal(e.encode(), v) {
			t.Fatalf("record %x -> %x re-encodes differently: %+v", key, v, e)
		}
	})
}
