package rpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/handler"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:7731"
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxBatch     = 100
	DefaultTimeout      = 10 * time.Second
	// blockCacheTxs bounds the txs of the block bodies kept for
	// chain_getBlock (about 10 MB).
	blockCacheTxs = 16 << 10
	// CookieName is the admin token file's name in the datadir.
	CookieName = "rpc.cookie"
)

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// Addr is the host:port to listen on; default DefaultAddr.
	// "127.0.0.1:0" picks a free port (see Server.Addr).
	Addr string
	// CookieFile is where Start writes the admin token (mode 0600); Close
	// removes it. Empty: no file.
	CookieFile string
	// Token is the admin token; empty: 32 random bytes, hex.
	Token string
	// MaxBodyBytes bounds a request body; default 1 MiB.
	MaxBodyBytes int64
	// MaxBatch bounds the requests of one batch; default 100.
	MaxBatch int
	// Timeout bounds each HTTP request (a whole batch); default 10 s.
	Timeout time.Duration
	// Hosts are the Host header names served besides loopback addresses
	// (DNS rebinding guard); nil means DefaultHosts, "*" any.
	Hosts []string
	// CORS are the browser origins (scheme://host[:port]) allowed to call;
	// a request from any other origin is refused. Default none; "*" any.
	CORS []string
	// MaxWSConns bounds the WebSocket connections (default 200), MaxSubs
	// the subscriptions of one (default 100), WSQueue the messages one
	// may have waiting to be sent before it is disconnected (default
	// 10,000).
	MaxWSConns int
	MaxSubs    int
	WSQueue    int
	// Version is the node's version string, for logs.
	Version string
	// Logger receives start, stop and failure lines, and one debug line
	// per call; default discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxWSConns == 0 {
		c.MaxWSConns = DefaultMaxWSConns
	}
	if c.MaxSubs == 0 {
		c.MaxSubs = DefaultMaxSubs
	}
	if c.WSQueue == 0 {
		c.WSQueue = DefaultWSQueue
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("rpc: MaxBodyBytes %d is negative", c.MaxBodyBytes)
	case c.MaxBatch < 0:
		return fmt.Errorf("rpc: MaxBatch %d is negative", c.MaxBatch)
	case c.Timeout < 0:
		return fmt.Errorf("rpc: Timeout %v is negative", c.Timeout)
	case c.MaxWSConns < 0 || c.MaxSubs < 0 || c.WSQueue < 0:
		return errors.New("rpc: a negative WebSocket limit")
	case strings.TrimSpace(c.Token) != c.Token:
		return errors.New("rpc: Token has leading or trailing white space")
	case slices.Contains(c.Hosts, ""):
		return errors.New("rpc: an empty name in Hosts")
	case slices.Contains(c.CORS, ""):
		return errors.New("rpc: an empty origin in CORS")
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("rpc: Addr %q: %v", c.Addr, err)
		}
	}
	return nil
}

// Server serves the JSON-RPC 2.0 API over HTTP. It is safe for concurrent
// use; Start and Close may each be called once (Close again is a no-op).
type Server struct {
	cfg      Config
	b        Backend
	log      *slog.Logger
	methods  handler.Map
	admin    map[string]bool
	waits    map[string]bool // methods that wait on their context; nil: all
	tokenSum [sha256.Size]byte
	blocks   *blockCache
	handler  http.Handler
	mux      *http.ServeMux

	subMu     sync.RWMutex // guards hub
	hub       subHub
	slowDrops atomic.Int64 // WebSocket clients dropped for a full queue
	newSubID  func() string

	mu      sync.Mutex // guards the fields below
	home    string     // where GET / redirects a browser (Handle); "" none
	wsConns int        // WebSocket connections open
	wsWG    sync.WaitGroup
	hs      *http.Server
	addr    string
	started bool
	closed  bool
	cookie  bool // Start wrote the cookie file
	wg      sync.WaitGroup
}

// NewServer returns a server answering from b. It does not listen until
// Start; Handler serves without it.
func NewServer(cfg Config, b Backend) (*Server, error) {
	if b == nil {
		return nil, errors.New("rpc: nil Backend")
	}
	return newServer(cfg, b, nil)
}

