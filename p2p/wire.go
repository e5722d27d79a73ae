package p2p

// An exported view of the sync protocol's wire format (syncproto.go), for
// tests and tools that speak the protocol by hand: a hostile peer in
// node/nodetest, a debugging client. Every function here is a thin wrapper
// of the codec the Network itself uses, so what they produce is what a
// node sends and what they accept is what a node accepts.

import (
	"bufio"
	"io"
	"math/big"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Frame size limits per message kind, as a node enforces them when it
// reads a frame: the largest valid encoding of each.
const (
	MaxStatusSize          = maxStatusSize
	MaxHeadersRequestSize  = maxHeadersRequestSize
	MaxHeadersResponseSize = maxHeadersResponseSize
	MaxBlocksRequestSize   = maxBlocksRequestSize
)

// Status is what a node tells a peer of its chain, in both directions of
// the status protocol.
type Status struct {
	Genesis    types.Hash
	TipHash    types.Hash
	TipHeight  uint64
	Work       *big.Int // total work of the tip; never nil after decoding
	BestHash   types.Hash
	BestHeight uint64
}

// EncodeStatus returns the canonical encoding of s. Work must be
// non-negative and at most 33 bytes long (nil encodes as zero); the
// encoding of anything larger is not decodable.
func EncodeStatus(s Status) []byte {
	return statusMsg(s).encode()
}

// DecodeStatus decodes exactly one status message.
func DecodeStatus(b []byte) (Status, error) {
	m, err := decodeStatus(b)
	return Status(m), err
}

// EncodeHeadersRequest returns a headers request: the headers after the
// first locator hash found on the responder's main chain, up to and
// including stop (zero: no stop). A locator of more than MaxLocatorHashes
// hashes is encoded as given, and refused by the responder.
func EncodeHeadersRequest(locator []types.Hash, stop types.Hash) []byte {
	r := headersRequest{Locator: locator, Stop: stop}
	return r.encode()
}

// DecodeHeadersRequest decodes exactly one headers request.
func DecodeHeadersRequest(b []byte) (locator []types.Hash, stop types.Hash, err error) {
	r, err := decodeHeadersRequest(b)
	return r.Locator, r.Stop, err
}

// EncodeHeaders returns the headers response carrying hs. More than
// MaxHeadersPerAnswer headers are encoded as given, and refused by the
// requester.
func EncodeHeaders(hs []types.Header) []byte { return encodeHeaders(hs) }

// DecodeHeaders decodes exactly one headers response. Only the encoding is
// checked, not the chain the headers form.
func DecodeHeaders(b []byte) ([]types.Header, error) { return decodeHeadersResponse(b) }

// EncodeBlocksRequest returns the blocks request for hashes. More than
// MaxBlocksPerRequest hashes are encoded as given, and refused by the
// responder. The answer is one frame per hash: the block's encoding, or
// an empty frame for a block the responder does not have.
func EncodeBlocksRequest(hashes []types.Hash) []byte { return encodeBlocksRequest(hashes) }

// DecodeBlocksRequest decodes exactly one blocks request.
func DecodeBlocksRequest(b []byte) ([]types.Hash, error) { return decodeBlocksRequest(b) }

// WriteFrame writes one frame carrying payload to w: a minimal uvarint
// length, then payload. A *bufio.Writer is written to and not flushed;
// any other writer receives the whole frame before WriteFrame returns.
func WriteFrame(w io.Writer, payload []byte) error {
	if bw, ok := w.(*bufio.Writer); ok {
		return writeFrame(bw, payload)
	}
	bw := bufio.NewWriterSize(w, len(payload)+10)
	if err := writeFrame(bw, payload); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadFrame reads one frame of at most limit bytes from r, as a node does:
// the length prefix must be a minimal uvarint, and a length above limit is
// refused (types.ErrTooLarge) before anything more is read. An empty frame
// returns nil. A clean end of input at the start of a frame is io.EOF;
// anywhere else io.ErrUnexpectedEOF.
func ReadFrame(r io.ByteReader, limit int) ([]byte, error) { return readFrame(r, limit) }
