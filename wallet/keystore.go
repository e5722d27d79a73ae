package wallet

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Keystore file format, version 1. One JSON object per key, written with
// two-space indentation by EncryptKey; hex is lower case when written and
// either case when read:
//
//	{
//	  "version": 1,
//	  "address": "cairn1…",                     bech32 address of the key
//	  "kdf": {
//	    "name": "argon2id",
//	    "time": 3,                              argon2 passes, 1..100
//	    "memory": 65536,                        KiB, 8×threads .. 1 GiB
//	    "threads": 2,                           1..255
//	    "salt": "<16 bytes hex>"
//	  },
//	  "cipher": {
//	    "name": "xchacha20-poly1305",
//	    "nonce": "<24 bytes hex>"
//	  },
//	  "check": "<16 bytes hex>",
//	  "ciphertext": "<48 bytes hex>"            sealed 32-byte seed + 16-byte tag
//	}
//
// With pass the passphrase and H = BLAKE2b-256:
//
//	key        = argon2.IDKey(pass, salt, time, memory, threads, 32)
//	check      = H("cairn/keystore/check" ‖ key)[:16]
//	ad         = "cairn/keystore/v1" ‖ u32 version ‖ address (20 bytes) ‖
//	             u32 time ‖ u32 memory ‖ u8 threads ‖ salt      (big-endian)
//	ciphertext = XChaCha20-Poly1305(key).Seal(nonce, seed, ad)
//
// Decryption tells a wrong passphrase from an edited file like this:
//
//   - check differs and the AEAD does not open: ErrWrongPassphrase. Editing
//     the salt or any argon2 parameter changes the derived key exactly as a
//     wrong passphrase does, so such an edit also reads as
//     ErrWrongPassphrase: the two cannot be told apart without a secret,
//     and an unkeyed checksum over the parameters would protect nothing
//     an attacker could not recompute. The parameters are still bound as
//     additional data, so no edit can make the file open to another key.
//   - check differs but the AEAD opens: the check field was edited,
//     ErrTampered.
//   - check matches but the AEAD does not open: the ciphertext, nonce,
//     address or version was edited, ErrTampered.
//   - the AEAD opens but the seed does not derive the address in the file:
//     ErrTampered (unreachable unless the file was forged by someone who
//     knew the passphrase, and checked anyway).
//
// A file whose version is not 1 or 2 gives ErrUnsupportedVersion; any
// other departure from the format, unknown fields included, gives
// ErrMalformed naming the field. The argon2 parameters are checked against
// the limits above before argon2 runs, so a file cannot make the reader
// allocate more than 1 GiB or spin for long.
//
// Keystore file format, version 2: a key derived from a BIP-39 mnemonic
// (mnemonic.go, slip10.go). Every field of version 1 keeps its meaning and
// its checks; a "mnemonic" object is added, and the ciphertext seals the
// mnemonic's entropy instead of a seed:
//
//	{
//	  "version": 2,
//	  "address": "cairn1…",                     as in version 1
//	  "kdf": { … },                             as in version 1
//	  "cipher": { … },                          as in version 1
//	  "check": "<16 bytes hex>",                as in version 1
//	  "mnemonic": {
//	    "words": 24,                            12, 15, 18, 21 or 24
//	    "account": 0,                           N of m/44'/7731'/N', 0..2^31-1
//	    "passphrase": false                     whether a BIP-39 passphrase was used
//	  },
//	  "ciphertext": "<E (+ 32) + 16 bytes hex>"  sealed secret + 16-byte tag
//	}
//
// The BIP-39 passphrase itself is never stored. With E = words/3×4 the
// entropy's length (32 bytes for 24 words), the sealed secret is
//
//	entropy                  (E bytes) when passphrase is false: the key is
//	                         derived from it again at every opening;
//	entropy ‖ seed           (E + 32 bytes) when passphrase is true: seed is
//	                         the ed25519 seed derived with the passphrase, as
//	                         version 1 seals it, so the key opens without the
//	                         BIP-39 passphrase while the words can still be
//	                         shown (they recover the key only with it).
//
// key and check are as in version 1, and
//
//	ad         = "cairn/keystore/v2" ‖ u32 version ‖ address (20 bytes) ‖
//	             u32 time ‖ u32 memory ‖ u8 threads ‖ salt ‖
//	             u8 words ‖ u32 account ‖ u8 passphrase (1 or 0)  (big-endian)
//	ciphertext = XChaCha20-Poly1305(key).Seal(nonce, secret, ad)
//
// Decryption classifies errors as in version 1. An edited account is
// caught by the AEAD (ErrTampered); an edited word count or passphrase
// flag changes the ciphertext's expected size (ErrMalformed). The key it
// opens to — the one derived from the entropy at m/44'/7731'/account', or
// the sealed seed — must have the address in the file, else ErrTampered.
// With a BIP-39 passphrase the sealed seed cannot be checked against the
// entropy (that needs the passphrase); the AEAD vouches for both. A
// "mnemonic" object in a version-1 file, or a missing one in a version-2
// file, is ErrMalformed.

