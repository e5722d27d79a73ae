package wallet

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cairn-ledger/cairn/chain/types"
)

// cheapKDF keeps tests fast: one pass over 64 KiB.
var cheapKDF = KDFParams{Time: 1, Memory: 64, Threads: 1}

var testPass = []byte("correct horse battery staple")

func encryptTest(t testing.TB) (*Key, []byte) {
	t.Helper()
	k := testKey(t)
	data, err := EncryptKey(k, testPass, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	return k, data
}

// edit parses data, applies fn and writes the file again.
func edit(t testing.TB, data []byte, fn func(f *KeystoreFile)) []byte {
	t.Helper()
	f, err := ParseKeystore(data)
	if err != nil {
		t.Fatal(err)
	}
	fn(f)
	return f.Marshal()
}

// editJSON applies fn to the file as a generic JSON object.
func editJSON(t testing.TB, data []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeystoreRoundTrip(t *testing.T) {
	k, data := encryptTest(t)
	got, err := DecryptKey(data, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Seed(), k.Seed()) {
		t.Fatal("decrypted a different key")
	}
	f, err := ParseKeystore(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Address != k.Address() || f.KDF != cheapKDF || f.Version != KeystoreVersion {
		t.Fatalf("parsed %+v", f)
	}
	if !bytes.Equal(f.Marshal(), data) {
		t.Fatal("Marshal(ParseKeystore(data)) != data")
	}
	// The seed must not appear in the file in any form a grep would find.
	if bytes.Contains(data, []byte(rfcSeed)) || bytes.Contains(data, k.Seed()) {
		t.Fatal("seed in the clear")
	}
	t.Logf("%s", data)
}

func TestKeystoreFormat(t *testing.T) {
	k, data := encryptTest(t)
	var m struct {
		Version int    `json:"version"`
		Address string `json:"address"`
		KDF     struct {
			Name                  string
			Time, Memory, Threads int
			Salt                  string
		} `json:"kdf"`
		Cipher  struct{ Name, Nonce string } `json:"cipher"`
		Check   string                       `json:"check"`
		Cipher2 string                       `json:"ciphertext"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.Address != k.Address().String() || m.KDF.Name != "argon2id" ||
		m.KDF.Time != 1 || m.KDF.Memory != 64 || m.KDF.Threads != 1 || len(m.KDF.Salt) != 32 ||
		m.Cipher.Name != "xchacha20-poly1305" || len(m.Cipher.Nonce) != 48 ||
		len(m.Check) != 32 || len(m.Cipher2) != 96 {
		t.Fatalf("unexpected file %s", data)
	}
	if !strings.HasPrefix(m.Address, "cairn1") {
		t.Fatalf("address %q", m.Address)
	}
}

func TestKeystoreFreshSaltAndNonce(t *testing.T) {
	_, a := encryptTest(t)
	_, b := encryptTest(t)
	fa, _ := ParseKeystore(a)
	fb, _ := ParseKeystore(b)
	if fa.Salt == fb.Salt || fa.Nonce == fb.Nonce {
		t.Fatal("salt or nonce reused")
	}
}

func TestKeystoreWrongPassphrase(t *testing.T) {
	_, data := encryptTest(t)
	for _, pass := range [][]byte{[]byte("wrong"), nil, append(append([]byte(nil), testPass...), ' ')} {
		k, err := DecryptKey(data, pass)
		if !errors.Is(err, ErrWrongPassphrase) || k != nil {
			t.Errorf("passphrase %q: got %v, %v; want ErrWrongPassphrase", pass, k, err)
		}
		if errors.Is(err, ErrTampered) {
			t.Errorf("passphrase %q: %v also reads as tampering", pass, err)
		}
	}
}

// TestKeystoreTampering checks the classification documented with the
// format: edits the derived key does not depend on are ErrTampered; edits
// of the salt or argon2 parameters change the derived key and so read as a
// wrong passphrase.
func TestKeystoreTampering(t *testing.T) {
	k, data := encryptTest(t)
	other := types.PubKey{1}.Address()
	tests := []struct {
		name string
		edit func(f *KeystoreFile)
		want error
	}{
		{"ciphertext first byte", func(f *KeystoreFile) { f.Ciphertext[0] ^= 1 }, ErrTampered},
		{"ciphertext tag", func(f *KeystoreFile) { f.Ciphertext[CiphertextSize-1] ^= 0x80 }, ErrTampered},
		{"nonce", func(f *KeystoreFile) { f.Nonce[5] ^= 1 }, ErrTampered},
		{"address", func(f *KeystoreFile) { f.Address = other }, ErrTampered},
		{"check", func(f *KeystoreFile) { f.Check[0] ^= 1 }, ErrTampered},
		{"salt", func(f *KeystoreFile) { f.Salt[0] ^= 1 }, ErrWrongPassphrase},
		{"kdf time", func(f *KeystoreFile) { f.KDF.Time = 2 }, ErrWrongPassphrase},
		{"kdf memory", func(f *KeystoreFile) { f.KDF.Memory = 72 }, ErrWrongPassphrase},
		{"kdf threads", func(f *KeystoreFile) { f.KDF.Threads = 2 }, ErrWrongPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecryptKey(edit(t, data, tt.edit), testPass)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
			t.Log(err)
		})
	}
	// A changed hex digit in the raw file text, inside the ciphertext.
	raw := append([]byte(nil), data...)
	i := bytes.Index(raw, []byte(`"ciphertext": "`)) + len(`"ciphertext": "`) + 40
	if raw[i] == '0' {
		raw[i] = '1'
	} else {
		raw[i] = '0'
	}
	if _, err := DecryptKey(raw, testPass); !errors.Is(err, ErrTampered) {
		t.Fatalf("changed ciphertext digit: %v", err)
	}
	if got, err := DecryptKey(data, testPass); err != nil || got.Address() != k.Address() {
		t.Fatalf("the original no longer opens: %v", err)
	}
}

// TestKeystoreForgedAddress seals a different key's seed with the correct
// passphrase and the original address bound as additional data — what
// someone who knew the passphrase could do. The AEAD opens; the address
// check catches it.
func TestKeystoreForgedAddress(t *testing.T) {
	_, data := encryptTest(t)
	f, err := ParseKeystore(data)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dk := f.deriveKey(testPass)
	aead, err := chacha20poly1305.NewX(dk)
	if err != nil {
		t.Fatal(err)
	}
	aead.Seal(f.Ciphertext[:0], f.Nonce[:], other.Seed(), f.additionalData())
	_, err = DecryptKey(f.Marshal(), testPass)
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "does not match the address") {
		t.Fatalf("got %v, want ErrTampered about the address", err)
	}
}

func TestKeystoreUnsupportedVersion(t *testing.T) {
	_, data := encryptTest(t)
	for _, v := range []any{0, 3, 255, -1} {
		in := editJSON(t, data, func(m map[string]any) { m["version"] = v })
		if _, err := ParseKeystore(in); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("version %v: got %v, want ErrUnsupportedVersion", v, err)
		}
		if _, err := DecryptKey(in, testPass); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("version %v: DecryptKey got %v", v, err)
		}
	}
	// A future version may change everything else; only the version is read.
	if _, err := ParseKeystore([]byte(`{"version":3,"whatever":true}`)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("future format: %v", err)
	}
}

func TestKeystoreMalformed(t *testing.T) {
	_, data := encryptTest(t)
	set := func(path string, v any) []byte {
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
		{"empty", nil, "JSON"},
		{"not JSON", []byte("hello"), "JSON"},
		{"array", []byte("[1,2]"), "object"},
		{"truncated", data[:len(data)/2], "JSON"},
		{"trailing garbage", append(append([]byte(nil), data...), "{}"...), "JSON"},
		{"no version", set("version", nil), "version"},
		{"version string", set("version", "1"), "version"},
		{"version fraction", set("version", 1.5), "version"},
		{"unknown field", set("comment", "hi"), "comment"},
		{"no address", set("address", nil), "address"},
		{"address checksum", set("address", "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"), "address"},
		{"address number", set("address", 5), "address"},
		{"no kdf", set("kdf", nil), "kdf"},
		{"kdf string", set("kdf", "argon2id"), "kdf"},
		{"kdf name", set("kdf.name", "scrypt"), "kdf.name"},
		{"no kdf time", set("kdf.time", nil), "kdf.time"},
		{"kdf time negative", set("kdf.time", -1), "kdf.time"},
		{"kdf time fraction", set("kdf.time", 1.5), "kdf.time"},
		{"no kdf memory", set("kdf.memory", nil), "kdf.memory"},
		{"kdf memory 2^32", set("kdf.memory", 1<<32), "kdf.memory"},
		{"no kdf threads", set("kdf.threads", nil), "kdf.threads"},
		{"no salt", set("kdf.salt", nil), "kdf.salt"},
		{"salt 15 bytes", set("kdf.salt", strings.Repeat("ab", 15)), "kdf.salt"},
		{"salt 17 bytes", set("kdf.salt", strings.Repeat("ab", 17)), "kdf.salt"},
		{"salt not hex", set("kdf.salt", strings.Repeat("zz", 16)), "kdf.salt"},
		{"no cipher", set("cipher", nil), "cipher"},
		{"cipher name", set("cipher.name", "aes-gcm"), "cipher.name"},
		{"no nonce", set("cipher.nonce", nil), "cipher.nonce"},
		{"nonce 12 bytes", set("cipher.nonce", strings.Repeat("00", 12)), "cipher.nonce"},
		{"no check", set("check", nil), "check"},
		{"check short", set("check", "00"), "check"},
		{"no ciphertext", set("ciphertext", nil), "ciphertext"},
		{"ciphertext unsealed seed", set("ciphertext", rfcSeed), "ciphertext"},
		{"too large", append(bytes.Repeat([]byte(" "), MaxKeystoreSize), data...), "bytes"},
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
			t.Log(err)
		})
	}
}

// TestKeystoreRefusesAbsurdKDF checks that limits are enforced before
// argon2 runs: any of these, if run, would take minutes or gigabytes.
func TestKeystoreRefusesAbsurdKDF(t *testing.T) {
	_, data := encryptTest(t)
	tests := []struct {
		name string
		kdf  map[string]any
	}{
		{"memory above 1 GiB", map[string]any{"memory": MaxKDFMemory + 1}},
		{"memory 4 GiB - 1 KiB", map[string]any{"memory": uint32(1<<32 - 1)}},
		{"time above 100", map[string]any{"time": 101, "memory": MaxKDFMemory}},
		{"time 2^32-1", map[string]any{"time": uint32(1<<32 - 1), "memory": MaxKDFMemory}},
		{"time 0", map[string]any{"time": 0}},
		{"threads 0", map[string]any{"threads": 0}},
		{"threads 256", map[string]any{"threads": 256, "memory": MaxKDFMemory}},
		{"threads 2^32-1", map[string]any{"threads": uint32(1<<32 - 1)}},
		{"memory below 8 KiB per thread", map[string]any{"threads": 255, "memory": 8*255 - 1}},
	}
	start := time.Now()
	for _, tt := range tests {
		in := editJSON(t, data, func(m map[string]any) {
			for k, v := range tt.kdf {
				m["kdf"].(map[string]any)[k] = v
			}
		})
		_, err := ParseKeystore(in)
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrKDFParams) {
			t.Errorf("%s: ParseKeystore got %v, want ErrMalformed and ErrKDFParams", tt.name, err)
		}
		if _, err := DecryptKey(in, testPass); !errors.Is(err, ErrKDFParams) {
			t.Errorf("%s: DecryptKey got %v", tt.name, err)
		}
		t.Logf("%s: %v", tt.name, err)
	}
	// Decrypt on a hand-built KeystoreFile checks too.
	f := &KeystoreFile{Version: KeystoreVersion, KDF: KDFParams{Time: 1, Memory: 1 << 30, Threads: 1}}
	if _, err := f.Decrypt(testPass); !errors.Is(err, ErrKDFParams) {
		t.Errorf("Decrypt of a hand-built file with 1 TiB: %v", err)
	}
	// Generous: refusals are microseconds, one argon2 at 1 GiB is seconds.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusals took %v: was argon2 run?", d)
	}
}

func TestEncryptKeyRefusals(t *testing.T) {
	k := testKey(t)
	if _, err := EncryptKey(k, nil, cheapKDF); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := EncryptKey(k, testPass, KDFParams{Time: 1, Memory: MaxKDFMemory + 1, Threads: 1}); !errors.Is(err, ErrKDFParams) {
		t.Errorf("memory above limit: %v", err)
	}
	if _, err := EncryptKey(nil, testPass, cheapKDF); err == nil {
		t.Error("nil key accepted")
	}
}

func TestKDFParamsDefault(t *testing.T) {
	if (KDFParams{}).orDefault() != DefaultKDFParams {
		t.Fatal("zero params do not mean the defaults")
	}
	if DefaultKDFParams != (KDFParams{Time: 3, Memory: 64 << 10, Threads: 2}) {
		t.Fatalf("defaults changed: %+v", DefaultKDFParams)
	}
	if err := DefaultKDFParams.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (KDFParams{Time: MaxKDFTime, Memory: MaxKDFMemory, Threads: MaxKDFThreads}).Validate(); err != nil {
		t.Fatalf("the limits themselves are refused: %v", err)
	}
}

// TestKeystoreDefaultParams runs the real 64 MiB derivation once.
func TestKeystoreDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB argon2id")
	}
	k := testKey(t)
	data, err := EncryptKey(k, testPass, KDFParams{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseKeystore(data)
	if err != nil || f.KDF != DefaultKDFParams {
		t.Fatalf("%+v, %v", f, err)
	}
	got, err := DecryptKey(data, testPass)
	if err != nil || got.Address() != k.Address() {
		t.Fatalf("%v, %v", got, err)
	}
}

// fuzzPass is the passphrase of the valid seeds in
// testdata/fuzz/FuzzParseKeystore.
var fuzzPass = []byte("fuzz")

func FuzzParseKeystore(f *testing.F) {
	k := testKey(f)
	data, err := EncryptKey(k, fuzzPass, cheapKDF)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"kdf":{"memory":4294967295}}`))
	// Version 2, with and without a BIP-39 passphrase, 12 and 24 words.
	for _, tt := range []struct {
		short     bool
		bip39Pass string
	}{{false, ""}, {false, "TREZOR"}, {true, ""}, {true, "TREZOR"}} {
		v2, err := EncryptMnemonicKey(mnemonicKey(f, tt.short, tt.bip39Pass, 3), fuzzPass, cheapKDF)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v2)
	}
	for _, file := range []string{"testdata/keystore/v2.json", "testdata/keystore/v2-passphrase.json"} {
		v2, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v2)
	}
	f.Add([]byte(`{"version":2,"mnemonic":{"words":24,"account":2147483648,"passphrase":false}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		kf, err := ParseKeystore(in)
		if err != nil {
			if kf != nil {
				t.Fatalf("refused with %v but returned a file", err)
			}
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("refusal %v is not exactly one of ErrMalformed, ErrUnsupportedVersion", err)
			}
			return
		}
		if err := kf.KDF.Validate(); err != nil {
			t.Fatalf("accepted out-of-range parameters: %v", err)
		}
		again, err := ParseKeystore(kf.Marshal())
		if err != nil || !reflect.DeepEqual(again, kf) {
			t.Fatalf("re-parsing Marshal: %+v, %v; want %+v", again, err, kf)
		}
		// Only run argon2 for cheap parameters, to keep the fuzzer fast.
		if kf.KDF.Time > 2 || kf.KDF.Memory > 256 || kf.KDF.Threads > 4 {
			return
		}
		key, err := DecryptKey(in, fuzzPass)
		switch {
		case err == nil:
			if key.Address() != kf.Address {
				t.Fatalf("decrypted a key for %v from a file for %v", key.Address(), kf.Address)
			}
		case !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrTampered):
			t.Fatalf("DecryptKey of a parsed file: %v", err)
		}
		mk, merr := kf.DecryptMnemonic(fuzzPass)
		switch {
		case kf.Version == KeystoreVersion:
			if !errors.Is(merr, ErrNoMnemonic) {
				t.Fatalf("DecryptMnemonic of a version 1 file: %v", merr)
			}
		case (merr == nil) != (err == nil):
			t.Fatalf("DecryptKey says %v, DecryptMnemonic %v", err, merr)
		case merr == nil:
			if mk.Address() != kf.Address || len(mk.Mnemonic.Words()) != kf.Mnemonic.Words ||
				mk.Account != kf.Mnemonic.Account || mk.PassphraseUsed != kf.Mnemonic.PassphraseUsed {
				t.Fatalf("DecryptMnemonic gave %s, %d words, account %d, passphrase %v for %+v",
					mk.Address(), len(mk.Mnemonic.Words()), mk.Account, mk.PassphraseUsed, kf)
			}
			if !mk.PassphraseUsed {
				again, err := mk.Mnemonic.Derive(nil, mk.Account)
				if err != nil || again.Address() != kf.Address {
					t.Fatalf("the words at account %d do not give %s: %v", mk.Account, kf.Address, err)
				}
			}
		}
	})
}
