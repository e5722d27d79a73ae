// Command testnet runs a local cairn testnet (`make testnet`): it builds
// cairnd and cairn into ./bin, starts N cairnd processes on loopback that
// find each other through bootnodes, M of them mining on a genesis of its
// own with prefunded wallets alice and bob, prints how to use them, and
// shows a live table of the nodes until Ctrl-C, which stops them all.
//
//	go run ./testnet [-nodes 3] [-miners 2] [-block-time 2s] [-dir testnet-data] [-fresh]
//
// The data directory keeps the genesis, the wallets, and each node's
// datadir, identity key and log (<dir>/nodeN/cairnd.log), so a second run
// continues the same chain; -fresh starts a new one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-ledger/cairn/internal/localproc"
	"golang.org/x/term"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts      Options
		nodes     = fs.Int("nodes", DefaultNodes, "`N`: how many cairnd processes to run")
		miners    = fs.Int("miners", DefaultMiners, "`M`: how many of the nodes mine, one thread each")
		blockTime = fs.Duration("block-time", DefaultBlockTime, "target block time (`duration`) of a new genesis")
		dir       = fs.String("dir", "", "`DIR` for the genesis, wallets and nodes (default testnet-data in the module root)")
		logLevel  = fs.String("log-level", "info", "cairnd's --log.level: debug, info, warn or error")
		noBuild   = fs.Bool("no-build", false, "use the binaries already in ./bin")
	)
	fs.BoolVar(&opts.Fresh, "fresh", false, "wipe the data directory first and start a new chain")
	fs.BoolVar(&opts.MDNS, "mdns", true, "let the nodes also find each other by mDNS")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./testnet [flags]\n\nRuns a local cairn testnet until Ctrl-C. A second run continues the chain\nin the data directory: -nodes, -miners and -block-time then default to its\nsettings, and -nodes and -block-time must agree with them; -fresh starts over.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "testnet: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// Flags given on the command line must agree with a saved testnet;
	// the others take its values.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["nodes"] {
		if *nodes < 1 {
			fmt.Fprintln(stderr, "testnet: -nodes must be at least 1")
			return 2
		}
		opts.Nodes = *nodes
	}
	if set["miners"] {
		if *miners < 1 {
			fmt.Fprintln(stderr, "testnet: -miners must be at least 1 (a testnet without miners never makes a block)")
			return 2
		}
		opts.Miners = *miners
	}
	if set["block-time"] {
		if *blockTime <= 0 {
			fmt.Fprintln(stderr, "testnet: -block-time must be positive")
			return 2
		}
		opts.BlockTime = *blockTime
	}

	// The first Ctrl-C (or SIGTERM) stops the nodes cleanly; a second one
	// kills them.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	err := launch(launchConfig{
		opts: opts, dir: *dir, logLevel: *logLevel, build: !*noBuild,
		stdout: stdout, stderr: stderr, sigs: sigs,
	})
	if err != nil {
		fmt.Fprintf(stderr, "testnet: %v\n", err)
		return 1
	}
	return 0
}

type launchConfig struct {
	opts           Options
	dir            string
	logLevel       string
	build          bool
	stdout, stderr io.Writer
	sigs           <-chan os.Signal
}

