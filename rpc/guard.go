package rpc

import (
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/cors"
)

// DefaultHosts are the Host header names the server answers by default
// (Config.Hosts); a loopback IP address is answered whatever the list.
var DefaultHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// The guard keeps web pages off the node's RPC (docs/RPC.md, "Transport"):
//
//   - DNS rebinding: a page whose name an attacker points at 127.0.0.1
//     reaches the node as "same origin" and may read the answers; its
//     requests carry the attacker's name in Host. A Host that is neither
//     a loopback address nor in Config.Hosts is refused with 403, as
//     geth's --http.vhosts does.
//   - Cross-origin "simple" requests: any page may POST text/plain or a
//     form to 127.0.0.1 without a CORS preflight, and the request runs
//     even though the page cannot read the answer. A body that is not
//     application/json is refused with 415, and a request from a browser
//     origin (an Origin header) not in Config.CORS with 403, before it
//     runs.
//
// A listed origin is served with CORS headers and its preflight answered
// (rs/cors). A client that is not a browser sends no Origin and is not
// affected; one that sends no Host (HTTP/1.0) is answered.
type guard struct {
	hosts map[string]bool // lower case, without port; "*" allows any
	cors  *cors.Cors      // nil: no origin listed
	next  http.Handler
}

func newGuard(hosts, origins []string, next http.Handler) *guard {
	g := &guard{hosts: make(map[string]bool), next: next}
	if hosts == nil {
		hosts = DefaultHosts
	}
	for _, h := range hosts {
		g.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	if len(origins) > 0 {
		g.cors = cors.New(cors.Options{
			AllowedOrigins: origins,
			AllowedMethods: []string{http.MethodPost},
			AllowedHeaders: []string{"Content-Type", "Authorization"},
			MaxAge:         600,
		})
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		refuse(w, http.StatusForbidden, "invalid request: host "+quote(r.Host)+" not allowed (see --rpc.hosts)")
		return
	}
	if origin, ok := r.Header["Origin"]; ok && !sameOrigin(origin[0], r) {
		if g.cors == nil || !g.cors.OriginAllowed(r) {
			refuse(w, http.StatusForbidden, "invalid request: origin "+quote(origin[0])+" not allowed (see --rpc.cors)")
			return
		}
		g.cors.ServeHTTP(w, r, g.next.ServeHTTP)
		return
	}
	g.next.ServeHTTP(w, r)
}

// sameOrigin reports whether origin is the server's own, as a page it
// serves (the explorer) sends with its requests and WebSocket: the
// scheme://host:port the request was made to. The Host was checked
// first, so a rebinding attacker's name never gets here.
func sameOrigin(origin string, r *http.Request) bool {
	return r.Host != "" && (origin == "http://"+r.Host || origin == "https://"+r.Host)
}

// hostAllowed reports whether a request's Host names this server: empty
// (HTTP/1.0), a loopback IP, or a listed name.
func (g *guard) hostAllowed(host string) bool {
	if host == "" || g.hosts["*"] {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return g.hosts[host]
}

// jsonBody reports whether a request's Content-Type is application/json
// (parameters such as charset allowed).
func jsonBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

func refuse(w http.ResponseWriter, status int, msg string) {
	out := getBuf()
	defer putBuf(out)
	appendError(out, nil, &Error{Code: CodeInvalidRequest, Message: msg})
	writeBody(w, status, out.Bytes())
}

// quote bounds and quotes a header value for an error message.
func quote(s string) string {
	if len(s) > 100 {
		return strconv.Quote(s[:100]) + "…"
	}
	return strconv.Quote(s)
}
