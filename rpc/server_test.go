package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/handler"
)

// errorOf decodes a single error response.
func errorOf(t *testing.T, body []byte) *Error {
	t.Helper()
	var r struct {
		ID    json.RawMessage `json:"id"`
		Error *Error          `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Error == nil {
		t.Fatalf("not an error response (%v): %s", err, body)
	}
	return r.Error
}

func TestHTTPMethodNotAllowed(t *testing.T) {
	s := newTestServer(t, newTestBackend(t))
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, localRequest(m, nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s: HTTP %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
		checkResponse(t, w.Body.Bytes())
		if e := errorOf(t, w.Body.Bytes()); e.Code != CodeInvalidRequest || !strings.Contains(e.Message, m) {
			t.Errorf("%s: %v", m, e)
		}
	}
}

func TestLimits(t *testing.T) {
	b := newTestBackend(t)
	s, err := NewServer(Config{MaxBodyBytes: 200, MaxBatch: 2}, b)
	if err != nil {
		t.Fatal(err)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"chain_getHead","params":{"pad":"` + strings.Repeat("x", 200) + `"}}`

	t.Run("body too large", func(t *testing.T) {
		code, body := exchange(t, s.Handler(), big, "")
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP %d", code)
		}
		checkResponse(t, body)
		if e := errorOf(t, body); e.Code != CodeInvalidRequest || !strings.Contains(e.Message, "request too large") {
			t.Errorf("%v", e)
		}
	})
	t.Run("chunked body too large", func(t *testing.T) {
		r := localRequest(http.MethodPost, strings.NewReader(big))
		r.ContentLength = -1 // unknown length, as with chunked encoding
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if e := errorOf(t, w.Body.Bytes()); w.Code != http.StatusRequestEntityTooLarge || e.Code != CodeInvalidRequest {
			t.Errorf("HTTP %d %v", w.Code, e)
		}
	})
	t.Run("batch too long", func(t *testing.T) {
		one := req(1, "chain_getHead", "")
		code, body := exchange(t, s.Handler(), "["+one+","+one+","+one+"]", "")
		if code != http.StatusOK {
			t.Errorf("HTTP %d", code)
		}
		checkResponse(t, body)
		if e := errorOf(t, body); e.Code != CodeInvalidRequest || !strings.Contains(e.Message, "batch of 3 requests exceeds the limit of 2") {
			t.Errorf("%v", e)
		}
	})
	t.Run("batch at the limit", func(t *testing.T) {
		code, body := exchange(t, s.Handler(), "["+req(1, "chain_getHead", "")+","+req(2, "node_info", "")+"]", "")
		var arr []json.RawMessage
		if code != http.StatusOK || json.Unmarshal(body, &arr) != nil || len(arr) != 2 {
			t.Errorf("HTTP %d %s", code, body)
		}
	})
}