// newServer builds a server; with methods non-nil it serves exactly those
// (the JSON-RPC spec examples in tests) through the same HTTP layer.
func newServer(cfg Config, b Backend, methods handler.Map) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Token == "" {
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return nil, fmt.Errorf("rpc: generate token: %w", err)
		}
		cfg.Token = hex.EncodeToString(k[:])
	}
	s := &Server{cfg: cfg, b: b, log: cfg.Logger, tokenSum: sha256.Sum256([]byte(cfg.Token)),
		blocks: newBlockCache(blockCacheTxs), hub: newSubHub(), newSubID: randomSubID}
	if methods != nil {
		s.methods, s.admin = methods, map[string]bool{}
	} else {
		s.methods, s.admin, s.waits = s.bind()
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", s.serveRoot)
	s.mux.HandleFunc("/ws", s.serveWS)
	s.handler = newGuard(s.cfg.Hosts, s.cfg.CORS, s.mux)
	return s, nil
}

// Handle serves h at pattern (an http.ServeMux pattern such as
// "/explorer/") beside the API, behind the same Host and Origin guard; with
// home set, GET / from a browser redirects to pattern. Call it before Start.
func (s *Server) Handle(pattern string, h http.Handler, home bool) {
	s.mux.Handle(pattern, h)
	if home {
		s.mu.Lock()
		s.home = pattern
		s.mu.Unlock()
	}
}

// serveRoot answers every path no Handle pattern takes: GET / from a
// browser (it accepts text/html) goes to the home page if one is mounted;
// anything else is the JSON-RPC exchange of serveHTTP.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	home := s.home
	s.mu.Unlock()
	if home != "" && r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, home, http.StatusFound)
		return
	}
	s.serveHTTP(w, r)
}

// Handler returns the HTTP handler of the API (every path). Usable
// without Start.
func (s *Server) Handler() http.Handler { return s.handler }

// Token returns the admin token.
func (s *Server) Token() string { return s.cfg.Token }

// Addr returns the address the server listens on after Start (with the
// port it picked), else the configured address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr != "" {
		return s.addr
	}
	return s.cfg.Addr
}

// URL returns "http://" + Addr().
func (s *Server) URL() string { return "http://" + s.Addr() }

// Start listens on the configured address, writes the cookie file and
// serves in the background until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("rpc: server already started or closed")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rpc: listen on %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.CookieFile != "" {
		if err := writeCookie(s.cfg.CookieFile, s.cfg.Token); err != nil {
			ln.Close()
			return err
		}
		s.cookie = true
	}
	s.addr = ln.Addr().String()
	s.hs = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.Timeout,
		ReadTimeout:       s.cfg.Timeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.started = true
	hs := s.hs
	s.wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rpc server stopped", "err", err)
		}
	})
	s.log.Info("rpc listening", "addr", s.addr, "url", "http://"+s.addr, "version", s.cfg.Version)
	return nil
}

// Close stops the server: it stops accepting, waits for the requests in
// flight until ctx ends (then drops them), and removes the cookie file.
// Calling it again, or without Start, does nothing.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs, cookie := s.hs, s.cookie
	s.mu.Unlock()

	err := hs.Shutdown(ctx) // not the WebSocket connections, which it has handed over
	if err != nil {
		hs.Close() // ctx ended: drop the requests still running
	}
	s.closeConns()
	s.wg.Wait()
	s.wsWG.Wait()
	if cookie {
		if rerr := os.Remove(s.cfg.CookieFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("rpc: remove cookie: %w", rerr)
		}
	}
	s.log.Info("rpc stopped", "addr", s.Addr())
	return err
}

// writeCookie writes token to path with mode 0600, atomically: a reader
// sees either no file or the whole token.
func writeCookie(path, token string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("rpc: write cookie: %w", err)
	}
	tmp := f.Name()
	_, werr := f.WriteString(token)
	if err := f.Chmod(0o600); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("rpc: write cookie %s: %w", path, werr)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // do not pin a large buffer
	}
	b.Reset()
	bufPool.Put(b)
}