const (
	// KeystoreVersion is the format of a file that holds a bare key
	// (EncryptKey), MnemonicKeystoreVersion that of a file that holds a
	// key derived from a mnemonic (EncryptMnemonicKey).
	KeystoreVersion         = 1
	MnemonicKeystoreVersion = 2
	// KDFName and CipherName are the algorithm names a file carries.
	KDFName    = "argon2id"
	CipherName = "xchacha20-poly1305"

	// SaltSize, NonceSize and CheckSize are the lengths of the keystore's
	// binary fields; CiphertextSize is the sealed seed of version 1 with
	// its tag.
	SaltSize       = 16
	NonceSize      = chacha20poly1305.NonceSizeX
	CheckSize      = 16
	CiphertextSize = SeedSize + chacha20poly1305.Overhead

	// MaxKDFTime, MaxKDFMemory (KiB) and MaxKDFThreads bound the argon2
	// parameters a keystore may ask for.
	MaxKDFTime    = 100
	MaxKDFMemory  = 1 << 20 // 1 GiB
	MaxKDFThreads = 255

	// MaxKeystoreSize is the largest keystore file ParseKeystore reads. A
	// real one is under 1 KiB.
	MaxKeystoreSize = 64 << 10

	checkDomain   = "cairn/keystore/check"
	adDomain      = "cairn/keystore/v1"
	adDomainV2    = "cairn/keystore/v2"
	versionsKnown = "versions 1 and 2"
)

// Keystore errors. Each is wrapped with details; test with errors.Is.
var (
	ErrWrongPassphrase    = errors.New("wrong passphrase")
	ErrTampered           = errors.New("keystore file was modified or corrupted")
	ErrUnsupportedVersion = errors.New("unsupported keystore version")
	ErrMalformed          = errors.New("malformed keystore file")
	ErrKDFParams          = errors.New("key derivation parameters out of range")
	ErrEmptyPassphrase    = errors.New("empty passphrase")
	ErrNoMnemonic         = errors.New("the key has no mnemonic")
)

// KDFParams are the argon2id parameters: Time passes over Memory KiB with
// Threads lanes. The zero value means DefaultKDFParams.
type KDFParams struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultKDFParams are used when a caller passes the zero KDFParams:
// 3 passes over 64 MiB with 2 lanes (RFC 9106's second recommended
// option), about 0.2 s per derivation on a 2-core machine.
var DefaultKDFParams = KDFParams{Time: 3, Memory: 64 << 10, Threads: 2}

