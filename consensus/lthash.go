package consensus

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-ledger/cairn/chain/types"
)

// The state commitment (docs/PROTOCOL.md §12) is an LtHash (Lewi et al. 2019):
// a vector of 1024 lanes of u16. Each present account contributes the
// element
//
//	AES-256-CTR keystream (zero IV, 2048 bytes)
//	  under key H("cairn/acct/v1" ‖ address ‖ balance u64 BE ‖ nonce u64 BE),
//	read as 1024 little-endian u16 lanes,
//
// the value of the account set is the lane-wise sum mod 2^16 of its
// elements, and stateRoot = H(the 2048 bytes of that sum, lanes
// little-endian). Because the sum is order-independent and invertible, one
// account update is Sub(old element) then Add(new element).
//
// An account whose balance and nonce are both 0 is absent from the state
// and contributes nothing: its element is the zero vector (the identity),
// so AddAccount and SubAccount are no-ops for it. Crediting a new account
// is therefore SubAccount(a, 0, 0) (nothing) then AddAccount(a, bal, n),
// and an account that drops back to (0, 0) simply leaves the set.

const (
	// LtHashLanes is the number of u16 lanes of an LtHash.
	LtHashLanes = 1024
	// LtHashSize is the length of an LtHash's byte form.
	LtHashSize = 2 * LtHashLanes

	ltHashWords = LtHashSize / 8
	accountTag  = "cairn/acct/v1"
)

// LtHash is a lattice-hash value: 1024 u16 lanes, stored as their 2048-byte
// little-endian encoding so that the keystream is written into it directly
// and Sum hashes it without conversion. The zero value is the empty set.
//
// An LtHash is a plain value: not safe for concurrent mutation, but
// concurrent reads of a value nobody modifies are safe.
type LtHash struct {
	b [LtHashSize]byte
}

// zeroStream is the plaintext XORed with the keystream: XORKeyStream over
// zeros yields the keystream itself. It is never written.
var zeroStream [LtHashSize]byte

// ErrLtHashLength is wrapped by LtHashFromBytes for input of the wrong
// length (a corrupt stored value, never a consensus rule).
var ErrLtHashLength = errors.New("lthash: wrong length")

// AccountElement returns the LtHash element of account addr holding
// (balance, nonce). For an absent account (balance and nonce both 0) it is
// the zero vector. It is safe for concurrent use.
func AccountElement(addr types.Address, balance, nonce uint64) *LtHash {
	e := new(LtHash)
	e.SetAccount(addr, balance, nonce)
	return e
}

// accountKey returns H("cairn/acct/v1" ‖ addr ‖ balance BE ‖ nonce BE).
func accountKey(addr types.Address, balance, nonce uint64) types.Hash {
	var buf [len(accountTag) + types.AddressSize + 16]byte
	n := copy(buf[:], accountTag)
	n += copy(buf[n:], addr[:])
	binary.BigEndian.PutUint64(buf[n:], balance)
	binary.BigEndian.PutUint64(buf[n+8:], nonce)
	return types.Sum(buf[:])
}

// SetAccount sets h to the element of account addr holding (balance,
// nonce), reusing h's memory; see AccountElement.
func (h *LtHash) SetAccount(addr types.Address, balance, nonce uint64) {
	if balance == 0 && nonce == 0 {
		*h = LtHash{}
		return
	}
	key := accountKey(addr, balance, nonce)
	block, err := aes.NewCipher(key[:])
	if err != nil { // unreachable: the key is always 32 bytes
		panic(err)
	}
	var iv [aes.BlockSize]byte
	cipher.NewCTR(block, iv[:]).XORKeyStream(h.b[:], zeroStream[:])
}

// SWAR masks: the top bit of each 16-bit lane, and the other 15 bits.
const (
	laneHigh = 0x8000_8000_8000_8000
	laneLow  = ^uint64(laneHigh)
)

