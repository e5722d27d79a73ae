package wallet

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Store errors. Each is returned wrapped in a message naming the wallet;
// test with errors.Is.
var (
	ErrNotFound = errors.New("no such wallet")
	ErrExists   = errors.New("wallet already exists")
	ErrBadName  = errors.New("invalid wallet name")
)

// MaxNameLen is the longest wallet name.
const MaxNameLen = 64

const fileExt = ".json"

// Store is a directory of keystore files, <home>/wallet/, one
// <name>.json per key. It keeps no state besides Dir, so its methods are
// safe for concurrent use, from several processes too: Create publishes a
// file only if the name is still free.
type Store struct {
	Dir string
}

// Entry is one wallet in a listing. Err is set, and Address is zero, when
// the file could not be read or parsed; the listing goes on regardless.
type Entry struct {
	Name    string
	Address types.Address
	Err     error
}

// NewStore returns the store in dir, creating dir (and its parents) with
// mode 0700 if it does not exist. An existing directory keeps its mode. It
// is safe for concurrent use.
func NewStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("wallet store: empty directory name")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("wallet store: %w", err)
		}
		// MkdirAll's mode is narrowed by the umask; make sure it is 0700.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("wallet store: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("wallet store: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("wallet store: %s is not a directory", dir)
	}
	return &Store{Dir: dir}, nil
}

// CheckName reports whether name may name a wallet: 1 to 64 characters,
// each an ASCII letter, digit, '_' or '-'. It is safe for concurrent use.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return &storeError{ErrBadName, fmt.Sprintf("invalid wallet name %s: want 1 to %d characters", quoteInput(name), MaxNameLen)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return &storeError{ErrBadName, fmt.Sprintf("invalid wallet name %s: only letters, digits, '_' and '-' are allowed", quoteInput(name))}
		}
	}
	return nil
}

// Path returns the file that holds the wallet name, whether or not it
// exists. It is safe for concurrent use.
func (s *Store) Path(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.Dir, name+fileExt), nil
}

// Create encrypts k under pass with p (the zero p means DefaultKDFParams)
// and writes it as <name>.json, mode 0600. The file appears complete or
// not at all: it is written to a temporary file in the same directory,
// synced, and then linked into place, which fails if the name is taken
// (ErrExists) even when another process creates it at the same moment.
// It is safe for concurrent use.
func (s *Store) Create(name string, k *Key, pass []byte, p KDFParams) error {
	return s.create(name, func() ([]byte, error) { return EncryptKey(k, pass, p) })
}

// CreateMnemonic is Create for a key derived from a mnemonic: the file
// (version 2) keeps the mnemonic, so that LoadMnemonic can show it again.
// It is safe for concurrent use.
func (s *Store) CreateMnemonic(name string, k *MnemonicKey, pass []byte, p KDFParams) error {
	return s.create(name, func() ([]byte, error) { return EncryptMnemonicKey(k, pass, p) })
}

func (s *Store) create(name string, encrypt func() ([]byte, error)) error {
	path, err := s.Path(name)
	if err != nil {
		return err
	}
	// Refuse early, before the slow key derivation; the link below is what
	// settles a race.
	if _, err := os.Lstat(path); err == nil {
		return s.existsErr(name)
	}
	data, err := encrypt()
	if err != nil {
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	return s.writeNew(name, path, data)
}

func (s *Store) existsErr(name string) error {
	return &storeError{ErrExists, fmt.Sprintf("a wallet named %q already exists in %s", name, s.Dir)}
}

func (s *Store) notFoundErr(name string) error {
	return &storeError{ErrNotFound, fmt.Sprintf("no wallet named %q in %s", name, s.Dir)}
}

func (s *Store) writeNew(name, path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(s.Dir, "."+name+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful link, only the extra name goes
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("wallet %q: %w", name, err)
	}
	// os.Rename would replace an existing wallet; a hard link cannot.
	// Where the file system has no hard links, fall back to check-then-
	// rename, which is only racy against a concurrent Create of the same
	// name.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return s.existsErr(name)
		}
		if _, err := os.Lstat(path); err == nil {
			return s.existsErr(name)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("wallet %q: %w", name, err)
		}
	}
	return syncDir(s.Dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// readFile reads the keystore file of name: ErrNotFound if there is none,
// an error if it is not a regular file or larger than MaxKeystoreSize.
func (s *Store) readFile(name string) ([]byte, error) {
	path, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, s.notFoundErr(name)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	if !fi.Mode().IsRegular() { // a FIFO would block the read
		return nil, fmt.Errorf("wallet %q: %s is not a regular file", name, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeystoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	return data, nil
}

// List returns every wallet in the store, sorted by name. A file that
// cannot be read or parsed is listed with Err set. Files whose names are
// not <valid name>.json are ignored. It is safe for concurrent use.
func (s *Store) List() ([]Entry, error) {
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("wallet store: %w", err)
	}
	var out []Entry
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), fileExt)
		if !ok || CheckName(name) != nil || de.IsDir() {
			continue
		}
		e := Entry{Name: name}
		e.Address, e.Err = s.Address(name)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Address returns the address of the wallet name without decrypting it.
// It is safe for concurrent use.
func (s *Store) Address(name string) (types.Address, error) {
	f, err := s.Keystore(name)
	if err != nil {
		return types.Address{}, err
	}
	return f.Address, nil
}

// Find returns the name of the wallet whose address is addr, the first
// by name if several hold the same key; ErrNotFound (wrapped, naming the
// address) if none does. Wallets that cannot be read are passed over, as
// List lists them. It is safe for concurrent use.
func (s *Store) Find(addr types.Address) (string, error) {
	entries, err := s.List()
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Err == nil && e.Address == addr {
			return e.Name, nil
		}
	}
	return "", &storeError{ErrNotFound, fmt.Sprintf("no wallet in %s holds address %s", s.Dir, addr)}
}

