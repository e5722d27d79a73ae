package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/wallet"
)

// maxSecretInput bounds what `wallet import` reads: a seed is 64 hex digits,
// and 24 numbered words are under 400 bytes.
const maxSecretInput = 4 << 10

// The inputs `wallet import` reads from standard input or a file.
var (
	seedInput = secretInput{
		what:   "seed",
		want:   "64 hex digits",
		flag:   "--seed-file",
		prompt: "Seed (64 hex digits): ",
	}
	mnemonicInput = secretInput{
		what:   "mnemonic",
		want:   "the recovery words",
		flag:   "--mnemonic-file",
		prompt: "Recovery words (separated by spaces): ",
	}
)

func walletCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "wallet",
		Usage: "create, list, show, import and export keys (kept encrypted in <home>/wallet)",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "create a key from 24 new recovery words (BIP-39), shown this once; asks for its passphrase twice",
				ArgsUsage: "NAME",
				Action:    action(s, walletNew),
			},
			{
				Name:   "list",
				Usage:  "list wallets and their addresses",
				Action: action(s, walletList),
			},
			{
				Name:      "show",
				Usage:     "show a wallet's address",
				ArgsUsage: "NAME",
				Action:    action(s, walletShow),
			},
			{
				Name: "import",
				Usage: "store a key from its seed (64 hex digits) or, with --mnemonic, its recovery words " +
					"(12 to 24 BIP-39 words); from standard input or a file",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "seed-file", Usage: "read the seed from `FILE` rather than from standard input"},
					&cli.BoolFlag{Name: "mnemonic", Usage: "import recovery words rather than a seed"},
					&cli.StringFlag{Name: "mnemonic-file", Usage: "with --mnemonic: read the words from `FILE` rather than from standard input"},
					&cli.StringFlag{Name: "mnemonic-passphrase-file", Usage: "with --mnemonic: the words were made with a BIP-39 passphrase; read it from the first line of `FILE`"},
					&cli.Int64Flag{Name: "account", Usage: "with --mnemonic: the key of account `N`, at m/44'/7731'/N'", DefaultText: "0"},
				},
				Action: action(s, walletImport),
			},
			{
				Name:      "export",
				Usage:     "print a wallet's seed (64 hex digits), or with --mnemonic its recovery words; whoever has them controls the funds",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "mnemonic", Usage: "print the recovery words rather than the seed"},
				},
				Action: action(s, walletExport),
			},
		},
	}
}

// walletInfo is the JSON form of one wallet. Account and Path are set for
// a key from recovery words.
type walletInfo struct {
	Name               string  `json:"name"`
	Address            string  `json:"address,omitempty"`
	Account            *uint32 `json:"account,omitempty"`
	Path               string  `json:"path,omitempty"`
	File               string  `json:"file,omitempty"`
	Seed               string  `json:"seed,omitempty"`
	Mnemonic           string  `json:"mnemonic,omitempty"`
	MnemonicPassphrase bool    `json:"mnemonicPassphrase,omitempty"`
	Error              string  `json:"error,omitempty"`
}

func (w walletInfo) write(out io.Writer) {
	var t kv
	t.add("name", w.Name)
	t.add("address", w.Address)
	if w.Path != "" {
		t.add("path", w.Path)
	}
	if w.File != "" {
		t.add("file", w.File)
	}
	t.write(out)
}

// withAccount adds the account and path of a key from recovery words.
func (w walletInfo) withAccount(account uint32) walletInfo {
	w.Account = &account
	w.Path = wallet.FormatPath(wallet.AccountPath(account))
	return w
}

// mnemonicWarning is what `wallet new` says on stderr about the words.
const mnemonicWarning = "warning: whoever has these %d words has this wallet's coins: write them down, in order, " +
	"and keep them secret and offline.\nThey are not shown again: only cairn wallet export %s --mnemonic, " +
	"with the wallet's passphrase, shows them.\n"

// writeWords writes numbered words four to a line, in reading order, so
// that the text as printed can be given back to `wallet import
// --mnemonic`.
func writeWords(out io.Writer, words []string) {
	for i, w := range words {
		if i%4 == 3 || i == len(words)-1 {
			fmt.Fprintf(out, "%2d. %s\n", i+1, w)
		} else {
			fmt.Fprintf(out, "%2d. %-8s   ", i+1, w)
		}
	}
}

func (e *env) store() (*wallet.Store, error) {
	return wallet.NewStore(filepath.Join(e.home, "wallet"))
}

