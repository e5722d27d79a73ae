package wallet

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SLIP-0010 key derivation for ed25519, as the spec
// (github.com/satoshilabs/slips, slip-0010.md) gives it. ed25519 has only
// hardened derivation, so every index of a path must be hardened:
//
//	master:  I = HMAC-SHA512(key = "ed25519 seed", data = S)
//	child i: I = HMAC-SHA512(key = c_par, data = 0x00 ‖ k_par ‖ ser32(i)),  i ≥ 2^31
//	         k = I[:32] (the private key, used as the ed25519 seed), c = I[32:] (the chain code)
//
// cairn's accounts live at m/44'/7731'/N' (BIP-44 purpose 44, coin 7731,
// account N), the shape Stellar's SEP-0005 uses with coin 148.

const (
	// Hardened is added to an index to make it hardened (written i').
	Hardened uint32 = 1 << 31
	// CoinType is cairn's BIP-44 coin type, the second index of its paths.
	CoinType uint32 = 7731
	// MaxAccount is the largest account number N of m/44'/7731'/N'.
	MaxAccount uint32 = Hardened - 1

	// MinSLIP10Seed and MaxSLIP10Seed bound the seed length: SLIP-0010
	// takes 128 to 512 bits. A BIP-39 seed is 64 bytes.
	MinSLIP10Seed = 16
	MaxSLIP10Seed = 64

	slip10Curve = "ed25519 seed"
)

// ErrDerivation is wrapped by every refusal of DeriveSLIP10.
var ErrDerivation = errors.New("invalid key derivation")

// AccountPath returns m/44'/7731'/account'. account must be at most
// MaxAccount. It is safe for concurrent use.
func AccountPath(account uint32) []uint32 {
	return []uint32{44 | Hardened, CoinType | Hardened, account | Hardened}
}

// FormatPath writes a path as m/44'/7731'/0'. It is safe for concurrent
// use.
func FormatPath(path []uint32) string {
	var b strings.Builder
	b.WriteString("m")
	for _, i := range path {
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(uint64(i&^Hardened), 10))
		if i&Hardened != 0 {
			b.WriteByte('\'')
		}
	}
	return b.String()
}

// DeriveSLIP10 derives the ed25519 key at path from seed by SLIP-0010 and
// returns its 32-byte private key (what KeyFromSeed takes) and its chain
// code. An empty path gives the master key. It refuses a seed outside
// 16..64 bytes and a path with a non-hardened index, which ed25519 does
// not have. The caller should wipe key when done. It is safe for
// concurrent use.
func DeriveSLIP10(seed []byte, path []uint32) (key, chainCode [32]byte, err error) {
	if len(seed) < MinSLIP10Seed || len(seed) > MaxSLIP10Seed {
		return key, chainCode, fmt.Errorf("%w: seed is %d bytes, want %d to %d", ErrDerivation, len(seed), MinSLIP10Seed, MaxSLIP10Seed)
	}
	for _, i := range path {
		if i&Hardened == 0 {
			return key, chainCode, fmt.Errorf("%w: %s: index %d is not hardened (ed25519 has only hardened derivation)", ErrDerivation, FormatPath(path), i)
		}
	}
	key, chainCode = slip10Split(hmacSHA512([]byte(slip10Curve), seed))
	var data [1 + 32 + 4]byte // 0x00 ‖ k_par ‖ ser32(i)
	defer clear(data[:])
	for _, i := range path {
		copy(data[1:33], key[:])
		binary.BigEndian.PutUint32(data[33:], i)
		key, chainCode = slip10Split(hmacSHA512(chainCode[:], data[:]))
	}
	return key, chainCode, nil
}

func hmacSHA512(key, data []byte) []byte {
	m := hmac.New(sha512.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// slip10Split splits I into I_L, the key, and I_R, the chain code, and
// wipes I.
func slip10Split(i []byte) (key, chainCode [32]byte) {
	copy(key[:], i[:32])
	copy(chainCode[:], i[32:])
	clear(i)
	return key, chainCode
}
