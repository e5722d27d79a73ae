package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// newHost builds the libp2p host of cfg (docs/PROTOCOL.md §19, Transport
// and discovery): TCP and QUIC, Noise and TLS, yamux; the identity of
// cfg.KeyFile; a connection manager with cfg's watermarks; a resource
// manager with explicit limits; gater refusing banned peers.
func newHost(cfg Config, gater *scorer) (host.Host, error) {
	key, err := loadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.LowWater, cfg.HighWater, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits(cfg.MaxConns)))
	if err != nil {
		cm.Close()
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		// Without SO_REUSEPORT, so that a second node started on a port
		// already in use fails to listen instead of sharing the port.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.QUICReuse(quicreuse.NewConnManager, quicreuse.DisableReuseport()),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionGater(gater),
		// Metrics would register in the global Prometheus registry, once
		// per host; the node exports its own.
		libp2p.DisableMetrics(),
	)
	if err != nil {
		// libp2p.New closes what it built on failure, but not the
		// resource manager and connection manager handed to it.
		rm.Close()
		cm.Close()
		return nil, fmt.Errorf("p2p: start host: %w", err)
	}
	return h, nil
}

// resourceLimits sets the resource manager's connection and stream limits
// on purpose rather than taking the defaults scaled from the machine's
// memory, which allow only about 80 inbound connections in handshake at
// once. maxConns bounds established connections in each
// direction and in total, and as many may be in handshake (the transient
// scope) at once; each connection may carry 64 streams on average. Memory,
// file descriptor and per-peer, per-protocol and per-service limits stay
// at the scaled defaults.
func resourceLimits(maxConns int) rcmgr.ConcreteLimitConfig {
	conns := rcmgr.LimitVal(maxConns)
	streams := rcmgr.LimitVal(64 * maxConns)
	transientStreams := rcmgr.LimitVal(4 * maxConns)
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:           conns,
			ConnsInbound:    conns,
			ConnsOutbound:   conns,
			Streams:         streams,
			StreamsInbound:  streams,
			StreamsOutbound: streams,
			FD:              rcmgr.LimitVal(maxConns + 64),
		},
		Transient: rcmgr.ResourceLimits{
			Conns:           conns,
			ConnsInbound:    conns,
			ConnsOutbound:   conns,
			Streams:         transientStreams,
			StreamsInbound:  transientStreams,
			StreamsOutbound: transientStreams,
			FD:              rcmgr.LimitVal(maxConns + 64),
		},
	}
	// The allowlisted scopes are used only once the others are full; give
	// them the same limits.
	partial.AllowlistedSystem = partial.System
	partial.AllowlistedTransient = partial.Transient
	return partial.Build(rcmgr.DefaultLimits.AutoScale())
}

// KeyFilePeerID returns the peer ID of the identity key in path, the
// file Config.KeyFile names, creating the key there if the file does not
// exist. A launcher that writes its nodes' keys first knows every node's
// address before any starts.
func KeyFilePeerID(path string) (peer.ID, error) {
	if path == "" {
		return "", errors.New("p2p: no key file")
	}
	key, err := loadKey(path)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(key)
}

// loadKey returns the identity key stored in path, creating it (ed25519,
// mode 0600) if the file does not exist. An empty path gives a fresh key.
func loadKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		return key, err
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("p2p: key file %s is corrupt (remove it to make a new identity): %w", path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("p2p: read key file: %w", err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("p2p: generate key: %w", err)
	}
	b, err = crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("p2p: encode key: %w", err)
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("p2p: write key file: %w", err)
	}
	return key, nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory and a rename, so that a crash never leaves half a key.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// connDirection names a connection's direction for PeerInfo.
func connDirection(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	}
	return "unknown"
}