// Validate reports whether p is within the limits a keystore may carry:
// time 1..MaxKDFTime, threads 1..MaxKDFThreads and memory from 8 KiB per
// thread (argon2's minimum) to MaxKDFMemory KiB. It is safe for concurrent
// use.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxKDFTime:
		return fmt.Errorf("%w: time %d, want 1..%d", ErrKDFParams, p.Time, MaxKDFTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads 0, want 1..%d", ErrKDFParams, MaxKDFThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxKDFMemory:
		return fmt.Errorf("%w: memory %d KiB, want %d..%d KiB for %d threads",
			ErrKDFParams, p.Memory, 8*uint32(p.Threads), MaxKDFMemory, p.Threads)
	}
	return nil
}

func (p KDFParams) orDefault() KDFParams {
	if p == (KDFParams{}) {
		return DefaultKDFParams
	}
	return p
}

// KeystoreFile is a decoded keystore: everything in the file, checked for
// shape and limits but not decrypted. See the formats above.
type KeystoreFile struct {
	Version  int
	Address  types.Address
	KDF      KDFParams
	Salt     [SaltSize]byte
	Nonce    [NonceSize]byte
	Check    [CheckSize]byte
	Mnemonic MnemonicParams // version 2; zero in version 1
	// Ciphertext is the sealed secret with its tag: CiphertextSize bytes
	// in version 1, Mnemonic.CiphertextSize() in version 2.
	Ciphertext []byte
}

// MnemonicParams are the public part of a version-2 keystore: how the key
// is derived from the sealed entropy.
type MnemonicParams struct {
	Words          int    // 12, 15, 18, 21 or 24
	Account        uint32 // N of m/44'/7731'/N', at most MaxAccount
	PassphraseUsed bool   // a BIP-39 passphrase was used; the seed is sealed too
}

// Validate reports whether m may appear in a keystore: a BIP-39 word count
// and an account of at most MaxAccount. It is safe for concurrent use.
func (m MnemonicParams) Validate() error {
	switch {
	case !slices.Contains(mnemonicLengths, m.Words):
		return fmt.Errorf("words %d, want 12, 15, 18, 21 or 24", m.Words)
	case m.Account > MaxAccount:
		return fmt.Errorf("account %d, want 0 to %d", m.Account, MaxAccount)
	}
	return nil
}

// entropySize is E, the length of the entropy of m.Words words.
func (m MnemonicParams) entropySize() int { return m.Words / 3 * 4 }

// SecretSize is the length of the secret a version-2 file seals: the
// entropy, and the ed25519 seed after it when a BIP-39 passphrase was
// used. It is safe for concurrent use.
func (m MnemonicParams) SecretSize() int {
	if m.PassphraseUsed {
		return m.entropySize() + SeedSize
	}
	return m.entropySize()
}

// CiphertextSize is the length of a version-2 file's ciphertext: the
// sealed secret and its tag. It is safe for concurrent use.
func (m MnemonicParams) CiphertextSize() int { return m.SecretSize() + chacha20poly1305.Overhead }

// EncryptKey seals k's seed under passphrase with a fresh random salt and
// nonce and returns the keystore file, version 1. The zero p means
// DefaultKDFParams. An empty passphrase is refused. It is safe for
// concurrent use.
func EncryptKey(k *Key, passphrase []byte, p KDFParams) ([]byte, error) {
	if k == nil {
		return nil, errors.New("encrypt key: no key")
	}
	seed := k.Seed()
	defer clear(seed)
	f := &KeystoreFile{Version: KeystoreVersion, Address: k.Address()}
	return f.seal(seed, passphrase, p)
}

// EncryptMnemonicKey seals k's mnemonic (and, if a BIP-39 passphrase was
// used, its seed) under passphrase and returns the keystore file, version
// 2. Otherwise it is EncryptKey. It is safe for concurrent use.
func EncryptMnemonicKey(k *MnemonicKey, passphrase []byte, p KDFParams) ([]byte, error) {
	if k == nil || k.Key == nil || k.Mnemonic == nil {
		return nil, errors.New("encrypt key: no key")
	}
	f := &KeystoreFile{
		Version: MnemonicKeystoreVersion,
		Address: k.Address(),
		Mnemonic: MnemonicParams{
			Words:          len(k.Mnemonic.words),
			Account:        k.Account,
			PassphraseUsed: k.PassphraseUsed,
		},
	}
	if err := f.Mnemonic.Validate(); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	secret := k.Mnemonic.Entropy()
	if k.PassphraseUsed {
		secret = append(secret, k.Seed()...)
	}
	defer clear(secret)
	return f.seal(secret, passphrase, p)
}

