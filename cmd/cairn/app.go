package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/internal/version"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/wallet"
)

// Defaults of the global flags.
const (
	defaultRPCURL = "http://127.0.0.1:7731"
	defaultHome   = "~/.cairn"
)

// Exit statuses.
const (
	exitError = 1
	exitUsage = 2
)

// usageError is a mistake in how cairn was called: a missing or extra
// argument, an unknown flag or command. It exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// run builds the app, runs it with args and reports a failure as one line
// on stderr. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) int {
	app := newApp(stdout, stderr, stdin)
	err := app.RunContext(ctx, intersperse(app, args))
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "cairn: "+oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return exitError
}

// oneLine folds a message onto a single line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

// newApp returns the cairn command line. Output goes to stdout, prompts
// and warnings to stderr; stdin is where `wallet import` reads a seed.
// Errors are returned from Run, never printed or turned into os.Exit by
// the app itself: run prints them.
func newApp(stdout, stderr io.Writer, stdin io.Reader) *cli.App {
	s := &streams{stdout: stdout, stderr: stderr, stdin: stdin}
	app := &cli.App{
		Name:            "cairn",
		Usage:           "wallet and query tool for a cairnd node",
		UsageText:       "cairn [global options] command [command options] [arguments...]",
		Version:         version.String(),
		HideHelpCommand: true,
		Writer:          stdout,
		ErrWriter:       stderr,
		Reader:          stdin,
		Flags:           globalFlags(),
		Commands: []*cli.Command{
			walletCommand(s),
			balanceCommand(s),
			historyCommand(s),
			watchCommand(s),
			sendCommand(s),
			statusCommand(s),
			blockCommand(s),
			txCommand(s),
			peersCommand(s),
			mempoolCommand(s),
			minerCommand(s),
			genesisCommand(s),
			versionCommand(s),
		},
		// Errors come back from Run; run prints them as one line.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action:         unknownCommand,
	}
	prepareCommands(app.Commands)
	return app
}

// prepareCommands sets the usage-error handler on every command, an
// "unknown command" action on those with subcommands and no action of
// their own, and a --json flag on every command that acts (the leaves,
// and `cairn tx`, which shows a transaction when its argument names no
// subcommand), so that `cairn status --json` works as well as
// `cairn --json status`.
func prepareCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		if len(c.Subcommands) > 0 {
			c.HideHelpCommand = true
			prepareCommands(c.Subcommands)
			if c.Action == nil {
				c.Action = unknownCommand
				continue
			}
		}
		c.Flags = append(c.Flags, &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"})
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return usagef("%v (see %s --help)", err, c.Command.HelpName)
}

// unknownCommand is the action of the app and of commands with
// subcommands: with no argument it shows the help, otherwise the argument
// names no command.
func unknownCommand(c *cli.Context) error {
	switch {
	case c.NArg() == 0:
		return cli.ShowSubcommandHelp(c)
	case c.Args().First() == "help" && c.NArg() == 1:
		return cli.ShowSubcommandHelp(c)
	case c.Args().First() == "help" && c.NArg() == 2:
		return cli.ShowCommandHelp(c, c.Args().Get(1))
	}
	name := c.App.Name
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return usagef("unknown command %q (see %s --help)", c.Args().First(), name)
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:        "home",
			Usage:       "cairn's directory; wallets live in `DIR`/wallet",
			EnvVars:     []string{"CAIRN_HOME"},
			DefaultText: defaultHome,
		},
		&cli.StringFlag{
			Name:        "datadir",
			Usage:       "read the node's rpc.cookie, for admin calls, from `DIR`, the node's data directory",
			EnvVars:     []string{"CAIRN_DATADIR"},
			DefaultText: "the home directory",
		},
		&cli.StringFlag{
			Name:    "rpc",
			Usage:   "talk to the node's JSON-RPC endpoint at `URL`",
			EnvVars: []string{"CAIRN_RPC"},
			Value:   defaultRPCURL,
		},
		&cli.BoolFlag{
			Name:    "json",
			Usage:   "print results as JSON",
			EnvVars: []string{"CAIRN_JSON"},
		},
		&cli.StringFlag{
			Name:    "password-file",
			Usage:   "read wallet passphrases from the first line of `FILE` (or set " + wallet.PassphraseEnv + ")",
			EnvVars: []string{"CAIRN_PASSWORD_FILE"},
		},
	}
}

// streams are the standard streams a command uses.
type streams struct {
	stdout, stderr io.Writer
	stdin          io.Reader
}

