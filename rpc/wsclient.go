package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// WSClient is a JSON-RPC client over the node's WebSocket (/ws): calls,
// and subscriptions whose notifications arrive on a channel. Safe for
// concurrent use.
type WSClient struct {
	ws *websocket.Conn

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // guards the fields below
	nextID  int
	pending map[string]chan wsResponse
	subs    map[string]*Subscription
	// early holds the notifications of a subscription whose id came back
	// before Subscribe registered it (a few at most).
	early map[string][]json.RawMessage
	err   error         // why the connection ended
	done  chan struct{} // closed when it has
}

type wsResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

// Subscription is one subscription of a WSClient. C delivers each
// notification's result; it is closed when the subscription or the
// connection ends.
type Subscription struct {
	ID string
	C  <-chan json.RawMessage
	c  chan json.RawMessage
}

// WSURL turns a node's RPC URL ("http://127.0.0.1:7731") into its
// WebSocket URL ("ws://127.0.0.1:7731/ws").
func WSURL(rpcURL string) (string, error) {
	u, err := url.Parse(rpcURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("rpc: bad URL %q", rpcURL)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("rpc: URL %q: scheme %q, want http or ws", rpcURL, u.Scheme)
	}
	u.Path = "/ws"
	return u.String(), nil
}

// DialWS connects to the WebSocket of the node at rpcURL; token, if not
// empty, authorises admin methods.
func DialWS(ctx context.Context, rpcURL, token string) (*WSClient, error) {
	wsURL, err := WSURL(rpcURL)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, h)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("rpc: WebSocket %s: HTTP %s", wsURL, resp.Status)
		}
		return nil, fmt.Errorf("rpc: WebSocket %s: %w", wsURL, err)
	}
	c := &WSClient{ws: ws, pending: map[string]chan wsResponse{}, subs: map[string]*Subscription{},
		early: map[string][]json.RawMessage{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *WSClient) readLoop() {
	var err error
	for {
		var msg []byte
		if _, msg, err = c.ws.ReadMessage(); err != nil {
			break
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Subscription string          `json:"subscription"`
				Result       json.RawMessage `json:"result"`
			} `json:"params"`
			wsResponse
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		if m.Method == "chain_subscription" {
			c.mu.Lock()
			sub := c.subs[m.Params.Subscription]
			if sub == nil && len(c.early[m.Params.Subscription]) < 1024 {
				c.early[m.Params.Subscription] = append(c.early[m.Params.Subscription], m.Params.Result)
			}
			c.mu.Unlock()
			if sub != nil {
				select {
				case sub.c <- m.Params.Result:
				case <-c.done:
				}
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[string(m.ID)]
		delete(c.pending, string(m.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- m.wsResponse
		}
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Text != "" {
		err = fmt.Errorf("rpc: the node closed the WebSocket: %s", ce.Text)
	}
	c.mu.Lock()
	c.err = err
	for _, sub := range c.subs {
		close(sub.c)
	}
	c.subs = nil
	close(c.done)
	c.mu.Unlock()
}

// Done is closed when the connection ends; Err then says why.
func (c *WSClient) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it lasts.
func (c *WSClient) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Call sends one request and decodes its result into result (if not nil).
func (c *WSClient) Call(ctx context.Context, method string, params, result any) error {
	c.mu.Lock()
	if c.subs == nil {
		c.mu.Unlock()
		return fmt.Errorf("rpc: connection closed: %v", c.err)
	}
	c.nextID++
	id := strconv.Itoa(c.nextID)
	ch := make(chan wsResponse, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "method": method}
	if params != nil {
		req["params"] = params
	}
	c.wmu.Lock()
	err := c.ws.WriteJSON(req)
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return r.Error
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("rpc: %s: connection closed: %v", method, c.Err())
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Subscribe starts a subscription of kind (SubNewHeads, SubPendingTxs, or
// SubAddress with the address as arg).
func (c *WSClient) Subscribe(ctx context.Context, kind string, args ...any) (*Subscription, error) {
	var id string
	if err := c.Call(ctx, "chain_subscribe", append([]any{kind}, args...), &id); err != nil {
		return nil, err
	}
	ch := make(chan json.RawMessage, 1024+1024)
	sub := &Subscription{ID: id, C: ch, c: ch}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == nil {
		return nil, fmt.Errorf("rpc: connection closed: %v", c.err)
	}
	// Notifications that came between the answer and now wait in early.
	for _, r := range c.early[id] {
		ch <- r
	}
	delete(c.early, id)
	c.subs[id] = sub
	return sub, nil
}

// Unsubscribe ends a subscription; its channel is closed.
func (c *WSClient) Unsubscribe(ctx context.Context, sub *Subscription) error {
	var ok bool
	if err := c.Call(ctx, "chain_unsubscribe", []any{sub.ID}, &ok); err != nil {
		return err
	}
	c.mu.Lock()
	if s := c.subs[sub.ID]; s != nil {
		delete(c.subs, sub.ID)
		close(s.c)
	}
	c.mu.Unlock()
	return nil
}

// Close ends the connection.
func (c *WSClient) Close() error {
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	err := c.ws.Close()
	<-c.done
	if err != nil && !strings.Contains(err.Error(), "use of closed") {
		return err
	}
	return nil
}
