// Command cairnd is the cairn node daemon: it keeps the chain, relays
// blocks and transactions over libp2p, mines if asked, and answers
// JSON-RPC (docs/RPC.md). See `cairnd --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/internal/version"
	"github.com/cairn-ledger/cairn/node"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
)

func main() {
	// Block import and sync allocate in bursts; with Go's default GOGC of
	// 100 the heap of a node that has just synced stays at twice what it
	// uses. btcd made the same call (SetGCPercent(10) in btcd.go). GOGC in
	// the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := newApp(os.Stdout, os.Stderr).Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "cairnd: %s\n", oneLine(err))
		os.Exit(exitCode(err))
	}
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cairn")
	}
	return ".cairn"
}

func env(name string) []string { return []string{"CAIRN_" + name} }

// daemonFlags are cairnd's flags; each can also come from a CAIRN_
// environment variable or from the --config file.
func daemonFlags() []cli.Flag {
	return append(storeFlags(),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: "p2p.listen", EnvVars: env("P2P_LISTEN"),
			Value: cli.NewStringSlice(p2p.DefaultListenAddrs...), Usage: "multiaddrs to listen on"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: "bootnodes", EnvVars: env("BOOTNODES"),
			Usage: "peers to dial at start, multiaddrs ending in /p2p/<peer id>, comma-separated"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: "p2p.mdns", EnvVars: env("P2P_MDNS"), Usage: "discover peers on the local network"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: "p2p.nodht", EnvVars: env("P2P_NODHT"), Usage: "turn off the Kademlia DHT discovery"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "rpc.addr", Value: node.DefaultRPCAddr, EnvVars: env("RPC_ADDR"),
			Usage: "JSON-RPC listen address host:port (\"\" turns RPC off)"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: "rpc.hosts", EnvVars: env("RPC_HOSTS"),
			Value: cli.NewStringSlice(rpc.DefaultHosts...), Usage: "Host names the RPC answers besides loopback addresses, comma-separated; \"*\" any"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: "rpc.cors", EnvVars: env("RPC_CORS"),
			Usage: "browser origins (scheme://host[:port]) allowed to call the RPC, comma-separated; \"*\" any (default none)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "minchainwork", EnvVars: env("MINCHAINWORK"),
			Usage: "least total work (hexadecimal) a header branch needs before its headers are stored (default: the built-in network's setting, 0 for a --genesis network)"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: "mine", EnvVars: env("MINE"), Usage: "mine blocks (needs --miner.address)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "miner.address", EnvVars: env("MINER_ADDRESS"), Usage: "address paid by mined blocks (bech32)"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: "miner.threads", Value: 1, EnvVars: env("MINER_THREADS"), Usage: "mining threads"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: "cache", Value: chain.DefaultCacheMB, EnvVars: env("CACHE"),
			Usage: "`MB` of memory for the chain database's block cache (its bloom filters, indexes and hot state)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "metrics.addr", EnvVars: env("METRICS_ADDR"),
			Usage: "serve Prometheus metrics on host:port at /metrics (default off)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "log.level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn or error"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "log.format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "text or json"}),
	)
}

// storeFlags are the flags that say where the chain database is and of
// which network: the daemon's, and those of check and reindex.
func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", EnvVars: env("CONFIG"),
			Usage: "TOML `FILE` of settings keyed by flag name (\"rpc.addr\" = \"…\", or [rpc] addr = \"…\"); flags and CAIRN_ variables win over it"},
		altsrc.NewStringFlag(&cli.StringFlag{Name: "datadir", Value: defaultDataDir(), EnvVars: env("DATADIR"),
			Usage: "directory for the chain, the p2p key and the RPC cookie"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: "genesis", EnvVars: env("GENESIS"),
			Usage: "genesis.json of the network to join (default: the built-in cairn-dev network)"}),
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	flags := daemonFlags()
	return &cli.App{
		Name:  "cairnd",
		Usage: "cairn proof-of-work ledger node",
		Description: "Runs the node until SIGINT or SIGTERM. Exit status: 0 after a clean stop, 1 for other errors, " +
			"3 when the chain database is damaged (run cairnd reindex), 4 when the disk is full (free space, start again), " +
			"5 for another failure to read or write the chain database.",
		Version:         version.String(),
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags:           flags,
		Before: func(c *cli.Context) error {
			return loadConfig(c, flags)
		},
		Commands: []*cli.Command{checkCommand(stdout), reindexCommand(stdout, stderr), {
			Name:  "config",
			Usage: "print the effective settings as TOML: each from its flag, else its CAIRN_ variable, else --config, else the default",
			Action: func(c *cli.Context) error {
				if c.Args().Present() {
					return fmt.Errorf("unexpected argument %q (see cairnd config --help)", c.Args().First())
				}
				return printConfig(c, flags, stdout)
			},
		}, {
			Name:  "version",
			Usage: "print the version",
			Action: func(c *cli.Context) error {
				fmt.Fprintf(stdout, "cairnd %s (%s %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			},
		}},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("unexpected argument %q (see cairnd --help)", c.Args().First())
			}
			cfg, err := configFrom(c, stderr)
			if err != nil {
				return err
			}
			return run(cfg, repairCommand(c))
		},
	}
}

