package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/creachadair/jrpc2"
	"github.com/creachadair/jrpc2/handler"
)

// adminMethods need the cookie token.
var adminMethods = []string{"miner_start", "miner_stop", "net_connect", "net_ban", "net_unban"}

// bind returns the method table of doc.go, the set of admin methods and
// the set of methods that wait on their context (and so get one with the
// request's deadline).
func (s *Server) bind() (m handler.Map, admin, waits map[string]bool) {
	m = handler.Map{
		"chain_getHead":        s.chainGetHead,
		"chain_getBlock":       s.chainGetBlock,
		"chain_getHeader":      s.chainGetHeader,
		"chain_getTransaction": s.chainGetTransaction,
		"chain_getTips":        s.chainGetTips,
		"state_getAccount":     s.stateGetAccount,
		"state_getHistory":     s.stateGetHistory,
		"tx_send":              s.txSend,
		"txpool_status":        s.txpoolStatus,
		"txpool_content":       s.txpoolContent,
		"net_info":             s.netInfo,
		"net_peers":            s.netPeers,
		"net_connect":          s.netConnect,
		"net_ban":              s.netBan,
		"net_unban":            s.netUnban,
		"miner_status":         s.minerStatus,
		"miner_start":          s.minerStart,
		"miner_stop":           s.minerStop,
		"node_info":            s.nodeInfo,
		"chain_subscribe":      s.chainSubscribe,
		"chain_unsubscribe":    s.chainUnsubscribe,
	}
	admin = make(map[string]bool, len(adminMethods))
	for _, name := range adminMethods {
		admin[name] = true
	}
	return m, admin, map[string]bool{"net_connect": true}
}

// lookupError maps a failed read: not found is CodeNotFound, anything
// else an internal error.
func lookupError(err error) error {
	if errors.Is(err, chain.ErrNotFound) {
		return newError(CodeNotFound, ReasonNotFound, "%v", err)
	}
	return err
}

// actionError maps a failed action of the backend (connect, ban, miner).
func actionError(what string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, ErrInvalidArgument):
		return errInvalidParams("%s: %s", what, strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": "))
	case errors.Is(err, chain.ErrNotFound):
		return newError(CodeNotFound, ReasonNotFound, "%s: %v", what, err)
	}
	return newError(CodeUnavailable, ReasonUnavailable, "%s: %s", what, strings.TrimPrefix(err.Error(), ErrUnavailable.Error()+": "))
}

func (s *Server) chainGetHead(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	tip := s.b.Tip()
	return &Head{
		Hash:      tip.Hash.String(),
		Height:    tip.Height,
		Work:      workString(tip.Work),
		Time:      tip.Header.Time,
		Bits:      bitsString(tip.Header.Bits),
		StateRoot: tip.Header.StateRoot.String(),
	}, nil
}

func (s *Server) chainGetTips(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	tips := s.b.Tips()
	out := make([]ChainTip, len(tips))
	for i, t := range tips {
		out[i] = ChainTip{Height: t.Height, Hash: t.Hash.String(), BranchLen: t.BranchLen, Status: t.Status}
	}
	return out, nil
}

// refParams are the params of chain_getBlock and chain_getHeader.
func refParam(ref *blockRef) param {
	return param{names: []string{"ref", "hash", "height"}, decode: decodeRef(ref)}
}

// header looks up the header a ref names.
func (s *Server) header(ref blockRef) (chain.HeaderInfo, error) {
	if ref.byHash {
		return s.b.Header(ref.hash)
	}
	return s.b.HeaderByHeight(ref.height)
}

func (s *Server) chainGetBlock(_ context.Context, req *jrpc2.Request) (any, error) {
	var ref blockRef
	var full bool
	if err := bindParams(req, refParam(&ref), param{names: []string{"full"}, optional: true, decode: decodeBool(&full)}); err != nil {
		return nil, err
	}
	info, err := s.header(ref)
	if err != nil {
		return nil, lookupError(err)
	}
	body := s.blocks.get(info.Hash)
	if body == nil {
		blk, err := s.b.Block(info.Hash)
		if err != nil {
			if errors.Is(err, chain.ErrNotFound) {
				return nil, newError(CodeNotFound, ReasonNotFound, "block %s: header known, body not stored", info.Hash)
			}
			return nil, err
		}
		body = newBlockBody(blk)
		s.blocks.put(info.Hash, body)
	}
	return body.result(info, s.b.Tip().Height, full), nil
}