// seal fills in f's KDF, salt, nonce, check and ciphertext and returns the
// file.
func (f *KeystoreFile) seal(secret, passphrase []byte, p KDFParams) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("encrypt key: %w", ErrEmptyPassphrase)
	}
	f.KDF = p.orDefault()
	if err := f.KDF.Validate(); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	if _, err := rand.Read(f.Salt[:]); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	if _, err := rand.Read(f.Nonce[:]); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	dk := f.deriveKey(passphrase)
	defer clear(dk)
	f.Check = checkOf(dk)
	aead, err := chacha20poly1305.NewX(dk)
	if err != nil { // unreachable: dk is 32 bytes
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	f.Ciphertext = aead.Seal(nil, f.Nonce[:], secret, f.additionalData())
	return f.Marshal(), nil
}

// DecryptKey opens a keystore file, of either version, with passphrase.
// It returns ErrWrongPassphrase, ErrTampered, ErrUnsupportedVersion or
// ErrMalformed (wrapped, with details) as described with the format. It
// is safe for concurrent use.
func DecryptKey(data, passphrase []byte) (*Key, error) {
	f, err := ParseKeystore(data)
	if err != nil {
		return nil, err
	}
	return f.Decrypt(passphrase)
}

// Decrypt opens f with passphrase; see DecryptKey. f is not modified, so
// Decrypt is safe for concurrent use.
func (f *KeystoreFile) Decrypt(passphrase []byte) (*Key, error) {
	k, _, err := f.open(passphrase)
	return k, err
}

// DecryptMnemonic opens a version-2 file with passphrase and returns the
// key with its mnemonic. A version-1 file gives ErrNoMnemonic, before
// the passphrase is tried; other errors are Decrypt's. f is not modified,
// so DecryptMnemonic is safe for concurrent use.
func (f *KeystoreFile) DecryptMnemonic(passphrase []byte) (*MnemonicKey, error) {
	if f.Version == KeystoreVersion {
		return nil, fmt.Errorf("%w: a version 1 keystore holds a bare key", ErrNoMnemonic)
	}
	_, mk, err := f.open(passphrase)
	return mk, err
}

// checkShape refuses a KeystoreFile that ParseKeystore would not have
// returned, before argon2 runs.
func (f *KeystoreFile) checkShape() error {
	if f.Version != KeystoreVersion && f.Version != MnemonicKeystoreVersion {
		return fmt.Errorf("%w: %d (this build reads %s)", ErrUnsupportedVersion, f.Version, versionsKnown)
	}
	if err := f.KDF.Validate(); err != nil {
		return fmt.Errorf("%w: kdf: %w", ErrMalformed, err)
	}
	want := CiphertextSize
	if f.Version == MnemonicKeystoreVersion {
		if err := f.Mnemonic.Validate(); err != nil {
			return malformed("mnemonic", err.Error())
		}
		want = f.Mnemonic.CiphertextSize()
	} else if f.Mnemonic != (MnemonicParams{}) {
		return malformed("mnemonic", "not in a version 1 file")
	}
	if len(f.Ciphertext) != want {
		return malformed("ciphertext", fmt.Sprintf("%d bytes, want %d", len(f.Ciphertext), want))
	}
	return nil
}

