package wallet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tyler-smith/go-bip39"
	"golang.org/x/text/unicode/norm"
)

// BIP-39 mnemonics, English word list, through github.com/tyler-smith/go-bip39.
// That package keeps its word list in package variables that only its
// SetWordList changes; cairn never calls it, so the lookups are safe for
// concurrent use.

const (
	// MnemonicWords is the length of the mnemonics cairn makes: 24 words,
	// 256 bits of entropy and an 8-bit checksum.
	MnemonicWords = 24
	// EntropySize is the entropy of a 24-word mnemonic, in bytes.
	EntropySize = 32
)

// mnemonicLengths are the word counts BIP-39 defines, all of which can be
// imported.
var mnemonicLengths = []int{12, 15, 18, 21, 24}

// ErrBadMnemonic is wrapped by every *MnemonicError.
var ErrBadMnemonic = errors.New("invalid mnemonic")

// MnemonicErrorCode says what is wrong with a mnemonic.
type MnemonicErrorCode int

// The ways a mnemonic is refused.
const (
	// MnemonicEmpty: there are no words at all.
	MnemonicEmpty MnemonicErrorCode = iota + 1
	// MnemonicUnknownWord: a word is not in the BIP-39 English list.
	MnemonicUnknownWord
	// MnemonicWordCount: every word is in the list but there are not 12,
	// 15, 18, 21 or 24 of them.
	MnemonicWordCount
	// MnemonicChecksum: the words are right in number and spelling but
	// their checksum fails: one is wrong, or two are swapped.
	MnemonicChecksum
)

// MnemonicError is a refused mnemonic. It wraps ErrBadMnemonic.
type MnemonicError struct {
	Code  MnemonicErrorCode
	Word  int    // MnemonicUnknownWord: the word's position, from 1
	Given string // MnemonicUnknownWord: the word as given, before normalising
	Count int    // MnemonicWordCount: how many words were given
}

func (e *MnemonicError) Error() string {
	var reason string
	switch e.Code {
	case MnemonicEmpty:
		reason = "no words"
	case MnemonicUnknownWord:
		reason = fmt.Sprintf("word %d %s is not in the BIP-39 English list", e.Word, quoteInput(e.Given))
	case MnemonicWordCount:
		reason = fmt.Sprintf("%d words given; want %d (or 12, 15, 18 or 21)", e.Count, MnemonicWords)
	case MnemonicChecksum:
		reason = "the BIP-39 checksum does not match: a word is wrong or out of place"
	default:
		reason = fmt.Sprintf("error code %d", int(e.Code))
	}
	return ErrBadMnemonic.Error() + ": " + reason
}

func (e *MnemonicError) Unwrap() error { return ErrBadMnemonic }

// Mnemonic is a BIP-39 mnemonic: entropy of 16 to 32 bytes and the words
// that spell it with a checksum. A Mnemonic is never modified after it is
// made, so it is safe for concurrent use.
type Mnemonic struct {
	entropy []byte
	words   []string
}

// NewMnemonic returns a new 24-word mnemonic from crypto/rand. It is safe
// for concurrent use.
func NewMnemonic() (*Mnemonic, error) {
	e := make([]byte, EntropySize)
	defer clear(e)
	if _, err := rand.Read(e); err != nil {
		return nil, fmt.Errorf("new mnemonic: %w", err)
	}
	return MnemonicFromEntropy(e)
}

// MnemonicFromEntropy returns the mnemonic of the given entropy: 16, 20,
// 24, 28 or 32 bytes for 12 to 24 words. The entropy is copied. It is safe
// for concurrent use.
func MnemonicFromEntropy(entropy []byte) (*Mnemonic, error) {
	phrase, err := bip39.NewMnemonic(entropy)
	if err != nil {
		return nil, fmt.Errorf("mnemonic from entropy: %d bytes, want 16, 20, 24, 28 or 32", len(entropy))
	}
	return &Mnemonic{entropy: append([]byte(nil), entropy...), words: strings.Fields(phrase)}, nil
}

