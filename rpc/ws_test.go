package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
)

// wsServer serves a test backend's API on a loopback HTTP server.
func wsServer(t *testing.T, cfg Config) (*Server, *testBackend, string) {
	t.Helper()
	b := newTestBackend(t)
	cfg.Token = testToken
	s, err := NewServer(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.closeConns()
		hs.Close()
	})
	return s, b, hs.URL
}

func dial(t *testing.T, url, token string) *WSClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := DialWS(ctx, url, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next waits for a notification, bounded.
func next(t *testing.T, sub *Subscription) json.RawMessage {
	t.Helper()
	select {
	case r, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5 s")
	}
	return nil
}

// TestWSCalls: every HTTP method answers over the WebSocket the same way;
// admin methods need the token, from the Authorization header or the
// token query parameter.
func TestWSCalls(t *testing.T) {
	_, b, url := wsServer(t, Config{})
	ctx := context.Background()
	c := dial(t, url, "")
	var head Head
	if err := c.Call(ctx, "chain_getHead", nil, &head); err != nil || head.Hash != b.c.Tip().Hash.String() {
		t.Fatalf("chain_getHead over WebSocket: %+v, %v", head, err)
	}
	var e *Error
	if err := c.Call(ctx, "miner_stop", nil, nil); !errors.As(err, &e) || e.Code != CodeUnauthorized {
		t.Fatalf("admin call without the token: %v", err)
	}
	if err := dial(t, url, testToken).Call(ctx, "miner_stop", nil, nil); err != nil {
		t.Fatalf("admin call with the token in the header: %v", err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(url, "http", "ws", 1)+"/ws?token="+testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`[{"jsonrpc":"2.0","id":7,"method":"miner_stop"},{"jsonrpc":"2.0","id":8,"method":"nope"}]`))
	_, msg, err := ws.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"id":7,"result"`) || !strings.Contains(string(msg), `"id":8,"error":{"code":-32601`) {
		t.Fatalf("a batch with the token as a query parameter: %s, %v", msg, err)
	}
	// Subscriptions over HTTP are refused with a clear error.
	hc := NewClient(url)
	if err := hc.Call(ctx, "chain_subscribe", []any{"newHeads"}, nil); !errors.As(err, &e) || !strings.Contains(e.Message, "need a WebSocket") {
		t.Fatalf("chain_subscribe over HTTP: %v", err)
	}
	// A plain GET of /ws is told what it is.
	resp, err := http.Get(url + "/ws")
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET /ws: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

// extend builds and imports count empty blocks on the tip, returning the
// chain's result for each.
func extend(t *testing.T, b *testBackend, parent string, prefix string, count int) []chain.Result {
	t.Helper()
	var out []chain.Result
	tweak := int64(prefix[0]) // blocks of another branch differ
	for _, blk := range b.g.Branch(prefix, parent, count, func(_ uint64, bg *chaintest.BlockGen) { bg.Header.Time += tweak }) {
		res, err := b.c.ProcessBlock(blk)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

// TestWSNewHeads: each new head arrives with the header chain_getHeader
// gives; a reorganisation is announced, with the blocks it removed and
// added, before the new heads; unsubscribing answers true and ends them.
func TestWSNewHeads(t *testing.T) {
	s, b, url := wsServer(t, Config{})
	ctx := context.Background()
	c := dial(t, url, "")
	sub, err := c.Subscribe(ctx, SubNewHeads)
	if err != nil || !strings.HasPrefix(sub.ID, "0x") {
		t.Fatalf("subscribe: %+v, %v", sub, err)
	}
	for _, res := range extend(t, b, "b4", "n", 3) {
		s.NotifyChain(res)
		var h Header
		if err := json.Unmarshal(next(t, sub), &h); err != nil {
			t.Fatal(err)
		}
		var want Header
		if err := NewClient(url).Call(ctx, "chain_getHeader", []any{h.Height}, &want); err != nil || h.Hash != want.Hash ||
			h.Hash != res.Connected[0].Hash().String() {
			t.Fatalf("head %+v, chain_getHeader %+v, %v", h, want, err)
		}
	}
	// A heavier branch from n5 replaces n6 and n7.
	var reorg chain.Result
	for _, res := range extend(t, b, "n5", "r", 3) {
		if len(res.Disconnected) > 0 {
			reorg = res
		}
		s.NotifyChain(res)
	}
	var r Reorg
	if err := json.Unmarshal(next(t, sub), &r); err != nil || r.Reorg.ForkHash != b.g.Hash("n5").String() ||
		r.Reorg.ForkHeight != 5 || len(r.Reorg.Removed) != 2 || r.Reorg.Removed[0] != b.g.Hash("n7").String() ||
		r.Reorg.OldTip != b.g.Hash("n7").String() || r.Reorg.NewTip != reorg.Connected[len(reorg.Connected)-1].Hash().String() {
		t.Fatalf("reorg notification %+v, %v", r, err)
	}
	for _, blk := range reorg.Connected {
		var h Header
		if err := json.Unmarshal(next(t, sub), &h); err != nil || h.Hash != blk.Hash().String() {
			t.Fatalf("head after the reorg %+v, want %s", h, blk.Hash())
		}
	}
	if err := c.Unsubscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := c.Call(ctx, "chain_unsubscribe", []any{sub.ID}, nil); !errors.As(err, &e) || e.Code != CodeNotFound {
		t.Fatalf("unsubscribe twice: %v", err)
	}
	s.subMu.RLock()
	n := len(s.hub.heads)
	s.subMu.RUnlock()
	if n != 0 {
		t.Fatalf("%d head subscriptions left", n)
	}
}

// TestWSTxsAndAddress: pool admissions reach newPendingTransactions, and
// an address subscriber hears of its tx pending, confirmed and removed.
func TestWSTxsAndAddress(t *testing.T) {
	s, b, url := wsServer(t, Config{})
	ctx := context.Background()
	c := dial(t, url, "")
	dave := chaintest.Key("dave").Address()
	txs, err := c.Subscribe(ctx, SubPendingTxs)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := c.Subscribe(ctx, SubAddress, dave.String())
	if err != nil {
		t.Fatal(err)
	}
	tx := b.g.Tx("dave", chaintest.Key("alice").Address(), 1_00000000, 2000, b.NextNonce(dave))
	if _, err := b.pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	s.NotifyTx(tx)
	if got := next(t, txs); string(got) != `"`+tx.ID().String()+`"` {
		t.Fatalf("newPendingTransactions: %s", got)
	}
	var ev AddressEvent
	if err := json.Unmarshal(next(t, addr), &ev); err != nil || ev.Status != "pending" || ev.Tx.ID != tx.ID().String() {
		t.Fatalf("address event %+v, %v", ev, err)
	}
	blk := b.g.Block("m5", "b4", func(bg *chaintest.BlockGen) { bg.Txs = append(bg.Txs, tx) })
	res, err := b.c.ProcessBlock(blk)
	if err != nil {
		t.Fatal(err)
	}
	s.NotifyChain(res)
	if err := json.Unmarshal(next(t, addr), &ev); err != nil || ev.Status != "confirmed" || ev.Height != 5 || ev.BlockHash != blk.Hash().String() {
		t.Fatalf("address event %+v, %v", ev, err)
	}
	s.NotifyChain(chain.Result{Disconnected: []*types.Block{blk}}) // as a reorganisation would
	if err := json.Unmarshal(next(t, addr), &ev); err != nil || ev.Status != "removed" || ev.Tx.ID != tx.ID().String() {
		t.Fatalf("address event %+v, %v", ev, err)
	}
	var e *Error
	if err := c.Call(ctx, "chain_subscribe", []any{"address"}, nil); !errors.As(err, &e) || e.Code != CodeInvalidParams {
		t.Fatalf("address subscription without an address: %v", err)
	}
	if err := c.Call(ctx, "chain_subscribe", []any{"logs"}, nil); !errors.As(err, &e) || e.Code != CodeInvalidParams {
		t.Fatalf("unknown kind: %v", err)
	}
}

// TestWSLimits: connections over the limit are refused with 503, and
// subscriptions over the limit with a clear error.
func TestWSLimits(t *testing.T) {
	_, _, url := wsServer(t, Config{MaxWSConns: 2, MaxSubs: 3})
	ctx := context.Background()
	c := dial(t, url, "")
	dial(t, url, "")
	_, resp, err := websocket.DefaultDialer.Dial(strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third connection: %v, %v", resp, err)
	}
	resp.Body.Close()
	for range 3 {
		if _, err := c.Subscribe(ctx, SubNewHeads); err != nil {
			t.Fatal(err)
		}
	}
	var e *Error
	if _, err := c.Subscribe(ctx, SubNewHeads); !errors.As(err, &e) || !strings.Contains(e.Message, "subscription limit reached (3 per connection)") {
		t.Fatalf("a fourth subscription: %v", err)
	}
}

// TestWSSlowClient: a client that never reads is disconnected with code
// 1008 once its queue is full, while the notifying side never waits (it
// runs here on the test's goroutine: a wait would hang the test) and a
// reading subscriber gets every head.
func TestWSSlowClient(t *testing.T) {
	s, b, url := wsServer(t, Config{WSQueue: 100})
	ctx := context.Background()
	good := dial(t, url, "")
	goodSub, err := good.Subscribe(ctx, SubNewHeads)
	if err != nil {
		t.Fatal(err)
	}
	// The slow client subscribes and then never reads again.
	slow, _, err := websocket.DefaultDialer.Dial(strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"chain_subscribe","params":["newHeads"]}`))
	if _, _, err := slow.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	conns := func() int {
		s.subMu.RLock()
		defer s.subMu.RUnlock()
		return len(s.hub.conns)
	}
	// The same head, over and over, until the socket buffers between the
	// server and the slow client are full and then its queue: in step with
	// the good subscriber, whose queue never holds more than one.
	res := extend(t, b, "b4", "q", 1)[0]
	want := res.Connected[0].Hash().String()
	var sent int
	var slowest time.Duration
	deadline := time.Now().Add(60 * time.Second)
	for ; conns() == 2; sent++ {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client still connected after %d notifications", sent)
		}
		t0 := time.Now()
		s.NotifyChain(res)
		slowest = max(slowest, time.Since(t0))
		var h Header
		if err := json.Unmarshal(next(t, goodSub), &h); err != nil || h.Hash != want {
			t.Fatalf("the reading subscriber got %+v", h)
		}
	}
	t.Logf("slow client disconnected after %d notifications; the slowest NotifyChain took %v", sent, slowest)
	if n := s.slowDrops.Load(); n != 1 {
		t.Fatalf("%d clients dropped as too slow, want 1", n)
	}
	// The slow client finds, under what it left unread, the close frame
	// 1008 — if there was room for it; else the connection just ends.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation && ce.Code != websocket.CloseAbnormalClosure ||
				ce.Code == websocket.ClosePolicyViolation && !strings.Contains(ce.Text, "queue overflow") {
				t.Fatalf("closed with %d %q", ce.Code, ce.Text)
			}
			t.Logf("the slow client saw close code %d %q", ce.Code, ce.Text)
			break
		}
		if err != nil {
			t.Fatalf("the slow client's connection did not end: %v", err)
		}
	}
	// The good one is still served.
	s.NotifyChain(res)
	next(t, goodSub)
}

