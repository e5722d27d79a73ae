package types

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Decoding errors. Each malformed input is refused with exactly one of
// these (wrapped with context); test with errors.Is.
var (
	ErrTruncated         = errors.New("truncated input")
	ErrTrailingBytes     = errors.New("trailing bytes after object")
	ErrCountTooLarge     = errors.New("count above limit")
	ErrNonMinimalUvarint = errors.New("non-minimal uvarint")
	ErrUvarintOverflow   = errors.New("uvarint overflows 64 bits")
	ErrUnknownVersion    = errors.New("unknown version")
	ErrTooLarge          = errors.New("encoding larger than limit")
	ErrEmptyInput        = errors.New("empty input")
)

// Decoder reads canonical big-endian fields from a byte slice, for the
// decoders here and for other wire formats built the same way (the sync
// protocol). The first error sticks; later reads return zero values. A
// Decoder is not safe for concurrent use.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder reading b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of bytes not read yet.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Fail records err unless an earlier error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Take returns the next n bytes (a sub-slice of the input, capped so that
// appending to it cannot overwrite the input), or nil after an error.
func (d *Decoder) Take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.Fail(fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrTruncated, n, d.off, len(d.b)-d.off))
		return nil
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s
}

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	s := d.Take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

// U32 reads a big-endian uint32.
func (d *Decoder) U32() uint32 {
	s := d.Take(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

// U64 reads a big-endian uint64.
func (d *Decoder) U64() uint64 {
	s := d.Take(8)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

// Bytes fills dst with the next len(dst) bytes.
func (d *Decoder) Bytes(dst []byte) {
	if s := d.Take(len(dst)); s != nil {
		copy(dst, s)
	}
}

// Count reads a minimal uvarint and checks it against max before the caller
// allocates anything; what names the counted thing in errors.
func (d *Decoder) Count(max uint64, what string) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.Fail(fmt.Errorf("%w: %s count", ErrTruncated, what))
		return 0
	case n < 0:
		d.Fail(fmt.Errorf("%w: %s count", ErrUvarintOverflow, what))
		return 0
	case n != uvarintLen(v):
		d.Fail(fmt.Errorf("%w: %s count uses %d bytes for %d", ErrNonMinimalUvarint, what, n, v))
		return 0
	case v > max:
		d.Fail(fmt.Errorf("%w: %s count %d > %d", ErrCountTooLarge, what, v, max))
		return 0
	}
	d.off += n
	return int(v)
}

// Finish reports the sticky error, or ErrTrailingBytes if input remains.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%w: %d left", ErrTrailingBytes, len(d.b)-d.off)
	}
	return nil
}

// uvarintLen returns the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