// configFrom turns the flags into a node.Config, refusing bad values with
// the flag's name.
func configFrom(c *cli.Context, stderr io.Writer) (node.Config, error) {
	var cfg node.Config
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log.level"))); err != nil {
		return cfg, fmt.Errorf("--log.level %q: want debug, info, warn or error", c.String("log.level"))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log.format") {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return cfg, fmt.Errorf("--log.format %q: want text or json", c.String("log.format"))
	}
	var err error
	if cfg.Params, err = paramsFrom(c.String("genesis")); err != nil {
		return cfg, err
	}
	if c.String("genesis") == "" {
		cfg.Chain.MinChainWork = node.DefaultMinChainWork()
	}
	if w := c.String("minchainwork"); w != "" {
		v, ok := new(big.Int).SetString(strings.TrimPrefix(strings.TrimPrefix(w, "0x"), "0X"), 16)
		if !ok || v.Sign() < 0 || v.BitLen() > 256 {
			return cfg, fmt.Errorf("--minchainwork %q: want a hexadecimal number of at most 64 digits", w)
		}
		cfg.Chain.MinChainWork = v
	}
	cfg.Chain.CacheMB = c.Int("cache")
	if cfg.Chain.CacheMB < 1 || cfg.Chain.CacheMB > chain.MaxCacheMB {
		return cfg, fmt.Errorf("--cache %d: want 1 to %d (MB)", cfg.Chain.CacheMB, chain.MaxCacheMB)
	}
	cfg.DataDir = c.String("datadir")
	if cfg.DataDir == "" {
		return cfg, errors.New("--datadir must not be empty")
	}
	cfg.P2P.ListenAddrs = c.StringSlice("p2p.listen")
	cfg.P2P.Bootnodes = c.StringSlice("bootnodes")
	cfg.P2P.MDNS = c.Bool("p2p.mdns")
	cfg.P2P.NoDHT = c.Bool("p2p.nodht")
	cfg.RPC.Addr = c.String("rpc.addr")
	cfg.RPC.Hosts = c.StringSlice("rpc.hosts")
	cfg.RPC.CORS = c.StringSlice("rpc.cors")
	for _, o := range cfg.RPC.CORS {
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || u.Path != "") {
			return cfg, fmt.Errorf("--rpc.cors %q: want an origin such as https://wallet.example or http://localhost:3000", o)
		}
	}
	cfg.MetricsAddr = c.String("metrics.addr")
	cfg.Miner.Enabled = c.Bool("mine")
	cfg.Miner.Threads = c.Int("miner.threads")
	if cfg.Miner.Threads < 1 || cfg.Miner.Threads > node.MaxMinerThreads {
		return cfg, fmt.Errorf("--miner.threads %d: want 1 to %d", cfg.Miner.Threads, node.MaxMinerThreads)
	}
	if a := c.String("miner.address"); a != "" {
		addr, err := types.ParseAddress(a)
		if err != nil {
			return cfg, fmt.Errorf("--miner.address %q: %w", a, err)
		}
		cfg.Miner.Address = addr
	} else if cfg.Miner.Enabled {
		return cfg, errors.New("--mine needs --miner.address")
	}
	cfg.Version = version.String()
	return cfg, nil // node.New validates the rest before opening anything
}