// Add adds e to h lane-wise mod 2^16 (the union of disjoint sets).
//
// Four lanes are added per 64-bit word: the low 15 bits of each lane are
// summed with the top bits masked off, so no carry can cross into the next
// lane, and the top bit of each lane is then the XOR of the two top bits
// and the carry into it (a carry out of bit 15 is dropped: mod 2^16).
func (h *LtHash) Add(e *LtHash) {
	for i := 0; i < LtHashSize; i += 8 {
		x := binary.LittleEndian.Uint64(h.b[i:])
		y := binary.LittleEndian.Uint64(e.b[i:])
		s := ((x & laneLow) + (y & laneLow)) ^ ((x ^ y) & laneHigh)
		binary.LittleEndian.PutUint64(h.b[i:], s)
	}
}

// Sub subtracts e from h lane-wise mod 2^16 (removes e's elements).
//
// Per word, the top bit of each lane of x is set so that subtracting the
// low 15 bits of y's lane can never borrow from the next lane, and the top
// bit is then corrected to x15 ⊕ y15 ⊕ borrow.
func (h *LtHash) Sub(e *LtHash) {
	for i := 0; i < LtHashSize; i += 8 {
		x := binary.LittleEndian.Uint64(h.b[i:])
		y := binary.LittleEndian.Uint64(e.b[i:])
		d := ((x | laneHigh) - (y & laneLow)) ^ ((x ^ ^y) & laneHigh)
		binary.LittleEndian.PutUint64(h.b[i:], d)
	}
}

// scratch holds elements for AddAccount and SubAccount. The keystream is
// written through the cipher.Stream interface, so an element on the stack
// would escape anyway; reusing heap ones spares 2 KiB of garbage per
// account touched (4,000 elements for a block of 2,000 transfers).
var scratch = sync.Pool{New: func() any { return new(LtHash) }}

// AddAccount adds the element of account addr holding (balance, nonce) to
// h. It is a no-op for an absent account (balance and nonce both 0).
// Calls on distinct values are safe concurrently.
func (h *LtHash) AddAccount(addr types.Address, balance, nonce uint64) {
	if balance == 0 && nonce == 0 {
		return
	}
	e := scratch.Get().(*LtHash)
	e.SetAccount(addr, balance, nonce)
	h.Add(e)
	scratch.Put(e)
}

// SubAccount subtracts the element of account addr holding (balance,
// nonce) from h. It is a no-op for an absent account (balance and nonce
// both 0). Calls on distinct values are safe concurrently.
func (h *LtHash) SubAccount(addr types.Address, balance, nonce uint64) {
	if balance == 0 && nonce == 0 {
		return
	}
	e := scratch.Get().(*LtHash)
	e.SetAccount(addr, balance, nonce)
	h.Sub(e)
	scratch.Put(e)
}

// Sum returns the state root committed by h: H(its 2048 bytes).
func (h *LtHash) Sum() types.Hash { return types.Sum(h.b[:]) }

// IsZero reports whether h is the empty set's value.
func (h *LtHash) IsZero() bool { return h.b == [LtHashSize]byte{} }

// Bytes returns a copy of h's 2048-byte form (lanes little-endian), for
// storing the running value; LtHashFromBytes reads it back.
func (h *LtHash) Bytes() []byte {
	out := make([]byte, LtHashSize)
	copy(out, h.b[:])
	return out
}

// LtHashFromBytes decodes the form Bytes produced. Any length other than
// 2048 bytes is refused with an error wrapping ErrLtHashLength.
func LtHashFromBytes(b []byte) (LtHash, error) {
	var h LtHash
	if len(b) != LtHashSize {
		return h, fmt.Errorf("%w: %d bytes, want %d", ErrLtHashLength, len(b), LtHashSize)
	}
	copy(h.b[:], b)
	return h, nil
}

// emptyStateRoot is Sum of the zero LtHash, computed once.
var emptyStateRoot = new(LtHash).Sum()

// EmptyStateRoot returns the state root of the empty account set: H of
// 2048 zero bytes. It is safe for concurrent use.
func EmptyStateRoot() types.Hash { return emptyStateRoot }
