package p2p

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/multiformats/go-multiaddr"
)

// DefaultListenAddrs are where a node listens by default: port 7732, TCP
// and QUIC, on every IPv4 interface.
var DefaultListenAddrs = []string{"/ip4/0.0.0.0/tcp/7732", "/ip4/0.0.0.0/udp/7732/quic-v1"}

// Config configures a Network. Zero values take the documented defaults.
type Config struct {
	// ListenAddrs are the multiaddrs to listen on; default
	// DefaultListenAddrs.
	ListenAddrs []string
	// Bootnodes are multiaddrs ending in /p2p/<peer id>, dialled at start
	// and redialled when the node has no peers.
	Bootnodes []string
	// MDNS turns on local-network discovery (off by default; the testnet
	// turns it on).
	MDNS bool
	// NoDHT turns off the Kademlia DHT and routing discovery (on by
	// default, so a node that knows one bootnode finds the rest).
	NoDHT bool
	// KeyFile holds the node's identity key (<datadir>/p2p.key), created
	// with mode 0600 if missing. Empty means a fresh key on every start.
	KeyFile string
	// LowWater and HighWater are the connection manager's watermarks;
	// defaults 32 and 64.
	LowWater, HighWater int
	// MaxConns bounds inbound and outbound connections in the resource
	// manager; default 256.
	MaxConns int
	// RequestTimeout is the deadline of one sync request; default 10 s.
	RequestTimeout time.Duration
	// BanDuration is how long a peer past the score threshold is refused;
	// default 10 minutes.
	BanDuration time.Duration
	// MaxPresyncHeaders is how many headers of a branch below the anti-DoS
	// threshold (chain.AntiDoSWork) one peer may make this node check in a
	// row before it is banned for lying about its work; default 1,048,576
	// (about 20 s of checking, 150 MB from the peer).
	MaxPresyncHeaders int
	// Host, if set, is used instead of building one (tests use mocknet).
	// The Network does not close a host it did not build.
	Host host.Host
	// Logger receives the network's logs; default discards.
	Logger *slog.Logger
	// SyncFinished, if set, is called when a sync round that imported many
	// blocks (the one logged as "sync finished") reached the best header.
	SyncFinished func(blocks uint64)
	// GossipTracer, if set, also receives GossipSub's trace events
	// beside the node's own tracer; measurement tools (cairn-sim) use it
	// to see when each message arrived, was validated and forwarded.
	GossipTracer pubsub.RawTracer
}

func (c Config) withDefaults() Config {
	if len(c.ListenAddrs) == 0 && c.Host == nil {
		c.ListenAddrs = slices.Clone(DefaultListenAddrs)
	}
	if c.LowWater == 0 {
		c.LowWater = 32
	}
	if c.HighWater == 0 {
		c.HighWater = 64
	}
	if c.MaxConns == 0 {
		c.MaxConns = 256
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.BanDuration == 0 {
		c.BanDuration = 10 * time.Minute
	}
	if c.MaxPresyncHeaders == 0 {
		c.MaxPresyncHeaders = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate checks the configuration: every address must parse, bootnodes
// must name their peer, watermarks must be ordered.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, a := range c.ListenAddrs {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			return fmt.Errorf("p2p: listen address %q: %w", a, err)
		}
	}
	for _, a := range c.Bootnodes {
		if _, err := parseBootnode(a); err != nil {
			return err
		}
	}
	if c.LowWater < 0 || c.HighWater < c.LowWater {
		return errors.New("p2p: HighWater must be at least LowWater")
	}
	return nil
}
