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

// FuzzHistoryCursor: state_getHistory's cursor parser accepts exactly the
// cursors it prints (each reads back to itself) and refuses the rest
// without panicking.
func FuzzHistoryCursor(f *testing.F) {
	for _, s := range []string{"", "p0", "p17", "c5.0", "c18446744073709551615.4294967295", "c1.4294967296", "p-1", "p01", "c.", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseHistoryCursor(s)
		if err != nil || s == "" {
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("cursor %q reads back as %q", s, got)
		}
	})
}
