package p2p

// The sync protocol's messages and framing (docs/PROTOCOL.md §21,
// Request/response protocols). Every message travels in one frame: a
// minimal uvarint length ‖ payload, the length checked against the message
// kind's limit before anything is allocated. Payloads follow the
// conventions of chain/types (docs/PROTOCOL.md §2, Encoding): big-endian
// fixed-width integers, minimal uvarint counts checked against their limit
// before allocating, trailing bytes refused; one value has one encoding.
//
//	status            genesis [32] ‖ tip hash [32] ‖ tip height u64 ‖
//	                  work (uvarint len ≤ 33 ‖ big-endian bytes, no leading
//	                  zero) ‖ best header hash [32] ‖ best header height u64
//	headers request   uvarint n ≤ 64 ‖ n locator hashes ‖ stop hash [32]
//	headers response  uvarint n ≤ 2000 ‖ n × 148-byte headers
//	blocks request    uvarint n ≤ 128 ‖ n distinct hashes
//	blocks response   n frames, each a block encoding, or empty for a block
//	                  the responder does not have or does not send now
//
// A blocks request naming a hash twice is malformed: the responder
// penalizes the requester and resets the stream. A blocks response
// carries at most MaxBlocksAnswerBytes of block encodings: the responder
// sends whole blocks in the order asked until the next one would take the
// answer past that budget (the first block is always sent, whatever its
// size), then an empty frame for every hash left. So an empty frame after
// D > 0 bytes of blocks, where D + MaxBlockSize > MaxBlocksAnswerBytes,
// may mean "not sent now" rather than "not stored here": the requester
// asks for that block again, of the same peer too; an empty frame earlier
// in the answer means the responder lacks the block. An answer whose
// blocks pass the budget (beyond its first block) is a bad answer.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// The request/response protocols, as /cairn/<netID>/<name>/1: three for
// sync, two for transaction recovery (txsync.go).
const (
	protoStatus = iota
	protoHeaders
	protoBlocks
	protoTxIDs
	protoTxs
	numProtos
)

var protoNames = [numProtos]string{"status", "headers", "blocks", "txids", "txs"}

// SyncProtocol returns the protocol ID of the sync protocol name ("status",
// "headers" or "blocks") on the network netID.
func SyncProtocol(netID, name string) protocol.ID {
	return protocol.ID("/cairn/" + netID + "/" + name + "/1")
}

// Protocol limits.
const (
	// MaxLocatorHashes is the most hashes a headers request carries.
	MaxLocatorHashes = 64
	// MaxHeadersPerAnswer is the most headers a headers response carries.
	MaxHeadersPerAnswer = chain.MaxHeadersPerRequest
	// MaxBlocksPerRequest is the most hashes a blocks request carries.
	MaxBlocksPerRequest = 128
	// MaxBlocksAnswerBytes is the budget of one blocks response: the
	// most bytes of block encodings it carries, unless its first block
	// alone is larger (see the protocol comment above). It bounds what
	// one request of at most 4 KiB can cost a responder; the requester's
	// aim for an answer (2 MiB) is far below it.
	MaxBlocksAnswerBytes = 16 << 20
	// maxWorkBytes bounds the big-endian total work of a status: 2^264 is
	// far beyond any chain's work.
	maxWorkBytes = 33
)

// Frame size limits per message kind: the largest valid encoding.
const (
	maxStatusSize          = 3*types.HashSize + 2*8 + 1 + maxWorkBytes
	maxHeadersRequestSize  = 1 + MaxLocatorHashes*types.HashSize + types.HashSize
	maxHeadersResponseSize = 2 + MaxHeadersPerAnswer*types.HeaderSize
	maxBlocksRequestSize   = 2 + MaxBlocksPerRequest*types.HashSize
)

// errNonCanonicalWork refuses a work field with a leading zero byte.
var errNonCanonicalWork = errors.New("total work has a leading zero byte")