func (s *Server) chainGetHeader(_ context.Context, req *jrpc2.Request) (any, error) {
	var ref blockRef
	if err := bindParams(req, refParam(&ref)); err != nil {
		return nil, err
	}
	info, err := s.header(ref)
	if err != nil {
		return nil, lookupError(err)
	}
	h := NewHeader(info, s.b.Tip().Height)
	return &h, nil
}

func (s *Server) chainGetTransaction(_ context.Context, req *jrpc2.Request) (any, error) {
	var id types.Hash
	if err := bindParams(req, param{names: []string{"id"}, decode: decodeHash(&id)}); err != nil {
		return nil, err
	}
	return LookupTx(s.b, id)
}

func (s *Server) stateGetAccount(_ context.Context, req *jrpc2.Request) (any, error) {
	var addr types.Address
	if err := bindParams(req, param{names: []string{"address"}, decode: decodeAddress(&addr)}); err != nil {
		return nil, err
	}
	acc, err := s.b.Account(addr)
	if err != nil {
		return nil, err
	}
	return &Account{
		Address:      addr.String(),
		Balance:      strconv.FormatUint(acc.Balance, 10),
		Nonce:        acc.Nonce,
		PendingNonce: s.b.NextNonce(addr),
	}, nil
}

// History page sizes of state_getHistory.
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 1000
)

// historyCursor is state_getHistory's cursor, opaque to clients: "p<k>"
// continues the pending entries after the first k, "c<height>.<pos>"
// the confirmed ones older than that place.
type historyCursor struct {
	pending   int
	confirmed *chain.HistoryCursor
}

func (c historyCursor) String() string {
	if c.confirmed != nil {
		return fmt.Sprintf("c%d.%d", c.confirmed.Height, c.confirmed.Pos)
	}
	return "p" + strconv.Itoa(c.pending)
}

func parseHistoryCursor(s string) (historyCursor, error) {
	bad := fmt.Errorf("cursor %q: not one state_getHistory returned", s)
	switch {
	case s == "":
		return historyCursor{}, nil
	case s[0] == 'p':
		k, err := strconv.Atoi(s[1:])
		if err != nil || k < 0 || strconv.Itoa(k) != s[1:] {
			return historyCursor{}, bad
		}
		return historyCursor{pending: k}, nil
	case s[0] == 'c':
		h, p, ok := strings.Cut(s[1:], ".")
		height, err1 := strconv.ParseUint(h, 10, 64)
		pos, err2 := strconv.ParseUint(p, 10, 32)
		c := historyCursor{confirmed: &chain.HistoryCursor{Height: height, Pos: uint32(pos)}}
		if !ok || err1 != nil || err2 != nil || c.String() != s { // one spelling per cursor
			return historyCursor{}, bad
		}
		return c, nil
	}
	return historyCursor{}, bad
}

func decodeHistoryOptions(dst *HistoryOptions) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		d := json.NewDecoder(bytes.NewReader(v))
		d.DisallowUnknownFields()
		if err := d.Decode(dst); err != nil {
			return fmt.Errorf("want an object {\"cursor\": string, \"limit\": number}, got %s", describe(v))
		}
		return nil
	}
}

func (s *Server) stateGetHistory(_ context.Context, req *jrpc2.Request) (any, error) {
	var addr types.Address
	var opts HistoryOptions
	if err := bindParams(req,
		param{names: []string{"address"}, decode: decodeAddress(&addr)},
		param{names: []string{"options"}, optional: true, decode: decodeHistoryOptions(&opts)}); err != nil {
		return nil, err
	}
	return AddressHistory(s.b, addr, opts)
}

// rejecter is a txpool refusal (txpool.RejectError), found without
// importing txpool.
type rejecter interface {
	error
	RejectReason() string
}

func (s *Server) txSend(_ context.Context, req *jrpc2.Request) (any, error) {
	var raw []byte
	if err := bindParams(req, param{names: []string{"raw"}, decode: decodeHex(&raw)}); err != nil {
		return nil, err
	}
	tx, err := types.DecodeTx(raw)
	if err != nil {
		return nil, errInvalidParams("raw: %v", err)
	}
	id, err := s.b.SubmitTx(tx)
	if err != nil {
		var r rejecter
		if errors.As(err, &r) {
			return nil, newError(CodeTxRejected, r.RejectReason(), "%v", err)
		}
		return nil, err
	}
	return &SendResult{ID: id.String()}, nil
}

func (s *Server) txpoolStatus(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	st := s.b.PoolStatus()
	return &st, nil
}

func (s *Server) txpoolContent(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	c := s.b.PoolContent()
	if c.Senders == nil {
		c.Senders = []PoolSender{}
	}
	return &c, nil
}

