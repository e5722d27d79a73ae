package wallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// newTestStore returns a store in a fresh directory below t.TempDir, so
// that NewStore creates it.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(filepath.Join(t.TempDir(), "home", "wallet"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewStoreCreatesPrivateDir(t *testing.T) {
	s := newTestStore(t)
	fi, err := os.Stat(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: mode %v, want a directory with 0700", s.Dir, fi.Mode())
	}
	// Opening it again is fine.
	if _, err := NewStore(s.Dir); err != nil {
		t.Fatal(err)
	}
	// A file in the way is not.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStore(file); err == nil {
		t.Fatal("NewStore on a regular file succeeded")
	}
}

func TestStoreCreateLoad(t *testing.T) {
	s := newTestStore(t)
	k := testKey(t)
	if err := s.Create("alice", k, testPass, cheapKDF); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir, "alice.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("keystore mode %v, want 0600", fi.Mode().Perm())
	}
	if p, err := s.Path("alice"); err != nil || p != path {
		t.Fatalf("Path = %q, %v", p, err)
	}
	got, err := s.Load("alice", testPass)
	if err != nil || got.Address() != k.Address() {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if a, err := s.Address("alice"); err != nil || a != k.Address() {
		t.Fatalf("Address = %v, %v", a, err)
	}
	if _, err := s.Load("alice", []byte("nope")); !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), `"alice"`) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// No temporary file is left behind.
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 1 {
		t.Fatalf("directory holds %d entries, want 1: %v", len(des), des)
	}
}

func TestStoreCreateDuplicate(t *testing.T) {
	s := newTestStore(t)
	k := testKey(t)
	if err := s.Create("alice", k, testPass, cheapKDF); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(s.Dir, "alice.json"))
	other, _ := GenerateKey()
	err := s.Create("alice", other, testPass, cheapKDF)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	t.Log(err)
	after, _ := os.ReadFile(filepath.Join(s.Dir, "alice.json"))
	if string(before) != string(after) {
		t.Fatal("the existing wallet was overwritten")
	}
	// The slow path: the name is free at the early check and taken by the
	// time of the link.
	if err := s.writeNew("alice", filepath.Join(s.Dir, "alice.json"), []byte("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("writeNew over an existing file: %v", err)
	}
}

// TestStoreCreateRace has several goroutines create the same name at
// once: exactly one wins, and the file holds the winner's key.
func TestStoreCreateRace(t *testing.T) {
	s := newTestStore(t)
	const n = 8
	keys := make([]*Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
		wg.Go(func() { errs[i] = s.Create("shared", k, testPass, cheapKDF) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("both %d and %d created the wallet", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody created the wallet")
	}
	k, err := s.Load("shared", testPass)
	if err != nil || k.Address() != keys[won].Address() {
		t.Fatalf("loaded %v, %v; want the winner's key", k, err)
	}
	entries, err := s.List()
	if err != nil || len(entries) != 1 {
		t.Fatalf("List = %v, %v", entries, err)
	}
}

func TestStoreBadName(t *testing.T) {
	s := newTestStore(t)
	k := testKey(t)
	for _, name := range []string{"", "a b", "../evil", "a/b", "a.json", ".hidden", "ünï", "a\x00", strings.Repeat("x", MaxNameLen+1)} {
		if err := s.Create(name, k, testPass, cheapKDF); !errors.Is(err, ErrBadName) {
			t.Errorf("Create(%q): got %v, want ErrBadName", name, err)
		}
		if _, err := s.Load(name, testPass); !errors.Is(err, ErrBadName) {
			t.Errorf("Load(%q): got %v, want ErrBadName", name, err)
		}
		if _, err := s.Import(name, []byte(rfcSeed), testPass, cheapKDF); !errors.Is(err, ErrBadName) {
			t.Errorf("Import(%q): got %v, want ErrBadName", name, err)
		}
	}
	for _, name := range []string{"a", "Alice_2", "cold-storage", strings.Repeat("x", MaxNameLen)} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q): %v", name, err)
		}
	}
	des, _ := os.ReadDir(s.Dir)
	if len(des) != 0 {
		t.Fatalf("bad names left files: %v", des)
	}
}

func TestStoreUnknownName(t *testing.T) {
	s := newTestStore(t)
	_, err := s.Load("bob", testPass)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `no wallet named "bob"`) {
		t.Fatalf("Load: got %v, want ErrNotFound naming bob", err)
	}
	t.Log(err)
	if _, err := s.Address("bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Address: %v", err)
	}
	if _, err := s.Export("bob", testPass); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Export: %v", err)
	}
}

