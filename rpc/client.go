package rpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Client calls a cairnd JSON-RPC server over HTTP. It is safe for
// concurrent use; connections are kept alive and reused across calls.
type Client struct {
	url   string
	token string
	hc    *http.Client
	id    atomic.Uint64
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithToken sends "Authorization: Bearer <token>" (the admin token, see
// ReadCookie) with every call.
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// WithHTTPClient makes the client use hc instead of its own.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// defaultHTTP keeps enough idle connections for a busy caller.
var defaultHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}()

// NewClient returns a client of the server at url (e.g.
// "http://127.0.0.1:7731"). Calls are bounded by their context only.
func NewClient(url string, opts ...ClientOption) *Client {
	c := &Client{url: url, hc: defaultHTTP}
	for _, o := range opts {
		o(c)
	}
	return c
}

// URL returns the server's URL.
func (c *Client) URL() string { return c.url }

// ReadCookie returns the admin token the server wrote to
// <datadir>/rpc.cookie.
func ReadCookie(datadir string) (string, error) {
	path := filepath.Join(datadir, CookieName)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read rpc cookie: %w (is cairnd running with datadir %s?)", err, datadir)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("read rpc cookie: %s is empty", path)
	}
	return tok, nil
}

type clientRequest struct {
	Version string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

type clientResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

// Call calls method with params (nil, a slice for positional params or a
// struct or map for named ones) and decodes the result into result (a
// pointer, or nil to drop it). A JSON-RPC error is returned as *Error; a
// failed connection matches ErrUnreachable.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	id := c.id.Add(1)
	body, err := json.Marshal(clientRequest{Version: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("%s: encode params: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if method != "tx_send" {
		// Every other method may be repeated safely: let the transport
		// retry on a fresh connection when a kept-alive one turns out to
		// be closed (the server restarted). A nil slice is not sent.
		req.Header["Idempotency-Key"] = nil
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil && isDialError(err) {
			return &unreachableError{url: c.url, cause: err}
		}
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: reading the response from %s: %w", method, c.url, err)
	}
	var r clientResponse
	if err := json.Unmarshal(data, &r); err != nil || (r.Error == nil && r.Result == nil) {
		return fmt.Errorf("%s: %s answered HTTP %d with no JSON-RPC response: %q", method, c.url, resp.StatusCode, snippet(data))
	}
	if r.Error != nil {
		return r.Error
	}
	if string(r.ID) != fmt.Sprint(id) {
		return fmt.Errorf("%s: response id %s, want %d", method, r.ID, id)
	}
	if result != nil {
		if err := json.Unmarshal(r.Result, result); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
	}
	return nil
}

// isDialError reports whether err is a failure to open the connection
// (refused, no route, unknown host), as opposed to one that broke later.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// Head returns the main chain's tip.
func (c *Client) Head(ctx context.Context) (*Head, error) {
	return callResult[Head](ctx, c, "chain_getHead", nil)
}

// BlockByHeight returns the main-chain block at height, with its full txs
// if full.
func (c *Client) BlockByHeight(ctx context.Context, height uint64, full bool) (*Block, error) {
	return callResult[Block](ctx, c, "chain_getBlock", []any{height, full})
}

// BlockByHash returns the block with hash (64 hex digits), main chain or
// not.
func (c *Client) BlockByHash(ctx context.Context, hash string, full bool) (*Block, error) {
	return callResult[Block](ctx, c, "chain_getBlock", []any{hash, full})
}

// HeaderByHeight returns the main-chain header at height.
func (c *Client) HeaderByHeight(ctx context.Context, height uint64) (*Header, error) {
	return callResult[Header](ctx, c, "chain_getHeader", []any{height})
}

// HeaderByHash returns the header with hash.
func (c *Client) HeaderByHash(ctx context.Context, hash string) (*Header, error) {
	return callResult[Header](ctx, c, "chain_getHeader", []any{hash})
}

// Transaction returns a tx by id: pending (in the pool) or confirmed (on
// the main chain).
func (c *Client) Transaction(ctx context.Context, id string) (*Tx, error) {
	return callResult[Tx](ctx, c, "chain_getTransaction", []any{id})
}

// Account returns the account of a bech32 address.
func (c *Client) Account(ctx context.Context, addr string) (*Account, error) {
	return callResult[Account](ctx, c, "state_getAccount", []any{addr})
}

// SendTx submits a signed tx and returns its id. A refusal is an *Error
// with Code CodeTxRejected and the txpool's reason in Reason().
// Tips returns every branch tip (chain_getTips).
func (c *Client) Tips(ctx context.Context) ([]ChainTip, error) {
	tips, err := callResult[[]ChainTip](ctx, c, "chain_getTips", nil)
	if err != nil {
		return nil, err
	}
	return *tips, nil
}

// History returns a page of addr's history (state_getHistory); cursor ""
// is the first page, limit 0 the server's default.
func (c *Client) History(ctx context.Context, addr, cursor string, limit int) (*History, error) {
	return callResult[History](ctx, c, "state_getHistory", []any{addr, HistoryOptions{Cursor: cursor, Limit: limit}})
}

func (c *Client) SendTx(ctx context.Context, tx *types.Tx) (string, error) {
	return c.SendRawTx(ctx, hex.EncodeToString(tx.Encode()))
}

// SendRawTx submits the hex encoding of a signed tx; see SendTx.
func (c *Client) SendRawTx(ctx context.Context, rawHex string) (string, error) {
	var r SendResult
	if err := c.Call(ctx, "tx_send", []any{rawHex}, &r); err != nil {
		return "", err
	}
	return r.ID, nil
}

// PoolStatus counts the pooled txs.
func (c *Client) PoolStatus(ctx context.Context) (*PoolStatus, error) {
	return callResult[PoolStatus](ctx, c, "txpool_status", nil)
}

// PoolContent returns the pooled txs by sender.
func (c *Client) PoolContent(ctx context.Context) (*PoolContent, error) {
	return callResult[PoolContent](ctx, c, "txpool_content", nil)
}

// NetInfo returns the node's network state.
func (c *Client) NetInfo(ctx context.Context) (*NetInfo, error) {
	return callResult[NetInfo](ctx, c, "net_info", nil)
}

// Peers returns the connected peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var r []Peer
	if err := c.Call(ctx, "net_peers", nil, &r); err != nil {
		return nil, err
	}
	return r, nil
}

// Connect dials a peer multiaddr (ending /p2p/<id>). Admin.
func (c *Client) Connect(ctx context.Context, addr string) error {
	return c.Call(ctx, "net_connect", []any{addr}, nil)
}

// Ban refuses a peer id. Admin.
func (c *Client) Ban(ctx context.Context, id string) error {
	return c.Call(ctx, "net_ban", []any{id}, nil)
}

// Unban lifts a ban. Admin.
func (c *Client) Unban(ctx context.Context, id string) error {
	return c.Call(ctx, "net_unban", []any{id}, nil)
}

// MinerStatus returns the miner's state.
func (c *Client) MinerStatus(ctx context.Context) (*MinerStatus, error) {
	return callResult[MinerStatus](ctx, c, "miner_status", nil)
}

// MinerStart starts (or restarts) the miner; zero fields of p keep the
// node's configuration. Admin.
func (c *Client) MinerStart(ctx context.Context, p MinerStartParams) (*MinerStatus, error) {
	return callResult[MinerStatus](ctx, c, "miner_start", []any{p})
}

// MinerStop stops the miner. Admin.
func (c *Client) MinerStop(ctx context.Context) (*MinerStatus, error) {
	return callResult[MinerStatus](ctx, c, "miner_stop", nil)
}

// NodeInfo returns the node's version, network, tip and sync progress.
func (c *Client) NodeInfo(ctx context.Context) (*NodeInfo, error) {
	return callResult[NodeInfo](ctx, c, "node_info", nil)
}

// callResult calls method and returns its decoded result, or nil and the
// error.
func callResult[T any](ctx context.Context, c *Client, method string, params any) (*T, error) {
	var r T
	if err := c.Call(ctx, method, params, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
