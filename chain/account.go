package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Account is the state of one address. An account whose balance and nonce
// are both zero is absent from the state.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// IsZero reports whether a is the absent account.
func (a Account) IsZero() bool { return a.Balance == 0 && a.Nonce == 0 }

const accountSize = 16

func (a Account) encode() []byte {
	var b [accountSize]byte
	binary.BigEndian.PutUint64(b[:8], a.Balance)
	binary.BigEndian.PutUint64(b[8:], a.Nonce)
	return b[:]
}

func decodeAccount(b []byte) (Account, error) {
	if len(b) != accountSize {
		return Account{}, fmt.Errorf("%w: account record of %d bytes", ErrCorrupt, len(b))
	}
	return Account{Balance: binary.BigEndian.Uint64(b[:8]), Nonce: binary.BigEndian.Uint64(b[8:])}, nil
}

// undoEntry is an account's value before a block touched it.
type undoEntry struct {
	addr types.Address
	old  Account
}

const undoEntrySize = types.AddressSize + accountSize

// encodeUndo encodes a block's undo record: uvarint n ‖ n × (addr ‖ account).
func encodeUndo(entries []undoEntry) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 4+len(entries)*undoEntrySize), uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e.addr[:]...)
		b = append(b, e.old.encode()...)
	}
	return b
}

func decodeUndo(b []byte) ([]undoEntry, error) {
	n, k := binary.Uvarint(b)
	// Bound n by the bytes present before multiplying (no overflow) and
	// insist on the minimal count encoding (one record, one encoding).
	if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(b)/undoEntrySize) ||
		uint64(len(b)-k) != n*undoEntrySize {
		return nil, fmt.Errorf("%w: undo record of %d bytes", ErrCorrupt, len(b))
	}
	b = b[k:]
	entries := make([]undoEntry, n)
	for i := range entries {
		copy(entries[i].addr[:], b[:types.AddressSize])
		entries[i].old, _ = decodeAccount(b[types.AddressSize:undoEntrySize])
		b = b[undoEntrySize:]
	}
	return entries, nil
}
