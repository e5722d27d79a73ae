package rpc

import (
	"bytes"
	"context"
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
	// The guard in front has checked Origin already (own, or listed).
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsConn is one WebSocket client.
type wsConn struct {
	s     *Server
	ws    *websocket.Conn
	auth  string      // "Bearer <token>" from the upgrade request, if any
	queue chan []byte // waiting to be written
	done  chan struct{}
	once  sync.Once

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
	c := &wsConn{s: s, ws: ws, auth: auth, queue: make(chan []byte, s.cfg.WSQueue),
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
		if out.Len() > 0 && !c.send(out.Bytes()) {
			return
		}
	}
}

// writeLoop writes the queued messages and pings until the connection
// ends.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(wsPing)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.queue:
			c.ws.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.close(websocket.CloseGoingAway, "")
				return
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
func (c *wsConn) send(msg []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.queue <- msg:
		return true
	default:
		c.s.slowDrops.Add(1)
		c.s.log.Info("websocket client too slow: disconnected", "remote", c.ws.RemoteAddr(), "queue", cap(c.queue))
		c.close(websocket.ClosePolicyViolation, "queue overflow: the client reads too slowly ("+itoa(cap(c.queue))+" messages waiting)")
		return false
	}
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
