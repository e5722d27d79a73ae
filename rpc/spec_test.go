package rpc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/creachadair/jrpc2/handler"
)

// specMethods are the example methods of the JSON-RPC 2.0 specification
// (section 7), bound with jrpc2's handler package.
func specMethods() handler.Map {
	return handler.Map{
		"subtract": handler.NewPos(func(_ context.Context, minuend, subtrahend int) int {
			return minuend - subtrahend
		}, "minuend", "subtrahend"),
		"sum": handler.New(func(_ context.Context, xs []int) int {
			n := 0
			for _, x := range xs {
				n += x
			}
			return n
		}),
		"notify_hello": handler.New(func(_ context.Context, _ []int) error { return nil }),
		"get_data":     handler.New(func(context.Context) []any { return []any{"hello", 5} }),
	}
}

// TestSpecExamples posts every example of sections 5–7 of the JSON-RPC 2.0
// specification over HTTP to a server serving the spec's methods through
// the same HTTP layer, and compares the answers as JSON. Error messages
// are free text, so only error codes (and ids) are compared.
func TestSpecExamples(t *testing.T) {
	s, err := newServer(Config{}, nil, specMethods())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	tests := []struct {
		name, req, want string // want "": no response
	}{
		{"positional", `{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}`,
			`{"jsonrpc": "2.0", "result": 19, "id": 1}`},
		{"positional reversed", `{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}`,
			`{"jsonrpc": "2.0", "result": -19, "id": 2}`},
		{"named", `{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}`,
			`{"jsonrpc": "2.0", "result": 19, "id": 3}`},
		{"named reordered", `{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}`,
			`{"jsonrpc": "2.0", "result": 19, "id": 4}`},
		{"notification", `{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}`, ``},
		{"notification without params", `{"jsonrpc": "2.0", "method": "foobar"}`, ``},
		{"non-existent method", `{"jsonrpc": "2.0", "method": "foobar", "id": "1"}`,
			`{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}`},
		{"invalid JSON", `{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`,
			`{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
		{"invalid request object", `{"jsonrpc": "2.0", "method": 1, "params": "bar"}`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"batch, invalid JSON", `[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]`,
			`{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
		{"empty array", `[]`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"invalid batch, not empty", `[1]`,
			`[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]`},
		{"invalid batch", `[1,2,3]`, `[
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
]`},
		{"batch", `[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
  {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
  {"foo": "boo"},
  {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
  {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]`, `[
  {"jsonrpc": "2.0", "result": 7, "id": "1"},
  {"jsonrpc": "2.0", "result": 19, "id": "2"},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
  {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
]`},
		{"batch, all notifications", `[
  {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
]`, ``},
		// Beyond the examples: section 5's rules on params and ids.
		{"invalid params", `{"jsonrpc": "2.0", "method": "subtract", "params": ["a", 1], "id": 7}`,
			`{"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params"}, "id": 7}`},
		{"params not structured", `{"jsonrpc": "2.0", "method": "subtract", "params": 42, "id": 8}`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": 8}`},
		{"wrong version", `{"jsonrpc": "1.0", "method": "get_data", "id": 9}`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": 9}`},
		{"invalid id", `{"jsonrpc": "2.0", "method": "get_data", "id": {"a": 1}}`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"not an object", `"hello"`,
			`{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"null id is a request, not a notification", `{"jsonrpc": "2.0", "method": "sum", "params": [1,2], "id": null}`,
			`{"jsonrpc": "2.0", "result": 3, "id": null}`},
		{"null id in a batch", `[{"jsonrpc": "2.0", "method": "sum", "params": [1]}, {"jsonrpc": "2.0", "method": "sum", "params": [2], "id": null}]`,
			`[{"jsonrpc": "2.0", "result": 2, "id": null}]`},
		{"empty body", ``,
			`{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(ts.URL, "application/json", strings.NewReader(tt.req))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(body) != 0 || (resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK) {
					t.Fatalf("got HTTP %d %q, want no response", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if err := validResponse(body); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if got, want := normalize(t, body), normalize(t, []byte(tt.want)); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", body, tt.want)
			}
		})
	}
}

// normalize decodes a response and drops the free-text parts of errors
// (message, data).
func normalize(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	strip := func(m any) {
		if obj, ok := m.(map[string]any); ok {
			if e, ok := obj["error"].(map[string]any); ok {
				delete(e, "message")
				delete(e, "data")
			}
		}
	}
	if arr, ok := v.([]any); ok {
		for _, m := range arr {
			strip(m)
		}
	} else {
		strip(v)
	}
	return v
}
