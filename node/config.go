package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
)

// Default addresses: JSON-RPC on loopback port 7731 (docs/RPC.md); p2p on
// port 7732, TCP and QUIC, of every interface (p2p.Config.ListenAddrs).
const (
	DefaultRPCAddr = "127.0.0.1:7731"
	DefaultP2PPort = 7732
)

// Config configures a Node. Zero values take the documented defaults;
// Validate reports the first bad field.
type Config struct {
	// Params are the network's consensus parameters (validated). Required;
	// DefaultParams gives the built-in network.
	Params *consensus.Params
	// DataDir holds the chain database (<DataDir>/chain), the p2p identity
	// (<DataDir>/p2p.key) and the RPC cookie (<DataDir>/rpc.cookie). Empty
	// keeps the chain in memory and gives a fresh identity (tests).
	DataDir string
	// P2P configures the network; NoNetwork leaves it out entirely.
	// P2P.KeyFile defaults to <DataDir>/p2p.key.
	P2P       p2p.Config
	NoNetwork bool
	// Pool configures the txpool; Genesis and Sigs are filled in.
	Pool txpool.Config
	// Chain configures the chain; Params, Sigs and Logger are filled in.
	Chain chain.Config
	// RPC configures the JSON-RPC server; an empty RPC.Addr serves none.
	RPC RPCConfig
	// MetricsAddr, if set, serves Prometheus metrics at /metrics.
	MetricsAddr string
	// Miner configures the built-in miner.
	Miner MinerConfig
	// Version is reported by node_info; default "dev".
	Version string
	// Logger is this node's logger; default discards.
	Logger *slog.Logger
}

// RPCConfig configures the JSON-RPC server.
type RPCConfig struct {
	// Addr is host:port to listen on ("127.0.0.1:0" picks a free port);
	// empty serves no RPC.
	Addr string
	// MaxBodyBytes, MaxBatch and Timeout are the request limits; defaults
	// 1 MiB, 100 and 10 s.
	MaxBodyBytes int64
	MaxBatch     int
	Timeout      time.Duration
	// Hosts are the Host header names served besides loopback addresses
	// (nil: rpc.DefaultHosts; "*": any), and CORS the browser origins
	// allowed to call (default none). See rpc.Config.
	Hosts []string
	CORS  []string
}

// MaxMinerThreads bounds MinerConfig.Threads and miner_start's threads
// (the RPC checks the same bound).
const MaxMinerThreads = rpc.MaxMinerThreads

// MinerConfig configures the built-in miner.
type MinerConfig struct {
	// Enabled starts mining at Start; it needs Address.
	Enabled bool
	// Address receives the block rewards; the zero address means none set
	// (miner_start can give one).
	Address types.Address
	// Threads is the number of hashing goroutines; default 1.
	Threads int
	// Refresh is how often a template is rebuilt to take in new txs and a
	// current time; default 1 s.
	Refresh time.Duration
}

func (c *Config) setDefaults() {
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Miner.Threads == 0 {
		c.Miner.Threads = 1
	}
	if c.Miner.Refresh == 0 {
		c.Miner.Refresh = time.Second
	}
	if c.RPC.MaxBodyBytes == 0 {
		c.RPC.MaxBodyBytes = 1 << 20
	}
	if c.RPC.MaxBatch == 0 {
		c.RPC.MaxBatch = 100
	}
	if c.RPC.Timeout == 0 {
		c.RPC.Timeout = 10 * time.Second
	}
}

// Validate checks the configuration after defaults are applied.
func (c Config) Validate() error {
	c.setDefaults()
	if c.Params == nil {
		return errors.New("node config: Params is required")
	}
	if c.Miner.Threads < 0 || c.Miner.Threads > MaxMinerThreads {
		return fmt.Errorf("node config: miner threads %d out of range (1..%d)", c.Miner.Threads, MaxMinerThreads)
	}
	if c.Miner.Enabled && c.Miner.Address == (types.Address{}) {
		return errors.New("node config: mining needs a miner address")
	}
	if c.Miner.Refresh < 0 {
		return errors.New("node config: miner refresh must be positive")
	}
	if c.RPC.MaxBodyBytes < 0 || c.RPC.MaxBatch < 0 || c.RPC.Timeout < 0 {
		return errors.New("node config: RPC limits must be positive")
	}
	for _, a := range []struct{ name, addr string }{{"rpc address", c.RPC.Addr}, {"metrics address", c.MetricsAddr}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("node config: %s %q: %v", a.name, a.addr, err)
		}
	}
	pool := c.Pool
	pool.Genesis = c.Params.GenesisHash()
	if err := pool.Validate(); err != nil {
		return fmt.Errorf("node config: %w", err)
	}
	if !c.NoNetwork {
		if err := c.P2P.Validate(); err != nil {
			return fmt.Errorf("node config: p2p: %w", err)
		}
	}
	return nil
}