// gcPercent is the daemon's GOGC. Measured in make bench's full-block
// sync: at 25 the collector took about 7% of the syncing process's CPU
// (34,500-35,000 tx/s, peak RSS 149 MB); at 50, 37,300 tx/s and 171-174
// MB; at 60, no faster and 180-190 MB. A synced idle node holds 56 MB
// at 50 against 55 at 25.
const gcPercent = 50

// shutdownLimit bounds a clean stop; past it the process exits anyway
// (the chain's batches are atomic, so that loses nothing stored).
const shutdownLimit = 10 * time.Second

// run runs the node until a signal, or until its chain meets a failure of
// its database (Node.Faulted): then it stops the node and returns the
// failure as the exit status and message that say what to do (storeExit;
// repair is the reindex command line).
func run(cfg node.Config, repair string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	n, err := node.New(cfg)
	if err != nil {
		return storeExit(err, cfg.DataDir, repair)
	}
	if err := n.Start(context.Background()); err != nil { // ctx ends at a signal, the node later
		return storeExit(err, cfg.DataDir, repair)
	}
	cfg.Logger.Info("cairnd running", "version", cfg.Version, "rpc", n.RPCURL())
	var fault error
	select {
	case <-ctx.Done():
	case <-n.Faulted():
		fault = n.Fault()
	}
	stop() // a second signal kills the process the default way
	cfg.Logger.Info("shutting down")
	if fault != nil {
		err := n.Stop() // errors of a store that failed say nothing more
		cfg.Logger.Debug("stopped after the store failure", "err", err)
		return storeExit(fault, cfg.DataDir, repair)
	}
	timer := time.AfterFunc(shutdownLimit, func() {
		cfg.Logger.Error("shutdown took too long; exiting", "limit", shutdownLimit)
		os.Exit(1)
	})
	defer timer.Stop()
	return n.Stop()
}

// loadConfig applies the --config file under the flags and the CAIRN_
// variables, which win over it (urfave/cli's altsrc). A setting cairnd
// does not have is refused rather than ignored.
func loadConfig(c *cli.Context, flags []cli.Flag) error {
	return loadConfigInto(c, flags, daemonFlags())
}

// loadConfigInto is loadConfig for a command with flags of its own: the
// file may hold any of known's settings, and those of flags are applied.
func loadConfigInto(c *cli.Context, flags, known []cli.Flag) error {
	file := c.String("config")
	if file == "" {
		return nil
	}
	var tree map[string]any
	if _, err := toml.DecodeFile(file, &tree); err != nil {
		return fmt.Errorf("--config %s: %v", file, err)
	}
	names := map[string]bool{}
	for _, f := range known {
		for _, n := range f.Names() {
			names[n] = n != "config"
		}
	}
	var unknown []string
	var walk func(prefix string, t map[string]any)
	walk = func(prefix string, t map[string]any) {
		for k, v := range t {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else if !names[prefix+k] {
				unknown = append(unknown, strconv.Quote(prefix+k))
			}
		}
	}
	walk("", tree)
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("--config %s: unknown setting %s (the settings are the flag names, e.g. \"rpc.addr\")", file, strings.Join(unknown, ", "))
	}
	if err := altsrc.InitInputSourceWithContext(flags, altsrc.NewTomlSourceFromFlagFunc("config"))(c); err != nil {
		return fmt.Errorf("--config %s: %v", file, err)
	}
	return nil
}

// printConfig writes every setting's effective value as TOML.
func printConfig(c *cli.Context, flags []cli.Flag, w io.Writer) error {
	m := map[string]any{}
	for _, f := range flags {
		name := f.Names()[0]
		switch f.(type) {
		case *altsrc.StringSliceFlag:
			m[name] = append([]string{}, c.StringSlice(name)...)
		case *altsrc.BoolFlag:
			m[name] = c.Bool(name)
		case *altsrc.IntFlag:
			m[name] = c.Int(name)
		case *altsrc.StringFlag:
			m[name] = c.String(name)
		}
	}
	return toml.NewEncoder(w).Encode(m)
}