// serveHTTP is the HTTP layer: method and size checks, then the
// JSON-RPC exchange of the body.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	out := getBuf()
	defer putBuf(out)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		appendError(out, nil, &Error{Code: CodeInvalidRequest,
			Message: fmt.Sprintf("invalid request: HTTP method %s not allowed, JSON-RPC requests are POSTed", r.Method)})
		writeBody(w, http.StatusMethodNotAllowed, out.Bytes())
		return
	}
	if !jsonBody(r) {
		appendError(out, nil, &Error{Code: CodeInvalidRequest,
			Message: fmt.Sprintf("invalid request: Content-Type %s, want application/json", quote(r.Header.Get("Content-Type")))})
		writeBody(w, http.StatusUnsupportedMediaType, out.Bytes())
		return
	}
	body := getBuf()
	defer putBuf(body)
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		s.tooLarge(w, out)
		return
	}
	if r.ContentLength > 0 {
		body.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := body.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		appendError(out, nil, &Error{Code: CodeParseError, Message: "parse error: reading request body: " + err.Error()})
		writeBody(w, http.StatusBadRequest, out.Bytes())
		return
	}
	if int64(body.Len()) > limit {
		s.tooLarge(w, out)
		return
	}
	s.exchange(r.Context(), body.Bytes(), r.Header.Get("Authorization"), out)
	if out.Len() == 0 {
		w.WriteHeader(http.StatusNoContent) // notifications only
		return
	}
	writeBody(w, http.StatusOK, out.Bytes())
}

