package p2p

// The transaction recovery protocols' messages (docs/PROTOCOL.md §24,
// Transaction recovery; the exchanges are in txsync.go). They follow the
// sync protocol's framing and encoding rules (syncproto.go): every
// message is one frame of at most its kind's limit, counts are minimal
// uvarints checked against their limit before anything is allocated,
// integers are big-endian, trailing bytes are refused, and one value has
// one encoding.
//
// /cairn/<netID>/txids/1 (the pending ids of the responder's pool):
//
//	txids request     uvarint max ≤ 4096
//	txids answer      uvarint n ≤ max ‖ n distinct tx ids [32],
//	                  highest fee first
//
// /cairn/<netID>/txs/1 (txs, and announcements of txs): a request frame
// starts with its type byte.
//
//	by id             0x01 ‖ uvarint n ≤ 256 ‖ n distinct tx ids
//	                  answer: n frames, each the canonical encoding of the
//	                  tx of that id, or empty if the responder holds none
//	by sender         0x02 ‖ sender address [20] ‖ from nonce u64 ‖
//	                  uvarint count, 1 ≤ count ≤ 64, from + count ≤ 2^64
//	                  answer: count frames, frame i the tx of sender with
//	                  nonce from + i, or empty
//	announce          0x03 ‖ uvarint n ≤ 256 ‖ n distinct tx ids, pending
//	                  in the requester's pool
//	                  answer: none (the responder closes the stream); it
//	                  then fetches the ids it lacks with by-id requests
//
// A request naming an id twice is malformed, like a blocks request naming
// a hash twice. A tx frame is at most types.MaxTxSize bytes.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Transaction recovery limits.
const (
	// MaxPendingIDs is the most ids a txids answer carries (128 KiB).
	MaxPendingIDs = 4096
	// MaxTxsPerRequest is the most ids a by-id request or an
	// announcement carries.
	MaxTxsPerRequest = 256
	// MaxTxsPerSender is the most nonces a by-sender request asks for;
	// it is the pool's default bound on how far a queued tx may be
	// beyond its account's nonce.
	MaxTxsPerSender = 64
)

// The request types of the txs protocol.
const (
	txReqByID     = 0x01
	txReqBySender = 0x02
	txReqAnnounce = 0x03
)

// Frame size limits.
const (
	maxTxIDsRequestSize = 2 // uvarint ≤ 4096
	maxTxIDsAnswerSize  = 2 + MaxPendingIDs*types.HashSize
	maxTxsRequestSize   = 1 + 2 + MaxTxsPerRequest*types.HashSize
	maxTxFrameSize      = types.MaxTxSize
)

var (
	// errUnknownTxRequest refuses a txs request of an unknown type.
	errUnknownTxRequest = errors.New("unknown txs request type")
	// errBadNonceRange refuses a by-sender request for no nonce, or for
	// nonces past 2^64 - 1.
	errBadNonceRange = errors.New("bad nonce range")
	// errDuplicateID refuses a list of tx ids naming one twice.
	errDuplicateID = errors.New("tx id named twice")
)

// decodeTxIDsRequest decodes exactly one txids request: the most ids
// wanted.
func decodeTxIDsRequest(b []byte) (int, error) {
	d := types.NewDecoder(b)
	n := d.Count(MaxPendingIDs, "pending id")
	if err := d.Finish(); err != nil {
		return 0, fmt.Errorf("decode txids request: %w", err)
	}
	return n, nil
}

// encodeTxIDsRequest returns the txids request for at most max ids (at
// most MaxPendingIDs).
func encodeTxIDsRequest(max int) []byte {
	return binary.AppendUvarint(nil, uint64(max))
}

// encodeTxIDs returns a txids answer carrying ids (at most
// MaxPendingIDs).
func encodeTxIDs(ids []types.Hash) []byte { return encodeBlocksRequest(ids) }

// decodeTxIDs decodes exactly one txids answer of at most max ids. The
// ids must be distinct.
func decodeTxIDs(b []byte, max int) ([]types.Hash, error) {
	d := types.NewDecoder(b)
	ids := decodeHashes(d, uint64(min(max, MaxPendingIDs)), "pending id")
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode txids answer: %w", err)
	}
	if err := distinctIDs(ids); err != nil {
		return nil, fmt.Errorf("decode txids answer: %w", err)
	}
	return ids, nil
}

// txRequest is one request of the txs protocol.
type txRequest struct {
	Type byte
	// IDs are the ids asked for (by id) or announced (announce).
	IDs []types.Hash
	// Sender, From and Count are the nonces asked for (by sender).
	Sender types.Address
	From   uint64
	Count  int
}

// encode returns the canonical encoding of r. It does not check r's
// limits: a request beyond them encodes as given and is refused by the
// responder.
func (r *txRequest) encode() []byte {
	switch r.Type {
	case txReqBySender:
		b := make([]byte, 0, 1+types.AddressSize+8+binary.MaxVarintLen64)
		b = append(b, r.Type)
		b = append(b, r.Sender[:]...)
		b = binary.BigEndian.AppendUint64(b, r.From)
		return binary.AppendUvarint(b, uint64(r.Count))
	default:
		b := make([]byte, 0, 1+binary.MaxVarintLen64+len(r.IDs)*types.HashSize)
		b = append(b, r.Type)
		b = binary.AppendUvarint(b, uint64(len(r.IDs)))
		for i := range r.IDs {
			b = append(b, r.IDs[i][:]...)
		}
		return b
	}
}

// decodeTxRequest decodes exactly one txs request. The ids of a by-id
// request or an announcement must be distinct; a by-sender request must
// ask for 1 to MaxTxsPerSender nonces, all below 2^64.
func decodeTxRequest(b []byte) (txRequest, error) {
	var r txRequest
	d := types.NewDecoder(b)
	r.Type = d.U8()
	switch {
	case d.Err() != nil:
	case r.Type == txReqByID || r.Type == txReqAnnounce:
		r.IDs = decodeHashes(d, MaxTxsPerRequest, "tx id")
	case r.Type == txReqBySender:
		d.Bytes(r.Sender[:])
		r.From = d.U64()
		r.Count = d.Count(MaxTxsPerSender, "nonce")
		if d.Err() == nil && (r.Count == 0 || r.From > ^uint64(0)-uint64(r.Count-1)) {
			d.Fail(fmt.Errorf("%w: %d nonces from %d", errBadNonceRange, r.Count, r.From))
		}
	default:
		d.Fail(fmt.Errorf("%w 0x%02x", errUnknownTxRequest, r.Type))
	}
	if err := d.Finish(); err != nil {
		return txRequest{}, fmt.Errorf("decode txs request: %w", err)
	}
	if err := distinctIDs(r.IDs); err != nil {
		return txRequest{}, fmt.Errorf("decode txs request: %w", err)
	}
	return r, nil
}

// distinctIDs refuses ids naming one twice: O(n) for the short lists of
// this protocol.
func distinctIDs(ids []types.Hash) error {
	if len(ids) < 2 {
		return nil
	}
	seen := make(map[types.Hash]int, len(ids))
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			return fmt.Errorf("%w: %s at %d and %d", errDuplicateID, id, j, i)
		}
		seen[id] = i
	}
	return nil
}
