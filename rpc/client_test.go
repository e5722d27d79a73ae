package rpc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
)

func TestClient(t *testing.T) {
	b := newTestBackend(t)
	s := newTestServer(t, b)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ctx := context.Background()
	c := NewClient(ts.URL)
	admin := NewClient(ts.URL, WithToken(testToken), WithHTTPClient(ts.Client()))
	g := b.g

	head, err := c.Head(ctx)
	if err != nil || head.Height != 4 || head.Hash != g.Hash("b4").String() || head.Bits != "207fffff" {
		t.Fatalf("Head = %+v, %v", head, err)
	}
	blk, err := c.BlockByHeight(ctx, 2, false)
	if err != nil || blk.Hash != g.Hash("b2").String() || len(blk.TxIDs) != 10 || blk.Txs != nil || blk.Confirmations != 3 {
		t.Fatalf("BlockByHeight = %+v, %v", blk, err)
	}
	blk, err = c.BlockByHash(ctx, g.Hash("b2").String(), true)
	if err != nil || len(blk.Txs) != 10 || blk.Txs[0].Index != 0 || blk.Txs[9].Index != 9 || blk.Txs[9].Status != StatusConfirmed {
		t.Fatalf("BlockByHash = %+v, %v", blk, err)
	}
	hdr, err := c.HeaderByHeight(ctx, 0)
	if err != nil || hdr.Hash != g.Hash("genesis").String() || !hdr.MainChain || hdr.Confirmations != 5 {
		t.Fatalf("HeaderByHeight = %+v, %v", hdr, err)
	}
	hdr, err = c.HeaderByHash(ctx, g.Hash("s2").String())
	if err != nil || hdr.MainChain || hdr.Confirmations != 0 {
		t.Fatalf("HeaderByHash(s2) = %+v, %v", hdr, err)
	}
	tx, err := c.Transaction(ctx, b.payTx.ID().String())
	if err != nil || tx.Status != StatusConfirmed || tx.Height != 1 || tx.Index != 0 || tx.Confirmations != 4 || tx.Raw == "" {
		t.Fatalf("Transaction = %+v, %v", tx, err)
	}
	tx, err = c.Transaction(ctx, b.pendingTx.ID().String())
	if err != nil || tx.Status != StatusPending || tx.Height != 0 {
		t.Fatalf("Transaction(pending) = %+v, %v", tx, err)
	}
	carol := chaintest.Key("carol").Address()
	acc, err := c.Account(ctx, carol.String())
	if err != nil || acc.PendingNonce != acc.Nonce+1 {
		t.Fatalf("Account = %+v, %v", acc, err)
	}

	dave := chaintest.Key("dave").Address()
	send := g.Tx("dave", carol, 1000, 5000, b.NextNonce(dave))
	id, err := c.SendTx(ctx, send)
	if err != nil || id != send.ID().String() {
		t.Fatalf("SendTx = %q, %v", id, err)
	}
	if again, err := c.SendTx(ctx, send); err != nil || again != id {
		t.Fatalf("SendTx again = %q, %v; want the id again", again, err)
	}
	_, err = c.SendTx(ctx, g.Tx("dave", carol, 1000, 10, b.NextNonce(dave)))
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Code != CodeTxRejected || rerr.Reason() != "fee-too-low" || !strings.HasPrefix(err.Error(), "fee-too-low: ") {
		t.Fatalf("SendTx of a low fee: %v", err)
	}
	if _, err := c.SendRawTx(ctx, "00"); !errors.As(err, &rerr) || rerr.Code != CodeInvalidParams || rerr.Reason() != "" {
		t.Fatalf("SendRawTx(00): %v", err)
	}
	st, err := c.PoolStatus(ctx)
	if err != nil || st.Pending != 2 || st.Queued != 1 {
		t.Fatalf("PoolStatus = %+v, %v", st, err)
	}
	pc, err := c.PoolContent(ctx)
	if err != nil || len(pc.Senders) != 2 {
		t.Fatalf("PoolContent = %+v, %v", pc, err)
	}
	ni, err := c.NetInfo(ctx)
	if err != nil || !ni.Enabled {
		t.Fatalf("NetInfo = %+v, %v", ni, err)
	}
	peers, err := c.Peers(ctx)
	if err != nil || len(peers) != 1 || peers[0].Height == nil || *peers[0].Height != 4 {
		t.Fatalf("Peers = %+v, %v", peers, err)
	}

	if err := c.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/"+testPeerB); !errors.As(err, &rerr) || rerr.Code != CodeUnauthorized || rerr.Reason() != ReasonUnauthorized {
		t.Fatalf("Connect without token: %v", err)
	}
	if err := admin.Connect(ctx, "/ip4/127.0.0.1/tcp/1/p2p/"+testPeerB); err != nil {
		t.Fatal(err)
	}
	if err := admin.Ban(ctx, testPeerB); err != nil {
		t.Fatal(err)
	}
	if err := admin.Unban(ctx, testPeerB); err != nil {
		t.Fatal(err)
	}
	if err := admin.Ban(ctx, "x"); !errors.As(err, &rerr) || rerr.Code != CodeInvalidParams {
		t.Fatalf("Ban(x): %v", err)
	}
	ms, err := admin.MinerStart(ctx, MinerStartParams{Threads: 3, Address: carol.String()})
	if err != nil || !ms.Running || ms.Threads != 3 || ms.Address != carol.String() {
		t.Fatalf("MinerStart = %+v, %v", ms, err)
	}
	if ms, err = c.MinerStatus(ctx); err != nil || !ms.Running {
		t.Fatalf("MinerStatus = %+v, %v", ms, err)
	}
	if ms, err = admin.MinerStop(ctx); err != nil || ms.Running {
		t.Fatalf("MinerStop = %+v, %v", ms, err)
	}
	info, err := c.NodeInfo(ctx)
	if err != nil || info.Tip != head.Hash || info.Genesis != g.Hash("genesis").String() {
		t.Fatalf("NodeInfo = %+v, %v", info, err)
	}

	if _, err := c.BlockByHeight(ctx, 99, false); !errors.As(err, &rerr) || rerr.Code != CodeNotFound || rerr.Reason() != ReasonNotFound {
		t.Fatalf("BlockByHeight(99): %v", err)
	}
	if err := c.Call(ctx, "chain_getBlockCount", nil, nil); !errors.As(err, &rerr) || rerr.Code != CodeMethodNotFound {
		t.Fatalf("unknown method: %v", err)
	}
	var raw map[string]any
	if err := c.Call(ctx, "chain_getHeader", map[string]any{"height": 1}, &raw); err != nil || raw["height"] != float64(1) {
		t.Fatalf("Call by name: %v %v", raw, err)
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = NewClient(url).Head(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if want := "cannot reach cairnd at " + url + " (is it running?): "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want prefix %q", err, want)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("cause not kept: %v", err)
	}
}

func TestClientNotJSONRPC(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	}))
	defer ts.Close()
	_, err := NewClient(ts.URL).Head(context.Background())
	if err == nil || errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "HTTP 404 with no JSON-RPC response") {
		t.Fatalf("err = %v", err)
	}
}

func TestClientContext(t *testing.T) {
	b := newTestBackend(t)
	ts := httptest.NewServer(newTestServer(t, b).Handler())
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewClient(ts.URL).Head(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestClientKeepAlive checks that sequential calls reuse one connection.
func TestClientKeepAlive(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(newTestServer(t, newTestBackend(t)).Handler())
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	c := NewClient(ts.URL)
	for range 20 {
		if _, err := c.Head(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 calls opened %d connections, want 1", n)
	}
}
