package rpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/creachadair/jrpc2"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// Subscriptions, in geth's shape (docs/RPC.md, "Subscriptions"):
// chain_subscribe returns an id, and each event is a notification
//
//	{"jsonrpc":"2.0","method":"chain_subscription","params":{"subscription":ID,"result":R}}
//
// queued on the subscriber's connection without waiting (wsConn.send).

// The kinds of subscription.
const (
	SubNewHeads   = "newHeads"               // R: a Header, or a Reorg before the heads of a reorganisation
	SubPendingTxs = "newPendingTransactions" // R: the id of a tx admitted to the pool
	SubAddress    = "address"                // R: an AddressEvent for each tx touching the address
)

// Reorg is the result of a newHeads notification that comes before the
// heads of a reorganisation.
type Reorg struct {
	Reorg ReorgInfo `json:"reorg"`
}

// ReorgInfo describes a reorganisation: the tips before and after, the
// last block the branches share, and the blocks removed from the main
// chain (old tip first) and added (in order).
type ReorgInfo struct {
	OldTip     string   `json:"oldTip"`
	NewTip     string   `json:"newTip"`
	ForkHeight uint64   `json:"forkHeight"`
	ForkHash   string   `json:"forkHash"`
	Removed    []string `json:"removed"`
	Added      []string `json:"added"`
}

// AddressEvent is the result of an address notification: Status is
// "pending" (admitted to the pool), "confirmed" (in a block joining the
// main chain) or "removed" (its block left the main chain).
type AddressEvent struct {
	Status    string `json:"status"`
	Tx        *Tx    `json:"tx"`
	Height    uint64 `json:"height,omitempty"`
	BlockHash string `json:"blockHash,omitempty"`
}

type subscription struct {
	id   string
	kind string
	addr types.Address
	conn *wsConn
}

// subHub is the server's subscriptions by kind, and its connections.
type subHub struct {
	heads, txs map[string]*subscription
	addrs      map[types.Address]map[string]*subscription
	conns      map[*wsConn]bool
}

func newSubHub() subHub {
	return subHub{heads: map[string]*subscription{}, txs: map[string]*subscription{},
		addrs: map[types.Address]map[string]*subscription{}, conns: map[*wsConn]bool{}}
}

// trackConn adds or removes a live connection (closed at Close).
func (s *Server) trackConn(c *wsConn, add bool) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if add {
		s.hub.conns[c] = true
	} else {
		delete(s.hub.conns, c)
	}
}

// closeConns ends every WebSocket connection (Close).
func (s *Server) closeConns() {
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	for c := range s.hub.conns {
		c.close(1001, "server shutting down") // going away
	}
}

func (s *Server) chainSubscribe(ctx context.Context, req *jrpc2.Request) (any, error) {
	var kind string
	var addr types.Address
	var rawAddr json.RawMessage
	if err := bindParams(req,
		param{names: []string{"kind"}, decode: decodeString(&kind)},
		param{names: []string{"address"}, optional: true, decode: func(v json.RawMessage) error {
			rawAddr = v
			return decodeAddress(&addr)(v)
		}}); err != nil {
		return nil, err
	}
	c := connFrom(ctx)
	if c == nil {
		return nil, newError(CodeUnavailable, ReasonUnavailable,
			"unavailable: subscriptions need a WebSocket connection (ws://<rpc address>/ws)")
	}
	switch {
	case kind != SubNewHeads && kind != SubPendingTxs && kind != SubAddress:
		return nil, errInvalidParams("kind: %q is not %q, %q or %q", kind, SubNewHeads, SubPendingTxs, SubAddress)
	case kind == SubAddress && rawAddr == nil:
		return nil, errInvalidParams("missing param \"address\" (an address subscription names one)")
	case kind != SubAddress && rawAddr != nil:
		return nil, errInvalidParams("address: only an address subscription takes one")
	}
	sub := &subscription{id: s.newSubID(), kind: kind, addr: addr, conn: c}
	c.mu.Lock()
	if len(c.subs) >= c.s.cfg.MaxSubs {
		c.mu.Unlock()
		return nil, newError(CodeUnavailable, ReasonUnavailable,
			"unavailable: subscription limit reached (%d per connection)", c.s.cfg.MaxSubs)
	}
	c.subs[sub.id] = sub
	c.mu.Unlock()
	s.subMu.Lock()
	switch kind {
	case SubNewHeads:
		s.hub.heads[sub.id] = sub
	case SubPendingTxs:
		s.hub.txs[sub.id] = sub
	case SubAddress:
		m := s.hub.addrs[addr]
		if m == nil {
			m = map[string]*subscription{}
			s.hub.addrs[addr] = m
		}
		m[sub.id] = sub
	}
	s.subMu.Unlock()
	return sub.id, nil
}