// ParseMnemonic reads a mnemonic as a person types or pastes it: the text
// is split at any white space, NFKD-normalised (as BIP-39 asks) and
// lower-cased, and a number before a word that gives its position ("1.",
// "2)", "3:" or "4", as `cairn wallet new` shows them) is skipped. Then
// every word must be in the BIP-39 English list, there must be 12, 15, 18,
// 21 or 24 of them, and the checksum must match; each refusal is a
// *MnemonicError, checked in that order. It is safe for concurrent use.
func ParseMnemonic(text string) (*Mnemonic, error) {
	var words []string
	text = strings.TrimPrefix(text, "\ufeff") // the byte order mark some editors write
	for _, given := range strings.Fields(text) {
		// NFKD can make a space (of U+00A0, say), so split again.
		for _, t := range strings.Fields(norm.NFKD.String(given)) {
			if isPositionLabel(t, len(words)+1) {
				continue
			}
			w := strings.ToLower(t)
			if _, ok := bip39.GetWordIndex(w); !ok {
				return nil, &MnemonicError{Code: MnemonicUnknownWord, Word: len(words) + 1, Given: given}
			}
			words = append(words, w)
		}
	}
	switch {
	case len(words) == 0:
		return nil, &MnemonicError{Code: MnemonicEmpty}
	case !slices.Contains(mnemonicLengths, len(words)):
		return nil, &MnemonicError{Code: MnemonicWordCount, Count: len(words)}
	}
	entropy, err := bip39.EntropyFromMnemonic(strings.Join(words, " "))
	if errors.Is(err, bip39.ErrChecksumIncorrect) {
		return nil, &MnemonicError{Code: MnemonicChecksum}
	}
	if err != nil { // unreachable: the words and their number were checked
		return nil, fmt.Errorf("%w: %v", ErrBadMnemonic, err)
	}
	return &Mnemonic{entropy: entropy, words: words}, nil
}

// isPositionLabel reports whether s numbers the word at position pos:
// "7", "7.", "7)" or "7:".
func isPositionLabel(s string, pos int) bool {
	n := strconv.Itoa(pos)
	return s == n || s == n+"." || s == n+")" || s == n+":"
}

// Words returns the mnemonic's words, lower case. It is safe for
// concurrent use.
func (m *Mnemonic) Words() []string { return append([]string(nil), m.words...) }

// Phrase returns the words separated by single spaces, the form BIP-39
// hashes and ParseMnemonic takes. It is safe for concurrent use.
func (m *Mnemonic) Phrase() string { return strings.Join(m.words, " ") }

// Entropy returns a copy of the mnemonic's entropy. It is safe for
// concurrent use.
func (m *Mnemonic) Entropy() []byte { return append([]byte(nil), m.entropy...) }

// Seed returns the 64-byte BIP-39 seed of the mnemonic with passphrase
// (nil or empty for none): PBKDF2-HMAC-SHA512 of the phrase, salt
// "mnemonic" ‖ passphrase, 2048 rounds. The passphrase is NFKD-normalised
// first, as BIP-39 asks. It is safe for concurrent use.
func (m *Mnemonic) Seed(passphrase []byte) []byte {
	return bip39.NewSeed(m.Phrase(), norm.NFKD.String(string(passphrase)))
}

// MnemonicKey is a key derived from a mnemonic, with what it takes to
// derive it again: the mnemonic, the account N of its path
// m/44'/7731'/N', and whether a BIP-39 passphrase was used (the
// passphrase itself is not kept). Like Key, it is never modified after it
// is made and is safe for concurrent use.
type MnemonicKey struct {
	*Key
	Mnemonic       *Mnemonic
	Account        uint32
	PassphraseUsed bool
}

// Derive returns the key of the given account: the BIP-39 seed of m with
// passphrase (nil or empty for none), then SLIP-0010 at
// m/44'/7731'/account'. account must be at most MaxAccount. It is safe
// for concurrent use.
func (m *Mnemonic) Derive(passphrase []byte, account uint32) (*MnemonicKey, error) {
	if account > MaxAccount {
		return nil, fmt.Errorf("%w: account %d, want 0 to %d", ErrDerivation, account, MaxAccount)
	}
	seed := m.Seed(passphrase)
	defer clear(seed)
	priv, _, err := DeriveSLIP10(seed, AccountPath(account))
	defer clear(priv[:])
	if err != nil { // unreachable: a 64-byte seed and a hardened path
		return nil, err
	}
	k, err := KeyFromSeed(priv[:])
	if err != nil { // unreachable: 32 bytes
		return nil, err
	}
	return &MnemonicKey{Key: k, Mnemonic: m, Account: account, PassphraseUsed: len(passphrase) > 0}, nil
}

// Path returns the key's derivation path, m/44'/7731'/N'. It is safe for
// concurrent use.
func (k *MnemonicKey) Path() string { return FormatPath(AccountPath(k.Account)) }
