package rpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// JSON-RPC over WebSocket at /ws (docs/RPC.md, "WebSocket"): every method
// of the HTTP API, one message (a request or a batch) per WebSocket text
// message, answered in order, plus the subscriptions (subscribe.go). Each
// connection has a reader, which runs its requests one after another, and
// a writer, which sends the responses and notifications from a bounded
// queue: a client that does not read fills its queue and is disconnected
// (close code 1008), never slowing block import or other clients, which
// only ever enqueue without waiting.

// Defaults of the WebSocket limits (Config).
const (
	DefaultMaxWSConns = 200
	DefaultMaxSubs    = 100
	// DefaultWSQueue is the messages a connection may have waiting to be
	// sent, as geth's 10,000.
	DefaultWSQueue = 10_000
	// wsPing is how often the server pings; a client that has not
	// answered (or sent anything) within wsPongWait is dropped.
	wsPing     = 30 * time.Second
	wsPongWait = 75 * time.Second
	// wsWriteWait bounds one write.
	wsWriteWait = 10 * time.Second
)

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4 << 10,
	WriteBufferSize: 16 << 10,
	// Write buffers are held only while a message is written, so an idle
	// connection costs none.
	WriteBufferPool: new(sync.Pool),
	// The guard in front has checked Origin already (own, or listed).
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsConn is one WebSocket client.
type wsConn struct {
	s    *Server
	ws   *websocket.Conn
	auth string // "Bearer <token>" from the upgrade request, if any
	done chan struct{}
	once sync.Once

	// The messages waiting to be written, at most max: a slice that grows
	// with use (an idle connection holds none), and wake, which tells the
	// writer there are some.
	qmu  sync.Mutex
	q    []wsMsg
	max  int
	wake chan struct{}

	mu   sync.Mutex // guards subs
	subs map[string]*subscription
}

type wsConnKey struct{}

// connFrom returns the WebSocket connection a call came on, or nil.
func connFrom(ctx context.Context) *wsConn {
	c, _ := ctx.Value(wsConnKey{}).(*wsConn)
	return c
}

// serveWS upgrades a request to a WebSocket connection, within the
// connection limit, and serves it until either side closes it.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		refuse(w, http.StatusBadRequest, "invalid request: /ws takes a WebSocket upgrade (ws://"+r.Host+"/ws); JSON-RPC over HTTP is POSTed to /")
		return
	}
	s.mu.Lock()
	if s.closed || s.wsConns >= s.cfg.MaxWSConns {
		closed := s.closed
		s.mu.Unlock()
		msg := "unavailable: too many WebSocket connections (limit " + itoa(s.cfg.MaxWSConns) + ")"
		if closed {
			msg = "unavailable: the server is shutting down"
		}
		refuse(w, http.StatusServiceUnavailable, msg)
		return
	}
	s.wsConns++
	s.wsWG.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.wsConns--
		s.mu.Unlock()
		s.wsWG.Done()
	}()
	auth := r.Header.Get("Authorization")
	if tok := r.URL.Query().Get("token"); tok != "" && auth == "" {
		auth = "Bearer " + tok // browsers cannot set headers on a WebSocket
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client already
	}
	c := &wsConn{s: s, ws: ws, auth: auth, max: s.cfg.WSQueue, wake: make(chan struct{}, 1),
		done: make(chan struct{}), subs: make(map[string]*subscription)}
	s.trackConn(c, true)
	defer s.trackConn(c, false)
	ws.SetReadLimit(s.cfg.MaxBodyBytes)
	var wg sync.WaitGroup
	wg.Go(c.writeLoop)
	c.readLoop()
	c.close(websocket.CloseNormalClosure, "")
	wg.Wait()
	s.unsubscribeAll(c)
	ws.Close()
}

// wsMsg is one message waiting to be written: a response (body), or a
// notification of subscription sub with result body, whose JSON is shared
// by every subscriber of the event and framed only as it is written.
type wsMsg struct {
	sub  string
	body []byte
}

// Framing of a notification around its subscription id and result.
var (
	notifyHead = []byte(`{"jsonrpc":"2.0","method":"chain_subscription","params":{"subscription":"`)
	notifyMid  = []byte(`","result":`)
	notifyTail = []byte(`}}`)
)

// write writes m as one text message.
func (c *wsConn) write(m wsMsg) error {
	c.ws.SetWriteDeadline(time.Now().Add(wsWriteWait))
	if m.sub == "" {
		return c.ws.WriteMessage(websocket.TextMessage, m.body)
	}
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	w.Write(notifyHead)
	io.WriteString(w, m.sub)
	w.Write(notifyMid)
	w.Write(m.body)
	w.Write(notifyTail)
	return w.Close()
}

// readLoop runs the client's messages in order until the connection ends.
func (c *wsConn) readLoop() {
	c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
	})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), wsConnKey{}, c))
	defer cancel()
	go func() {
		<-c.done
		cancel()
	}()
	for {
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			if strings.Contains(err.Error(), "read limit exceeded") {
				c.close(websocket.CloseMessageTooBig, "message over "+itoa(int(c.s.cfg.MaxBodyBytes))+" bytes")
			}
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(wsPongWait))
		if typ != websocket.TextMessage {
			c.close(websocket.CloseUnsupportedData, "JSON-RPC messages are text")
			return
		}
		out := new(bytes.Buffer)
		c.s.exchange(ctx, msg, c.auth, out)
		if out.Len() > 0 && !c.send(wsMsg{body: out.Bytes()}) {
			return
		}
	}
}

// writeLoop writes the queued messages and pings until the connection
// ends.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(wsPing)
	defer ping.Stop()
	var batch []wsMsg
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
			c.qmu.Lock()
			batch, c.q = c.q, batch[:0]
			c.qmu.Unlock()
			for i, msg := range batch {
				if err := c.write(msg); err != nil {
					c.close(websocket.CloseGoingAway, "")
					return
				}
				batch[i] = wsMsg{}
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
			}
		}
	}
}

// send queues msg without waiting; a full queue means the client does
// not keep up, and it is disconnected. It reports whether msg was queued.
func (c *wsConn) send(msg wsMsg) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.qmu.Lock()
	full := len(c.q) >= c.max
	if !full {
		c.q = append(c.q, msg)
	}
	c.qmu.Unlock()
	if full {
		c.s.slowDrops.Add(1)
		c.s.log.Info("websocket client too slow: disconnected", "remote", c.ws.RemoteAddr(), "queue", c.max)
		c.close(websocket.ClosePolicyViolation, "queue overflow: the client reads too slowly ("+itoa(c.max)+" messages waiting)")
		return false
	}
	select {
	case c.wake <- struct{}{}:
	default: // the writer has been woken already
	}
	return true
}

// close ends the connection once, telling the client code and reason.
// It returns at once: the close frame is written on a goroutine of its
// own, since a slow client's socket may be full (send calls close on the
// notifying goroutine, which must never wait). For a client that has
// stopped reading altogether the frame cannot get through — it would sit
// behind what the client has not read — and the connection is simply
// dropped once the writer's last write times out.
func (c *wsConn) close(code int, reason string) {
	c.once.Do(func() {
		close(c.done) // nothing more is queued or written
		go func() {
			if code != websocket.CloseGoingAway {
				// WriteControl may run beside the writer's WriteMessage.
				c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			}
			// Then unblock the reader waiting for the client.
			c.ws.SetReadDeadline(time.Now())
		}()
	})
}
