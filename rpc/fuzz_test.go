package rpc

import (
	"net/http"
	"testing"
)

// FuzzServeHTTP posts arbitrary bodies, with and without the admin token:
// the server never panics, and answers either nothing (notifications
// only, HTTP 204) or a JSON-RPC response object or a non-empty array of
// them. Seeds are in testdata/fuzz/FuzzServeHTTP.
func FuzzServeHTTP(f *testing.F) {
	b := newTestBackend(f)
	s, err := NewServer(Config{Token: testToken, MaxBodyBytes: 64 << 10, MaxBatch: 20}, b)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		req(1, "chain_getHead", ""),
		req(1, "chain_getBlock", "[2, true]"),
		`[` + req(1, "miner_start", `{"threads":2}`) + `,{"jsonrpc":"2.0","method":"node_info"}]`,
		`[]`, `[1,2]`, `{`, `null`, ``,
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, admin bool) {
		token := ""
		if admin {
			token = testToken
		}
		code, resp := exchange(t, s.Handler(), string(body), token)
		if len(resp) == 0 {
			if code != http.StatusNoContent {
				t.Fatalf("empty body with HTTP %d", code)
			}
			return
		}
		if err := validResponse(resp); err != nil {
			t.Fatalf("HTTP %d: %v\nrequest:  %q\nresponse: %s", code, err, body, resp)
		}
	})
}
