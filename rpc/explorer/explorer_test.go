package explorer

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
)

func newTestExplorer(t testing.TB, b rpc.Backend) *Explorer {
	t.Helper()
	e, err := New(b, Config{Now: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type response struct {
	status int
	header http.Header
	body   string
}

func get(t testing.TB, h http.Handler, method, target string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

// want checks status and that the body holds every string of has.
func (r response) want(t testing.TB, what string, status int, has ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	for _, s := range has {
		if !strings.Contains(r.body, s) {
			t.Fatalf("%s: body lacks %q\n%s", what, s, r.body)
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	tip := f.b.Tip()
	r := get(t, e, "GET", "/explorer/")
	r.want(t, "overview", 200,
		"<!doctype html>", `id="tip-height" href="/explorer/block/4">4</a>`, tip.Hash.String(),
		"cairn-test",           // the network, in the header
		"1 pending, 1 queued",  // the pool
		"Last 5 blocks",        // b4..genesis
		"<svg class=\"chart\"", // the chart
		"valid-headers",        // s2, a side branch never connected
		"headers-only",         // h5
		"none seen",            // no reorganisation yet
		"12D3KooWQYhTNQ",       // a peer
		`data-ws="/ws"`,        // the script's WebSocket
		"/explorer/static/explorer.js")
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	// b2 has 10 txs; its row says so, with its interval.
	b2 := f.g.Hash("b2").String()
	i := strings.Index(r.body, `href="/explorer/block/`+b2+`"`)
	if i < 0 || !strings.Contains(r.body[i:i+600], `<td class="num">10</td>`) ||
		!strings.Contains(r.body[i:i+600], "1.0 s") {
		t.Fatalf("b2's row lacks its tx count or interval:\n%s", r.body[max(i, 0):max(i, 0)+600])
	}

	// The fragment is the live panels alone.
	fr := get(t, e, "GET", "/explorer/fragment/overview")
	fr.want(t, "fragment", 200, `id="overview" data-height="4"`, tip.Hash.String())
	if strings.Contains(fr.body, "<html") || strings.Contains(fr.body, "<script") {
		t.Fatalf("fragment has the layout:\n%s", fr.body)
	}
}

func TestBlockPage(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	b2 := f.g.Hash("b2").String()
	byHeight := get(t, e, "GET", "/explorer/block/2")
	byHeight.want(t, "block 2", 200, "Block 2", b2, "main chain · 3 confirmations", "Transactions <span class=\"dim\">10</span>",
		"← parent", "next →", f.g.Hash("b3").String())
	byHash := get(t, e, "GET", "/explorer/block/"+b2)
	if byHash.body != byHeight.body {
		t.Fatal("block by hash and by height differ")
	}
	// Upper-case hex is the same block.
	get(t, e, "GET", "/explorer/block/"+strings.ToUpper(b2)).want(t, "upper-case hash", 200, b2)
	get(t, e, "GET", "/explorer/block/"+f.g.Hash("s2").String()).want(t, "side block", 200, "not on the main chain")
	get(t, e, "GET", "/explorer/block/"+f.g.Hash("h5").String()).want(t, "header-only block", 200,
		"has not stored its body")
	get(t, e, "GET", "/explorer/block/0").want(t, "genesis", 200, "(genesis)")
	// The evil memo of b1's tx is text.
	get(t, e, "GET", "/explorer/block/1").want(t, "block 1", 200, html.EscapeString(evilMemo))

	for _, ref := range []string{"5", "99999999999999999999999", "abc", "00" + b2[2:], "-1"} {
		get(t, e, "GET", "/explorer/block/"+url.PathEscape(ref)).want(t, "block "+ref, 404, "Not found")
	}
}

func TestTxPage(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	id := f.payTx.ID().String()
	r := get(t, e, "GET", "/explorer/tx/"+id)
	r.want(t, "confirmed tx", 200, id, "confirmed · 4 confirmations", "5 CRN", "0.00002 CRN",
		`<span id="memo-text">`+html.EscapeString(evilMemo)+"</span>", f.g.Hash("b1").String(),
		chaintest.Key("alice").Address().String(), chaintest.Key("bob").Address().String())
	pending := f.pendingTx.ID().String()
	get(t, e, "GET", "/explorer/tx/"+pending).want(t, "pending tx", 200, "pending in the pool", "7 CRN",
		html.EscapeString(evilPoolMemo))
	get(t, e, "GET", "/explorer/tx/"+f.queuedTx.ID().String()).want(t, "queued tx", 200, "pending in the pool")
	get(t, e, "GET", "/explorer/tx/"+strings.Repeat("ab", 32)).want(t, "unknown tx", 404, "no tx with this id")
	get(t, e, "GET", "/explorer/tx/nothex").want(t, "bad tx id", 404, "not a tx id")
}

func TestAddressPage(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	dave := chaintest.Key("dave").Address().String()
	r := get(t, e, "GET", "/explorer/address/"+dave)
	// dave's history as state_getHistory has it: carol's two pooled txs
	// first, ending with his genesis allocation.
	want, err := rpc.AddressHistory(f.b, chaintest.Key("dave").Address(), rpc.HistoryOptions{Limit: historyPage})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(r.body, `<tr class="entry `); n != len(want.Entries) || n < 4 {
		t.Fatalf("%d history rows, state_getHistory has %d:\n%s", n, len(want.Entries), r.body)
	}
	acc, _ := f.b.Account(chaintest.Key("dave").Address())
	r.want(t, "address", 200, dave, formatCRNUnits(acc.Balance), `<tr class="entry received pending">`,
		`<tr class="entry genesis">`, "+7 CRN", f.pendingTx.ID().String())

	// Paging: one entry a page, following the links' cursors.
	bob := chaintest.Key("bob").Address()
	all, err := rpc.AddressHistory(f.b, bob, rpc.HistoryOptions{Limit: rpc.MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := rpc.AddressHistory(f.b, bob, rpc.HistoryOptions{Limit: historyPage})
	if err != nil || len(hist.Entries) != len(all.Entries) || hist.Next != "" {
		t.Fatalf("bob's history %d entries of %d, next %q, %v", len(hist.Entries), len(all.Entries), hist.Next, err)
	}
	get(t, e, "GET", "/explorer/address/"+bob.String()+"?cursor=c2.0").want(t, "second page", 200, "continued")
	get(t, e, "GET", "/explorer/address/"+bob.String()+"?cursor=bogus").want(t, "bad cursor", 400, "not a page")

	get(t, e, "GET", "/explorer/address/cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq").want(t, "bad address", 404, "not a cairn address")
	unused := chaintest.Key("nobody").Address().String()
	get(t, e, "GET", "/explorer/address/"+unused).want(t, "unused address", 200, "0 CRN", "never received or sent")
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	dave := chaintest.Key("dave").Address().String()
	b3 := f.g.Hash("b3").String()
	for _, c := range []struct{ q, to string }{
		{"3", "/explorer/block/3"},
		{" #3 ", "/explorer/block/3"},
		{"0", "/explorer/block/0"},
		{b3, "/explorer/block/" + b3},
		{strings.ToUpper(b3), "/explorer/block/" + b3},
		{f.g.Hash("s2").String(), "/explorer/block/" + f.g.Hash("s2").String()},
		{f.payTx.ID().String(), "/explorer/tx/" + f.payTx.ID().String()},
		{f.pendingTx.ID().String(), "/explorer/tx/" + f.pendingTx.ID().String()},
		{dave, "/explorer/address/" + dave},
		{strings.ToUpper(dave), "/explorer/address/" + dave},
	} {
		r := get(t, e, "GET", "/explorer/search?q="+url.QueryEscape(c.q))
		if r.status != http.StatusSeeOther || r.header.Get("Location") != c.to {
			t.Errorf("search %q: %d to %q, want 303 to %q", c.q, r.status, r.header.Get("Location"), c.to)
		}
	}
	for _, c := range []struct{ q, why string }{
		{"", "type a block height"},
		{"5", "no block at height 5: the tip is at 4"},
		{"18446744073709551616", "no block at height"},
		{strings.Repeat("ab", 32), "no block and no tx"},
		{strings.Repeat("zz", 32), "not all hex digits"},
		{dave[:len(dave)-1] + "x", "not a cairn address"},
		{"hello <b>world</b>", "not a block height"},
		{strings.Repeat("9", 1000), "too long"},
		{"\x00\xff", "not a block height"},
	} {
		r := get(t, e, "GET", "/explorer/search?q="+url.QueryEscape(c.q))
		r.want(t, fmt.Sprintf("search %q", c.q), 404, "Not found", c.why)
		if strings.Contains(r.body, "<b>world</b>") {
			t.Fatalf("search text not escaped:\n%s", r.body)
		}
	}
}

// FuzzSearch: whatever is searched, the answer is a redirect to a page
// that exists or a 404 page; never a failure, never the text unescaped.
func FuzzSearch(f *testing.F) {
	fx := newFixture(f)
	e := newTestExplorer(f, fx.b)
	for _, s := range []string{"", "0", "4", "#2", fx.g.Hash("b2").String(), fx.payTx.ID().String(),
		chaintest.Key("bob").Address().String(), "cairn1", "<script>", "<", "%zz", "1e3", " 1 ", "\u00a0",
		strings.Repeat("é", 100), "a+b&c\"d'e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := get(t, e, "GET", "/explorer/search?q="+url.QueryEscape(q))
		switch r.status {
		case http.StatusSeeOther:
			to := r.header.Get("Location")
			get(t, e, "GET", to).want(t, "search result "+to, 200)
		case http.StatusNotFound:
			// The query is shown as text: nothing in it opens a tag, and
			// unescaped it is what was searched (as shown: trimmed, and
			// cut when long).
			shown := shorten(strings.TrimSpace(q))
			if shown == "" {
				break
			}
			const open = `id="notfound-what">`
			i := strings.Index(r.body, open)
			j := strings.Index(r.body[max(i, 0):], "</q>")
			if i < 0 || j < 0 {
				t.Fatalf("search %q: the query is not on the page:\n%s", q, r.body)
			}
			text := r.body[i+len(open) : i+j]
			if strings.ContainsAny(text, "<>") {
				t.Fatalf("search %q shown unescaped: %q", q, text)
			}
			if utf8.ValidString(shown) && !strings.ContainsRune(shown, 0) && html.UnescapeString(text) != shown {
				t.Fatalf("search %q shown as %q", q, html.UnescapeString(text))
			}
		default:
			t.Fatalf("search %q: status %d", q, r.status)
		}
	})
}

func TestMethodsAndPaths(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		r := get(t, e, m, "/explorer/")
		if r.status != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "GET") {
			t.Errorf("%s /explorer/: %d, Allow %q", m, r.status, r.header.Get("Allow"))
		}
	}
	if r := get(t, e, "HEAD", "/explorer/"); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}
	get(t, e, "GET", "/explorer/nothing/here").want(t, "unknown path", 404, "no such page")
	css := get(t, e, "GET", "/explorer/static/explorer.css")
	css.want(t, "css", 200, "svg.chart")
	if ct := css.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("css Content-Type %q", ct)
	}
	js := get(t, e, "GET", "/explorer/static/explorer.js")
	js.want(t, "js", 200, "chain_subscribe", "newHeads")
	if ct := js.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("js Content-Type %q", ct)
	}
	get(t, e, "GET", "/explorer/static/nope.js").want(t, "missing asset", 404)
}

// Mounted on the RPC server: GET / from a browser goes to the overview,
// the pages are behind the Host guard, and the API still answers.
func TestMountedOnServer(t *testing.T) {
	f := newFixture(t)
	srv, err := rpc.NewServer(rpc.Config{}, f.b)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle(DefaultPrefix, newTestExplorer(t, f.b), true)
	h := srv.Handler()

	req := httptest.NewRequest("GET", "http://127.0.0.1:7731/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != DefaultPrefix {
		t.Fatalf("GET / from a browser: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	req = httptest.NewRequest("GET", "http://127.0.0.1:7731/explorer/", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET /explorer/: %d", rec.Code)
	}
	req = httptest.NewRequest("GET", "http://evil.example/explorer/", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("GET /explorer/ with a foreign Host: %d", rec.Code)
	}
	req = httptest.NewRequest("POST", "http://127.0.0.1:7731/", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"chain_getHead"}`))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), f.b.Tip().Hash.String()) {
		t.Fatalf("the API beside the explorer: %d %s", rec.Code, rec.Body)
	}
}

// TipChanged keeps the last reorganisations, newest first, and the
// overview lists them.
func TestReorgRing(t *testing.T) {
	f := newFixture(t)
	e := newTestExplorer(t, f.b)
	g := f.g
	e.TipChanged(chain.Result{Connected: []*types.Block{g.Get("b3")}}) // an extension: not recorded
	if len(e.Reorgs()) != 0 {
		t.Fatal("an extension recorded as a reorganisation")
	}
	// The reorganisation that made b2 the main chain's block 2 over s2.
	e.TipChanged(chain.Result{Disconnected: []*types.Block{g.Get("s2")}, Connected: []*types.Block{g.Get("b2"), g.Get("b3")}})
	rs := e.Reorgs()
	want := Reorg{Time: fixtureNow, OldTip: g.Hash("s2"), NewTip: g.Hash("b3"), NewHeight: 3, ForkHeight: 1,
		ForkHash: g.Hash("b1"), Removed: 1, Added: 2}
	if len(rs) != 1 || rs[0] != want {
		t.Fatalf("reorgs %+v, want %+v", rs, want)
	}
	get(t, e, "GET", "/explorer/fragment/overview").want(t, "reorg listed", 200, `<li class="reorg">`,
		"depth <b>1</b>", g.Hash("s2").String(), "fork at <a href=\"/explorer/block/1\">1</a>")

	for i := range maxReorgs + 3 {
		e.TipChanged(chain.Result{Disconnected: make([]*types.Block, 0, 1), Connected: []*types.Block{g.Get("b4")}}) // not a reorg
		e.TipChanged(chain.Result{Disconnected: []*types.Block{g.Get("b2"), g.Get("b1")}[:1+i%2],
			Connected: []*types.Block{g.Get("s2")}})
	}
	rs = e.Reorgs()
	if len(rs) != maxReorgs {
		t.Fatalf("%d reorgs kept, want %d", len(rs), maxReorgs)
	}
	if rs[0].Removed != 1+(maxReorgs+2)%2 || rs[0].NewTip != g.Hash("s2") {
		t.Fatalf("newest reorg %+v", rs[0])
	}
}

func TestChart(t *testing.T) {
	g := chaintest.New(t)
	// Intervals of 1 s, then one gap of 100 s that must not flatten the
	// others: it is clipped.
	g.Chain("a", "genesis", 30)
	g.Block("gap", "a30", func(bg *chaintest.BlockGen) { bg.Header.Time += 99_000 })
	g.Chain("c", "gap", 10)
	c := g.Open(chain.Config{Now: func() time.Time { return time.UnixMilli(g.Get("c41").Header.Time) }})
	names := append(chaintest.Seq("a", 1, 30), "gap")
	g.Process(c, append(names, chaintest.Seq("c", 32, 41)...)...)
	e, err := New(&testBackend{c: c, pool: newPool(t, g, c)}, Config{ChartBlocks: 40})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.overview()
	if err != nil {
		t.Fatal(err)
	}
	ch := v.Chart
	if ch.Empty || len(ch.Bars) != 40 || ch.FirstHeight != 2 || ch.LastHeight != 41 {
		t.Fatalf("chart of %d bars, heights %d–%d", len(ch.Bars), ch.FirstHeight, ch.LastHeight)
	}
	clipped := 0
	for _, b := range ch.Bars {
		if b.Y < ch.Top || b.Y+b.H > ch.Bottom+0.1 || b.X < ch.Left || b.X+b.W > ch.Right+0.1 {
			t.Fatalf("bar %+v outside the plot %v–%v × %v–%v", b, ch.Left, ch.Right, ch.Top, ch.Bottom)
		}
		if b.Clipped {
			clipped++
			if b.Height != 31 {
				t.Fatalf("block %d clipped", b.Height)
			}
		}
	}
	if clipped != 1 || len(strings.Fields(ch.DiffPoints)) != 40 {
		t.Fatalf("%d clipped bars, %d difficulty points", clipped, len(strings.Fields(ch.DiffPoints)))
	}
	// The hash rate is the work of the window over its time.
	if v.RateBlocks != 40 || v.RateMs != 40_000+99_000 || v.HashRate <= 0 {
		t.Fatalf("hash rate over %d blocks, %d ms: %v", v.RateBlocks, v.RateMs, v.HashRate)
	}
	// A chain of genesis alone has no chart and no rate.
	g0 := chaintest.New(t)
	c0 := g0.Open(chain.Config{})
	e0, _ := New(&testBackend{c: c0, pool: newPool(t, g0, c0)}, Config{})
	get(t, e0, "GET", "/explorer/").want(t, "genesis only", 200, "no blocks after genesis yet", `id="hashrate">—`)
}

func TestFormat(t *testing.T) {
	for in, want := range map[string]string{"0": "0 CRN", "150000000": "1.5 CRN", "1": "0.00000001 CRN",
		"100000000000000": "1000000 CRN", "x": "x"} {
		if got := formatCRN(in); got != want {
			t.Errorf("formatCRN(%q) = %q, want %q", in, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0 H/s", 999: "999 H/s", 1234567: "1.23 MH/s", 999.6: "1 kH/s",
		1.45e-7: "145 nH/s", 0.5: "500 mH/s", 1e40: "1.00e+10 QH/s"} {
		if got := formatSI(v, "H/s"); got != want {
			t.Errorf("formatSI(%v) = %q, want %q", v, got, want)
		}
	}
	for ms, want := range map[int64]string{1000: "1.0 s", -400: "-0.4 s", 12345: "12.3 s", 845_000: "14 min 5 s",
		-845_000: "-14 min 5 s", 12_000_000: "3 h 20 min", 96_660_000_000: "1118 d 18 h"} {
		if got := formatInterval(ms); got != want {
			t.Errorf("formatInterval(%d) = %q, want %q", ms, got, want)
		}
	}
	now := time.UnixMilli(1_000_000_000)
	for ms, want := range map[int64]string{1_000_000_000 - 5000: "5 s ago", 1_000_000_000 - 180_000: "3 min ago",
		1_000_000_000 + 60_000: "in the future"} {
		if got := formatAgo(now, ms); got != want {
			t.Errorf("formatAgo(%d) = %q, want %q", ms, got, want)
		}
	}
	if memoText(fmt.Sprintf("%x", "hi\x00")) != "" || memoText(fmt.Sprintf("%x", "héllo")) != "héllo" ||
		memoText("zz") != "" || memoText("") != "" {
		t.Error("memoText")
	}
	if got := niceCeil(3.2); got != 5 {
		t.Errorf("niceCeil(3.2) = %v", got)
	}
}