// randomSubID is a subscription id: 16 random bytes in hex, "0x…".
func randomSubID() string {
	var b [16]byte
	rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

func (s *Server) chainUnsubscribe(ctx context.Context, req *jrpc2.Request) (any, error) {
	var id string
	if err := bindParams(req, param{names: []string{"id"}, decode: decodeString(&id)}); err != nil {
		return nil, err
	}
	c := connFrom(ctx)
	if c == nil {
		return nil, newError(CodeUnavailable, ReasonUnavailable,
			"unavailable: subscriptions need a WebSocket connection (ws://<rpc address>/ws)")
	}
	c.mu.Lock()
	sub := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if sub == nil {
		return nil, newError(CodeNotFound, ReasonNotFound, "subscription %q not found on this connection", id)
	}
	s.dropSub(sub)
	return true, nil
}

func (s *Server) dropSub(sub *subscription) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	switch sub.kind {
	case SubNewHeads:
		delete(s.hub.heads, sub.id)
	case SubPendingTxs:
		delete(s.hub.txs, sub.id)
	case SubAddress:
		if m := s.hub.addrs[sub.addr]; m != nil {
			delete(m, sub.id)
			if len(m) == 0 {
				delete(s.hub.addrs, sub.addr)
			}
		}
	}
}

// unsubscribeAll drops a closed connection's subscriptions.
func (s *Server) unsubscribeAll(c *wsConn) {
	c.mu.Lock()
	subs := c.subs
	c.subs = map[string]*subscription{}
	c.mu.Unlock()
	for _, sub := range subs {
		s.dropSub(sub)
	}
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, v); err != nil {
		return []byte("null")
	}
	return buf.Bytes()
}

// NotifyChain tells the subscribers what a change of the main chain did:
// newHeads gets a Reorg first if blocks were removed, then each added
// block's header; address subscribers each of their txs removed and
// added. It only queues (wsConn.send), so it never waits for a client;
// the node calls it after each change of the tip.
func (s *Server) NotifyChain(res chain.Result) {
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	if len(s.hub.heads) == 0 && len(s.hub.addrs) == 0 {
		return
	}
	tip := s.b.Tip().Height
	if len(res.Disconnected) > 0 && len(s.hub.heads) > 0 {
		s.fanOut(s.hub.heads, marshal(reorgOf(res, s.b)))
	}
	for _, blk := range res.Connected {
		if len(s.hub.heads) > 0 {
			info, err := s.b.Header(blk.Hash())
			if err != nil {
				continue // reorganised away again already
			}
			h := NewHeader(info, tip)
			s.fanOut(s.hub.heads, marshal(&h))
		}
	}
	if len(s.hub.addrs) == 0 {
		return
	}
	for _, blk := range res.Disconnected {
		s.notifyAddrTxs(blk, "removed", 0, "")
	}
	for _, blk := range res.Connected {
		s.notifyAddrTxs(blk, "confirmed", blk.Header.Height, blk.Hash().String())
	}
}

// NotifyTx tells the subscribers that tx entered the pool.
func (s *Server) NotifyTx(tx *types.Tx) {
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	if len(s.hub.txs) > 0 {
		id := tx.ID().String()
		s.fanOut(s.hub.txs, []byte(strconv.Quote(id)))
	}
	if len(s.hub.addrs) > 0 {
		s.notifyAddr(tx, &AddressEvent{Status: "pending", Tx: NewTx(tx)})
	}
}

// notifyAddrTxs notifies the address subscribers of blk's txs. Callers
// hold subMu for reading.
func (s *Server) notifyAddrTxs(blk *types.Block, status string, height uint64, hash string) {
	for _, tx := range blk.Txs {
		s.notifyAddr(tx, &AddressEvent{Status: status, Tx: NewTx(tx), Height: height, BlockHash: hash})
	}
}

// notifyAddr sends ev to the subscribers of tx's sender and recipient.
// Callers hold subMu for reading.
func (s *Server) notifyAddr(tx *types.Tx, ev *AddressEvent) {
	from := tx.Sender()
	var result []byte
	for _, a := range []types.Address{from, tx.To} {
		if subs := s.hub.addrs[a]; len(subs) > 0 {
			if result == nil {
				result = marshal(ev)
			}
			s.fanOut(subs, result)
		}
		if tx.To == from {
			break
		}
	}
}

// fanOut queues result for every subscription of subs. Callers hold
// subMu for reading.
func (s *Server) fanOut(subs map[string]*subscription, result []byte) {
	for _, sub := range subs {
		sub.conn.send(wsMsg{sub: sub.id, body: result}) // result is shared: encoded once per event
	}
}

// headerSource is what reorgOf needs of a Backend.
type headerSource interface {
	Header(h types.Hash) (chain.HeaderInfo, error)
}

func reorgOf(res chain.Result, b headerSource) *Reorg {
	r := ReorgInfo{OldTip: res.Disconnected[0].Hash().String(), Removed: []string{}, Added: []string{}}
	for _, blk := range res.Disconnected {
		r.Removed = append(r.Removed, blk.Hash().String())
	}
	for _, blk := range res.Connected {
		r.Added = append(r.Added, blk.Hash().String())
	}
	if n := len(res.Connected); n > 0 {
		r.NewTip = res.Connected[n-1].Hash().String()
	}
	last := res.Disconnected[len(res.Disconnected)-1]
	r.ForkHash = last.Header.Parent.String()
	if last.Header.Height > 0 {
		r.ForkHeight = last.Header.Height - 1
	}
	return &Reorg{Reorg: r}
}