// walletErr rewrites the wallet package's errors about name.
func walletErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wallet.ErrNotFound):
		return fmt.Errorf("no wallet named %q (see cairn wallet list)", name)
	case errors.Is(err, wallet.ErrExists):
		return fmt.Errorf("a wallet named %q already exists", name)
	case errors.Is(err, wallet.ErrWrongPassphrase):
		return fmt.Errorf("wallet %q: wrong passphrase", name)
	}
	return err
}

// walletAddress returns the address of the wallet name, without its
// passphrase.
func (e *env) walletAddress(name string) (*wallet.Store, types.Address, error) {
	if err := wallet.CheckName(name); err != nil {
		return nil, types.Address{}, err
	}
	st, err := e.store()
	if err != nil {
		return nil, types.Address{}, err
	}
	a, err := st.Address(name)
	return st, a, walletErr(name, err)
}

// passphrase returns the passphrase from --password-file or CAIRN_PASSWORD,
// or asks for it (twice with confirm).
func (e *env) passphrase(prompt string, confirm bool) ([]byte, error) {
	p, ok, err := wallet.PassphraseFromEnvOrFile(e.passFile)
	if err != nil {
		return nil, err
	}
	if ok {
		return p, nil
	}
	return wallet.ReadPassphrase(prompt, confirm)
}