// open decrypts f and returns its key, and for version 2 the key with its
// mnemonic.
func (f *KeystoreFile) open(passphrase []byte) (*Key, *MnemonicKey, error) {
	if err := f.checkShape(); err != nil {
		return nil, nil, err
	}
	dk := f.deriveKey(passphrase)
	defer clear(dk)
	aead, err := chacha20poly1305.NewX(dk)
	if err != nil { // unreachable: dk is 32 bytes
		return nil, nil, err
	}
	check := checkOf(dk)
	checkOK := subtle.ConstantTimeCompare(check[:], f.Check[:]) == 1
	secret, openErr := aead.Open(nil, f.Nonce[:], f.Ciphertext, f.additionalData())
	defer clear(secret)
	switch {
	case !checkOK && openErr != nil:
		return nil, nil, ErrWrongPassphrase
	case !checkOK:
		return nil, nil, fmt.Errorf("%w: the check field does not match the key", ErrTampered)
	case openErr != nil:
		return nil, nil, fmt.Errorf("%w: authentication failed (ciphertext, nonce, address, version or mnemonic edited)", ErrTampered)
	}
	var k *Key
	var mk *MnemonicKey
	if f.Version == KeystoreVersion {
		k, err = KeyFromSeed(secret)
	} else {
		mk, err = f.Mnemonic.keyOf(secret)
		if mk != nil {
			k = mk.Key
		}
	}
	if err != nil { // unreachable: the AEAD opened a secret of the right size
		return nil, nil, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if k.Address() != f.Address {
		return nil, nil, fmt.Errorf("%w: the key does not match the address in the file", ErrTampered)
	}
	return k, mk, nil
}

// keyOf makes the key a version-2 secret holds.
func (m MnemonicParams) keyOf(secret []byte) (*MnemonicKey, error) {
	if len(secret) != m.SecretSize() {
		return nil, fmt.Errorf("secret is %d bytes, want %d", len(secret), m.SecretSize())
	}
	mn, err := MnemonicFromEntropy(secret[:m.entropySize()])
	if err != nil {
		return nil, err
	}
	if !m.PassphraseUsed {
		return mn.Derive(nil, m.Account)
	}
	k, err := KeyFromSeed(secret[m.entropySize():])
	if err != nil {
		return nil, err
	}
	return &MnemonicKey{Key: k, Mnemonic: mn, Account: m.Account, PassphraseUsed: true}, nil
}

func (f *KeystoreFile) deriveKey(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, f.Salt[:], f.KDF.Time, f.KDF.Memory, f.KDF.Threads, chacha20poly1305.KeySize)
}

func checkOf(dk []byte) [CheckSize]byte {
	h := types.SumConcat([]byte(checkDomain), dk)
	var c [CheckSize]byte
	copy(c[:], h[:])
	return c
}

func (f *KeystoreFile) additionalData() []byte {
	domain := adDomain
	if f.Version != KeystoreVersion {
		domain = adDomainV2
	}
	b := make([]byte, 0, len(domain)+4+types.AddressSize+4+4+1+SaltSize+1+4+1)
	b = append(b, domain...)
	b = binary.BigEndian.AppendUint32(b, uint32(f.Version))
	b = append(b, f.Address[:]...)
	b = binary.BigEndian.AppendUint32(b, f.KDF.Time)
	b = binary.BigEndian.AppendUint32(b, f.KDF.Memory)
	b = append(b, f.KDF.Threads)
	b = append(b, f.Salt[:]...)
	if f.Version == KeystoreVersion {
		return b
	}
	b = append(b, uint8(f.Mnemonic.Words))
	b = binary.BigEndian.AppendUint32(b, f.Mnemonic.Account)
	if f.Mnemonic.PassphraseUsed {
		return append(b, 1)
	}
	return append(b, 0)
}

// The JSON shapes. Pointers tell a missing field from a zero one.
type keystoreJSON struct {
	Version    *int          `json:"version"`
	Address    *string       `json:"address"`
	KDF        *kdfJSON      `json:"kdf"`
	Cipher     *cipherJSON   `json:"cipher"`
	Check      *string       `json:"check"`
	Mnemonic   *mnemonicJSON `json:"mnemonic,omitempty"`
	Ciphertext *string       `json:"ciphertext"`
}

