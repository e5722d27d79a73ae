package rpc

import (
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cairn-ledger/cairn/chain/chaintest"
)

// benchSubs is the subscriber count of the WebSocket figures.
const benchSubs = 1000

// subscribeMany opens n WebSocket connections to url, each subscribed to
// newHeads, and returns them; it reports the heap they added (both ends:
// the clients run in this process too) per subscriber.
func subscribeMany(b *testing.B, url string, n int) ([]*websocket.Conn, float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := websocket.Dialer{ReadBufferSize: 4 << 10, WriteBufferSize: 1 << 10}
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		ws, _, err := d.Dial(strings.Replace(url, "http", "ws", 1)+"/ws", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"chain_subscribe","params":["newHeads"]}`)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		conns[i] = ws
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return conns, float64(after.HeapInuse-before.HeapInuse) / float64(n)
}

// BenchmarkSubscribers1000: 1,000 WebSocket subscribers of newHeads on
// loopback; each op imports a block and tells the server, as the node
// does, and waits until every subscriber has read the head. p95-ms is the
// time from the start of the import to a subscriber's read (target ≤ 50
// ms); B/sub the heap an idle subscriber adds, both ends counted.
func BenchmarkSubscribers1000(b *testing.B) { benchSubscribers(b, 0) }

// BenchmarkSubscribers1000OneStalled is BenchmarkSubscribers1000 with one
// more subscriber that never reads: the others' p95 should not move.
func BenchmarkSubscribers1000OneStalled(b *testing.B) { benchSubscribers(b, 1) }

func benchSubscribers(b *testing.B, stalled int) {
	be := newTestBackend(b)
	s, err := NewServer(Config{Token: testToken, MaxWSConns: benchSubs + 10, WSQueue: 64}, be)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.closeConns()
	conns, perSub := subscribeMany(b, hs.URL, benchSubs)
	idle, _ := subscribeMany(b, hs.URL, stalled) // never read
	defer func() {
		for _, ws := range idle {
			ws.Close()
		}
	}()
	blocks := be.g.Branch("z", "b4", b.N, nil)

	var start atomic.Int64 // unix ns of the current import's start
	var wg sync.WaitGroup
	lat := make([][]time.Duration, len(conns))
	for i, ws := range conns {
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
				lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-start.Load()))
				wg.Done()
			}
		}()
	}
	b.ResetTimer()
	for _, blk := range blocks {
		wg.Add(len(conns))
		start.Store(time.Now().UnixNano())
		res, err := be.c.ProcessBlock(blk)
		if err != nil {
			b.Fatal(err)
		}
		s.NotifyChain(res)
		wg.Wait()
	}
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)*95/100])/1e6, "p95-ms")
	b.ReportMetric(perSub, "B/sub")
	for _, ws := range conns {
		ws.Close()
	}
}

// BenchmarkNotifyStalled1000 is the cost to the importing side of telling
// 1,000 subscribers that never read of a new head (ns/op of NotifyChain),
// beside BenchmarkNotifyNone, with no subscriber: a stalled client never
// makes the node wait, it only costs its enqueue (and is dropped when its
// queue is full).
func BenchmarkNotifyStalled1000(b *testing.B) {
	benchNotify(b, benchSubs)
}

func BenchmarkNotifyNone(b *testing.B) { benchNotify(b, 0) }

func benchNotify(b *testing.B, n int) {
	be := newTestBackend(b)
	s, err := NewServer(Config{Token: testToken, MaxWSConns: n + 10}, be)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	defer s.closeConns()
	conns, _ := subscribeMany(b, hs.URL, n)
	defer func() {
		for _, ws := range conns {
			ws.Close()
		}
	}()
	blk := be.g.Block("y5", "b4", func(bg *chaintest.BlockGen) { bg.Header.Time += 11 })
	res, err := be.c.ProcessBlock(blk)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s.NotifyChain(res)
	}
}
