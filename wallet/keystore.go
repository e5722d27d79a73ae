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
// A file whose version is not 1 gives ErrUnsupportedVersion; any other
// departure from the format, unknown fields included, gives ErrMalformed
// naming the field. The argon2 parameters are checked against the limits
// above before argon2 runs, so a file cannot make the reader allocate more
// than 1 GiB or spin for long.

const (
	// KeystoreVersion is the only keystore format version this code knows.
	KeystoreVersion = 1
	// KDFName and CipherName are the algorithm names a version-1 file
	// carries.
	KDFName    = "argon2id"
	CipherName = "xchacha20-poly1305"

	// SaltSize, NonceSize and CheckSize are the lengths of the keystore's
	// binary fields; CiphertextSize is the sealed seed with its tag.
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

	checkDomain = "cairn/keystore/check"
	adDomain    = "cairn/keystore/v1"
)

// Keystore errors. Each is wrapped with details; test with errors.Is.
var (
	ErrWrongPassphrase    = errors.New("wrong passphrase")
	ErrTampered           = errors.New("keystore file was modified or corrupted")
	ErrUnsupportedVersion = errors.New("unsupported keystore version")
	ErrMalformed          = errors.New("malformed keystore file")
	ErrKDFParams          = errors.New("key derivation parameters out of range")
	ErrEmptyPassphrase    = errors.New("empty passphrase")
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
// shape and limits but not decrypted. See the format above.
type KeystoreFile struct {
	Version    int
	Address    types.Address
	KDF        KDFParams
	Salt       [SaltSize]byte
	Nonce      [NonceSize]byte
	Check      [CheckSize]byte
	Ciphertext [CiphertextSize]byte
}

// EncryptKey seals k's seed under passphrase with a fresh random salt and
// nonce and returns the keystore file. The zero p means DefaultKDFParams.
// An empty passphrase is refused. It is safe for concurrent use.
func EncryptKey(k *Key, passphrase []byte, p KDFParams) ([]byte, error) {
	if k == nil {
		return nil, errors.New("encrypt key: no key")
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("encrypt key: %w", ErrEmptyPassphrase)
	}
	p = p.orDefault()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	f := &KeystoreFile{Version: KeystoreVersion, Address: k.Address(), KDF: p}
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
	seed := k.Seed()
	defer clear(seed)
	aead.Seal(f.Ciphertext[:0], f.Nonce[:], seed, f.additionalData())
	return f.Marshal(), nil
}

// DecryptKey opens a keystore file with passphrase. It returns
// ErrWrongPassphrase, ErrTampered, ErrUnsupportedVersion or ErrMalformed
// (wrapped, with details) as described with the format. It is safe for
// concurrent use.
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
	if f.Version != KeystoreVersion {
		return nil, fmt.Errorf("%w: %d (this build reads version %d)", ErrUnsupportedVersion, f.Version, KeystoreVersion)
	}
	if err := f.KDF.Validate(); err != nil { // before argon2 allocates
		return nil, fmt.Errorf("%w: kdf: %w", ErrMalformed, err)
	}
	dk := f.deriveKey(passphrase)
	defer clear(dk)
	aead, err := chacha20poly1305.NewX(dk)
	if err != nil { // unreachable: dk is 32 bytes
		return nil, err
	}
	check := checkOf(dk)
	checkOK := subtle.ConstantTimeCompare(check[:], f.Check[:]) == 1
	seed, openErr := aead.Open(nil, f.Nonce[:], f.Ciphertext[:], f.additionalData())
	defer clear(seed)
	switch {
	case !checkOK && openErr != nil:
		return nil, ErrWrongPassphrase
	case !checkOK:
		return nil, fmt.Errorf("%w: the check field does not match the key", ErrTampered)
	case openErr != nil:
		return nil, fmt.Errorf("%w: authentication failed (ciphertext, nonce, address or version edited)", ErrTampered)
	}
	k, err := KeyFromSeed(seed)
	if err != nil { // unreachable: the AEAD opened a 48-byte ciphertext
		return nil, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if k.Address() != f.Address {
		return nil, fmt.Errorf("%w: the key does not match the address in the file", ErrTampered)
	}
	return k, nil
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
	b := make([]byte, 0, len(adDomain)+4+types.AddressSize+4+4+1+SaltSize)
	b = append(b, adDomain...)
	b = binary.BigEndian.AppendUint32(b, uint32(f.Version))
	b = append(b, f.Address[:]...)
	b = binary.BigEndian.AppendUint32(b, f.KDF.Time)
	b = binary.BigEndian.AppendUint32(b, f.KDF.Memory)
	b = append(b, f.KDF.Threads)
	return append(b, f.Salt[:]...)
}

// The JSON shapes. Pointers tell a missing field from a zero one.
type keystoreJSON struct {
	Version    *int        `json:"version"`
	Address    *string     `json:"address"`
	KDF        *kdfJSON    `json:"kdf"`
	Cipher     *cipherJSON `json:"cipher"`
	Check      *string     `json:"check"`
	Ciphertext *string     `json:"ciphertext"`
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
		Ciphertext: hx(f.Ciphertext[:]),
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil { // unreachable: plain strings and numbers
		panic(err)
	}
	return append(b, '\n')
}

// ParseKeystore decodes and checks a keystore file without the
// passphrase: the version, every field's presence and shape, the address,
// the algorithm names and the argon2 limits. `cairn wallet list` uses it
// to show addresses. It is safe for concurrent use.
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
	if version != KeystoreVersion {
		return nil, fmt.Errorf("%w: %d (this build reads version %d)", ErrUnsupportedVersion, version, KeystoreVersion)
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
	if err := hexField("ciphertext", v.Ciphertext, f.Ciphertext[:]); err != nil {
		return nil, err
	}
	return f, nil
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
