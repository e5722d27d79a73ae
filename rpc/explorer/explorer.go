package explorer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
)

// Defaults of Config.
const (
	DefaultPrefix      = "/explorer/"
	DefaultWebSocket   = "/ws"
	DefaultChartBlocks = 300
	DefaultRecent      = 20
	// maxReorgs is the size of the ring of recent reorganisations.
	maxReorgs = 16
	// maxTipsShown bounds the chain tips listed on the overview.
	maxTipsShown = 12
	// historyPage is the number of history entries per address page.
	historyPage = 50
)

// Config configures an Explorer. Zero values take the documented defaults.
type Config struct {
	// Prefix is the path the explorer is mounted at, with a slash at
	// both ends; default DefaultPrefix.
	Prefix string
	// WebSocket is the path of the node's WebSocket JSON-RPC, which the
	// overview's script subscribes to; default DefaultWebSocket.
	WebSocket string
	// ChartBlocks is the number of blocks the overview's chart and hash
	// rate cover; default DefaultChartBlocks.
	ChartBlocks int
	// Recent is the number of blocks the overview lists; default
	// DefaultRecent.
	Recent int
	// Logger receives a line per failed read of the backend; default
	// discards.
	Logger *slog.Logger
	// Now is the clock of the "ago" figures; default time.Now.
	Now func() time.Time
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Prefix != "" && (!strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/")):
		return fmt.Errorf("explorer: Prefix %q: want a path with a slash at both ends", c.Prefix)
	case c.WebSocket != "" && !strings.HasPrefix(c.WebSocket, "/"):
		return fmt.Errorf("explorer: WebSocket %q: want an absolute path", c.WebSocket)
	case c.ChartBlocks < 0:
		return fmt.Errorf("explorer: ChartBlocks %d is negative", c.ChartBlocks)
	case c.Recent < 0:
		return fmt.Errorf("explorer: Recent %d is negative", c.Recent)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.WebSocket == "" {
		c.WebSocket = DefaultWebSocket
	}
	if c.ChartBlocks == 0 {
		c.ChartBlocks = DefaultChartBlocks
	}
	if c.Recent == 0 {
		c.Recent = DefaultRecent
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Explorer serves the explorer's pages (an http.Handler). Safe for
// concurrent use.
type Explorer struct {
	b      rpc.Backend
	cfg    Config
	log    *slog.Logger
	pages  map[string]*template.Template // by page name
	mux    *http.ServeMux
	blocks *summaryCache
	// network is the network's name, read once (it never changes).
	network func() string

	mu     sync.Mutex // guards reorgs
	reorgs []Reorg    // oldest first, at most maxReorgs
}

// New returns an explorer reading from b. It fails only on a Config that
// does not validate.
func New(b rpc.Backend, cfg Config) (*Explorer, error) {
	if b == nil {
		return nil, errors.New("explorer: nil Backend")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Explorer{b: b, cfg: cfg, log: cfg.Logger, blocks: newSummaryCache(4096)}
	e.pages = parsePages(cfg.Prefix, cfg.Now)
	e.network = sync.OnceValue(func() string { return b.NodeInfo().Network })
	e.mux = http.NewServeMux()
	p := cfg.Prefix
	e.mux.HandleFunc("GET "+p+"{$}", e.serveOverview)
	e.mux.HandleFunc("GET "+p+"fragment/overview", e.serveOverviewFragment)
	e.mux.HandleFunc("GET "+p+"block/{ref}", e.serveBlock)
	e.mux.HandleFunc("GET "+p+"tx/{id}", e.serveTx)
	e.mux.HandleFunc("GET "+p+"address/{addr}", e.serveAddress)
	e.mux.HandleFunc("GET "+p+"search", e.serveSearch)
	static, _ := fs.Sub(staticFS, "static") // cannot fail: the directory is embedded
	e.mux.Handle("GET "+p+"static/", http.StripPrefix(p+"static/", http.FileServerFS(static)))
	e.mux.HandleFunc("GET "+p, e.serveUnknown)
	return e, nil
}

// ServeHTTP serves the explorer's paths under the prefix; another method
// than GET or HEAD is answered 405.
func (e *Explorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the pages load is their own: no inline script or style,
	// nothing from elsewhere, and no framing.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	e.mux.ServeHTTP(w, r)
}

// Reorg is one reorganisation of the main chain the node made.
type Reorg struct {
	Time       time.Time
	OldTip     types.Hash
	NewTip     types.Hash
	NewHeight  uint64
	ForkHeight uint64     // the last block both branches share
	ForkHash   types.Hash // its hash
	Removed    int        // blocks disconnected: the depth
	Added      int        // blocks connected
}

// TipChanged records res if it is a reorganisation (it disconnected
// blocks); give it every change of the main chain (node.OnTipChange). It
// is quick and safe for concurrent use.
func (e *Explorer) TipChanged(res chain.Result) {
	if len(res.Disconnected) == 0 || len(res.Connected) == 0 {
		return
	}
	oldest := res.Disconnected[len(res.Disconnected)-1].Header
	newTip := res.Connected[len(res.Connected)-1]
	r := Reorg{
		Time:       e.cfg.Now(),
		OldTip:     res.Disconnected[0].Hash(),
		NewTip:     newTip.Hash(),
		NewHeight:  newTip.Header.Height,
		ForkHeight: oldest.Height - 1,
		ForkHash:   oldest.Parent,
		Removed:    len(res.Disconnected),
		Added:      len(res.Connected),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.reorgs) == maxReorgs {
		copy(e.reorgs, e.reorgs[1:])
		e.reorgs = e.reorgs[:maxReorgs-1]
	}
	e.reorgs = append(e.reorgs, r)
}

// Reorgs returns the recorded reorganisations, newest first.
func (e *Explorer) Reorgs() []Reorg {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Reorg, len(e.reorgs))
	for i, r := range e.reorgs {
		out[len(out)-1-i] = r
	}
	return out
}

// render executes page with data into a buffer first, so that a failure
// is a clean 500 rather than half a page.
func (e *Explorer) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := e.pages[page].ExecuteTemplate(&buf, "page", e.pageData(page, data)); err != nil {
		e.log.Error("explorer: render", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFragment executes a named template alone (no layout).
func (e *Explorer) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	var buf bytes.Buffer
	if err := e.pages[page].ExecuteTemplate(&buf, name, e.pageData(page, data)); err != nil {
		e.log.Error("explorer: render", "fragment", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering the fragment", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// page is what every page template gets: the layout's fields and the
// page's own data.
type page struct {
	Prefix    string
	WebSocket string
	Network   string
	Title     string
	Query     string // the search box's text
	Data      any
}

func (e *Explorer) pageData(name string, data any) page {
	p := page{Prefix: e.cfg.Prefix, WebSocket: e.cfg.WebSocket, Network: e.network(), Data: data}
	if t, ok := data.(interface{ title() string }); ok {
		p.Title = t.title()
	}
	if q, ok := data.(interface{ query() string }); ok {
		p.Query = q.query()
	}
	return p
}

// failure is the page of a read that failed for another reason than not
// found: the node's fault, not the request's.
func (e *Explorer) failure(w http.ResponseWriter, r *http.Request, err error) {
	e.log.Warn("explorer: read failed", "path", r.URL.Path, "err", err)
	e.render(w, r, http.StatusInternalServerError, "error", &errorView{Message: "the node could not read its data: " + err.Error()})
}

// notFound answers 404 with the not-found page saying what was looked for
// and why nothing matched.
func (e *Explorer) notFound(w http.ResponseWriter, r *http.Request, what, why string) {
	e.render(w, r, http.StatusNotFound, "notfound", &notFoundView{What: what, Why: why})
}

func (e *Explorer) serveUnknown(w http.ResponseWriter, r *http.Request) {
	e.notFound(w, r, r.URL.Path, "no such page in the explorer")
}

// errorView is the data of the error page.
type errorView struct{ Message string }

func (*errorView) title() string { return "error" }

// notFoundView is the data of the not-found page.
type notFoundView struct{ What, Why string }

func (*notFoundView) title() string   { return "not found" }
func (v *notFoundView) query() string { return v.What }