type kdfJSON struct {
	Name    *string `json:"name"`
	Time    *uint32 `json:"time"`
	Memory  *uint32 `json:"memory"`
	Threads *uint32 `json:"threads"`
	Salt    *string `json:"salt"`
}

type cipherJSON struct {
	Name  *string `json:"name"`
	Nonce *string `json:"nonce"`
}

type mnemonicJSON struct {
	Words      *uint32 `json:"words"`
	Account    *uint32 `json:"account"`
	Passphrase *bool   `json:"passphrase"`
}

// Marshal returns the JSON keystore file for f. It is safe for concurrent
// use.
func (f *KeystoreFile) Marshal() []byte {
	hx := func(b []byte) *string { s := hex.EncodeToString(b); return &s }
	str := func(s string) *string { return &s }
	threads := uint32(f.KDF.Threads)
	v := keystoreJSON{
		Version: &f.Version,
		Address: str(f.Address.String()),
		KDF: &kdfJSON{
			Name:    str(KDFName),
			Time:    &f.KDF.Time,
			Memory:  &f.KDF.Memory,
			Threads: &threads,
			Salt:    hx(f.Salt[:]),
		},
		Cipher:     &cipherJSON{Name: str(CipherName), Nonce: hx(f.Nonce[:])},
		Check:      hx(f.Check[:]),
		Ciphertext: hx(f.Ciphertext),
	}
	if f.Version != KeystoreVersion {
		words := uint32(f.Mnemonic.Words)
		v.Mnemonic = &mnemonicJSON{Words: &words, Account: &f.Mnemonic.Account, Passphrase: &f.Mnemonic.PassphraseUsed}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil { // unreachable: plain strings and numbers
		panic(err)
	}
	return append(b, '\n')
}

// ParseKeystore decodes and checks a keystore file, of either version,
// without the passphrase: the version, every field's presence and shape,
// the address, the algorithm names, the argon2 limits and the mnemonic
// parameters. `cairn wallet list` uses it to show addresses. It is safe
// for concurrent use.
func ParseKeystore(data []byte) (*KeystoreFile, error) {
	if len(data) > MaxKeystoreSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(data), MaxKeystoreSize)
	}
	// The version decides the rest of the format, so look at it first and
	// let an unknown version through the rest unparsed.
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, malformed("", jsonReason(err))
	}
	if head.Version == nil || string(head.Version) == "null" {
		return nil, malformed("version", "missing")
	}
	var version int
	if err := json.Unmarshal(head.Version, &version); err != nil {
		return nil, malformed("version", "not an integer: "+string(head.Version))
	}
	if version != KeystoreVersion && version != MnemonicKeystoreVersion {
		return nil, fmt.Errorf("%w: %d (this build reads %s)", ErrUnsupportedVersion, version, versionsKnown)
	}

	var v keystoreJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, malformed("", jsonReason(err))
	}
	f := &KeystoreFile{Version: version}
	if v.Address == nil {
		return nil, malformed("address", "missing")
	}
	a, err := types.ParseAddress(*v.Address)
	if err != nil {
		return nil, malformed("address", err.Error())
	}
	f.Address = a

	if v.KDF == nil {
		return nil, malformed("kdf", "missing")
	}
	switch {
	case v.KDF.Name == nil:
		return nil, malformed("kdf.name", "missing")
	case *v.KDF.Name != KDFName:
		return nil, malformed("kdf.name", fmt.Sprintf("%q, want %q", *v.KDF.Name, KDFName))
	case v.KDF.Time == nil:
		return nil, malformed("kdf.time", "missing")
	case v.KDF.Memory == nil:
		return nil, malformed("kdf.memory", "missing")
	case v.KDF.Threads == nil:
		return nil, malformed("kdf.threads", "missing")
	case *v.KDF.Threads > MaxKDFThreads:
		return nil, fmt.Errorf("%w: kdf.threads: %w: %d, want 1..%d", ErrMalformed, ErrKDFParams, *v.KDF.Threads, MaxKDFThreads)
	}
	f.KDF = KDFParams{Time: *v.KDF.Time, Memory: *v.KDF.Memory, Threads: uint8(*v.KDF.Threads)}
	if err := f.KDF.Validate(); err != nil {
		return nil, fmt.Errorf("%w: kdf: %w", ErrMalformed, err)
	}
	if err := hexField("kdf.salt", v.KDF.Salt, f.Salt[:]); err != nil {
		return nil, err
	}

	if v.Cipher == nil {
		return nil, malformed("cipher", "missing")
	}
	switch {
	case v.Cipher.Name == nil:
		return nil, malformed("cipher.name", "missing")
	case *v.Cipher.Name != CipherName:
		return nil, malformed("cipher.name", fmt.Sprintf("%q, want %q", *v.Cipher.Name, CipherName))
	}
	if err := hexField("cipher.nonce", v.Cipher.Nonce, f.Nonce[:]); err != nil {
		return nil, err
	}
	if err := hexField("check", v.Check, f.Check[:]); err != nil {
		return nil, err
	}
	size := CiphertextSize
	if version == KeystoreVersion {
		if v.Mnemonic != nil {
			return nil, malformed("mnemonic", "not in a version 1 file")
		}
	} else {
		if f.Mnemonic, err = parseMnemonicParams(v.Mnemonic); err != nil {
			return nil, err
		}
		size = f.Mnemonic.CiphertextSize()
	}
	f.Ciphertext = make([]byte, size)
	if err := hexField("ciphertext", v.Ciphertext, f.Ciphertext); err != nil {
		return nil, err
	}
	return f, nil
}