// loadKey decrypts the wallet name.
func (e *env) loadKey(name string) (*wallet.Key, error) {
	st, _, err := e.walletAddress(name)
	if err != nil {
		return nil, err
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for wallet %q: ", name), false)
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	k, err := st.Load(name, pass)
	return k, walletErr(name, err)
}

// newWalletStore checks that name is free before a passphrase is asked for.
func (e *env) newWalletStore(name string) (*wallet.Store, error) {
	if err := wallet.CheckName(name); err != nil {
		return nil, err
	}
	st, err := e.store()
	if err != nil {
		return nil, err
	}
	path, err := st.Path(name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, walletErr(name, wallet.ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("wallet %q: %w", name, err)
	}
	return st, nil
}

func walletNew(e *env) error {
	a, err := e.args("NAME")
	if err != nil {
		return err
	}
	name := a[0]
	st, err := e.newWalletStore(name)
	if err != nil {
		return err
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for new wallet %q: ", name), true)
	if err != nil {
		return err
	}
	defer clear(pass)
	m, err := wallet.NewMnemonic()
	if err != nil {
		return err
	}
	k, err := m.Derive(nil, 0)
	if err != nil {
		return err
	}
	if err := st.CreateMnemonic(name, k, pass, wallet.KDFParams{}); err != nil {
		return walletErr(name, err)
	}
	path, _ := st.Path(name)
	info := walletInfo{Name: name, Address: k.Address().String(), File: path, Mnemonic: m.Phrase()}.withAccount(k.Account)
	err = e.print(info, func(out io.Writer) {
		info.write(out)
		fmt.Fprintf(out, "\nrecovery words (BIP-39):\n")
		writeWords(out, m.Words())
	})
	// After the words, so that it is what a terminal shows last.
	fmt.Fprintf(e.stderr, mnemonicWarning, len(m.Words()), name)
	return err
}

func walletList(e *env) error {
	if _, err := e.args(); err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	entries, err := st.List()
	if err != nil {
		return err
	}
	infos := make([]walletInfo, 0, len(entries))
	for _, en := range entries {
		w := walletInfo{Name: en.Name}
		if en.Err != nil {
			w.Error = oneLine(en.Err.Error())
		} else {
			w.Address = en.Address.String()
		}
		infos = append(infos, w)
	}
	return e.print(infos, func(out io.Writer) {
		if len(infos) == 0 {
			fmt.Fprintf(out, "no wallets in %s (create one with: cairn wallet new NAME)\n", st.Dir)
			return
		}
		rows := make([][]string, 0, len(infos))
		for _, w := range infos {
			if w.Error != "" {
				rows = append(rows, []string{w.Name, "unreadable: " + w.Error})
			} else {
				rows = append(rows, []string{w.Name, w.Address})
			}
		}
		table(out, []string{"NAME", "ADDRESS"}, rows)
	})
}

func walletShow(e *env) error {
	a, err := e.args("NAME")
	if err != nil {
		return err
	}
	st, addr, err := e.walletAddress(a[0])
	if err != nil {
		return err
	}
	path, _ := st.Path(a[0])
	info := walletInfo{Name: a[0], Address: addr.String(), File: path}
	if f, err := st.Keystore(a[0]); err == nil && f.Version == wallet.MnemonicKeystoreVersion {
		info = info.withAccount(f.Mnemonic.Account)
	}
	return e.print(info, info.write)
}

func walletImport(e *env) error {
	a, err := e.args("NAME")
	if err != nil {
		return err
	}
	name := a[0]
	if e.c.Bool("mnemonic") {
		return walletImportMnemonic(e, name)
	}
	for _, f := range []string{"mnemonic-file", "mnemonic-passphrase-file", "account"} {
		if e.c.IsSet(f) {
			return usagef("--%s goes with --mnemonic (usage: %s)", f, e.usage())
		}
	}
	st, err := e.newWalletStore(name)
	if err != nil {
		return err
	}
	seed, err := e.readSecret(seedInput, e.c.String("seed-file"))
	if err != nil {
		return err
	}
	defer clear(seed)
	if s, err := wallet.ParseSeedHex(seed); err != nil {
		return fmt.Errorf("seed: %w", err)
	} else {
		clear(s)
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for new wallet %q: ", name), true)
	if err != nil {
		return err
	}
	defer clear(pass)
	addr, err := st.Import(name, seed, pass, wallet.KDFParams{})
	if err != nil {
		return walletErr(name, err)
	}
	path, _ := st.Path(name)
	info := walletInfo{Name: name, Address: addr.String(), File: path}
	return e.print(info, info.write)
}

// walletImportMnemonic is `wallet import NAME --mnemonic`: the words are
// checked, and the BIP-39 passphrase file read, before the wallet's
// passphrase is asked for; nothing is written unless all is well.
func walletImportMnemonic(e *env, name string) error {
	if e.c.IsSet("seed-file") {
		return usagef("--seed-file and --mnemonic do not go together: import a seed or recovery words (usage: %s)", e.usage())
	}
	account := e.c.Int64("account")
	if account < 0 || account > int64(wallet.MaxAccount) {
		return usagef("--account %d: want 0 to %d", account, wallet.MaxAccount)
	}
	st, err := e.newWalletStore(name)
	if err != nil {
		return err
	}
	words, err := e.readSecret(mnemonicInput, e.c.String("mnemonic-file"))
	if err != nil {
		return err
	}
	defer clear(words)
	m, err := wallet.ParseMnemonic(string(words))
	if err != nil {
		return err
	}
	var bip39Pass []byte
	if file := e.c.String("mnemonic-passphrase-file"); file != "" {
		if bip39Pass, err = wallet.MnemonicPassphraseFromFile(file); err != nil {
			return err
		}
		defer clear(bip39Pass)
	}
	k, err := m.Derive(bip39Pass, uint32(account))
	if err != nil {
		return err
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for new wallet %q: ", name), true)
	if err != nil {
		return err
	}
	defer clear(pass)
	if err := st.CreateMnemonic(name, k, pass, wallet.KDFParams{}); err != nil {
		return walletErr(name, err)
	}
	path, _ := st.Path(name)
	info := walletInfo{Name: name, Address: k.Address().String(), File: path, MnemonicPassphrase: k.PassphraseUsed}.withAccount(k.Account)
	return e.print(info, info.write)
}

// secretInput describes a secret `wallet import` reads.
type secretInput struct {
	what   string // "seed", in errors
	want   string // what is expected, "64 hex digits"
	flag   string // the flag that names a file, "--seed-file"
	prompt string // the prompt on a terminal
}

// readSecret reads in from file, or from standard input: without echo
// when it is a terminal.
func (e *env) readSecret(in secretInput, file string) ([]byte, error) {
	var r io.Reader
	switch {
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.flag, err)
		}
		defer f.Close()
		r = f
	default:
		if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprint(e.stderr, in.prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", in.what, err)
			}
			return b, nil
		}
		r = e.stdin
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", in.what, err)
	}
	if len(b) > maxSecretInput {
		clear(b)
		return nil, fmt.Errorf("%s: input longer than %d bytes; want %s", in.what, maxSecretInput, in.want)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: no input; give %s on standard input or with %s", in.what, in.want, in.flag)
	}
	return b, nil
}

func walletExport(e *env) error {
	a, err := e.args("NAME")
	if err != nil {
		return err
	}
	name := a[0]
	st, addr, err := e.walletAddress(name)
	if err != nil {
		return err
	}
	if e.c.Bool("mnemonic") {
		return walletExportMnemonic(e, st, name)
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for wallet %q: ", name), false)
	if err != nil {
		return err
	}
	defer clear(pass)
	seed, err := st.Export(name, pass)
	if err != nil {
		return walletErr(name, err)
	}
	defer clear(seed)
	fmt.Fprintln(e.stderr, "warning: anyone who has this seed controls the wallet's funds; keep it secret")
	info := walletInfo{Name: name, Address: addr.String(), Seed: string(seed)}
	return e.print(info, func(out io.Writer) { fmt.Fprintf(out, "%s\n", seed) })
}

// walletExportMnemonic is `wallet export NAME --mnemonic`. A wallet
// without words is refused before its passphrase is asked for.
func walletExportMnemonic(e *env, st *wallet.Store, name string) error {
	f, err := st.Keystore(name)
	if err != nil {
		return walletErr(name, err)
	}
	if f.Version != wallet.MnemonicKeystoreVersion {
		return fmt.Errorf("wallet %q has no recovery words: it holds a bare key (imported from a hex seed, "+
			"or made before cairn had recovery words); back it up with: cairn wallet export %s", name, name)
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for wallet %q: ", name), false)
	if err != nil {
		return err
	}
	defer clear(pass)
	k, err := st.LoadMnemonic(name, pass)
	if err != nil {
		return walletErr(name, err)
	}
	words := k.Mnemonic.Words()
	fmt.Fprintf(e.stderr, "warning: anyone who has these %d words controls the wallet's funds; keep them secret\n", len(words))
	if k.Account != 0 {
		fmt.Fprintf(e.stderr, "note: this wallet's key is account %d (%s): import the words with --account %d\n", k.Account, k.Path(), k.Account)
	}
	if k.PassphraseUsed {
		fmt.Fprintln(e.stderr, "warning: these words were imported with a BIP-39 passphrase, which cairn did not keep: "+
			"the words alone give another key; keep that passphrase with them (import both with --mnemonic-passphrase-file)")
	}
	info := walletInfo{Name: name, Address: k.Address().String(), Mnemonic: k.Mnemonic.Phrase(), MnemonicPassphrase: k.PassphraseUsed}.withAccount(k.Account)
	return e.print(info, func(out io.Writer) { writeWords(out, words) })
}

// addressArg reads the command's one argument, ADDR|NAME, and returns it
// as given and as the address it names.
func (e *env) addressArg() (string, types.Address, error) {
	a, err := e.args("ADDR|NAME")
	if err != nil {
		return "", types.Address{}, err
	}
	addr, err := e.resolveAddress("", a[0])
	return a[0], addr, err
}

// resolveAddress takes an address, or the name of a wallet. flag names
// the input in errors ("--to"), or is empty for a positional argument.
func (e *env) resolveAddress(flag, s string) (types.Address, error) {
	label := fmt.Sprintf("%q", s)
	if flag != "" {
		label = flag + " " + label
	}
	if s == "" {
		return types.Address{}, usagef("%s: want an address or a wallet name", label)
	}
	a, addrErr := types.ParseAddress(s)
	if addrErr == nil {
		return a, nil
	}
	looksLikeAddress := strings.HasPrefix(strings.ToLower(s), types.AddressHRP+"1") || wallet.CheckName(s) != nil
	if !looksLikeAddress {
		st, err := e.store()
		if err != nil {
			return types.Address{}, err
		}
		a, err := st.Address(s)
		if err == nil {
			return a, nil
		}
		if errors.Is(err, wallet.ErrNotFound) {
			return types.Address{}, fmt.Errorf("%s: not an address, and no wallet named %q (see cairn wallet list)", label, s)
		}
		return types.Address{}, err
	}
	return types.Address{}, fmt.Errorf("%s: invalid address: %s", label, addressReason(s, addrErr))
}

// addressReason strips the `invalid address "s": ` that ParseAddress
// leads its errors with.
func addressReason(s string, err error) string {
	msg := err.Error()
	if r, ok := strings.CutPrefix(msg, fmt.Sprintf("%v %q: ", types.ErrBadAddress, s)); ok {
		return r
	}
	return strings.TrimPrefix(msg, types.ErrBadAddress.Error()+": ")
}

// parseAmount parses a CRN amount given with flag.
func parseAmount(flag, s string) (uint64, error) {
	v, err := wallet.ParseAmount(s)
	if err != nil {
		reason := err
		if inner := errors.Unwrap(err); inner != nil {
			reason = inner
		}
		return 0, fmt.Errorf("%s %q: %v", flag, s, reason)
	}
	return v, nil
}
