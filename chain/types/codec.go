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

// decoder reads canonical big-endian fields from a byte slice. The first
// error sticks; later reads return zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrTruncated, n, d.off, len(d.b)-d.off))
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8() uint8 {
	s := d.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (d *decoder) u32() uint32 {
	s := d.take(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

func (d *decoder) u64() uint64 {
	s := d.take(8)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

func (d *decoder) bytes(dst []byte) {
	if s := d.take(len(dst)); s != nil {
		copy(dst, s)
	}
}

// count reads a minimal uvarint and checks it against max before the caller
// allocates anything.
func (d *decoder) count(max uint64, what string) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail(fmt.Errorf("%w: %s count", ErrTruncated, what))
		return 0
	case n < 0:
		d.fail(fmt.Errorf("%w: %s count", ErrUvarintOverflow, what))
		return 0
	case n != uvarintLen(v):
		d.fail(fmt.Errorf("%w: %s count uses %d bytes for %d", ErrNonMinimalUvarint, what, n, v))
		return 0
	case v > max:
		d.fail(fmt.Errorf("%w: %s count %d > %d", ErrCountTooLarge, what, v, max))
		return 0
	}
	d.off += n
	return int(v)
}

// finish reports the sticky error, or ErrTrailingBytes if input remains.
func (d *decoder) finish() error {
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
