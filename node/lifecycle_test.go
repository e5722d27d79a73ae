package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// fakeComponent records its starts and stops in a shared journal and
// fails as told.
type fakeComponent struct {
	name              string
	journal           *[]string
	startErr, stopErr error
}

func (f *fakeComponent) Start(context.Context) error {
	*f.journal = append(*f.journal, "start "+f.name)
	return f.startErr
}

func (f *fakeComponent) Stop() error {
	*f.journal = append(*f.journal, "stop "+f.name)
	return f.stopErr
}

func fakeLifecycle(journal *[]string, cs ...*fakeComponent) *lifecycle {
	l := &lifecycle{}
	for _, c := range cs {
		c.journal = journal
		l.parts = append(l.parts, part{c.name, c})
	}
	return l
}

// A failing start of the third component stops the first two in reverse
// order and starts nothing after it; the error names the part and keeps
// the cause, and a failure of the rollback is reported beside it.
func TestLifecycleRollsBackInReverse(t *testing.T) {
	errBoom := errors.New("boom")
	errStuck := errors.New("stuck")
	var journal []string
	l := fakeLifecycle(&journal,
		&fakeComponent{name: "p2p"}, &fakeComponent{name: "rpc", stopErr: errStuck},
		&fakeComponent{name: "metrics", startErr: errBoom}, &fakeComponent{name: "miner"})
	err := l.start(context.Background())
	want := []string{"start p2p", "start rpc", "start metrics", "stop rpc", "stop p2p"}
	if !slices.Equal(journal, want) {
		t.Fatalf("journal %q, want %q", journal, want)
	}
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "start metrics: boom") {
		t.Fatalf("start error %v, want one naming the metrics part and wrapping its cause", err)
	}
	if !errors.Is(err, errStuck) || !strings.Contains(err.Error(), "stop rpc: stuck") {
		t.Fatalf("start error %v lacks the rollback's error", err)
	}
	if err := l.stop(); err != nil || len(journal) != len(want) {
		t.Fatalf("stop after a rolled-back start: %v, journal %q", err, journal)
	}
}

// Stop stops every started part in reverse order even when some fail, and
// returns all their errors, each naming its part; a second stop does
// nothing.
func TestLifecycleStopGathersErrors(t *testing.T) {
	errNet, errMetrics := errors.New("goroutines still running"), errors.New("shutdown timed out")
	var journal []string
	l := fakeLifecycle(&journal,
		&fakeComponent{name: "p2p", stopErr: errNet}, &fakeComponent{name: "rpc"},
		&fakeComponent{name: "metrics", stopErr: errMetrics}, &fakeComponent{name: "miner"})
	if err := l.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	journal = journal[:0]
	err := l.stop()
	want := []string{"stop miner", "stop metrics", "stop rpc", "stop p2p"}
	if !slices.Equal(journal, want) {
		t.Fatalf("journal %q, want %q", journal, want)
	}
	if !errors.Is(err, errNet) || !errors.Is(err, errMetrics) {
		t.Fatalf("stop error %v, want both failures", err)
	}
	for _, s := range []string{"stop p2p: goroutines still running", "stop metrics: shutdown timed out"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("stop error %q lacks %q", err, s)
		}
	}
	if err := l.stop(); err != nil || len(journal) != len(want) {
		t.Fatalf("second stop: %v, journal %q", err, journal)
	}
}

// The node's components are the configured ones, in start order.
func TestNodeComponentsOrder(t *testing.T) {
	cfg := Config{RPC: RPCConfig{Addr: "127.0.0.1:0"}, MetricsAddr: "127.0.0.1:0"}
	n := loopbackNode(t, &cfg)
	var names []string
	for _, p := range n.life.running {
		names = append(names, p.name)
	}
	if want := []string{"p2p", "rpc", "metrics", "miner"}; !slices.Equal(names, want) {
		t.Fatalf("running %q, want %q", names, want)
	}
}

// The metrics server's goroutine is joined by Stop, and an error it ended
// with on its own is what Stop reports.
func TestStopReportsMetricsServeError(t *testing.T) {
	logs := &syncBuffer{}
	n := testNode(t, Config{MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	url := "http://" + n.metricsSrv.ln.Addr().String() + "/metrics"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n.metricsSrv.ln.Close() // Serve fails on its next Accept
	// Serve logs the failure at once; a Stop before that would find Serve
	// ending because of the shutdown.
	waitFor(t, 5*time.Second, "Serve to fail", func() bool { return strings.Contains(logs.String(), "metrics server stopped") })
	err = n.Stop()
	if err == nil || !strings.Contains(err.Error(), "stop metrics") || !strings.Contains(err.Error(), "serve:") {
		t.Fatalf("Stop: %v, want the metrics server's serve error", err)
	}
	if again := n.Stop(); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Stop: %v, want the first's %v", again, err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeWork is a blockWork that hands out one template on a fixed parent
// and records what is submitted.
type fakeWork struct {
	tmpl types.Header
	mu   sync.Mutex
	got  []*types.Block
}

func (w *fakeWork) BlockTemplate(addr types.Address) (*types.Block, error) {
	h := w.tmpl
	h.Miner = addr
	return &types.Block{Header: h}, nil
}

func (w *fakeWork) SubmitBlock(blk *types.Block) (chain.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, blk)
	return chain.Result{Status: chain.StatusConnected}, nil
}

func (w *fakeWork) submitted() []*types.Block {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// The miner needs only blockWork: it mines the templates it is given,
// submits blocks that meet their target, mines only under the node's
// context, and refuses to start once detached.
func TestMinerOnBlockWork(t *testing.T) {
	p := chaintest.Params()
	work := &fakeWork{tmpl: types.Header{Version: 1, Height: 1, Time: time.Now().UnixMilli(), Bits: p.GenesisBits}}
	m := newMiner(MinerConfig{Threads: 2, Refresh: time.Second}, p, work, slog.New(slog.DiscardHandler))
	addr := chaintest.Key("miner").Address()
	if err := m.Start(1, addr); !errors.Is(err, errNodeNotRunning) {
		t.Fatalf("Start before the node runs: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.attach(ctx)
	defer m.detach()
	if err := m.Start(0, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "3 submitted blocks", func() bool { return len(work.submitted()) >= 3 })
	for _, b := range work.submitted() {
		if b.Header.Miner != addr {
			t.Fatalf("block pays %v, want %v", b.Header.Miner, addr)
		}
		if err := consensus.CheckProofOfWork(b.Hash(), b.Header.Bits, p.PowLimit); err != nil {
			t.Fatal(err)
		}
	}
	cancel() // the node's context ends: so does mining
	waitFor(t, 5*time.Second, "the miner to stop with the node's context", func() bool { return !m.State().Running })
	m.detach()
	if err := m.Start(0, addr); !errors.Is(err, errNodeNotRunning) {
		t.Fatalf("Start after detach: %v", err)
	}
}
