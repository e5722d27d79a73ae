package sim

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// TestMocknetStopAndWait measures what mocknet does with back-to-back
// writes on one stream over a link with latency L: a write of 256 bytes
// or more holds the stream's single delivery goroutine until it has
// arrived, and the next Write blocks meanwhile and stamps its arrival
// only when it gets through. Three 300-byte messages written at once
// arrive after L, L and 2L, not all after L as over TCP: with a backlog
// a stream carries about two such messages per L. GossipSub sends every
// message to a peer on one stream, so with mocknet's latency a block
// queued behind transactions waits up to a link latency more at a hop;
// this is why the sim puts the latency in delayHost (delay.go). If
// mocknet ever pipelines writes, this test fails and the README's
// "Network simulator" section must be measured again.
func TestMocknetStopAndWait(t *testing.T) {
	const lat = 100 * time.Millisecond
	got, _ := threeWrites(t, mocknet.LinkOptions{Latency: lat}, func(h host.Host) host.Host { return h })
	t.Logf("three 300-byte writes over a %v link arrived after %v, %v and %v", lat, got[0], got[1], got[2])
	if got[2] < 2*lat-10*time.Millisecond {
		t.Errorf("third message after %v: mocknet pipelines writes now (want about %v)", got[2], 2*lat)
	}
}

// TestDelayHostPipelines: the sim's own latency layer delivers every one
// of several back-to-back messages one latency after it was written, and
// keeps a stream's read deadline.
func TestDelayHostPipelines(t *testing.T) {
	const lat = 100 * time.Millisecond
	latency := func(peer.ID) time.Duration { return lat }
	got, s := threeWrites(t, mocknet.LinkOptions{}, func(h host.Host) host.Host { return &delayHost{Host: h, lat: latency} })
	for i, d := range got {
		if d < lat || d > lat+lat/2 {
			t.Errorf("message %d arrived after %v, want about %v", i, d, lat)
		}
	}
	// Nothing more comes: a read deadline ends the wait.
	_ = s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	t0 := time.Now()
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("read deadline of 20 ms returned after %v", d)
	}
}

// threeWrites links two mocknet peers with opts, makes each side's host
// with wrap, writes three 300-byte messages back to back from the first
// to the second and returns how long after the first write each arrived,
// with the writer's stream (open until the test ends).
func threeWrites(t *testing.T, opts mocknet.LinkOptions, wrap func(host.Host) host.Host) ([3]time.Duration, network.Stream) {
	t.Helper()
	mn := mocknet.New()
	t.Cleanup(func() { mn.Close() })
	a, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	l, err := mn.LinkPeers(a.ID(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	l.SetOptions(opts)
	wa, wb := wrap(a), wrap(b)
	arrived := make(chan time.Duration, 3)
	var start time.Time
	wb.SetStreamHandler("/three", func(s network.Stream) {
		buf := make([]byte, 300)
		for range 3 {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			arrived <- time.Since(start)
		}
	})
	if _, err := mn.ConnectPeers(a.ID(), b.ID()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	s, err := wa.NewStream(ctx, b.ID(), "/three")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start = time.Now()
	for range 3 {
		if _, err := s.Write(make([]byte, 300)); err != nil {
			t.Fatal(err)
		}
	}
	var got [3]time.Duration
	for i := range got {
		select {
		case got[i] = <-arrived:
		case <-ctx.Done():
			t.Fatal("messages did not arrive")
		}
	}
	return got, s
}