func TestStoreList(t *testing.T) {
	s := newTestStore(t)
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Fatalf("empty store: %v, %v", l, err)
	}
	names := []string{"zed", "a", "a-b", "M_1"}
	addrs := map[string]types.Address{}
	for _, name := range names {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Create(name, k, testPass, cheapKDF); err != nil {
			t.Fatal(err)
		}
		addrs[name] = k.Address()
	}
	// A broken wallet, a file that is not a wallet name, a directory and a
	// stray temporary file.
	mustWrite := func(name, data string) {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("broken.json", `{"version":1`)
	mustWrite("notes.txt", "hi")
	mustWrite("bad name.json", "{}")
	mustWrite(".alice.tmp-123", "partial")
	if err := os.Mkdir(filepath.Join(s.Dir, "dir.json"), 0o700); err != nil {
		t.Fatal(err)
	}

	l, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"M_1", "a", "a-b", "broken", "zed"}
	if len(l) != len(want) {
		t.Fatalf("List = %+v, want %v", l, want)
	}
	for i, e := range l {
		if e.Name != want[i] {
			t.Fatalf("entry %d is %q, want %q (%+v)", i, e.Name, want[i], l)
		}
		if e.Name == "broken" {
			if !errors.Is(e.Err, ErrMalformed) || !e.Address.IsZero() {
				t.Fatalf("broken entry: %+v", e)
			}
			continue
		}
		if e.Err != nil || e.Address != addrs[e.Name] {
			t.Fatalf("entry %+v, want address %v", e, addrs[e.Name])
		}
	}
}

func TestStoreFind(t *testing.T) {
	s := newTestStore(t)
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(k.Address()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find in an empty store: %v, want ErrNotFound", err)
	}
	// The same key under two names, another key, and a broken wallet.
	for name, key := range map[string]*Key{"zed": k, "bob": k, "alice": other} {
		if err := s.Create(name, key, testPass, cheapKDF); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "broken.json"), []byte(`{"version":1`), 0o600); err != nil {
		t.Fatal(err)
	}
	if name, err := s.Find(k.Address()); err != nil || name != "bob" {
		t.Errorf("Find = %q, %v; want bob, the first by name", name, err)
	}
	if name, err := s.Find(other.Address()); err != nil || name != "alice" {
		t.Errorf("Find = %q, %v; want alice", name, err)
	}
	var none types.Address
	none[0] = 1
	_, err = s.Find(none)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), none.String()) {
		t.Errorf("Find of an unknown address: %v, want ErrNotFound naming it", err)
	}
}

