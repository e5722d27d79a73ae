package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cairn-ledger/cairn/chain/types"
)

// mnemonicKey derives the key of the last (24-word) BIP-39 vector, or of
// the first (12-word) one when short, at account with bip39Pass.
func mnemonicKey(t testing.TB, short bool, bip39Pass string, account uint32) *MnemonicKey {
	t.Helper()
	v := bip39Vectors[len(bip39Vectors)-1]
	if short {
		v = bip39Vectors[0]
	}
	m, err := ParseMnemonic(v.mnemonic)
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Derive([]byte(bip39Pass), account)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encryptMnemonicTest(t testing.TB, bip39Pass string) (*MnemonicKey, []byte) {
	t.Helper()
	k := mnemonicKey(t, false, bip39Pass, 1)
	data, err := EncryptMnemonicKey(k, testPass, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	return k, data
}

func TestKeystoreV2RoundTrip(t *testing.T) {
	for _, tt := range []struct {
		short     bool
		bip39Pass string
		account   uint32
	}{
		{false, "", 0},
		{false, "", 1},
		{false, "TREZOR", 0},
		{true, "", MaxAccount},
		{true, "ünïcödé", 7},
	} {
		name := fmt.Sprintf("short %v, passphrase %q, account %d", tt.short, tt.bip39Pass, tt.account)
		t.Run(name, func(t *testing.T) {
			k := mnemonicKey(t, tt.short, tt.bip39Pass, tt.account)
			data, err := EncryptMnemonicKey(k, testPass, cheapKDF)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseKeystore(data)
			if err != nil {
				t.Fatal(err)
			}
			words := len(k.Mnemonic.Words())
			want := MnemonicParams{Words: words, Account: tt.account, PassphraseUsed: tt.bip39Pass != ""}
			if f.Version != MnemonicKeystoreVersion || f.Address != k.Address() || f.KDF != cheapKDF || f.Mnemonic != want {
				t.Fatalf("parsed %+v", f)
			}
			secret := words / 3 * 4
			if want.PassphraseUsed {
				secret += SeedSize
			}
			if len(f.Ciphertext) != secret+chacha20poly1305.Overhead {
				t.Fatalf("ciphertext of %d bytes, want %d", len(f.Ciphertext), secret+chacha20poly1305.Overhead)
			}
			if !bytes.Equal(f.Marshal(), data) {
				t.Fatal("Marshal(ParseKeystore(data)) != data")
			}
			got, err := DecryptKey(data, testPass)
			if err != nil || !bytes.Equal(got.Seed(), k.Seed()) {
				t.Fatalf("DecryptKey: %v", err)
			}
			mk, err := f.DecryptMnemonic(testPass)
			if err != nil {
				t.Fatal(err)
			}
			if mk.Mnemonic.Phrase() != k.Mnemonic.Phrase() || mk.Account != tt.account ||
				mk.PassphraseUsed != want.PassphraseUsed || !bytes.Equal(mk.Seed(), k.Seed()) {
				t.Fatalf("DecryptMnemonic: %+v", mk)
			}
			// Neither the entropy, nor the seed, nor any word is in the clear.
			for _, secret := range [][]byte{k.Mnemonic.Entropy(), k.Seed(), []byte(hex.EncodeToString(k.Mnemonic.Entropy())), []byte(hex.EncodeToString(k.Seed()))} {
				if bytes.Contains(data, secret) {
					t.Fatal("secret in the clear")
				}
			}
			for _, w := range k.Mnemonic.Words() {
				if bytes.Contains(data, []byte(`"`+w+`"`)) || bytes.Contains(data, []byte(" "+w+" ")) {
					t.Fatalf("word %q in the file", w)
				}
			}
			if tt.bip39Pass != "" && bytes.Contains(data, []byte(tt.bip39Pass)) {
				t.Fatal("BIP-39 passphrase in the file")
			}
		})
	}
}

func TestKeystoreV2Format(t *testing.T) {
	for _, bip39Pass := range []string{"", "TREZOR"} {
		k, data := encryptMnemonicTest(t, bip39Pass)
		var m struct {
			Version int    `json:"version"`
			Address string `json:"address"`
			KDF     struct {
				Name                  string
				Time, Memory, Threads int
				Salt                  string
			} `json:"kdf"`
			Cipher   struct{ Name, Nonce string } `json:"cipher"`
			Check    string                       `json:"check"`
			Mnemonic struct {
				Words      int  `json:"words"`
				Account    int  `json:"account"`
				Passphrase bool `json:"passphrase"`
			} `json:"mnemonic"`
			Ciphertext string `json:"ciphertext"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		wantCiphertext := 2 * (32 + 16) // the 24-word entropy and the tag
		if bip39Pass != "" {
			wantCiphertext += 2 * 32 // and the seed
		}
		if m.Version != 2 || m.Address != k.Address().String() || m.KDF.Name != "argon2id" ||
			m.KDF.Time != 1 || m.KDF.Memory != 64 || m.KDF.Threads != 1 || len(m.KDF.Salt) != 32 ||
			m.Cipher.Name != "xchacha20-poly1305" || len(m.Cipher.Nonce) != 48 || len(m.Check) != 32 ||
			m.Mnemonic.Words != 24 || m.Mnemonic.Account != 1 || m.Mnemonic.Passphrase != (bip39Pass != "") ||
			len(m.Ciphertext) != wantCiphertext {
			t.Fatalf("unexpected file %s", data)
		}
	}
}

// TestKeystoreV2Golden opens files written when version 2 was made: a
// later change to the format, the derivation or the BIP-39 library that
// would strand existing wallets fails here.
func TestKeystoreV2Golden(t *testing.T) {
	for _, tt := range []struct {
		file, mnemonic, bip39Pass string
		account                   uint32
	}{
		{"testdata/keystore/v2.json", "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless", "", 1},
		{"testdata/keystore/v2-passphrase.json", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "TREZOR", 0},
	} {
		data, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMnemonic(tt.mnemonic)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Derive([]byte(tt.bip39Pass), tt.account)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseKeystore(data)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		mk, err := f.DecryptMnemonic(fuzzPass)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if mk.Address() != want.Address() || f.Address != want.Address() || mk.Mnemonic.Phrase() != tt.mnemonic ||
			mk.Account != tt.account || mk.PassphraseUsed != (tt.bip39Pass != "") {
			t.Fatalf("%s: opened to %s, %q, account %d, passphrase %v; want %s", tt.file,
				mk.Address(), mk.Mnemonic.Phrase(), mk.Account, mk.PassphraseUsed, want.Address())
		}
	}
}

// TestKeystoreV2Tampering: as TestKeystoreTampering, for the fields
// version 2 adds. An edit of the mnemonic parameters that keeps the
// ciphertext's size is caught by the AEAD; one that changes the size is
// refused by ParseKeystore.
func TestKeystoreV2Tampering(t *testing.T) {
	for _, bip39Pass := range []string{"", "TREZOR"} {
		k, data := encryptMnemonicTest(t, bip39Pass)
		other := types.PubKey{1}.Address()
		tests := []struct {
			name string
			edit func(f *KeystoreFile)
			want error
		}{
			{"ciphertext first byte", func(f *KeystoreFile) { f.Ciphertext[0] ^= 1 }, ErrTampered},
			{"ciphertext tag", func(f *KeystoreFile) { f.Ciphertext[len(f.Ciphertext)-1] ^= 0x80 }, ErrTampered},
			{"nonce", func(f *KeystoreFile) { f.Nonce[5] ^= 1 }, ErrTampered},
			{"address", func(f *KeystoreFile) { f.Address = other }, ErrTampered},
			{"check", func(f *KeystoreFile) { f.Check[0] ^= 1 }, ErrTampered},
			{"account", func(f *KeystoreFile) { f.Mnemonic.Account = 0 }, ErrTampered},
			{"account to the largest", func(f *KeystoreFile) { f.Mnemonic.Account = MaxAccount }, ErrTampered},
			{"salt", func(f *KeystoreFile) { f.Salt[0] ^= 1 }, ErrWrongPassphrase},
			{"kdf memory", func(f *KeystoreFile) { f.KDF.Memory = 72 }, ErrWrongPassphrase},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, passphrase %v", tt.name, bip39Pass != ""), func(t *testing.T) {
				got, err := DecryptKey(edit(t, data, tt.edit), testPass)
				if !errors.Is(err, tt.want) || got != nil {
					t.Fatalf("got %v, %v; want %v", got, err, tt.want)
				}
			})
		}
		// Size-changing edits of the mnemonic object, made in the JSON.
		for name, fn := range map[string]func(m map[string]any){
			"passphrase flag flipped": func(m map[string]any) { m["mnemonic"].(map[string]any)["passphrase"] = bip39Pass == "" },
			"24 words made 21":        func(m map[string]any) { m["mnemonic"].(map[string]any)["words"] = 21 },
			"version made 1":          func(m map[string]any) { m["version"] = 1 },
		} {
			_, err := DecryptKey(editJSON(t, data, fn), testPass)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: got %v, want ErrMalformed", name, err)
			}
		}
		if got, err := DecryptKey(data, testPass); err != nil || got.Address() != k.Address() {
			t.Fatalf("the original no longer opens: %v", err)
		}
	}
}

// TestKeystoreV2ForgedAddress seals another mnemonic's entropy with the
// correct passphrase and additional data: the AEAD opens, and the key
// derived from it does not have the file's address.
func TestKeystoreV2ForgedAddress(t *testing.T) {
	for _, bip39Pass := range []string{"", "TREZOR"} {
		_, data := encryptMnemonicTest(t, bip39Pass)
		f, err := ParseKeystore(data)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMnemonic(strings.Repeat("zoo ", 23) + "vote") // other words, 24 of them
		if err != nil {
			t.Fatal(err)
		}
		other, err := m.Derive([]byte(bip39Pass), 1)
		if err != nil {
			t.Fatal(err)
		}
		secret := other.Mnemonic.Entropy()
		if bip39Pass != "" {
			secret = append(secret, other.Seed()...)
		}
		aead, err := chacha20poly1305.NewX(f.deriveKey(testPass))
		if err != nil {
			t.Fatal(err)
		}
		f.Ciphertext = aead.Seal(nil, f.Nonce[:], secret, f.additionalData())
		_, err = DecryptKey(f.Marshal(), testPass)
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "does not match the address") {
			t.Fatalf("passphrase %q: got %v, want ErrTampered about the address", bip39Pass, err)
		}
	}
}

func TestKeystoreV2Malformed(t *testing.T) {
	_, data := encryptMnemonicTest(t, "")
	_, v1 := encryptTest(t)
	set := func(data []byte, path string, v any) []byte {
		return editJSON(t, data, func(m map[string]any) {
			parts := strings.Split(path, ".")
			for _, p := range parts[:len(parts)-1] {
				m = m[p].(map[string]any)
			}
			if v == nil {
				delete(m, parts[len(parts)-1])
			} else {
				m[parts[len(parts)-1]] = v
			}
		})
	}
	tests := []struct {
		name  string
		in    []byte
		field string // must appear in the message
	}{
		{"no mnemonic", set(data, "mnemonic", nil), "mnemonic: missing"},
		{"mnemonic string", set(data, "mnemonic", "abandon"), "mnemonic"},
		{"mnemonic in version 1", set(v1, "mnemonic", map[string]any{"words": 24, "account": 0, "passphrase": false}), "mnemonic: not in a version 1 file"},
		{"no words", set(data, "mnemonic.words", nil), "mnemonic.words: missing"},
		{"13 words", set(data, "mnemonic.words", 13), "mnemonic.words: 13, want 12, 15, 18, 21 or 24"},
		{"words 2^32", set(data, "mnemonic.words", 1<<32), "mnemonic.words"},
		{"words string", set(data, "mnemonic.words", "24"), "mnemonic.words"},
		{"no account", set(data, "mnemonic.account", nil), "mnemonic.account: missing"},
		{"account 2^31", set(data, "mnemonic.account", 1<<31), "mnemonic.account: 2147483648, want 0 to 2147483647"},
		{"account negative", set(data, "mnemonic.account", -1), "mnemonic.account"},
		{"no passphrase flag", set(data, "mnemonic.passphrase", nil), "mnemonic.passphrase: missing"},
		{"passphrase flag string", set(data, "mnemonic.passphrase", "no"), "mnemonic.passphrase: JSON string where true or false expected"},
		{"passphrase stored", set(data, "mnemonic.secret", "TREZOR"), "secret"},
		{"ciphertext of a version-1 file", set(data, "ciphertext", strings.Repeat("00", CiphertextSize+1)), "ciphertext"},
		{"ciphertext short", set(data, "ciphertext", strings.Repeat("00", 47)), "ciphertext: want 48 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseKeystore(tt.in)
			if !errors.Is(err, ErrMalformed) || f != nil {
				t.Fatalf("got %v, %v; want ErrMalformed", f, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %q", err, tt.field)
			}
			if _, err2 := DecryptKey(tt.in, testPass); !errors.Is(err2, ErrMalformed) {
				t.Fatalf("DecryptKey: %v", err2)
			}
		})
	}
	// A hand-built KeystoreFile is checked before argon2 runs.
	for name, f := range map[string]*KeystoreFile{
		"v2, 13 words":           {Version: 2, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 13}},
		"v2, account 2^31":       {Version: 2, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 24, Account: 1 << 31}},
		"v2, short ciphertext":   {Version: 2, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 24}, Ciphertext: make([]byte, 47)},
		"v1 with mnemonic":       {Version: 1, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 24}, Ciphertext: make([]byte, CiphertextSize)},
		"v1, no ciphertext":      {Version: 1, KDF: cheapKDF},
		"v2, absurd kdf":         {Version: 2, KDF: KDFParams{Time: 1, Memory: 1 << 30, Threads: 1}, Mnemonic: MnemonicParams{Words: 24}},
		"v2 seed-sized secret":   {Version: 2, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 24, PassphraseUsed: true}, Ciphertext: make([]byte, 48)},
		"v2 entropy-only secret": {Version: 2, KDF: cheapKDF, Mnemonic: MnemonicParams{Words: 12}, Ciphertext: make([]byte, 48)},
	} {
		if _, err := f.Decrypt(testPass); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decrypt got %v, want ErrMalformed", name, err)
		}
	}
}

func TestKeystoreV1HasNoMnemonic(t *testing.T) {
	_, data := encryptTest(t)
	f, err := ParseKeystore(data)
	if err != nil {
		t.Fatal(err)
	}
	// Refused before the passphrase is tried: a wrong one gives the same.
	for _, pass := range [][]byte{testPass, []byte("wrong")} {
		if mk, err := f.DecryptMnemonic(pass); !errors.Is(err, ErrNoMnemonic) || mk != nil {
			t.Errorf("got %v, %v; want ErrNoMnemonic", mk, err)
		}
	}
}

func TestEncryptMnemonicKeyRefusals(t *testing.T) {
	k := mnemonicKey(t, false, "", 0)
	if _, err := EncryptMnemonicKey(k, nil, cheapKDF); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := EncryptMnemonicKey(nil, testPass, cheapKDF); err == nil {
		t.Error("nil key accepted")
	}
	if _, err := EncryptMnemonicKey(&MnemonicKey{Key: k.Key}, testPass, cheapKDF); err == nil {
		t.Error("a key without its mnemonic accepted")
	}
	bad := *k
	bad.Account = MaxAccount + 1
	if _, err := EncryptMnemonicKey(&bad, testPass, cheapKDF); err == nil || !strings.Contains(err.Error(), "account") {
		t.Errorf("account 2^31: %v", err)
	}
}
