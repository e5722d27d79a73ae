package node

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
)

// The node serves the explorer beside its RPC: GET /explorer/ is the
// overview, GET / from a browser redirects there (a JSON-RPC client's GET
// still gets the API's 405), and the node's reorganisations are listed.
func TestNodeServesExplorer(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 2)
	g.Branch("b", "genesis", 3, func(_ uint64, bg *chaintest.BlockGen) { bg.Header.Time++ }) // not a's blocks
	cfg := Config{Params: g.Params, NoNetwork: true}
	cfg.RPC.Addr = "127.0.0.1:0"
	n := startNode(t, cfg)
	for _, name := range []string{"a1", "a2", "b1", "b2", "b3"} {
		if _, err := n.SubmitBlock(g.Get(name)); err != nil {
			t.Fatalf("submit %s: %v", name, err)
		}
	}
	if n.Chain().Tip().Hash != g.Hash("b3") {
		t.Fatal("no reorganisation to b3")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), "GET", n.RPCURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	resp, body := get("/explorer/", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /explorer/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, s := range []string{"<!doctype html>", g.Hash("b3").String(), ">3</a>", "cairn-test",
		"depth <b>2</b>", g.Hash("a2").String()} { // the reorganisation from a2 to b3
		if !strings.Contains(body, s) {
			t.Fatalf("the overview lacks %q:\n%s", s, body)
		}
	}
	resp, _ = get("/", "text/html,application/xhtml+xml,*/*;q=0.8")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/explorer/" {
		t.Fatalf("GET / from a browser: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = get("/", "application/json"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET / from a JSON client: %d", resp.StatusCode)
	}
}