func TestStoreImportExport(t *testing.T) {
	s := newTestStore(t)
	addr, err := s.Import("imported", []byte(rfcSeed+"\n"), testPass, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if addr != testKey(t).Address() {
		t.Fatalf("imported %v, want %v", addr, testKey(t).Address())
	}
	out, err := s.Export("imported", testPass)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != rfcSeed {
		t.Fatalf("exported %q, want %q", out, rfcSeed)
	}
	if _, err := s.Export("imported", []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("export with a wrong passphrase: %v", err)
	}
	// What Export gives, Import takes.
	addr2, err := s.Import("copy", out, testPass, cheapKDF)
	if err != nil || addr2 != addr {
		t.Fatalf("re-import: %v, %v", addr2, err)
	}
	if _, err := s.Import("copy", out, testPass, cheapKDF); !errors.Is(err, ErrExists) {
		t.Fatalf("import over an existing name: %v", err)
	}
	for _, bad := range []string{"", rfcSeed[:63], "not hex at all, but exactly sixty-four characters long, yes it is"} {
		if _, err := s.Import("bad", []byte(bad), testPass, cheapKDF); !errors.Is(err, ErrBadSeed) {
			t.Errorf("Import(%q): %v, want ErrBadSeed", bad, err)
		}
	}
	if _, err := s.Import("empty-pass", []byte(rfcSeed), nil, cheapKDF); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
}

func TestStoreRefusesNonRegularFile(t *testing.T) {
	s := newTestStore(t)
	if err := os.Mkdir(filepath.Join(s.Dir, "d.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Address("d"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}

// TestStoreImportMnemonic: the words imported at accounts 0 and 1 give
// the addresses of m/44'/7731'/0' and m/44'/7731'/1', and open again with
// their words.
func TestStoreImportMnemonic(t *testing.T) {
	s := newTestStore(t)
	v := bip39Vectors[len(bip39Vectors)-1]
	m, err := ParseMnemonic(v.mnemonic)
	if err != nil {
		t.Fatal(err)
	}
	seed := m.Seed(nil)
	for _, account := range []uint32{0, 1} {
		name := fmt.Sprintf("acct%d", account)
		addr, err := s.ImportMnemonic(name, "  "+strings.ToUpper(v.mnemonic)+"\n", nil, account, testPass, cheapKDF)
		if err != nil {
			t.Fatal(err)
		}
		priv, _, err := DeriveSLIP10(seed, []uint32{44 | Hardened, 7731 | Hardened, account | Hardened})
		if err != nil {
			t.Fatal(err)
		}
		want, err := KeyFromSeed(priv[:])
		if err != nil {
			t.Fatal(err)
		}
		if addr != want.Address() {
			t.Errorf("account %d: address %s, want %s (m/44'/7731'/%d')", account, addr, want.Address(), account)
		}
		if a, err := s.Address(name); err != nil || a != addr {
			t.Errorf("Address = %v, %v", a, err)
		}
		k, err := s.Load(name, testPass)
		if err != nil || k.Address() != addr {
			t.Fatalf("Load = %v, %v", k, err)
		}
		mk, err := s.LoadMnemonic(name, testPass)
		if err != nil {
			t.Fatal(err)
		}
		if mk.Mnemonic.Phrase() != v.mnemonic || mk.Account != account || mk.PassphraseUsed || mk.Address() != addr {
			t.Errorf("LoadMnemonic = %q, account %d, passphrase %v, %s", mk.Mnemonic.Phrase(), mk.Account, mk.PassphraseUsed, mk.Address())
		}
		// The hex seed of a mnemonic wallet is that of its derived key.
		if hx, err := s.Export(name, testPass); err != nil || string(hx) != hex.EncodeToString(priv[:]) {
			t.Errorf("Export = %s, %v", hx, err)
		}
		f, err := s.Keystore(name)
		if err != nil || f.Version != MnemonicKeystoreVersion || f.Mnemonic.Account != account {
			t.Errorf("Keystore = %+v, %v", f, err)
		}
	}
	if _, err := s.ImportMnemonic("acct0", v.mnemonic, nil, 0, testPass, cheapKDF); !errors.Is(err, ErrExists) {
		t.Errorf("import over an existing name: %v", err)
	}
	if _, err := s.LoadMnemonic("acct0", []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
}

// TestStoreImportMnemonicPassphrase: with a BIP-39 passphrase the key is
// another, it opens without that passphrase, and the words come back
// marked as needing it.
func TestStoreImportMnemonicPassphrase(t *testing.T) {
	s := newTestStore(t)
	v := bip39Vectors[0]
	m, err := ParseMnemonic(v.mnemonic)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := m.Derive(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Derive([]byte("TREZOR"), 0)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.ImportMnemonic("p", v.mnemonic, []byte("TREZOR"), 0, testPass, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if addr != want.Address() || addr == plain.Address() {
		t.Fatalf("address %s, want %s (not %s, the key without the passphrase)", addr, want.Address(), plain.Address())
	}
	mk, err := s.LoadMnemonic("p", testPass)
	if err != nil {
		t.Fatal(err)
	}
	if mk.Address() != addr || !mk.PassphraseUsed || mk.Mnemonic.Phrase() != v.mnemonic {
		t.Fatalf("LoadMnemonic = %s, passphrase %v, %q", mk.Address(), mk.PassphraseUsed, mk.Mnemonic.Phrase())
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, "p.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("TREZOR")) {
		t.Fatal("the BIP-39 passphrase is in the file")
	}
}

// TestStoreImportMnemonicRefusals: bad words, account or passphrase leave
// nothing behind.
func TestStoreImportMnemonicRefusals(t *testing.T) {
	s := newTestStore(t)
	v := bip39Vectors[len(bip39Vectors)-1]
	words := strings.Fields(v.mnemonic)
	for _, tt := range []struct {
		name    string
		words   string
		account uint32
		pass    []byte
		want    error
	}{
		{"unknown word", strings.Replace(v.mnemonic, words[6], "abandn", 1), 0, testPass, ErrBadMnemonic},
		{"23 words", strings.Join(words[:23], " "), 0, testPass, ErrBadMnemonic},
		{"checksum", strings.Join(append(words[:23:23], "abandon"), " "), 0, testPass, ErrBadMnemonic},
		{"empty", "", 0, testPass, ErrBadMnemonic},
		{"account 2^31", v.mnemonic, MaxAccount + 1, testPass, ErrDerivation},
		{"empty passphrase", v.mnemonic, 0, nil, ErrEmptyPassphrase},
	} {
		if _, err := s.ImportMnemonic("w", tt.words, nil, tt.account, tt.pass, cheapKDF); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.ImportMnemonic("a/b", v.mnemonic, nil, 0, testPass, cheapKDF); !errors.Is(err, ErrBadName) {
		t.Errorf("bad name: %v", err)
	}
	if des, _ := os.ReadDir(s.Dir); len(des) != 0 {
		t.Fatalf("refusals left files: %v", des)
	}
}

func TestStoreLoadMnemonicOfBareKey(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.Import("bare", []byte(rfcSeed), testPass, cheapKDF); err != nil {
		t.Fatal(err)
	}
	mk, err := s.LoadMnemonic("bare", testPass)
	if !errors.Is(err, ErrNoMnemonic) || mk != nil || !strings.Contains(err.Error(), `"bare"`) {
		t.Fatalf("got %v, %v; want ErrNoMnemonic naming the wallet", mk, err)
	}
	if _, err := s.LoadMnemonic("nobody", testPass); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown wallet: %v", err)
	}
}
