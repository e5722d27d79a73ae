package types

import (
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
)

// HashSize is the length of every hash in cairn.
const HashSize = 32

// Hash is a BLAKE2b-256 digest. Its text form is lower-case hex.
type Hash [HashSize]byte

// Sum returns H(b) = BLAKE2b-256(b).
func Sum(b []byte) Hash { return blake2b.Sum256(b) }

// SumConcat returns H(a ‖ b ‖ ...) without building the concatenation.
func SumConcat(parts ...[]byte) Hash {
	d, _ := blake2b.New256(nil) // cannot fail without a key
	for _, p := range parts {
		d.Write(p)
	}
	var h Hash
	d.Sum(h[:0])
	return h
}

// String returns the lower-case hex form of h.
func (h Hash) String() string {
	var buf [2 * HashSize]byte // one allocation, for the string
	hex.Encode(buf[:], h[:])
	return string(buf[:])
}

// IsZero reports whether h is all zero bytes.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText implements encoding.TextMarshaler (lower-case hex).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ErrBadHashText is returned by ParseHash for anything but 64 hex digits.
var ErrBadHashText = errors.New("hash must be 64 hex digits")

// ParseHash parses the 64-hex-digit text form of a hash. Upper-case digits
// are accepted; any other length or character is refused.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("%w: got %d characters", ErrBadHashText, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("%w: %v", ErrBadHashText, err)
	}
	return h, nil
}

// MerkleRoot returns the RFC 6962 Merkle tree hash of ids with H:
// leaf = H(0x00 ‖ id), node = H(0x01 ‖ left ‖ right), empty = H("").
// The split point for n > 1 leaves is the largest power of two below n.
func MerkleRoot(ids []Hash) Hash {
	if len(ids) == 0 {
		return Sum(nil)
	}
	// Bottom-up evaluation equals RFC 6962's recursive definition when an
	// odd node at the end of a level is promoted unchanged.
	level := make([]Hash, len(ids))
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x00
	for i := range ids {
		copy(buf[1:], ids[i][:])
		level[i] = Sum(buf[:1+HashSize])
	}
	buf[0] = 0x01
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			copy(buf[1:], level[i][:])
			copy(buf[1+HashSize:], level[i+1][:])
			next = append(next, Sum(buf[:]))
		}
		level = next
	}
	return level[0]
}
