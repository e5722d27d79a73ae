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

// maxSeedInput bounds what `wallet import` reads: a seed is 64 hex digits.
const maxSeedInput = 4 << 10

func walletCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "wallet",
		Usage: "create, list, show, import and export keys (kept encrypted in <home>/wallet)",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "create a key; asks for its passphrase twice",
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
				Name:      "import",
				Usage:     "store a key from its seed (64 hex digits, from --seed-file or standard input)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "seed-file", Usage: "read the seed from `FILE` rather than from standard input"},
				},
				Action: action(s, walletImport),
			},
			{
				Name:      "export",
				Usage:     "print a wallet's seed (64 hex digits); whoever has it controls the funds",
				ArgsUsage: "NAME",
				Action:    action(s, walletExport),
			},
		},
	}
}

// walletInfo is the JSON form of one wallet.
type walletInfo struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	File    string `json:"file,omitempty"`
	Seed    string `json:"seed,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (w walletInfo) write(out io.Writer) {
	var t kv
	t.add("name", w.Name)
	t.add("address", w.Address)
	if w.File != "" {
		t.add("file", w.File)
	}
	t.write(out)
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
	k, err := wallet.GenerateKey()
	if err != nil {
		return err
	}
	if err := st.Create(name, k, pass, wallet.KDFParams{}); err != nil {
		return walletErr(name, err)
	}
	path, _ := st.Path(name)
	info := walletInfo{Name: name, Address: k.Address().String(), File: path}
	return e.print(info, info.write)
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
	return e.print(info, info.write)
}

func walletImport(e *env) error {
	a, err := e.args("NAME")
	if err != nil {
		return err
	}
	name := a[0]
	st, err := e.newWalletStore(name)
	if err != nil {
		return err
	}
	seed, err := e.readSeed(e.c.String("seed-file"))
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

// readSeed reads a seed's hex text from file, or from standard input:
// without echo when it is a terminal.
func (e *env) readSeed(file string) ([]byte, error) {
	var r io.Reader
	switch {
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--seed-file: %w", err)
		}
		defer f.Close()
		r = f
	default:
		if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprint(e.stderr, "Seed (64 hex digits): ")
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return nil, fmt.Errorf("read seed: %w", err)
			}
			return b, nil
		}
		r = e.stdin
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSeedInput+1))
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	if len(b) > maxSeedInput {
		clear(b)
		return nil, fmt.Errorf("seed: input longer than %d bytes; want 64 hex digits", maxSeedInput)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("seed: no input; give 64 hex digits on standard input or with --seed-file")
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
