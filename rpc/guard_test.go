package rpc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// guarded returns the guard over a handler that counts the requests it
// is given.
func guarded(hosts, origins []string) (http.Handler, *int) {
	n := new(int)
	return newGuard(hosts, origins, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*n++
		w.WriteHeader(http.StatusOK)
	})), n
}

func post(host, origin string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://"+host+"/", strings.NewReader("{}"))
	r.Host = host
	r.Header.Set("Content-Type", "application/json")
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}

func TestGuardHost(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		host  string
		ok    bool
	}{
		{nil, "127.0.0.1:7731", true},
		{nil, "localhost:7731", true},
		{nil, "LocalHost", true},
		{nil, "[::1]:7731", true},
		{nil, "127.0.0.2:7731", true}, // any loopback address
		{nil, "", true},               // HTTP/1.0: no browser sends that
		{nil, "attacker.example:7731", false},
		{nil, "attacker.example", false},
		{nil, "192.168.1.10:7731", false},
		{nil, "localhost.attacker.example", false},
		{[]string{"node.lan"}, "node.lan:7731", true},
		{[]string{"node.lan"}, "NODE.LAN", true},
		{[]string{"node.lan"}, "localhost:7731", false}, // the list replaces the default names
		{[]string{"node.lan"}, "127.0.0.1:7731", true},
		{[]string{"*"}, "anything.example", true},
	} {
		h, n := guarded(tc.hosts, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, post(tc.host, ""))
		if ok := w.Code == http.StatusOK; ok != tc.ok || (*n == 1) != tc.ok {
			t.Errorf("hosts %v, Host %q: HTTP %d, handled %d times; want allowed %v", tc.hosts, tc.host, w.Code, *n, tc.ok)
		}
		if !tc.ok {
			checkResponse(t, w.Body.Bytes())
			if w.Code != http.StatusForbidden || !strings.Contains(errorOf(t, w.Body.Bytes()).Message, "not allowed (see --rpc.hosts)") {
				t.Errorf("Host %q: HTTP %d %s", tc.host, w.Code, w.Body.Bytes())
			}
		}
	}
}

func TestGuardOrigin(t *testing.T) {
	// No origin listed: every browser request is refused before it runs.
	h, n := guarded(nil, nil)
	for _, o := range []string{"https://attacker.example", "null", "http://127.0.0.1:7799", "http://localhost:7731"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, post("127.0.0.1:7731", o))
		if w.Code != http.StatusForbidden || *n != 0 || !strings.Contains(errorOf(t, w.Body.Bytes()).Message, "see --rpc.cors") {
			t.Errorf("origin %q: HTTP %d, handled %d: %s", o, w.Code, *n, w.Body.Bytes())
		}
	}
	// The node's own origin — a page it serves, the explorer — is served.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, post("127.0.0.1:7731", "http://127.0.0.1:7731"))
	if w.Code != http.StatusOK || *n != 1 {
		t.Errorf("same origin: HTTP %d, handled %d: %s", w.Code, *n, w.Body.Bytes())
	}
	*n = 0

	// A listed origin is served with CORS headers; another is refused.
	const wallet = "https://wallet.example"
	h, n = guarded(nil, []string{wallet})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, post("127.0.0.1:7731", wallet))
	if w.Code != http.StatusOK || *n != 1 || w.Header().Get("Access-Control-Allow-Origin") != wallet {
		t.Errorf("listed origin: HTTP %d, handled %d, Allow-Origin %q", w.Code, *n, w.Header().Get("Access-Control-Allow-Origin"))
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, post("127.0.0.1:7731", "https://attacker.example"))
	if w.Code != http.StatusForbidden || *n != 1 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin: HTTP %d, handled %d, Allow-Origin %q", w.Code, *n, w.Header().Get("Access-Control-Allow-Origin"))
	}

	// The listed origin's preflight is answered without running anything;
	// an unlisted one's is refused.
	pre := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "http://127.0.0.1:7731/", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", http.MethodPost)
		r.Header.Set("Access-Control-Request-Headers", "authorization,content-type") // as browsers send it: sorted, lower case
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w = pre(wallet)
	if w.Code/100 != 2 || *n != 1 || w.Header().Get("Access-Control-Allow-Origin") != wallet ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), http.MethodPost) ||
		!strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight of the listed origin: HTTP %d, handled %d, headers %v", w.Code, *n, w.Header())
	}
	if w = pre("https://attacker.example"); w.Code != http.StatusForbidden || *n != 1 {
		t.Errorf("preflight of an unlisted origin: HTTP %d, handled %d", w.Code, *n)
	}
}

// TestContentType: only a JSON body is taken; a "simple" cross-origin
// request (text/plain, a form) or one without a type gets 415.
func TestContentType(t *testing.T) {
	s := newTestServer(t, newTestBackend(t))
	body := req(1, "chain_getHead", "")
	for _, tc := range []struct {
		ct     string
		status int
	}{
		{"application/json", http.StatusOK},
		{"application/json; charset=utf-8", http.StatusOK},
		{"Application/JSON", http.StatusOK},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"text/plain;charset=UTF-8", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"", http.StatusUnsupportedMediaType},
		{"application/json-ish", http.StatusUnsupportedMediaType},
	} {
		r := localRequest(http.MethodPost, strings.NewReader(body))
		if tc.ct == "" {
			r.Header.Del("Content-Type")
		} else {
			r.Header.Set("Content-Type", tc.ct)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("Content-Type %q: HTTP %d, want %d: %s", tc.ct, w.Code, tc.status, w.Body.Bytes())
		}
		checkResponse(t, w.Body.Bytes())
		if tc.status != http.StatusOK && !strings.Contains(errorOf(t, w.Body.Bytes()).Message, "want application/json") {
			t.Errorf("Content-Type %q: %s", tc.ct, w.Body.Bytes())
		}
	}
}