// statusMsg is what a node tells a peer of its chain.
type statusMsg struct {
	Genesis    types.Hash
	TipHash    types.Hash
	TipHeight  uint64
	Work       *big.Int // total work of the tip; never nil after decoding
	BestHash   types.Hash
	BestHeight uint64
}

// encode returns the canonical encoding of m. Work must be non-negative
// and fit in maxWorkBytes (a nil Work encodes as zero).
func (m statusMsg) encode() []byte {
	var work []byte
	if m.Work != nil {
		work = m.Work.Bytes()
	}
	b := make([]byte, 0, maxStatusSize)
	b = append(b, m.Genesis[:]...)
	b = append(b, m.TipHash[:]...)
	b = binary.BigEndian.AppendUint64(b, m.TipHeight)
	b = binary.AppendUvarint(b, uint64(len(work)))
	b = append(b, work...)
	b = append(b, m.BestHash[:]...)
	b = binary.BigEndian.AppendUint64(b, m.BestHeight)
	return b
}

// decodeStatus decodes exactly one status message.
func decodeStatus(b []byte) (statusMsg, error) {
	var m statusMsg
	d := types.NewDecoder(b)
	d.Bytes(m.Genesis[:])
	d.Bytes(m.TipHash[:])
	m.TipHeight = d.U64()
	n := d.Count(maxWorkBytes, "work byte")
	w := d.Take(n)
	if d.Err() == nil && n > 0 && w[0] == 0 {
		d.Fail(errNonCanonicalWork)
	}
	m.Work = new(big.Int).SetBytes(w)
	d.Bytes(m.BestHash[:])
	m.BestHeight = d.U64()
	if err := d.Finish(); err != nil {
		return statusMsg{}, fmt.Errorf("decode status: %w", err)
	}
	return m, nil
}

// headersRequest asks for the headers after the first locator hash on the
// responder's main chain, up to and including Stop (zero: no stop).
type headersRequest struct {
	Locator []types.Hash
	Stop    types.Hash
}

// encode returns the canonical encoding of r; the locator must hold at
// most MaxLocatorHashes hashes.
func (r *headersRequest) encode() []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+(len(r.Locator)+1)*types.HashSize)
	b = binary.AppendUvarint(b, uint64(len(r.Locator)))
	for i := range r.Locator {
		b = append(b, r.Locator[i][:]...)
	}
	return append(b, r.Stop[:]...)
}

// decodeHeadersRequest decodes exactly one headers request.
func decodeHeadersRequest(b []byte) (headersRequest, error) {
	var r headersRequest
	d := types.NewDecoder(b)
	r.Locator = decodeHashes(d, MaxLocatorHashes, "locator")
	d.Bytes(r.Stop[:])
	if err := d.Finish(); err != nil {
		return headersRequest{}, fmt.Errorf("decode headers request: %w", err)
	}
	return r, nil
}

// encodeHeaders returns the headers response for hs (at most
// MaxHeadersPerAnswer headers).
func encodeHeaders(hs []types.Header) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(hs)*types.HeaderSize)
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for i := range hs {
		b = hs[i].AppendEncode(b)
	}
	return b
}

// decodeHeadersResponse decodes exactly one headers response. Each header
// is decoded by types.DecodeHeader (unknown versions are refused); nothing
// about the chain they form is checked here.
func decodeHeadersResponse(b []byte) ([]types.Header, error) {
	d := types.NewDecoder(b)
	n := d.Count(MaxHeadersPerAnswer, "header")
	if d.Err() == nil && n > d.Remaining()/types.HeaderSize {
		d.Fail(fmt.Errorf("%w: %d headers need %d bytes, have %d", types.ErrTruncated, n, n*types.HeaderSize, d.Remaining()))
	}
	var hs []types.Header
	if d.Err() == nil && n > 0 {
		hs = make([]types.Header, n)
		for i := range hs {
			h, err := types.DecodeHeader(d.Take(types.HeaderSize))
			if err != nil {
				return nil, fmt.Errorf("decode headers response: header %d: %w", i, err)
			}
			hs[i] = h
		}
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode headers response: %w", err)
	}
	return hs, nil
}