func (s *Server) netInfo(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	ni := s.b.NetInfo()
	if ni.Addrs == nil {
		ni.Addrs = []string{}
	}
	return &ni, nil
}

func (s *Server) netPeers(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	peers := s.b.Peers()
	if peers == nil {
		peers = []Peer{}
	}
	return peers, nil
}

// nonEmpty decodes a string param that must not be empty.
func nonEmpty(dst *string) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		if err := decodeString(dst)(v); err != nil {
			return err
		}
		if *dst == "" {
			return errors.New("must not be empty")
		}
		return nil
	}
}

func (s *Server) netConnect(ctx context.Context, req *jrpc2.Request) (any, error) {
	var addr string
	if err := bindParams(req, param{names: []string{"addr"}, decode: nonEmpty(&addr)}); err != nil {
		return nil, err
	}
	if err := s.b.Connect(ctx, addr); err != nil {
		return nil, actionError("connect "+addr, err)
	}
	return true, nil
}

func (s *Server) netBan(_ context.Context, req *jrpc2.Request) (any, error) {
	var id string
	if err := bindParams(req, param{names: []string{"id"}, decode: nonEmpty(&id)}); err != nil {
		return nil, err
	}
	if err := s.b.Ban(id); err != nil {
		return nil, actionError("ban "+id, err)
	}
	return true, nil
}

func (s *Server) netUnban(_ context.Context, req *jrpc2.Request) (any, error) {
	var id string
	if err := bindParams(req, param{names: []string{"id"}, decode: nonEmpty(&id)}); err != nil {
		return nil, err
	}
	if err := s.b.Unban(id); err != nil {
		return nil, actionError("unban "+id, err)
	}
	return true, nil
}

func (s *Server) minerStatus(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	st := s.b.MinerStatus()
	return &st, nil
}

// decodeMinerStart decodes MinerStartParams strictly: only threads and
// address, threads not negative, address valid bech32 (normalised).
func decodeMinerStart(dst *MinerStartParams) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		if len(v) == 0 || v[0] != '{' {
			return fmt.Errorf("want an object {threads?, address?}, got %s", describe(v))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil {
			return err
		}
		return minerStartFields(dst, obj)
	}
}

// MaxMinerThreads bounds miner_start's threads, and the node's
// --miner.threads (node.MaxMinerThreads): one rule for both.
const MaxMinerThreads = 256

func minerStartFields(dst *MinerStartParams, obj map[string]json.RawMessage) error {
	for k, v := range obj {
		switch k {
		case "threads":
			var n uint64
			if err := decodeUint(&n)(v); err != nil || n > MaxMinerThreads {
				return fmt.Errorf("threads: want an integer from 0 (keep the configured count) to %d, got %s", MaxMinerThreads, describe(v))
			}
			dst.Threads = int(n)
		case "address":
			var a types.Address
			if err := decodeAddress(&a)(v); err != nil {
				return fmt.Errorf("address: %v", err)
			}
			dst.Address = a.String()
		default:
			return fmt.Errorf("unknown field %q (want threads, address)", k)
		}
	}
	return nil
}

func (s *Server) minerStart(_ context.Context, req *jrpc2.Request) (any, error) {
	var p MinerStartParams
	if req.HasParams() {
		var raw json.RawMessage
		if err := req.UnmarshalParams(&raw); err != nil {
			return nil, errInvalidParams("%v", err)
		}
		if raw[0] == '[' { // positional: [] or [{…}]
			var arr []json.RawMessage
			if err := json.Unmarshal(raw, &arr); err != nil {
				return nil, errInvalidParams("%v", err)
			}
			if len(arr) > 1 {
				return nil, errInvalidParams("got %d params, want at most one object {threads?, address?}", len(arr))
			}
			if len(arr) == 1 && string(arr[0]) != "null" {
				raw = arr[0]
			} else {
				raw = nil
			}
		}
		if raw != nil {
			if err := decodeMinerStart(&p)(raw); err != nil {
				return nil, errInvalidParams("%v", err)
			}
		}
	}
	st, err := s.b.MinerStart(p)
	if err != nil {
		return nil, actionError("start miner", err)
	}
	return &st, nil
}

func (s *Server) minerStop(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	st := s.b.MinerStop()
	return &st, nil
}

func (s *Server) nodeInfo(_ context.Context, req *jrpc2.Request) (any, error) {
	if err := noParams(req); err != nil {
		return nil, err
	}
	ni := s.b.NodeInfo()
	return &ni, nil
}
