package wallet

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-ledger/cairn/chain/types"
)

// SeedSize is the length of an ed25519 seed, the secret a keystore seals.
const SeedSize = ed25519.SeedSize

// ErrBadSeed is wrapped by every error about a seed of the wrong shape.
var ErrBadSeed = errors.New("invalid key seed")

// Key is an ed25519 private key. A Key is never modified after it is made,
// so one Key may be used from many goroutines at once.
type Key struct {
	priv ed25519.PrivateKey
	pub  types.PubKey
}

// GenerateKey returns a new key from crypto/rand. It is safe for
// concurrent use.
func GenerateKey() (*Key, error) {
	seed := make([]byte, SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	defer clear(seed)
	return KeyFromSeed(seed)
}

// KeyFromSeed returns the key with the given 32-byte ed25519 seed. The
// seed is copied, so the caller may wipe it afterwards. It is safe for
// concurrent use.
func KeyFromSeed(seed []byte) (*Key, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: seed is %d bytes, want %d", ErrBadSeed, len(seed), SeedSize)
	}
	k := &Key{priv: ed25519.NewKeyFromSeed(seed)}
	copy(k.pub[:], k.priv.Public().(ed25519.PublicKey))
	return k, nil
}

// ParseSeedHex decodes the hex text form of a seed (64 hex digits, either
// case; surrounding white space, such as the newline of a pasted line, is
// ignored). It is safe for concurrent use.
func ParseSeedHex(s []byte) ([]byte, error) {
	t := strings.TrimSpace(string(s))
	if len(t) != 2*SeedSize {
		return nil, fmt.Errorf("%w: want %d hex digits, got %d characters", ErrBadSeed, 2*SeedSize, len(t))
	}
	seed := make([]byte, SeedSize)
	if _, err := hex.Decode(seed, []byte(t)); err != nil {
		return nil, fmt.Errorf("%w: not hex: %v", ErrBadSeed, err)
	}
	return seed, nil
}

// Seed returns a copy of the key's 32-byte seed. It is safe for concurrent
// use.
func (k *Key) Seed() []byte { return append([]byte(nil), k.priv.Seed()...) }

// PubKey returns the key's ed25519 public key. It is safe for concurrent
// use.
func (k *Key) PubKey() types.PubKey { return k.pub }

// Address returns the address of the account the key controls. It is safe
// for concurrent use.
func (k *Key) Address() types.Address { return k.pub.Address() }

// Sign sets tx.From to the key's public key and tx.Sig to its signature
// over tx.SigningDigest(genesis), which binds the tx to the network with
// that genesis hash. Every other field must be final before Sign. It is
// safe for concurrent use with respect to k; tx must not be shared.
func (k *Key) Sign(tx *types.Tx, genesis types.Hash) {
	tx.From = k.pub
	d := tx.SigningDigest(genesis)
	copy(tx.Sig[:], ed25519.Sign(k.priv, d[:]))
}
