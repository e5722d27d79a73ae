package rpc

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchClients is the number of concurrent clients the RPC figures of
// `make bench` are measured with.
const benchClients = 8

// benchLoad POSTs body to url from benchClients goroutines over
// kept-alive loopback connections until b.N requests are answered, reads
// every response whole, and reports req/s. The RPC benchmarks and their
// ceiling, BenchmarkHTTPConstant, share it, so they differ only in the
// server.
func benchLoad(b *testing.B, url string, body []byte) {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	post := func(buf *bytes.Buffer) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, buf.Bytes())
		}
		return err
	}
	// Warm up one connection per client and check the answer once.
	var buf bytes.Buffer
	if err := post(&buf); err != nil {
		b.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(`"error"`)) {
		b.Fatalf("the benchmarked request fails: %s", buf.Bytes())
	}

	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			var buf bytes.Buffer
			for next.Add(1) <= int64(b.N) {
				if err := post(&buf); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// CPU time of the process (clients and server) per request: steadier
	// than req/s on a machine shared with other work.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/req")
}

// cpuTime is the user + system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchServer serves the test backend (chaintest chain, real txpool) over
// loopback TCP.
func benchServer(b *testing.B) (*httptest.Server, *Server) {
	s := newTestServer(b, newTestBackend(b))
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	return ts, s
}

// BenchmarkRPCGetHead: chain_getHead, 8 clients.
func BenchmarkRPCGetHead(b *testing.B) {
	ts, _ := benchServer(b)
	benchLoad(b, ts.URL, []byte(req(1, "chain_getHead", "")))
}

// BenchmarkRPCGetBlock: chain_getBlock of a 10-tx block by height with
// tx ids (full=false; a 1.2 kB response), 8 clients. This is the figure
// `make bench` reports (target >= 0.6 of BenchmarkHTTPConstant).
func BenchmarkRPCGetBlock(b *testing.B) {
	ts, _ := benchServer(b)
	benchLoad(b, ts.URL, []byte(req(1, "chain_getBlock", "[2, false]")))
}

// BenchmarkRPCGetBlockFull: the same block with full txs (full=true; about
// 5.5 kB of response, which net/http writes in more syscalls than the
// ceiling's 0.25 kB), 8 clients.
func BenchmarkRPCGetBlockFull(b *testing.B) {
	ts, _ := benchServer(b)
	benchLoad(b, ts.URL, []byte(req(1, "chain_getBlock", "[2, true]")))
}

// BenchmarkHTTPConstant is the ceiling of the RPC benchmarks: a plain
// net/http handler that reads the body and writes a constant JSON-RPC
// response (chain_getHead's), same clients.
func BenchmarkHTTPConstant(b *testing.B) {
	_, s := benchServer(b)
	_, resp := exchange(b, s.Handler(), req(1, "chain_getHead", ""), "")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
	}))
	defer ts.Close()
	benchLoad(b, ts.URL, []byte(req(1, "chain_getHead", "")))
}

// BenchmarkExchange is the server's work per request without HTTP:
// parse, call, encode.
func BenchmarkExchange(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"GetHead", req(1, "chain_getHead", "")},
		{"GetBlockFull", req(1, "chain_getBlock", "[2, true]")},
		{"GetBlockIDs", req(1, "chain_getBlock", "[2, false]")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newTestServer(b, newTestBackend(b))
			body := []byte(bc.body)
			var out bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				s.exchange(b.Context(), body, "", &out)
			}
		})
	}
}
