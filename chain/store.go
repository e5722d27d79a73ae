package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
)

// SchemaVersion is the version of the LevelDB layout below. A datadir with
// another version is refused, never silently reused.
const SchemaVersion = 1

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
//	'm' ‖ name          -> metadata: schema, genesis, tip, lthash
const (
	prefixHeader  = 'h'
	prefixBlock   = 'b'
	prefixHeight  = 'n'
	prefixAccount = 'a'
	prefixUndo    = 'u'
	prefixTx      = 't'
	prefixMeta    = 'm'
)

var (
	keySchema  = []byte("mschema")
	keyGenesis = []byte("mgenesis")
	keyTip     = []byte("mtip")
	keyLtHash  = []byte("mlthash")
)

// ErrCorrupt is wrapped by every error about stored data that does not
// decode or does not agree with itself.
var ErrCorrupt = errors.New("chain database corrupt")

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
// in errors. A missing or damaged record is ErrCorrupt. Any other failure
// — a closed database, an I/O error — says nothing about the data and is
// returned as it is, wrapped.
func getRecord(db *leveldb.DB, key []byte, what string) ([]byte, error) {
	v, err := db.Get(key, nil)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, leveldb.ErrNotFound) || lerrors.IsCorrupted(err):
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
	}
	return nil, fmt.Errorf("read %s: %w", what, err)
}

// getOptional reads key, returning nil without error if it is absent.
func getOptional(db *leveldb.DB, key []byte) ([]byte, error) {
	v, err := db.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
