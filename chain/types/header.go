package types

import (
	"encoding/binary"
	"fmt"
)

const (
	// HeaderSize is the encoded size of a header.
	HeaderSize = 148
	// HeaderVersion is the only header version this code knows.
	HeaderVersion = 1
	// MiningPrefixSize is the length of the header prefix that does not
	// change while a miner searches nonces and (only) updates time.
	// version ‖ height ‖ parent ‖ txRoot ‖ stateRoot ‖ miner = 128 bytes.
	MiningPrefixSize = 128
)

// Header is a block header (docs/PROTOCOL.md §5). Time is unix milliseconds.
type Header struct {
	Version   uint32
	Height    uint64
	Parent    Hash
	TxRoot    Hash
	StateRoot Hash
	Miner     Address
	Time      int64
	Bits      uint32
	Nonce     uint64
}

// AppendEncode appends the 148-byte encoding of h to b.
func (h *Header) AppendEncode(b []byte) []byte {
	b = appendU32(b, h.Version)
	b = appendU64(b, h.Height)
	b = append(b, h.Parent[:]...)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.StateRoot[:]...)
	b = append(b, h.Miner[:]...)
	b = appendU64(b, uint64(h.Time))
	b = appendU32(b, h.Bits)
	b = appendU64(b, h.Nonce)
	return b
}

// Encode returns the 148-byte encoding of h.
func (h *Header) Encode() []byte { return h.AppendEncode(make([]byte, 0, HeaderSize)) }

// EncodeArray returns the encoding of h as an array, without allocating.
func (h *Header) EncodeArray() [HeaderSize]byte {
	var a [HeaderSize]byte
	h.AppendEncode(a[:0])
	return a
}

// Hash returns the block hash H(header).
func (h *Header) Hash() Hash {
	a := h.EncodeArray()
	return Sum(a[:])
}

// PutNonceTime writes time and nonce into an encoded header in place; it is
// what a miner changes between hashes.
func PutNonceTime(enc *[HeaderSize]byte, time int64, nonce uint64) {
	binary.BigEndian.PutUint64(enc[128:136], uint64(time))
	binary.BigEndian.PutUint64(enc[140:148], nonce)
}

func (d *Decoder) header(h *Header) {
	h.Version = d.U32()
	if d.err == nil && h.Version != HeaderVersion {
		d.Fail(fmt.Errorf("%w: header version %d", ErrUnknownVersion, h.Version))
		return
	}
	h.Height = d.U64()
	d.Bytes(h.Parent[:])
	d.Bytes(h.TxRoot[:])
	d.Bytes(h.StateRoot[:])
	d.Bytes(h.Miner[:])
	h.Time = int64(d.U64())
	h.Bits = d.U32()
	h.Nonce = d.U64()
}

// DecodeHeader decodes exactly one 148-byte header.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	d := Decoder{b: b}
	d.header(&h)
	if err := d.Finish(); err != nil {
		return Header{}, fmt.Errorf("decode header: %w", err)
	}
	return h, nil
}
