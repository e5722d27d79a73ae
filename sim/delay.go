package sim

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Link latency, pipelined. mocknet's own LinkOptions.Latency holds a
// stream's single delivery goroutine while a write of 256 bytes or more
// is in flight, so the next write is stamped only after the previous one
// arrived (TestMocknetStopAndWait): a stream carries about two messages
// per latency, and GossipSub, which sends everything to a peer on one
// stream, queues blocks behind transactions. TCP does not. So the sim's
// links carry only their bandwidth in mocknet, and delayHost adds the
// one-way latency where the bytes are read: each read from the link is
// released to the reader the link's latency after it came off the wire,
// however many are in flight, as on a real network.

// delayHost is a host whose streams, opened or accepted, deliver what
// they read lat(remote peer) late.
type delayHost struct {
	host.Host
	lat func(peer.ID) time.Duration
}

func (h *delayHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return newDelayStream(s, h.lat(p)), nil
}

func (h *delayHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.wrap(handler))
}

func (h *delayHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, h.wrap(handler))
}

func (h *delayHost) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) { handler(newDelayStream(s, h.lat(s.Conn().RemotePeer()))) }
}

// delayStream releases what its stream reads lat after it was read. A
// goroutine reads the stream as fast as the link delivers; Read hands the
// bytes out once their time has come, and keeps the read deadline itself
// (the stream's own is never set).
type delayStream struct {
	network.Stream
	lat time.Duration

	mu       sync.Mutex
	chunks   []delayChunk // read, not yet handed out, in order
	cur      []byte       // the part of the released chunk not yet read
	err      error        // how the stream's reading ended (nil: not yet)
	errAt    time.Time    // when that reaches the reader
	deadline time.Time    // read deadline (zero: none)
	wake     chan struct{}
}

type delayChunk struct {
	at time.Time
	b  []byte
}

func newDelayStream(s network.Stream, lat time.Duration) network.Stream {
	if lat <= 0 {
		return s
	}
	d := &delayStream{Stream: s, lat: lat, wake: make(chan struct{}, 1)}
	go d.pump()
	return d
}

// pump reads the stream until it fails, stamping each read with its
// release time.
func (d *delayStream) pump() {
	buf := make([]byte, 32<<10)
	for {
		n, err := d.Stream.Read(buf)
		at := time.Now().Add(d.lat)
		d.mu.Lock()
		if n > 0 {
			d.chunks = append(d.chunks, delayChunk{at, append([]byte(nil), buf[:n]...)})
		}
		if err != nil && d.err == nil {
			d.err, d.errAt = err, at
		}
		d.mu.Unlock()
		d.signal()
		if err != nil {
			return
		}
	}
}

func (d *delayStream) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *delayStream) Read(p []byte) (int, error) {
	for {
		now := time.Now()
		d.mu.Lock()
		if len(d.cur) == 0 && len(d.chunks) > 0 && !d.chunks[0].at.After(now) {
			d.cur = d.chunks[0].b
			d.chunks[0] = delayChunk{}
			d.chunks = d.chunks[1:]
		}
		if len(d.cur) > 0 {
			n := copy(p, d.cur)
			d.cur = d.cur[n:]
			d.mu.Unlock()
			return n, nil
		}
		var next time.Time
		switch {
		case len(d.chunks) > 0:
			next = d.chunks[0].at
		case d.err != nil:
			if !d.errAt.After(now) {
				err := d.err
				d.mu.Unlock()
				return 0, err
			}
			next = d.errAt
		}
		if !d.deadline.IsZero() {
			if !d.deadline.After(now) {
				d.mu.Unlock()
				return 0, os.ErrDeadlineExceeded
			}
			if next.IsZero() || d.deadline.Before(next) {
				next = d.deadline
			}
		}
		d.mu.Unlock()
		if next.IsZero() {
			<-d.wake
			continue
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (d *delayStream) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	d.deadline = t
	d.mu.Unlock()
	d.signal()
	return nil
}

func (d *delayStream) SetDeadline(t time.Time) error {
	_ = d.SetReadDeadline(t)
	return d.Stream.SetWriteDeadline(t)
}

// Close, Reset and CloseRead end reading at once, as they do on the
// stream.
func (d *delayStream) Close() error {
	err := d.Stream.Close()
	d.endNow(network.ErrReset)
	return err
}

func (d *delayStream) Reset() error {
	err := d.Stream.Reset()
	d.endNow(network.ErrReset)
	return err
}

func (d *delayStream) ResetWithError(code network.StreamErrorCode) error {
	err := d.Stream.ResetWithError(code)
	d.endNow(network.ErrReset)
	return err
}

func (d *delayStream) CloseRead() error {
	err := d.Stream.CloseRead()
	d.endNow(network.ErrReset)
	return err
}

func (d *delayStream) endNow(err error) {
	d.mu.Lock()
	d.chunks, d.cur = nil, nil
	d.err, d.errAt = err, time.Now()
	d.mu.Unlock()
	d.signal()
}