func parseMnemonicParams(v *mnemonicJSON) (MnemonicParams, error) {
	var m MnemonicParams
	switch {
	case v == nil:
		return m, malformed("mnemonic", "missing")
	case v.Words == nil:
		return m, malformed("mnemonic.words", "missing")
	case !slices.Contains(mnemonicLengths, int(*v.Words)):
		return m, malformed("mnemonic.words", fmt.Sprintf("%d, want 12, 15, 18, 21 or 24", *v.Words))
	case v.Account == nil:
		return m, malformed("mnemonic.account", "missing")
	case *v.Account > MaxAccount:
		return m, malformed("mnemonic.account", fmt.Sprintf("%d, want 0 to %d", *v.Account, MaxAccount))
	case v.Passphrase == nil:
		return m, malformed("mnemonic.passphrase", "missing")
	}
	return MnemonicParams{Words: int(*v.Words), Account: *v.Account, PassphraseUsed: *v.Passphrase}, nil
}

func malformed(field, reason string) error {
	if field == "" {
		return fmt.Errorf("%w: %s", ErrMalformed, reason)
	}
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, reason)
}

// jsonReason turns an encoding/json error into a reason that names the
// field where it can.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("%s: JSON %s where %s expected", typeErr.Field, typeErr.Value, typeName(typeErr))
	case errors.As(err, &typeErr):
		return fmt.Sprintf("JSON %s where an object is expected", typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
	}
	return err.Error() // unknown field, unexpected end of input, …
}

func typeName(e *json.UnmarshalTypeError) string {
	switch e.Type.String() {
	case "uint32":
		return "an integer in 0..4294967295"
	case "int":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return "an object"
}

func hexField(name string, s *string, dst []byte) error {
	if s == nil {
		return malformed(name, "missing")
	}
	if len(*s) != 2*len(dst) {
		return malformed(name, fmt.Sprintf("want %d bytes as %d hex digits, got %d characters", len(dst), 2*len(dst), len(*s)))
	}
	if _, err := hex.Decode(dst, []byte(*s)); err != nil {
		return malformed(name, "not hex: "+err.Error())
	}
	return nil
}