func TestTimeout(t *testing.T) {
	s, err := NewServer(Config{Token: testToken, Timeout: 20 * time.Millisecond}, newTestBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	// The fake's Connect("/slow") returns only when the request's context ends.
	code, body := exchange(t, s.Handler(), req(1, "net_connect", `["/slow"]`), testToken)
	if code != http.StatusOK {
		t.Errorf("HTTP %d", code)
	}
	e := errorOf(t, body)
	if e.Code != CodeTimeout || e.Reason() != ReasonTimeout || !strings.Contains(e.Message, "did not finish within 20ms") {
		t.Errorf("%v reason %q", e, e.Reason())
	}
	// The rest of a batch whose time is up is refused too, each with its id.
	code, body = exchange(t, s.Handler(), "["+req(1, "net_connect", `["/slow"]`)+","+req(2, "chain_getHead", "")+"]", testToken)
	var arr []struct {
		ID    int    `json:"id"`
		Error *Error `json:"error"`
	}
	if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 2 {
		t.Fatalf("HTTP %d %s", code, body)
	}
	for i, r := range arr {
		if r.ID != i+1 || r.Error == nil || r.Error.Code != CodeTimeout {
			t.Errorf("response %d: %+v", i, r)
		}
	}
}

func TestAuth(t *testing.T) {
	s := newTestServer(t, newTestBackend(t))
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"", false},
		{"Bearer " + testToken, true},
		{"bearer " + testToken, true},
		{"Bearer  " + testToken + " ", true},
		{"Bearer " + testToken + "x", false},
		{"Bearer " + testToken[:4], false},
		{testToken, false},
		{"Basic " + testToken, false},
		{"Bearer", false},
	} {
		r := localRequest(http.MethodPost, strings.NewReader(req(1, "miner_stop", "")))
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		var resp struct {
			Result *MinerStatus `json:"result"`
			Error  *Error       `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		if ok := resp.Result != nil; ok != tc.ok {
			t.Errorf("Authorization %q: result %v error %v, want ok=%v", tc.header, resp.Result, resp.Error, tc.ok)
		}
		if !tc.ok && (resp.Error == nil || resp.Error.Code != CodeUnauthorized || resp.Error.Reason() != ReasonUnauthorized) {
			t.Errorf("Authorization %q: %v", tc.header, resp.Error)
		}
	}
	// Read methods need no token, and a batch checks each admin call.
	code, body := exchange(t, s.Handler(), "["+req(1, "chain_getHead", "")+","+req(2, "miner_stop", "")+"]", "")
	var arr []struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 2 || arr[0].Error != nil || arr[1].Error == nil || arr[1].Error.Code != CodeUnauthorized {
		t.Errorf("HTTP %d %s", code, body)
	}
}

func TestHandlerPanic(t *testing.T) {
	s, err := newServer(Config{}, nil, handler.Map{
		"boom": func(context.Context, *jrpc2.Request) (any, error) { panic("kaboom") },
		"bad":  func(context.Context, *jrpc2.Request) (any, error) { return func() {}, nil }, // not JSON
		"fail": func(context.Context, *jrpc2.Request) (any, error) { return nil, errors.New("disk on fire") },
	})
	if err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]string{
		"boom": "internal error: handler panicked: kaboom",
		"bad":  "internal error: encode result: json: unsupported type: func()",
		"fail": "internal error: disk on fire",
	} {
		_, body := exchange(t, s.Handler(), req(1, method, ""), "")
		checkResponse(t, body)
		if e := errorOf(t, body); e.Code != CodeInternal || e.Message != want {
			t.Errorf("%s: %v, want %q", method, e, want)
		}
	}
}

func TestStartClose(t *testing.T) {
	dir := t.TempDir()
	cookie := filepath.Join(dir, CookieName)
	s, err := NewServer(Config{Addr: "127.0.0.1:0", CookieFile: cookie}, newTestBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Token()) != 64 {
		t.Errorf("generated token %q, want 64 hex digits", s.Token())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(s.Addr(), ":0") || s.URL() != "http://"+s.Addr() {
		t.Errorf("Addr %q URL %q", s.Addr(), s.URL())
	}
	fi, err := os.Stat(cookie)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cookie mode %v, want 0600", fi.Mode().Perm())
	}
	tok, err := ReadCookie(dir)
	if err != nil || tok != s.Token() {
		t.Fatalf("ReadCookie = %q, %v; want the token", tok, err)
	}
	c := NewClient(s.URL(), WithToken(tok))
	ctx := context.Background()
	if _, err := c.MinerStop(ctx); err != nil {
		t.Fatalf("admin call with the cookie token: %v", err)
	}
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cookie); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cookie still there after Close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Head(ctx); !errors.Is(err, ErrUnreachable) {
		t.Errorf("call after Close: %v, want ErrUnreachable", err)
	}
	if _, err := ReadCookie(dir); err == nil || !strings.Contains(err.Error(), "is cairnd running") {
		t.Errorf("ReadCookie without a cookie: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	b := newTestBackend(t)
	if _, err := NewServer(Config{MaxBatch: -1}, b); err == nil {
		t.Error("negative MaxBatch accepted")
	}
	if _, err := NewServer(Config{Addr: "nonsense"}, b); err == nil {
		t.Error("Addr without a port accepted")
	}
	if _, err := NewServer(Config{}, nil); err == nil {
		t.Error("nil backend accepted")
	}
	s1, err := NewServer(Config{Addr: "127.0.0.1:0"}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(); err != nil {
		t.Fatal(err)
	}
	defer s1.Close(context.Background())
	s2, _ := NewServer(Config{Addr: s1.Addr()}, b)
	if err := s2.Start(); err == nil || !strings.Contains(err.Error(), "listen on "+s1.Addr()) {
		t.Errorf("second server on the same port: %v", err)
	}
	s3, _ := NewServer(Config{Addr: "127.0.0.1:0", CookieFile: filepath.Join(t.TempDir(), "no", "such", "dir", CookieName)}, b)
	if err := s3.Start(); err == nil || !strings.Contains(err.Error(), "cookie") {
		t.Errorf("cookie in a missing directory: %v", err)
	}
	if err := s3.Close(context.Background()); err != nil {
		t.Errorf("Close after a failed Start: %v", err)
	}
}

// TestConcurrent runs many clients at once (for -race) and checks each
// answer.
func TestConcurrent(t *testing.T) {
	b := newTestBackend(t)
	s := newTestServer(t, b)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	c := NewClient(ts.URL, WithToken(testToken))
	ctx := context.Background()
	tip := b.Tip()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					h, err := c.Head(ctx)
					if err != nil || h.Hash != tip.Hash.String() {
						errs <- fmt.Errorf("head %v %v", h, err)
					}
				case 1:
					blk, err := c.BlockByHeight(ctx, 2, j%2 == 0)
					if err != nil || blk.TxCount != 10 {
						errs <- fmt.Errorf("block %v", err)
					}
				case 2:
					if _, err := c.MinerStart(ctx, MinerStartParams{Threads: 1 + j%4}); err != nil {
						errs <- err
					}
				case 3:
					if _, err := c.PoolContent(ctx); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
