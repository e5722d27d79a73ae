package wallet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPassphraseFromFile(t *testing.T) {
	t.Setenv(PassphraseEnv, "from-env") // the file wins
	dir := t.TempDir()
	tests := []struct {
		content, want string
	}{
		{"secret\n", "secret"},
		{"secret", "secret"},
		{"secret\r\n", "secret"},
		{"  spaced out  \nsecond line\n", "  spaced out  "},
		{"tab\tinside\n\n", "tab\tinside"},
	}
	for i, tt := range tests {
		file := filepath.Join(dir, "pw"+string(rune('a'+i)))
		if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, ok, err := PassphraseFromEnvOrFile(file)
		if err != nil || !ok || string(got) != tt.want {
			t.Errorf("file %q: %q, %v, %v; want %q", tt.content, got, ok, err, tt.want)
		}
	}
	for _, content := range []string{"", "\n", "\r\nsecret\n"} {
		file := filepath.Join(dir, "empty")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := PassphraseFromEnvOrFile(file); !errors.Is(err, ErrEmptyPassphrase) {
			t.Errorf("file %q: got %v, want ErrEmptyPassphrase", content, err)
		}
	}
	if _, _, err := PassphraseFromEnvOrFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestPassphraseFromEnv(t *testing.T) {
	t.Setenv(PassphraseEnv, "hunter2")
	got, ok, err := PassphraseFromEnvOrFile("")
	if err != nil || !ok || string(got) != "hunter2" {
		t.Fatalf("got %q, %v, %v", got, ok, err)
	}
	t.Setenv(PassphraseEnv, "")
	got, ok, err = PassphraseFromEnvOrFile("")
	if err != nil || ok || got != nil {
		t.Fatalf("empty variable: got %q, %v, %v; want nothing", got, ok, err)
	}
	os.Unsetenv(PassphraseEnv) // t.Setenv restores it
	if _, ok, err := PassphraseFromEnvOrFile(""); ok || err != nil {
		t.Fatalf("unset: %v, %v", ok, err)
	}
}

// fakeTerminal answers reads from a list.
func fakeTerminal(answers ...string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if len(answers) == 0 {
			return nil, errors.New("EOF")
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
}

func TestPromptPassphrase(t *testing.T) {
	var w bytes.Buffer
	got, err := promptPassphrase(&w, fakeTerminal("pw"), "Passphrase: ", false)
	if err != nil || string(got) != "pw" {
		t.Fatalf("got %q, %v", got, err)
	}
	if w.String() != "Passphrase: \n" {
		t.Fatalf("wrote %q", w.String())
	}

	w.Reset()
	got, err = promptPassphrase(&w, fakeTerminal("pw", "pw"), "New passphrase: ", true)
	if err != nil || string(got) != "pw" {
		t.Fatalf("confirm: got %q, %v", got, err)
	}
	if !strings.Contains(w.String(), "Repeat passphrase: ") {
		t.Fatalf("confirm did not ask twice: %q", w.String())
	}

	if _, err := promptPassphrase(&w, fakeTerminal("pw", "pW"), "New passphrase: ", true); !errors.Is(err, ErrPassphraseMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if _, err := promptPassphrase(&w, fakeTerminal("", ""), "New passphrase: ", true); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty on creation: %v", err)
	}
	if _, err := promptPassphrase(&w, fakeTerminal("pw"), "New passphrase: ", true); err == nil {
		t.Fatal("read error on the second prompt ignored")
	}
	// Unlocking with an empty passphrase is the keystore's call, not ours.
	if got, err := promptPassphrase(&w, fakeTerminal(""), "Passphrase: ", false); err != nil || len(got) != 0 {
		t.Fatalf("empty unlock: %q, %v", got, err)
	}
}

func TestReadPassphraseNoTerminal(t *testing.T) {
	// Under go test, standard input is not a terminal.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	if _, err := ReadPassphrase("Passphrase: ", false); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("got %v, want ErrNoTerminal", err)
	}
}

func TestMnemonicPassphraseFromFile(t *testing.T) {
	t.Setenv(PassphraseEnv, "from-env") // never used for the BIP-39 passphrase
	dir := t.TempDir()
	file := filepath.Join(dir, "bip39")
	for content, want := range map[string]string{
		"TREZOR\n":             "TREZOR",
		" spaced \r\nnext\n":   " spaced ",
		"ünïcödé":              "ünïcödé",
		"p4ssphr4se\n\n\n\n\n": "p4ssphr4se",
	} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := MnemonicPassphraseFromFile(file); err != nil || string(got) != want {
			t.Errorf("file %q: %q, %v; want %q", content, got, err, want)
		}
	}
	if err := os.WriteFile(file, []byte("\nTREZOR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := MnemonicPassphraseFromFile(file)
	if !errors.Is(err, ErrEmptyPassphrase) || !strings.HasPrefix(err.Error(), "mnemonic passphrase file "+file+": ") {
		t.Errorf("empty first line: %v", err)
	}
	if _, err := MnemonicPassphraseFromFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "mnemonic passphrase file: ") {
		t.Errorf("missing file: %v", err)
	}
}