func (s *Server) tooLarge(w http.ResponseWriter, out *bytes.Buffer) {
	appendError(out, nil, &Error{Code: CodeInvalidRequest,
		Message: fmt.Sprintf("invalid request: request too large (limit %d bytes)", s.cfg.MaxBodyBytes)})
	writeBody(w, http.StatusRequestEntityTooLarge, out.Bytes())
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// exchange answers one JSON-RPC message (a request or a batch), appending
// the response to out; it appends nothing when every request is a
// notification. jrpc2 parses and checks the request objects.
func (s *Server) exchange(ctx context.Context, body []byte, auth string, out *bytes.Buffer) {
	// The time limit covers the whole message. Only the methods that wait
	// on their context get a deadline context (it costs a timer and a
	// registration with the parent); the clock is checked before each
	// call of a batch.
	deadline := time.Now().Add(s.cfg.Timeout)
	reqs, err := jrpc2.ParseRequests(body)
	if err != nil {
		appendError(out, nil, &Error{Code: CodeParseError, Message: "parse error: " + jsonSyntaxError(body)})
		return
	}
	if len(reqs) == 0 {
		appendError(out, nil, &Error{Code: CodeInvalidRequest, Message: "invalid request: empty batch"})
		return
	}
	batch := reqs[0].Batch
	if batch && len(reqs) > s.cfg.MaxBatch {
		appendError(out, nil, &Error{Code: CodeInvalidRequest,
			Message: fmt.Sprintf("invalid request: batch of %d requests exceeds the limit of %d", len(reqs), s.cfg.MaxBatch)})
		return
	}
	markNullIDs(body, reqs)
	st := callState{auth: auth, deadline: deadline}
	if batch {
		out.WriteByte('[')
	}
	empty := out.Len()
	for _, p := range reqs {
		mark := out.Len()
		if batch && mark > empty {
			out.WriteByte(',')
		}
		if !s.call(ctx, p, &st, out) {
			out.Truncate(mark) // a notification: no response
		}
	}
	if batch {
		if out.Len() == empty {
			out.Reset() // all notifications: no body at all
			return
		}
		out.WriteByte(']')
	}
}

// markNullIDs gives the id null to the requests that have "id": null.
// jrpc2 takes them for notifications, but a notification is a request
// without an id member; one with a null id gets a response (with id null).
// Only messages with an apparent notification are parsed again.
func markNullIDs(body []byte, reqs []*jrpc2.ParsedRequest) {
	var idx []int
	for i, p := range reqs {
		if p.ID == "" && p.Error == nil && p.Method != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	items := []json.RawMessage{body}
	if reqs[0].Batch && json.Unmarshal(body, &items) != nil {
		return
	}
	for _, i := range idx {
		var obj map[string]json.RawMessage
		if i < len(items) && json.Unmarshal(items[i], &obj) == nil {
			if _, ok := obj["id"]; ok {
				reqs[i].ID = "null"
			}
		}
	}
}

// jsonSyntaxError describes why body is not JSON.
func jsonSyntaxError(body []byte) string {
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return "empty body"
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case err != nil:
		return err.Error()
	}
	return "invalid JSON"
}

// callState is what the calls of one message share: the Authorization
// header, checked at most once, and the deadline.
type callState struct {
	auth     string
	checked  bool
	ok       bool
	deadline time.Time
}

// authorized compares the bearer token in constant time: both sides are
// hashed to a fixed length first, so neither a missing header nor a token
// of another length answers sooner.
func (s *Server) authorized(a *callState) bool {
	if !a.checked {
		tok, found := cutPrefixFold(a.auth, "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		a.ok = subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1 && found
		a.checked = true
	}
	return a.ok
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// call runs one parsed request and appends its response; it reports
// false for a notification, which gets none.
func (s *Server) call(ctx context.Context, p *jrpc2.ParsedRequest, st *callState, out *bytes.Buffer) (respond bool) {
	var id json.RawMessage
	if p.ID != "" {
		id = json.RawMessage(p.ID)
	}
	if p.Error != nil {
		// jrpc2 marks some malformed members as parse errors; the body was
		// JSON, so for JSON-RPC each is an invalid request.
		msg := p.Error.Message
		if len(p.Error.Data) > 0 {
			msg += " " + string(p.Error.Data)
		}
		appendError(out, id, &Error{Code: CodeInvalidRequest, Message: "invalid request: " + msg})
		return true
	}
	if p.Method == "" {
		appendError(out, id, &Error{Code: CodeInvalidRequest, Message: "invalid request: no method"})
		return true
	}
	notify := id == nil
	h := s.methods[p.Method]
	var err error
	var res any
	switch {
	case h == nil:
		err = &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("method not found: %q", p.Method)}
	case s.admin[p.Method] && !s.authorized(st):
		err = newError(CodeUnauthorized, ReasonUnauthorized,
			"unauthorized: %s is an admin method and needs \"Authorization: Bearer <token>\" with the token from the cookie file", p.Method)
	case ctx.Err() != nil:
		err = ctx.Err()
	case !time.Now().Before(st.deadline):
		err = context.DeadlineExceeded
	case s.waits == nil || s.waits[p.Method]:
		cctx, cancel := context.WithDeadline(ctx, st.deadline)
		res, err = s.run(cctx, h, p)
		cancel()
	default:
		res, err = s.run(ctx, h, p)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("rpc call", "method", p.Method, "id", p.ID, "err", err)
	}
	if notify {
		return false
	}
	if err == nil {
		mark := out.Len()
		out.WriteString(`{"jsonrpc":"2.0","id":`)
		out.Write(id)
		out.WriteString(`,"result":`)
		if err = encodeJSON(out, res); err == nil {
			out.WriteByte('}')
			return true
		}
		out.Truncate(mark)
		err = fmt.Errorf("encode result: %w", err)
	}
	appendError(out, id, s.toError(p.Method, err))
	return true
}

// run calls a handler, turning a panic into an error.
func (s *Server) run(ctx context.Context, h jrpc2.Handler, p *jrpc2.ParsedRequest) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("rpc handler panicked", "method", p.Method, "panic", v)
			res, err = nil, fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h(ctx, p.ToRequest())
}

// toError maps a handler error to its error object.
func (s *Server) toError(method string, err error) *Error {
	var e *Error
	var je *jrpc2.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &je):
		return &Error{Code: int(je.Code), Message: je.Message, Data: je.Data}
	case errors.Is(err, context.DeadlineExceeded):
		return newError(CodeTimeout, ReasonTimeout, "timeout: %s did not finish within %v", method, s.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return newError(CodeTimeout, ReasonTimeout, "timeout: %s cancelled: the client went away", method)
	}
	s.log.Warn("rpc internal error", "method", method, "err", err)
	return &Error{Code: CodeInternal, Message: "internal error: " + err.Error()}
}

// appendError appends an error response; a nil id is written as null.
func appendError(out *bytes.Buffer, id json.RawMessage, e *Error) {
	out.WriteString(`{"jsonrpc":"2.0","id":`)
	if id == nil {
		out.WriteString("null")
	} else {
		out.Write(id)
	}
	out.WriteString(`,"error":`)
	if err := encodeJSON(out, e); err != nil { // only a bad Data could fail
		encodeJSON(out, &Error{Code: e.Code, Message: e.Message})
	}
	out.WriteByte('}')
}

// encodeJSON appends the JSON of v to out, without HTML escaping or a
// trailing newline.
func encodeJSON(out *bytes.Buffer, v any) error {
	if a, ok := v.(jsonAppender); ok {
		out.Write(a.appendJSON(out.AvailableBuffer()))
		return nil
	}
	mark := out.Len()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		out.Truncate(mark)
		return err
	}
	out.Truncate(out.Len() - 1) // Encode's newline
	return nil
}