// env is what an action works with: the streams and the global options,
// resolved.
type env struct {
	*streams
	c        *cli.Context
	ctx      context.Context
	home     string
	datadir  string
	rpcURL   string
	passFile string
	json     bool
}

// action wraps a command's body: it resolves the global options and turns
// errors from the node into one clear line.
func action(s *streams, f func(e *env) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		e, err := newEnv(s, c)
		if err != nil {
			return err
		}
		return e.explain(f(e))
	}
}

func newEnv(s *streams, c *cli.Context) (*env, error) {
	e := &env{streams: s, c: c, ctx: c.Context, passFile: c.String("password-file")}
	if e.ctx == nil {
		e.ctx = context.Background()
	}
	for _, x := range c.Lineage() {
		if x.Bool("json") {
			e.json = true
			break
		}
	}
	e.home = c.String("home")
	if e.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find the home directory (%v): set --home or CAIRN_HOME", err)
		}
		e.home = filepath.Join(h, ".cairn")
	}
	e.datadir = c.String("datadir")
	if e.datadir == "" {
		e.datadir = e.home
	}
	u, err := parseRPCURL(c.String("rpc"))
	if err != nil {
		return nil, err
	}
	e.rpcURL = u
	return e, nil
}

// parseRPCURL accepts http(s)://host:port[/path], and host:port as
// shorthand for http://host:port.
func parseRPCURL(s string) (string, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("--rpc %q: want a URL like %s", raw, defaultRPCURL)
	}
	return u.String(), nil
}

// explain rewrites errors from the RPC client into what a user can act on.
func (e *env) explain(err error) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	if errors.Is(err, rpc.ErrUnreachable) {
		return fmt.Errorf("cannot reach cairnd at %s (is it running?)", e.rpcURL)
	}
	if errors.Is(err, context.Canceled) && e.ctx.Err() != nil {
		return errors.New("interrupted")
	}
	var re *rpc.Error
	if errors.As(err, &re) {
		switch re.Code {
		case rpc.CodeUnauthorized:
			return fmt.Errorf("cairnd at %s refused the admin call: unauthorized (is --datadir %s the node's data directory?)", e.rpcURL, e.datadir)
		case rpc.CodeTxRejected:
			return fmt.Errorf("transaction rejected: %s", withReason(re))
		case rpc.CodeTimeout:
			return fmt.Errorf("cairnd at %s: request timed out: %s", e.rpcURL, re.Message)
		}
		return fmt.Errorf("cairnd: %s", withReason(re))
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("cairnd at %s did not answer in time", e.rpcURL)
	}
	return err
}

// withReason is an RPC error's message, led by its reason unless the
// message already names it.
func withReason(re *rpc.Error) string {
	r := re.Reason()
	if r == "" || strings.Contains(re.Message, r) {
		return re.Message
	}
	return r + ": " + re.Message
}

// args checks the positional arguments: exactly len(names) of them.
func (e *env) args(names ...string) ([]string, error) {
	got := e.c.Args().Slice()
	if len(got) == len(names) {
		return got, nil
	}
	want := strings.Join(names, " ")
	if len(got) < len(names) {
		return nil, usagef("missing %s (usage: %s)", names[len(got)], e.usage())
	}
	extra := got[len(names)]
	if strings.HasPrefix(extra, "-") {
		return nil, usagef("flag %s must come before %s (usage: %s)", extra, want, e.usage())
	}
	if len(names) == 0 {
		return nil, usagef("unexpected argument %q (usage: %s)", extra, e.usage())
	}
	return nil, usagef("unexpected argument %q after %s (usage: %s)", extra, want, e.usage())
}

func (e *env) usage() string {
	cmd := e.c.Command
	s := cmd.HelpName
	if cmd.UsageText != "" {
		s = cmd.UsageText
	} else if cmd.ArgsUsage != "" {
		s += " " + cmd.ArgsUsage
	}
	return s
}

func versionCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print cairn's version",
		Action: action(s, func(e *env) error {
			if _, err := e.args(); err != nil {
				return err
			}
			v := struct {
				Version string `json:"version"`
				Go      string `json:"go"`
				OS      string `json:"os"`
				Arch    string `json:"arch"`
			}{version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH}
			return e.print(v, func(w io.Writer) {
				fmt.Fprintf(w, "cairn %s (%s %s/%s)\n", v.Version, v.Go, v.OS, v.Arch)
			})
		}),
	}
}