// encodeBlocksRequest returns the blocks request for hs (at most
// MaxBlocksPerRequest hashes).
func encodeBlocksRequest(hs []types.Hash) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(hs)*types.HashSize)
	b = binary.AppendUvarint(b, uint64(len(hs)))
	for i := range hs {
		b = append(b, hs[i][:]...)
	}
	return b
}

// decodeBlocksRequest decodes exactly one blocks request.
func decodeBlocksRequest(b []byte) ([]types.Hash, error) {
	d := types.NewDecoder(b)
	hs := decodeHashes(d, MaxBlocksPerRequest, "block hash")
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode blocks request: %w", err)
	}
	return hs, nil
}

// errDuplicateHash refuses a blocks request that names a hash twice.
var errDuplicateHash = errors.New("blocks request names a hash twice")

// checkDistinct refuses a blocks request naming a hash twice, whose
// answer would repeat a block: O(n) for n ≤ MaxBlocksPerRequest hashes.
func checkDistinct(hs []types.Hash) error {
	seen := make(map[types.Hash]int, len(hs))
	for i, h := range hs {
		if j, dup := seen[h]; dup {
			return fmt.Errorf("%w: %s at %d and %d", errDuplicateHash, h, j, i)
		}
		seen[h] = i
	}
	return nil
}

// writeFrame writes one frame carrying payload to w.
func writeFrame(w *bufio.Writer, payload []byte) error {
	var pre [binary.MaxVarintLen64]byte
	if _, err := w.Write(binary.AppendUvarint(pre[:0], uint64(len(payload)))); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame of at most limit bytes from r. The length
// prefix must be a minimal uvarint; a length above limit is refused before
// anything is allocated or read beyond the prefix. An empty frame returns a
// nil slice. At the very start of a frame, a clean end of input is io.EOF;
// anywhere else it is io.ErrUnexpectedEOF.
func readFrame(r io.ByteReader, limit int) ([]byte, error) {
	return readFrameInto(r, limit, nil)
}

// readFrameInto is readFrame reading into buf if it is large enough (the
// result then aliases buf).
func readFrameInto(r io.ByteReader, limit int, buf []byte) ([]byte, error) {
	n, err := readUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("%w: frame of %d bytes > limit %d", types.ErrTooLarge, n, limit)
	}
	if n == 0 {
		return nil, nil
	}
	if uint64(cap(buf)) >= n {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	if rr, ok := r.(io.Reader); ok {
		_, err = io.ReadFull(rr, buf)
	} else {
		for i := range buf {
			if buf[i], err = r.ReadByte(); err != nil {
				break
			}
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	return buf, nil
}

// readUvarint reads a minimal uvarint of at most 64 bits.
func readUvarint(r io.ByteReader) (uint64, error) {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, fmt.Errorf("frame length: %w", types.ErrUvarintOverflow)
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, fmt.Errorf("frame length: %w", types.ErrNonMinimalUvarint)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("frame length: %w", types.ErrUvarintOverflow)
}

// hashes reads a count of at most max and that many hashes; the count is
// checked against the remaining input before allocating.
func decodeHashes(d *types.Decoder, max uint64, what string) []types.Hash {
	n := d.Count(max, what)
	if d.Err() != nil || n == 0 {
		return nil
	}
	if rest := d.Remaining(); n > rest/types.HashSize {
		d.Fail(fmt.Errorf("%w: %d %s hashes need %d bytes, have %d", types.ErrTruncated, n, what, n*types.HashSize, rest))
		return nil
	}
	hs := make([]types.Hash, n)
	for i := range hs {
		d.Bytes(hs[i][:])
	}
	return hs
}