// launch sets up, builds and starts the testnet, shows the table until a
// signal or the death of a node, and stops the nodes.
func launch(lc launchConfig) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupted := make(chan struct{}) // closed once the first signal is no longer awaited
	go func() {
		defer close(interrupted)
		select {
		case <-lc.sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	lc.opts.Dir = lc.dir
	if lc.opts.Dir == "" {
		lc.opts.Dir = filepath.Join(root, "testnet-data")
	}
	// Refuse a foreign directory before leaving a lock file in it.
	if err := checkForeign(lc.opts.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(lc.opts.Dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(lc.opts.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	// Setup first: a mismatch with the saved testnet is reported without
	// waiting for a build.
	tn, err := Setup(lc.opts)
	if err != nil {
		return err
	}
	bin := filepath.Join(root, "bin")
	bins := Binaries{Cairnd: filepath.Join(bin, "cairnd"), Cairn: filepath.Join(bin, "cairn")}
	if lc.build {
		fmt.Fprintf(lc.stdout, "building cairnd and cairn into %s ...\n", rel(root, bin))
		if bins, err = build(ctx, root, bin); err != nil {
			return err
		}
	}
	n := NewNetwork(tn, bins)
	n.LogLevel = lc.logLevel
	fmt.Fprintf(lc.stdout, "starting %d nodes ...\n", len(tn.Nodes))
	if err := n.Start(ctx); err != nil {
		return err
	}
	printIntro(ctx, lc.stdout, root, n)

	err = watch(ctx, lc.stdout, n)
	cancel()
	<-interrupted // a signal from now on is the second one
	fmt.Fprintf(lc.stdout, "\nstopping the nodes (up to %s; Ctrl-C again kills them) ...\n", StopTimeout)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-lc.sigs:
			fmt.Fprintln(lc.stdout, "killing the nodes ...")
			n.Kill()
		case <-stopped:
		}
	}()
	serr := n.Stop()
	close(stopped)
	if serr != nil {
		err = errors.Join(err, serr)
	}
	if err == nil {
		fmt.Fprintf(lc.stdout, "all nodes stopped; the data stays in %s (run again to continue the chain, -fresh to start over)\n", rel(root, tn.Dir))
	}
	return err
}

// watch draws the table every second until ctx ends (nil) or a node
// exits on its own (an error with the end of its log).
func watch(ctx context.Context, w io.Writer, n *Network) error {
	view := &tableView{w: w, tty: isTerminal(w)}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		view.draw(time.Now(), n.Status(ctx, 900*time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case e := <-n.Exits():
			return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s",
				e.Node.Name, e.Err, e.Node.LogPath(), indent(localproc.LogTail(e.Node.LogPath(), 30)))
		case <-t.C:
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printIntro prints the endpoints, the wallets and commands to paste.
func printIntro(ctx context.Context, w io.Writer, root string, n *Network) {
	tn := n.Testnet
	state := "new chain"
	if tn.Reused {
		state = "continuing the chain in " + rel(root, tn.Dir)
	}
	fmt.Fprintf(w, "\ncairn testnet: %d nodes (%d mining), block time %s, %s\n", len(tn.Nodes), tn.Miners, tn.BlockTime, state)
	fmt.Fprintf(w, "network %s, genesis %s\n", tn.Params.Network, tn.Genesis)
	if tn.Reused {
		if behind := n.behindSchedule(ctx); behind > 30 {
			fmt.Fprintf(w, "note: the chain is %d blocks behind its schedule (it was stopped for a while); the difficulty\n"+
				"(ASERT, anchored at genesis) is low until it catches up, so blocks come fast for a while\n", behind)
		}
	}
	fmt.Fprintln(w)
	for _, nd := range tn.Nodes {
		fmt.Fprintf(w, "  %s  rpc %s  p2p %s\n", nd.Name, nd.RPCURL(), nd.P2PAddr())
		fmt.Fprintf(w, "         explorer %s/explorer/\n", nd.RPCURL())
		if nd.Mining {
			fmt.Fprintf(w, "         mining to wallet %s %s\n", nd.MinerWallet, nd.MinerAddr)
		}
		fmt.Fprintf(w, "         log %s\n", rel(root, nd.LogPath()))
	}
	home := rel(root, tn.WalletHome())
	fmt.Fprintf(w, "\nwallets in %s (passphrase %q, testnet only):\n", filepath.Join(home, "wallet"), Passphrase)
	for _, name := range sortedNames(tn.Wallets) {
		fmt.Fprintf(w, "  %-8s %s\n", name, tn.Wallets[name])
	}
	cairn := rel(root, n.Bins.Cairn)
	if !filepath.IsAbs(cairn) {
		cairn = "./" + cairn
	}
	// Through the last node, which does not mine when there are
	// non-miners: the tx has to travel to a miner.
	url := tn.Nodes[len(tn.Nodes)-1].RPCURL()
	fmt.Fprintf(w, "\nfrom %s, send 1.5 CRN from alice to bob and wait for it to confirm:\n", root)
	fmt.Fprintf(w, "  CAIRN_PASSWORD=%s %s %s\n", Passphrase, shellQuote(cairn), shellJoin(sendArgs(home, url, tn.Wallets["bob"].String(), "1.5")))
	fmt.Fprintf(w, "then check bob's balance on another node:\n")
	fmt.Fprintf(w, "  %s --rpc %s balance %s\n\n", shellQuote(cairn), tn.Nodes[0].RPCURL(), tn.Wallets["bob"])
}

func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// sendArgs are the cairn arguments that send amount CRN from alice to
// address to through the node at url and wait for the confirmation.
func sendArgs(home, url, to, amount string) []string {
	return []string{"--home", home, "--rpc", url, "send", "--from", "alice", "--to", to, "--amount", amount, "--wait"}
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// rel returns path relative to root when it is inside root.
func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return r
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