// Keystore returns the parsed keystore file of the wallet name, without
// decrypting it: its address, and for a version-2 file how its key is
// derived from its mnemonic. It is safe for concurrent use.
func (s *Store) Keystore(name string) (*KeystoreFile, error) {
	data, err := s.readFile(name)
	if err != nil {
		return nil, err
	}
	f, err := ParseKeystore(data)
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	return f, nil
}

// Load decrypts the wallet name, of either keystore version, with pass.
// It is safe for concurrent use.
func (s *Store) Load(name string, pass []byte) (*Key, error) {
	data, err := s.readFile(name)
	if err != nil {
		return nil, err
	}
	k, err := DecryptKey(data, pass)
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	return k, nil
}

// Import stores the key with the given hex seed (64 hex digits, as Export
// returns it; surrounding white space is ignored) as a new wallet, like
// Create, and returns its address. It is safe for concurrent use.
func (s *Store) Import(name string, seedHex, pass []byte, p KDFParams) (types.Address, error) {
	if err := CheckName(name); err != nil {
		return types.Address{}, err
	}
	seed, err := ParseSeedHex(seedHex)
	if err != nil {
		return types.Address{}, fmt.Errorf("wallet %q: %w", name, err)
	}
	defer clear(seed)
	k, err := KeyFromSeed(seed)
	if err != nil {
		return types.Address{}, fmt.Errorf("wallet %q: %w", name, err)
	}
	if err := s.Create(name, k, pass, p); err != nil {
		return types.Address{}, err
	}
	return k.Address(), nil
}

// LoadMnemonic decrypts the wallet name with pass and returns its key
// with its mnemonic. A wallet without one (a version-1 file, such as one
// Import made from a hex seed) gives ErrNoMnemonic, before the passphrase
// is tried. It is safe for concurrent use.
func (s *Store) LoadMnemonic(name string, pass []byte) (*MnemonicKey, error) {
	f, err := s.Keystore(name)
	if err != nil {
		return nil, err
	}
	k, err := f.DecryptMnemonic(pass)
	if err != nil {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	return k, nil
}

// ImportMnemonic stores the key of the given mnemonic (the words as
// ParseMnemonic takes them), BIP-39 passphrase (nil or empty for none) and
// account as a new wallet, like CreateMnemonic, and returns its address.
// Nothing is written if the words are refused (a *MnemonicError). The
// BIP-39 passphrase is not stored: see the keystore format, version 2. It
// is safe for concurrent use.
func (s *Store) ImportMnemonic(name, words string, bip39Pass []byte, account uint32, pass []byte, p KDFParams) (types.Address, error) {
	if err := CheckName(name); err != nil {
		return types.Address{}, err
	}
	m, err := ParseMnemonic(words)
	if err != nil {
		return types.Address{}, fmt.Errorf("wallet %q: %w", name, err)
	}
	k, err := m.Derive(bip39Pass, account)
	if err != nil {
		return types.Address{}, fmt.Errorf("wallet %q: %w", name, err)
	}
	if err := s.CreateMnemonic(name, k, pass, p); err != nil {
		return types.Address{}, err
	}
	return k.Address(), nil
}

// Export decrypts the wallet name and returns its seed as 64 lower-case
// hex digits, the form Import takes. The caller should wipe the result
// when done. It is safe for concurrent use.
func (s *Store) Export(name string, pass []byte) ([]byte, error) {
	k, err := s.Load(name, pass)
	if err != nil {
		return nil, err
	}
	seed := k.Seed()
	defer clear(seed)
	out := make([]byte, hex.EncodedLen(len(seed)))
	hex.Encode(out, seed)
	return out, nil
}

// storeError carries a sentinel for errors.Is and a complete message.
type storeError struct {
	sentinel error
	msg      string
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.sentinel }
