package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/cairn-ledger/cairn/rpc"
)

// Client calls the few read-only JSON-RPC methods the launcher and its
// test need, decoding into the result types of package rpc. It is safe
// for concurrent use.
//
// It is deliberately a few lines of HTTP rather than the rpc package's
// typed client: the end-to-end test then checks the server's wire format
// independently of the client the cairn CLI uses.
type Client struct {
	url  string
	http *http.Client
}

// NewClient returns a client of the node at url (http://host:port).
func NewClient(url string) *Client { return &Client{url: url, http: http.DefaultClient} }

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("rpc error %d: %s (%s)", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message)
}

// Call calls method with positional params and decodes the result into
// result.
func (c *Client) Call(ctx context.Context, method string, result any, params ...any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: HTTP %s: %.200q", method, resp.Status, b)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %w", method, r.Error)
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

// NodeInfo calls node_info.
func (c *Client) NodeInfo(ctx context.Context) (*rpc.NodeInfo, error) {
	var r rpc.NodeInfo
	return &r, c.Call(ctx, "node_info", &r)
}

// Head calls chain_getHead.
func (c *Client) Head(ctx context.Context) (*rpc.Head, error) {
	var r rpc.Head
	return &r, c.Call(ctx, "chain_getHead", &r)
}

// NetInfo calls net_info.
func (c *Client) NetInfo(ctx context.Context) (*rpc.NetInfo, error) {
	var r rpc.NetInfo
	return &r, c.Call(ctx, "net_info", &r)
}

// PoolStatus calls txpool_status.
func (c *Client) PoolStatus(ctx context.Context) (*rpc.PoolStatus, error) {
	var r rpc.PoolStatus
	return &r, c.Call(ctx, "txpool_status", &r)
}

// MinerStatus calls miner_status.
func (c *Client) MinerStatus(ctx context.Context) (*rpc.MinerStatus, error) {
	var r rpc.MinerStatus
	return &r, c.Call(ctx, "miner_status", &r)
}

// Account calls state_getAccount.
func (c *Client) Account(ctx context.Context, addr string) (*rpc.Account, error) {
	var r rpc.Account
	return &r, c.Call(ctx, "state_getAccount", &r, addr)
}

// Transaction calls chain_getTransaction.
func (c *Client) Transaction(ctx context.Context, id string) (*rpc.Tx, error) {
	var r rpc.Tx
	return &r, c.Call(ctx, "chain_getTransaction", &r, id)
}
