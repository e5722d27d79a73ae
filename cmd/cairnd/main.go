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
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/internal/version"
	"github.com/cairn-ledger/cairn/node"
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
		os.Exit(1)
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

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:            "cairnd",
		Usage:           "cairn proof-of-work ledger node",
		Version:         version.String(),
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "datadir", Value: defaultDataDir(), EnvVars: env("DATADIR"),
				Usage: "directory for the chain, the p2p key and the RPC cookie"},
			&cli.StringFlag{Name: "genesis", EnvVars: env("GENESIS"),
				Usage: "genesis.json of the network to join (default: the built-in cairn-dev network)"},
			&cli.StringSliceFlag{Name: "p2p.listen", EnvVars: env("P2P_LISTEN"),
				Usage: "multiaddrs to listen on (default /ip4/0.0.0.0/tcp/7732 and /ip4/0.0.0.0/udp/7732/quic-v1)"},
			&cli.StringSliceFlag{Name: "bootnodes", EnvVars: env("BOOTNODES"),
				Usage: "peers to dial at start, multiaddrs ending in /p2p/<peer id>, comma-separated"},
			&cli.BoolFlag{Name: "p2p.mdns", EnvVars: env("P2P_MDNS"), Usage: "discover peers on the local network"},
			&cli.BoolFlag{Name: "p2p.nodht", EnvVars: env("P2P_NODHT"), Usage: "turn off the Kademlia DHT discovery"},
			&cli.StringFlag{Name: "rpc.addr", Value: node.DefaultRPCAddr, EnvVars: env("RPC_ADDR"),
				Usage: "JSON-RPC listen address host:port (\"\" turns RPC off)"},
			&cli.StringSliceFlag{Name: "rpc.hosts", EnvVars: env("RPC_HOSTS"),
				Usage: "Host names the RPC answers besides loopback addresses, comma-separated; \"*\" any (default localhost,127.0.0.1,[::1])"},
			&cli.StringSliceFlag{Name: "rpc.cors", EnvVars: env("RPC_CORS"),
				Usage: "browser origins (scheme://host[:port]) allowed to call the RPC, comma-separated; \"*\" any (default none)"},
			&cli.StringFlag{Name: "minchainwork", EnvVars: env("MINCHAINWORK"),
				Usage: "least total work (hexadecimal) a header branch needs before its headers are stored (default: the built-in network's setting, 0 for a --genesis network)"},
			&cli.BoolFlag{Name: "mine", EnvVars: env("MINE"), Usage: "mine blocks (needs --miner.address)"},
			&cli.StringFlag{Name: "miner.address", EnvVars: env("MINER_ADDRESS"), Usage: "address paid by mined blocks (bech32)"},
			&cli.IntFlag{Name: "miner.threads", Value: 1, EnvVars: env("MINER_THREADS"), Usage: "mining threads"},
			&cli.StringFlag{Name: "metrics.addr", EnvVars: env("METRICS_ADDR"),
				Usage: "serve Prometheus metrics on host:port at /metrics (default off)"},
			&cli.StringFlag{Name: "log.level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "log.format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "text or json"},
		},
		Commands: []*cli.Command{{
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
			return run(cfg)
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
	if g := c.String("genesis"); g != "" {
		data, err := os.ReadFile(g)
		if err != nil {
			return cfg, fmt.Errorf("--genesis: %w", err)
		}
		if cfg.Params, err = consensus.ParseGenesis(data); err != nil {
			return cfg, fmt.Errorf("--genesis %s: %w", g, err)
		}
	} else {
		cfg.Params = node.DefaultParams()
		cfg.Chain.MinChainWork = node.DefaultMinChainWork()
	}
	if w := c.String("minchainwork"); w != "" {
		v, ok := new(big.Int).SetString(strings.TrimPrefix(strings.TrimPrefix(w, "0x"), "0X"), 16)
		if !ok || v.Sign() < 0 || v.BitLen() > 256 {
			return cfg, fmt.Errorf("--minchainwork %q: want a hexadecimal number of at most 64 digits", w)
		}
		cfg.Chain.MinChainWork = v
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
	if c.IsSet("rpc.hosts") {
		cfg.RPC.Hosts = c.StringSlice("rpc.hosts")
	}
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

// gcPercent is the daemon's GOGC.
const gcPercent = 25

// shutdownLimit bounds a clean stop; past it the process exits anyway
// (the chain's batches are atomic, so that loses nothing stored).
const shutdownLimit = 10 * time.Second

func run(cfg node.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	if err := n.Start(context.Background()); err != nil { // ctx ends at a signal, the node later
		return err
	}
	cfg.Logger.Info("cairnd running", "version", cfg.Version, "rpc", n.RPCURL())
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	cfg.Logger.Info("shutting down")
	timer := time.AfterFunc(shutdownLimit, func() {
		cfg.Logger.Error("shutdown took too long; exiting", "limit", shutdownLimit)
		os.Exit(1)
	})
	defer timer.Stop()
	return n.Stop()
}