// TestGoldenWebSocket replays testdata/websocket.golden: a session on the
// WebSocket — calls, subscriptions with their notifications, an
// unsubscription, errors. Run with -update to rewrite it.
func TestGoldenWebSocket(t *testing.T) {
	s, b, url := wsServer(t, Config{})
	n := 0
	s.newSubID = func() string { n++; return fmt.Sprintf("0x%032x", n) }
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var out bytes.Buffer
	out.WriteString("# websocket — a session on ws://<rpc address>/ws, checked by TestGoldenWebSocket\n")
	out.WriteString("# (go test ./rpc -run TestGoldenWebSocket -update rewrites it). --> is sent, <-- received;\n")
	out.WriteString("# (…) says what happened on the node meanwhile.\n")
	recv := func(notice bool) {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !notice {
			checkResponse(t, msg)
		} else if !bytes.HasPrefix(msg, []byte(`{"jsonrpc":"2.0","method":"chain_subscription","params":{"subscription":"0x`)) {
			t.Fatalf("not a notification: %s", msg)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, msg, "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "<-- %s\n", ind.Bytes())
	}
	send := func(comment, body string) {
		t.Helper()
		fmt.Fprintf(&out, "\n# %s\n--> %s\n", comment, body)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(body)); err != nil {
			t.Fatal(err)
		}
		recv(false)
	}
	event := func(what string, count int) {
		fmt.Fprintf(&out, "\n# (%s)\n", what)
		for range count {
			recv(true)
		}
	}
	dave := chaintest.Key("dave").Address()
	send("Any method, as over HTTP.", req(1, "chain_getHead", ""))
	send("Subscribe to new heads: the result is the subscription's id.", req(2, "chain_subscribe", `["newHeads"]`))
	send("Subscribe to the txs of an address.", req(3, "chain_subscribe", fmt.Sprintf(`["address", %q]`, dave)))
	tx := b.g.Tx("dave", chaintest.Key("alice").Address(), 1_00000000, 2000, b.NextNonce(dave))
	if _, err := b.pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	s.NotifyTx(tx)
	event("dave's tx enters the pool: the address subscription hears of it", 1)
	blk := b.g.Block("w5", "b4", func(bg *chaintest.BlockGen) { bg.Txs = append(bg.Txs, tx) })
	res, err := b.c.ProcessBlock(blk)
	if err != nil {
		t.Fatal(err)
	}
	s.NotifyChain(res)
	event("a block with dave's tx joins the main chain: its header, then the tx confirmed", 2)
	send("End a subscription.", req(4, "chain_unsubscribe", `["0x00000000000000000000000000000001"]`))
	send("Ending it again: it is gone.", req(5, "chain_unsubscribe", `["0x00000000000000000000000000000001"]`))
	send("Bad params: an unknown kind.", req(6, "chain_subscribe", `["logs"]`))
	send("Bad params: an address subscription names one.", req(7, "chain_subscribe", `["address"]`))
	path := filepath.Join("testdata", "websocket.golden")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rpc -run TestGoldenWebSocket -update)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s differs (go test ./rpc -run TestGoldenWebSocket -update rewrites it):\n%s", path, firstDiff(want, out.Bytes()))
	}
}
