package types

import (
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

const (
	// AddressSize is the length of an account address.
	AddressSize = 20
	// PubKeySize is the length of an ed25519 public key.
	PubKeySize = 32
	// SigSize is the length of an ed25519 signature.
	SigSize = 64
	// AddressHRP is the bech32 human-readable prefix of every address.
	AddressHRP = "cairn"
)

// Address identifies an account: the first 20 bytes of H(public key).
// Its text form is bech32 (BIP-173) with the prefix "cairn".
type Address [AddressSize]byte

// PubKey is an ed25519 public key.
type PubKey [PubKeySize]byte

// Signature is an ed25519 signature.
type Signature [SigSize]byte

// Address returns the address of the account controlled by pk.
func (pk PubKey) Address() Address {
	h := Sum(pk[:])
	var a Address
	copy(a[:], h[:AddressSize])
	return a
}

// IsZero reports whether a is the all-zero address.
func (a Address) IsZero() bool { return a == Address{} }

// MarshalText implements encoding.TextMarshaler (bech32).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ErrBadAddress is wrapped by every error ParseAddress returns.
var ErrBadAddress = errors.New("invalid address")

// ParseAddress parses the bech32 text form of an address. A mistyped
// address fails its checksum; a wrong prefix, a bech32m checksum, mixed
// case or a payload of the wrong length are each refused with the reason.
func ParseAddress(s string) (Address, error) {
	var a Address
	hrp, data, ver, err := bech32.DecodeGeneric(s)
	if err != nil {
		var csErr bech32.ErrInvalidChecksum
		if errors.As(err, &csErr) {
			return a, fmt.Errorf("%w %q: checksum mismatch (mistyped?)", ErrBadAddress, s)
		}
		return a, fmt.Errorf("%w %q: %v", ErrBadAddress, s, err)
	}
	if ver != bech32.Version0 {
		return a, fmt.Errorf("%w %q: not a bech32 (BIP-173) checksum", ErrBadAddress, s)
	}
	if hrp != AddressHRP {
		return a, fmt.Errorf("%w %q: prefix is %q, want %q", ErrBadAddress, s, hrp, AddressHRP)
	}
	b, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil {
		return a, fmt.Errorf("%w %q: %v", ErrBadAddress, s, err)
	}
	if len(b) != AddressSize {
		return a, fmt.Errorf("%w %q: payload is %d bytes, want %d", ErrBadAddress, s, len(b), AddressSize)
	}
	copy(a[:], b)
	// One address, one text form (apart from all-upper-case, which BIP-173
	// allows): refuse non-zero padding bits and similar oddities.
	if a.String() != strings.ToLower(s) {
		return Address{}, fmt.Errorf("%w %q: non-canonical encoding", ErrBadAddress, s)
	}
	return a, nil
}
