package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/wallet"
)

// trezorWords is the 24-word mnemonic of entropy 8080…80 in BIP-39's
// reference vectors.
const trezorWords = "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless"

// wordLine matches a line of numbered words as `wallet new` and `wallet
// export --mnemonic` print them.
var wordLine = regexp.MustCompile(`^( ?\d{1,2}\. [a-z]+ *)+$`)

// printedWords returns the words of the numbered lines in out, in order,
// checking their numbers.
func printedWords(t *testing.T, out string) []string {
	t.Helper()
	var words []string
	for _, line := range strings.Split(out, "\n") {
		if !wordLine.MatchString(line) {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i += 2 {
			if want := fmt.Sprintf("%d.", len(words)+1); f[i] != want {
				t.Fatalf("word numbered %s, want %s:\n%s", f[i], want, out)
			}
			words = append(words, f[i+1])
		}
	}
	return words
}

// accountAddress is the address at m/44'/7731'/account' of words with
// bip39Pass, computed in the wallet package's steps one by one.
func accountAddress(t *testing.T, words, bip39Pass string, account uint32) string {
	t.Helper()
	m, err := wallet.ParseMnemonic(words)
	if err != nil {
		t.Fatal(err)
	}
	priv, _, err := wallet.DeriveSLIP10(m.Seed([]byte(bip39Pass)), []uint32{44 | wallet.Hardened, 7731 | wallet.Hardened, account | wallet.Hardened})
	if err != nil {
		t.Fatal(err)
	}
	k, err := wallet.KeyFromSeed(priv[:])
	if err != nil {
		t.Fatal(err)
	}
	return k.Address().String()
}

// TestWalletNewMnemonic is the acceptance test: `wallet new` shows 24
// words once, and importing them gives the same address.
func TestWalletNewMnemonic(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	r := c.run("wallet", "new", "alice")
	if r.code != 0 {
		t.Fatalf("wallet new: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("$ cairn wallet new alice\n%s%s", r.stdout, r.stderr)
	words := printedWords(t, r.stdout)
	if len(words) != 24 {
		t.Fatalf("wallet new shows %d words, want 24:\n%s", len(words), r.stdout)
	}
	for _, want := range []string{"whoever has these 24 words has this wallet's coins", "not shown again"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("wallet new: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// The words in sequence: one alone can be a word of the warning
	// ("keep them secret").
	if strings.Contains(r.stderr, strings.Join(words[:3], " ")) {
		t.Errorf("the words are on stderr too:\n%s", r.stderr)
	}
	alice := c.showJSON("alice")
	if alice.Path != "m/44'/7731'/0'" || alice.Account == nil || *alice.Account != 0 || alice.Mnemonic != "" {
		t.Errorf("wallet show --json = %+v", alice)
	}
	if !strings.Contains(r.stdout, alice.Address) {
		t.Errorf("wallet new does not show the address %s:\n%s", alice.Address, r.stdout)
	}
	if got := accountAddress(t, strings.Join(words, " "), "", 0); got != alice.Address {
		t.Errorf("the words give %s at m/44'/7731'/0', wallet new made %s", got, alice.Address)
	}
	// Shown once: nothing else prints them.
	for _, args := range [][]string{{"wallet", "show", "alice"}, {"wallet", "list"}, {"--json", "wallet", "show", "alice"}, {"--json", "wallet", "list"}} {
		if out := c.ok(args...); strings.Contains(out, words[0]+" ") || strings.Contains(out, strings.Join(words[:3], " ")) {
			t.Errorf("cairn %s shows the words:\n%s", strings.Join(args, " "), out)
		}
	}

	// The words as typed, from standard input, under another passphrase.
	r = c.runWith(strings.Join(words, " ")+"\n", []string{"CAIRN_PASSWORD=another one"}, "wallet", "import", "bob", "--mnemonic")
	if r.code != 0 {
		t.Fatalf("wallet import --mnemonic: exit %d: %s", r.code, r.stderr)
	}
	if got := c.showJSON("bob").Address; got != alice.Address {
		t.Errorf("imported from the words: address %s, want %s", got, alice.Address)
	}
	// The words as wallet new printed them, numbers and all, from a file.
	shown := c.run("wallet", "new", "dave")
	if shown.code != 0 {
		t.Fatal(shown.stderr)
	}
	file := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(file, []byte(printedGrid(shown.stdout)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("wallet", "import", "carol", "--mnemonic", "--mnemonic-file", file)
	if got, want := c.showJSON("carol").Address, c.showJSON("dave").Address; got != want {
		t.Errorf("imported from the printed grid: address %s, want %s", got, want)
	}

	// --json shows the words as a field, once.
	var w walletInfo
	if err := json.Unmarshal([]byte(c.ok("--json", "wallet", "new", "erin")), &w); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(w.Mnemonic)); n != 24 || w.Path != "m/44'/7731'/0'" || w.Address == "" {
		t.Fatalf("wallet new --json = %+v (%d words)", w, n)
	}
	if got := accountAddress(t, w.Mnemonic, "", 0); got != w.Address {
		t.Errorf("wallet new --json: the words give %s, the wallet is %s", got, w.Address)
	}
}

// printedGrid returns the numbered lines of out.
func printedGrid(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if wordLine.MatchString(line) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestWalletImportMnemonicAccounts: the words imported at accounts 0 and
// 1 give the addresses of m/44'/7731'/0' and m/44'/7731'/1'; with a
// BIP-39 passphrase, other ones.
func TestWalletImportMnemonicAccounts(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	dir := t.TempDir()
	wordsFile := filepath.Join(dir, "words")
	passFile := filepath.Join(dir, "bip39-pass")
	if err := os.WriteFile(wordsFile, []byte(strings.ToUpper(trezorWords)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(passFile, []byte("TREZOR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, bip39Pass string
		args            []string
		account         uint32
	}{
		{"a0", "", []string{"--mnemonic-file", wordsFile}, 0},
		{"a1", "", []string{"--mnemonic-file", wordsFile, "--account", "1"}, 1},
		{"p0", "TREZOR", []string{"--mnemonic-file", wordsFile, "--mnemonic-passphrase-file", passFile}, 0},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		var w walletInfo
		out := c.ok(append([]string{"--json", "wallet", "import", tc.name, "--mnemonic"}, tc.args...)...)
		if err := json.Unmarshal([]byte(out), &w); err != nil {
			t.Fatal(err)
		}
		want := accountAddress(t, trezorWords, tc.bip39Pass, tc.account)
		if w.Address != want || c.showJSON(tc.name).Address != want {
			t.Errorf("%s: address %s, want %s (m/44'/7731'/%d')", tc.name, w.Address, want, tc.account)
		}
		if w.Account == nil || *w.Account != tc.account || w.Path != fmt.Sprintf("m/44'/7731'/%d'", tc.account) || w.MnemonicPassphrase != (tc.bip39Pass != "") {
			t.Errorf("%s: import --json = %+v", tc.name, w)
		}
		seen[w.Address] = true
	}
	if len(seen) != 3 {
		t.Errorf("3 imports gave %d addresses", len(seen))
	}
	// The same words from standard input, at account 1.
	r := c.runWith(trezorWords, nil, "wallet", "import", "--mnemonic", "--account", "1", "a1-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, want := c.showJSON("a1-stdin").Address, c.showJSON("a1").Address; got != want {
		t.Errorf("from stdin at account 1: %s, want %s", got, want)
	}
	if human := c.ok("wallet", "show", "a1"); !strings.Contains(human, "path:     m/44'/7731'/1'") {
		t.Errorf("wallet show of account 1:\n%s", human)
	}
}

// TestWalletExportMnemonic: export --mnemonic prints the words that were
// imported, says which account they are and whether a BIP-39 passphrase
// is needed, and refuses a wallet that has none.
func TestWalletExportMnemonic(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	passFile := filepath.Join(t.TempDir(), "bip39-pass")
	if err := os.WriteFile(passFile, []byte("TREZOR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.runWith(trezorWords, nil, "wallet", "import", "w", "--mnemonic"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := c.runWith(trezorWords, nil, "wallet", "import", "w1p", "--mnemonic", "--account", "1", "--mnemonic-passphrase-file", passFile); r.code != 0 {
		t.Fatal(r.stderr)
	}

	r := c.run("wallet", "export", "w", "--mnemonic")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("$ cairn wallet export w --mnemonic\n%s%s", r.stdout, r.stderr)
	if got := strings.Join(printedWords(t, r.stdout), " "); got != trezorWords {
		t.Errorf("export --mnemonic printed\n%s\nwant %s", r.stdout, trezorWords)
	}
	if r.stdout != printedGrid(r.stdout) {
		t.Errorf("export --mnemonic prints more than the words:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "warning: anyone who has these 24 words controls the wallet's funds") || strings.Contains(r.stderr, "passphrase") {
		t.Errorf("export --mnemonic: stderr %q", r.stderr)
	}

	r = c.run("wallet", "export", "w1p", "--mnemonic")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("$ cairn wallet export w1p --mnemonic\n%s%s", r.stdout, r.stderr)
	for _, want := range []string{"account 1 (m/44'/7731'/1')", "--account 1", "BIP-39 passphrase", "the words alone give another key"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("export --mnemonic of an account-1 import with a passphrase: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	var w walletInfo
	if err := json.Unmarshal([]byte(c.ok("--json", "wallet", "export", "w1p", "--mnemonic")), &w); err != nil {
		t.Fatal(err)
	}
	if w.Mnemonic != trezorWords || !w.MnemonicPassphrase || w.Account == nil || *w.Account != 1 ||
		w.Address != accountAddress(t, trezorWords, "TREZOR", 1) || w.Seed != "" {
		t.Errorf("export --mnemonic --json = %+v", w)
	}
	// The hex seed of a mnemonic wallet still exports, and imports as a
	// bare key with the same address.
	seed := c.ok("wallet", "export", "w1p")
	if !seedRE.MatchString(seed) {
		t.Fatalf("export of a mnemonic wallet: %q", seed)
	}
	if r := c.runWith(seed, nil, "wallet", "import", "bare"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if got := c.showJSON("bare"); got.Address != w.Address || got.Path != "" {
		t.Errorf("re-imported seed: %+v, want address %s and no path", got, w.Address)
	}
	r = c.run("wallet", "export", "bare", "--mnemonic")
	c.fails(r, `cairn: wallet "bare" has no recovery words: it holds a bare key (imported from a hex seed, `+
		`or made before cairn had recovery words); back it up with: cairn wallet export bare`, "wallet", "export", "bare", "--mnemonic")
}

// TestWalletMnemonicErrors: each bad input is one clear line, and nothing
// is written.
func TestWalletMnemonicErrors(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	if r := c.runWith(trezorWords, nil, "wallet", "import", "taken", "--mnemonic"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := c.runWith(strings.Repeat("ab", 32), nil, "wallet", "import", "hexy"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	words := strings.Fields(trezorWords)
	with := func(i int, w string) string {
		c := slices.Clone(words)
		c[i] = w
		return strings.Join(c, " ")
	}
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	imp := []string{"wallet", "import", "new1", "--mnemonic"}
	cases := []struct {
		name  string
		stdin string
		env   []string
		args  []string
		code  int // 0: any non-zero
		want  string
	}{
		{name: "misspelt word", stdin: with(6, "abandn"), args: imp,
			want: `cairn: invalid mnemonic: word 7 "abandn" is not in the BIP-39 English list`},
		{name: "word of another list", stdin: with(0, "ábaco"), args: imp,
			want: `cairn: invalid mnemonic: word 1 "ábaco" is not in the BIP-39 English list`},
		{name: "23 words", stdin: strings.Join(words[:23], " "), args: imp,
			want: "cairn: invalid mnemonic: 23 words given; want 24 (or 12, 15, 18 or 21)"},
		{name: "25 words", stdin: trezorWords + " zoo", args: imp,
			want: "cairn: invalid mnemonic: 25 words given; want 24 (or 12, 15, 18 or 21)"},
		{name: "checksum", stdin: with(23, "abandon"), args: imp,
			want: "cairn: invalid mnemonic: the BIP-39 checksum does not match: a word is wrong or out of place"},
		{name: "two words swapped", stdin: strings.Join(append([]string{words[2], words[1], words[0]}, words[3:]...), " "), args: imp,
			want: "cairn: invalid mnemonic: the BIP-39 checksum does not match: a word is wrong or out of place"},
		{name: "no words", stdin: " \n", args: imp,
			want: "cairn: mnemonic: no input; give the recovery words on standard input or with --mnemonic-file"},
		{name: "too much input", stdin: strings.Repeat("abandon ", 600), args: imp,
			want: "cairn: mnemonic: input longer than 4096 bytes; want the recovery words"},
		{name: "a hex seed given as words", stdin: strings.Repeat("ab", 32), args: imp,
			want: `cairn: invalid mnemonic: word 1 "abababababababababababababababababababababababab"… (64 bytes) is not in the BIP-39 English list`},
		{name: "missing words file", args: append(imp, "--mnemonic-file", missing),
			want: "cairn: --mnemonic-file: open " + missing + ": no such file or directory"},
		{name: "empty BIP-39 passphrase file", stdin: trezorWords, args: append(imp, "--mnemonic-passphrase-file", emptyFile),
			want: "cairn: mnemonic passphrase file " + emptyFile + ": empty passphrase on the first line"},
		{name: "missing BIP-39 passphrase file", stdin: trezorWords, args: append(imp, "--mnemonic-passphrase-file", missing),
			want: "cairn: mnemonic passphrase file: open " + missing + ": no such file or directory"},
		{name: "name taken", stdin: trezorWords, args: []string{"wallet", "import", "taken", "--mnemonic"},
			want: `cairn: a wallet named "taken" already exists`},
		{name: "bad name", stdin: trezorWords, args: []string{"wallet", "import", "a/b", "--mnemonic"},
			want: `cairn: invalid wallet name "a/b": only letters, digits, '_' and '-' are allowed`},
		{name: "no passphrase and no terminal", stdin: trezorWords, env: []string{"CAIRN_PASSWORD="}, args: imp,
			want: "cairn: standard input is not a terminal: use --password-file or CAIRN_PASSWORD"},
		{name: "account too large", stdin: trezorWords, args: append(imp, "--account", "2147483648"), code: exitUsage,
			want: "cairn: --account 2147483648: want 0 to 2147483647"},
		{name: "account negative", stdin: trezorWords, args: append(imp, "--account", "-1"), code: exitUsage,
			want: "cairn: --account -1: want 0 to 2147483647"},
		{name: "account not a number", stdin: trezorWords, args: append(imp, "--account", "one"), code: exitUsage,
			want: `cairn: invalid value "one" for flag -account: …`},
		{name: "account without --mnemonic", stdin: strings.Repeat("ab", 32), args: []string{"wallet", "import", "new1", "--account", "1"}, code: exitUsage,
			want: "cairn: --account goes with --mnemonic (usage: cairn wallet import NAME)"},
		{name: "words file without --mnemonic", args: []string{"wallet", "import", "new1", "--mnemonic-file", missing}, code: exitUsage,
			want: "cairn: --mnemonic-file goes with --mnemonic (usage: cairn wallet import NAME)"},
		{name: "seed file with --mnemonic", args: append(imp, "--seed-file", missing), code: exitUsage,
			want: "cairn: --seed-file and --mnemonic do not go together: import a seed or recovery words (usage: cairn wallet import NAME)"},
		{name: "export words of a bare key", args: []string{"wallet", "export", "hexy", "--mnemonic"},
			want: `cairn: wallet "hexy" has no recovery words: it holds a bare key (imported from a hex seed, or made before cairn had recovery words); back it up with: cairn wallet export hexy`},
		{name: "export words, wrong passphrase", env: []string{"CAIRN_PASSWORD=wrong"}, args: []string{"wallet", "export", "taken", "--mnemonic"},
			want: `cairn: wallet "taken": wrong passphrase`},
		{name: "export words of nobody", args: []string{"wallet", "export", "zed", "--mnemonic"},
			want: `cairn: no wallet named "zed" (see cairn wallet list)`},
	}
	walletDir := filepath.Join(c.home, "wallet")
	before := dirListing(t, walletDir)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *c
			c.t = t
			r := c.runWith(tc.stdin, tc.env, tc.args...)
			c.fails(r, tc.want, tc.args...)
			if tc.code != 0 && r.code != tc.code {
				t.Errorf("exit %d, want %d", r.code, tc.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if after := dirListing(t, walletDir); !slices.Equal(after, before) {
				t.Errorf("the wallet directory changed: %v, was %v", after, before)
			}
		})
	}
}

// dirListing returns the names in dir, temporary files included.
func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}
