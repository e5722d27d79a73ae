package wallet

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// PassphraseEnv is the environment variable scripts may set instead of
// answering a prompt.
const PassphraseEnv = "CAIRN_PASSWORD"

// maxPassphraseFile bounds how much of a password file is read.
const maxPassphraseFile = 64 << 10

// Passphrase errors.
var (
	ErrNoTerminal         = errors.New("standard input is not a terminal: use --password-file or " + PassphraseEnv)
	ErrPassphraseMismatch = errors.New("passphrases do not match")
)

// ReadPassphrase prints prompt on standard error and reads a passphrase
// from standard input without echo. With confirm (creating a wallet) it
// asks a second time, refuses a mismatch with ErrPassphraseMismatch and
// refuses an empty passphrase with ErrEmptyPassphrase. When standard input
// is not a terminal it returns ErrNoTerminal rather than reading a secret
// that would be echoed or piped. It uses the process's standard streams,
// so it is not safe for concurrent use.
func ReadPassphrase(prompt string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, ErrNoTerminal
	}
	return promptPassphrase(os.Stderr, func() ([]byte, error) { return term.ReadPassword(fd) }, prompt, confirm)
}

// promptPassphrase is ReadPassphrase with the terminal abstracted away.
func promptPassphrase(w io.Writer, read func() ([]byte, error), prompt string, confirm bool) ([]byte, error) {
	fmt.Fprint(w, prompt)
	pass, err := read()
	fmt.Fprintln(w) // the user's Enter was not echoed
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if !confirm {
		return pass, nil
	}
	if len(pass) == 0 {
		return nil, ErrEmptyPassphrase
	}
	fmt.Fprint(w, "Repeat passphrase: ")
	again, err := read()
	fmt.Fprintln(w)
	defer clear(again)
	if err != nil {
		clear(pass)
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if subtle.ConstantTimeCompare(pass, again) != 1 {
		clear(pass)
		return nil, ErrPassphraseMismatch
	}
	return pass, nil
}

// PassphraseFromEnvOrFile returns the passphrase a script supplied, and
// whether it supplied one. A non-empty file (the --password-file flag)
// wins: its first line is the passphrase, without the line ending ("\n"
// or "\r\n"); other white space is kept, and an empty first line is an
// error. Otherwise the environment variable CAIRN_PASSWORD is used if it
// is set and not empty. With neither, it returns (nil, false, nil) and the
// caller should prompt. It is safe for concurrent use.
func PassphraseFromEnvOrFile(file string) ([]byte, bool, error) {
	if file != "" {
		pass, err := readPassphraseFile(file)
		if err != nil {
			return nil, false, err
		}
		return pass, true, nil
	}
	if v := os.Getenv(PassphraseEnv); v != "" {
		return []byte(v), true, nil
	}
	return nil, false, nil
}

// MnemonicPassphraseFromFile reads a BIP-39 passphrase from the first line
// of file (the --mnemonic-passphrase-file flag) as a password file is
// read: without the line ending, other white space kept, an empty first
// line refused. It is safe for concurrent use.
func MnemonicPassphraseFromFile(file string) ([]byte, error) {
	return readFirstLine("mnemonic passphrase file", file)
}

func readPassphraseFile(file string) ([]byte, error) {
	return readFirstLine("password file", file)
}

// readFirstLine reads the passphrase on the first line of file; what
// names the file in errors.
func readFirstLine(what, file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, maxPassphraseFile))
	line, err := r.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	if err == io.EOF && len(line) == maxPassphraseFile {
		return nil, fmt.Errorf("%s %s: first line longer than %d bytes", what, file, maxPassphraseFile)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("%s %s: %w on the first line", what, file, ErrEmptyPassphrase)
	}
	return line, nil
}
