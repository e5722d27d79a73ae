package rpc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testToken is the admin token of the test servers.
const testToken = "test-token"

// goldenCase is one exchange of a transcript.
type goldenCase struct {
	comment string // what the case shows, one line
	body    string // the request body
	admin   bool   // send "Authorization: Bearer <token>"
	token   string // send this token instead (a wrong one)
}

type goldenFile struct {
	name  string // file name without .golden: the method, or "protocol"
	cases []goldenCase
}

// req returns a request body; params "" leaves them out.
func req(id int, method, params string) string {
	if params == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q}`, id, method)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
}

func rawHex(tx *types.Tx) string { return hex.EncodeToString(tx.Encode()) }

// goldenFiles lists every case. They run in this order against one
// backend, so tx_send and the admin methods change what later cases see.
func goldenFiles(b *testBackend) []goldenFile {
	g := b.g
	alice, bob := chaintest.Key("alice").Address(), chaintest.Key("bob").Address()
	dave := chaintest.Key("dave").Address()
	unknown := strings.Repeat("ab", 32)
	b2tx3 := g.Get("b2").Txs[3].ID().String()

	daveNonce := b.NextNonce(dave)
	sendOK := g.Tx("dave", alice, 3_00000000, 2500, daveNonce)
	lowFee := g.Tx("dave", alice, 1_00000000, 10, daveNonce+1)
	oldNonce := g.Tx("alice", bob, 1_00000000, 2000, 0)
	tooMuch := g.Tx("dave", alice, chaintest.GenesisFunds*2, 2000, daveNonce+1)
	badSig := g.Tx("dave", alice, 1_00000000, 2000, daveNonce+1)
	badSig.Amount++ // signed for another amount
	truncated := rawHex(sendOK)[:100]

	return []goldenFile{
		{"chain_getHead", []goldenCase{
			{comment: "The tip of the main chain: hash, height, cumulative work, time (unix ms), compact bits, state root.",
				body: req(1, "chain_getHead", "")},
			{comment: "Empty params ([] or {}) are the same as none.", body: req(2, "chain_getHead", "[]")},
			{comment: "chain_getHead takes no params.", body: req(3, "chain_getHead", "[1]")},
		}},
		{"chain_getBlock", []goldenCase{
			{comment: "A main-chain block by height: the header, size in bytes, tx count and tx ids (full omitted = false).",
				body: req(1, "chain_getBlock", "[2]")},
			{comment: "The same block with full txs: each confirmed, with its index in the block and confirmations.",
				body: req(2, "chain_getBlock", "[1, true]")},
			{comment: "By hash, params by name ({\"hash\"} or {\"height\"} or {\"ref\"}, and \"full\").",
				body: req(3, "chain_getBlock", fmt.Sprintf(`{"hash":%q,"full":false}`, g.Hash("b3")))},
			{comment: "A stored block of a side branch: mainChain false, confirmations 0, its txs without status.",
				body: req(4, "chain_getBlock", fmt.Sprintf(`[%q, true]`, g.Hash("s2")))},
			{comment: "A height above the tip is not found (code -32001, data.reason \"not-found\").",
				body: req(5, "chain_getBlock", "[99]")},
			{comment: "An unknown hash is not found.", body: req(6, "chain_getBlock", fmt.Sprintf("[%q]", unknown))},
			{comment: "A block whose header is known but whose body is not stored (still syncing) is not found.",
				body: req(7, "chain_getBlock", fmt.Sprintf(`{"ref":%q}`, g.Hash("h5")))},
			{comment: "Bad params: a hash must be 64 hex digits.", body: req(8, "chain_getBlock", `["00ff"]`)},
			{comment: "Bad params: a height is a non-negative integer.", body: req(9, "chain_getBlock", `[-1]`)},
			{comment: "Bad params: full is a boolean.", body: req(10, "chain_getBlock", `[1, "yes"]`)},
			{comment: "Bad params: the block ref is required.", body: req(11, "chain_getBlock", `[]`)},
			{comment: "Bad params: too many.", body: req(12, "chain_getBlock", `[1, true, 3]`)},
			{comment: "Bad params: an unknown name.", body: req(13, "chain_getBlock", `{"number": 1}`)},
			{comment: "Bad params: two names for the same param.", body: req(14, "chain_getBlock", `{"hash": "00", "height": 1}`)},
		}},
		{"chain_getHeader", []goldenCase{
			{comment: "The genesis header by height.", body: req(1, "chain_getHeader", "[0]")},
			{comment: "A header by hash, by name.", body: req(2, "chain_getHeader", fmt.Sprintf(`{"hash":%q}`, g.Hash("b4")))},
			{comment: "A header known without its body (ahead of the tip): not on the main chain yet.",
				body: req(3, "chain_getHeader", fmt.Sprintf("[%q]", g.Hash("h5")))},
			{comment: "A height above the tip is not found.", body: req(4, "chain_getHeader", "[5]")},
			{comment: "An unknown hash is not found.", body: req(5, "chain_getHeader", fmt.Sprintf("[%q]", unknown))},
			{comment: "Bad params: neither a hash nor a height.", body: req(6, "chain_getHeader", "[true]")},
			{comment: "Bad params: the ref is required.", body: req(7, "chain_getHeader", "")},
		}},
		{"chain_getTransaction", []goldenCase{
			{comment: "A confirmed tx: block, height, index (0 is the first tx), confirmations, and the raw encoding (hex).",
				body: req(1, "chain_getTransaction", fmt.Sprintf("[%q]", b.payTx.ID()))},
			{comment: "Another confirmed tx, by name.", body: req(2, "chain_getTransaction", fmt.Sprintf(`{"id":%q}`, b2tx3))},
			{comment: "A pooled tx is pending.", body: req(3, "chain_getTransaction", fmt.Sprintf("[%q]", b.pendingTx.ID()))},
			{comment: "A tx neither on the main chain nor in the pool is not found.",
				body: req(4, "chain_getTransaction", fmt.Sprintf("[%q]", unknown))},
			{comment: "Bad params: a tx id is 64 hex digits.", body: req(5, "chain_getTransaction", `["xyz"]`)},
			{comment: "Bad params: a tx id is a string.", body: req(6, "chain_getTransaction", `[12]`)},
		}},
		{"chain_getTips", []goldenCase{
			{comment: "Every branch tip: the active one, then by height — here a header known ahead of the tip " +
				"(headers-only) and a side block stored but never connected (valid-headers).",
				body: req(1, "chain_getTips", "")},
			{comment: "chain_getTips takes no params.", body: req(2, "chain_getTips", "[true]")},
		}},
		{"chain_subscribe", []goldenCase{
			{comment: "Subscriptions live on a WebSocket connection (ws://<rpc address>/ws, docs/RPC.md): over HTTP they are refused.",
				body: req(1, "chain_subscribe", `["newHeads"]`)},
			{comment: "Bad params: the kind is required.", body: req(2, "chain_subscribe", "[]")},
		}},
		{"chain_unsubscribe", []goldenCase{
			{comment: "Over HTTP there is no subscription to end.",
				body: req(1, "chain_unsubscribe", `["0x5ab8f0c91d3e4f2a8b7c6d5e4f3a2b1c"]`)},
			{comment: "Bad params: the id is a string.", body: req(2, "chain_unsubscribe", "[7]")},
		}},
		{"state_getAccount", []goldenCase{
			{comment: "An account: balance (base units, decimal string), nonce, and pendingNonce counting pooled txs.",
				body: req(1, "state_getAccount", fmt.Sprintf("[%q]", chaintest.Key("carol").Address()))},
			{comment: "By name; an address never used has zero balance and nonce.",
				body: req(2, "state_getAccount", fmt.Sprintf(`{"address":%q}`, chaintest.Key("nobody").Address()))},
			{comment: "Bad params: a mistyped address fails its checksum.",
				body: req(3, "state_getAccount", fmt.Sprintf("[%q]", mistype(alice.String())))},
			{comment: "Bad params: an address of another prefix.",
				body: req(4, "state_getAccount", `["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]`)},
			{comment: "Bad params: the address is required.", body: req(5, "state_getAccount", "[]")},
		}},
		{"state_getHistory", []goldenCase{
			{comment: "An address's history, newest first: its pooled txs (pending: true), then the main chain's events — " +
				"txs sent, received or to itself, rewards of blocks it mined, its genesis allocation — with confirmations.",
				body: req(1, "state_getHistory", fmt.Sprintf("[%q]", chaintest.Key("carol").Address()))},
			{comment: "A page of at most limit entries: next is the cursor of the following page.",
				body: req(2, "state_getHistory", fmt.Sprintf(`[%q, {"limit": 2}]`, dave))},
			{comment: "The following page, by the cursor the previous one returned (by name).",
				body: req(3, "state_getHistory", fmt.Sprintf(`{"address": %q, "options": {"cursor": "c5.0", "limit": 3}}`, dave))},
			{comment: "A miner's rewards: subsidy + the block's fees.",
				body: req(4, "state_getHistory", fmt.Sprintf(`[%q, {"limit": 2}]`, chaintest.Key("miner").Address()))},
			{comment: "An address never used has no history.",
				body: req(5, "state_getHistory", fmt.Sprintf("[%q]", chaintest.Key("nobody").Address()))},
			{comment: "Bad params: limit above the maximum (1000).",
				body: req(6, "state_getHistory", fmt.Sprintf(`[%q, {"limit": 5000}]`, dave))},
			{comment: "Bad params: a cursor state_getHistory did not return.",
				body: req(7, "state_getHistory", fmt.Sprintf(`[%q, {"cursor": "yesterday"}]`, dave))},
			{comment: "Bad params: an unknown option.",
				body: req(8, "state_getHistory", fmt.Sprintf(`[%q, {"since": 3}]`, dave))},
		}},
		{"tx_send", []goldenCase{
			{comment: "Submit a signed tx (hex of its encoding): the pool admits it and the result is its id.",
				body: req(1, "tx_send", fmt.Sprintf("[%q]", rawHex(sendOK)))},
			{comment: "The same tx again is not refused: the node announces it to its peers again and the result is its id.",
				body: req(2, "tx_send", fmt.Sprintf(`{"raw":%q}`, rawHex(sendOK)))},
			{comment: "Refused (code -32000; data.reason is the txpool's reason name): fee below the minimum relay fee.",
				body: req(3, "tx_send", fmt.Sprintf("[%q]", rawHex(lowFee)))},
			{comment: "Refused: the account is past this nonce.", body: req(4, "tx_send", fmt.Sprintf("[%q]", rawHex(oldNonce)))},
			{comment: "Refused: the balance does not cover amount + fee.", body: req(5, "tx_send", fmt.Sprintf("[%q]", rawHex(tooMuch)))},
			{comment: "Refused: the signature does not verify.", body: req(6, "tx_send", fmt.Sprintf("[%q]", rawHex(badSig)))},
			{comment: "Bad params: not hex.", body: req(7, "tx_send", `["zz"]`)},
			{comment: "Bad params: hex that does not decode as a tx.", body: req(8, "tx_send", fmt.Sprintf("[%q]", truncated))},
			{comment: "Bad params: the raw tx is required.", body: req(9, "tx_send", "")},
		}},
		{"txpool_status", []goldenCase{
			{comment: "Pooled txs: pending (executable next), queued (waiting for a nonce gap), total bytes.",
				body: req(1, "txpool_status", "")},
			{comment: "txpool_status takes no params.", body: req(2, "txpool_status", `{"verbose":true}`)},
		}},
		{"txpool_content", []goldenCase{
			{comment: "Every pooled tx, by sender in address order.", body: req(1, "txpool_content", "")},
			{comment: "txpool_content takes no params.", body: req(2, "txpool_content", `[0]`)},
		}},
		{"net_info", []goldenCase{
			{comment: "The node's peer id, listen addresses, peer count, sync progress and gossip counters.",
				body: req(1, "net_info", "")},
			{comment: "net_info takes no params.", body: req(2, "net_info", `[true]`)},
		}},
		{"net_peers", []goldenCase{
			{comment: "Connected peers; height is null when the peer has not told it.", body: req(1, "net_peers", "")},
			{comment: "net_peers takes no params.", body: req(2, "net_peers", `["x"]`)},
		}},
		{"net_connect", []goldenCase{
			{comment: "Admin: without \"Authorization: Bearer <token>\" the call is refused (code -32002).",
				body: req(1, "net_connect", fmt.Sprintf("[%q]", "/ip4/127.0.0.1/tcp/7740/p2p/"+testPeerB))},
			{comment: "A wrong token is refused the same way.", token: "not-the-token",
				body: req(2, "net_connect", fmt.Sprintf("[%q]", "/ip4/127.0.0.1/tcp/7740/p2p/"+testPeerB))},
			{comment: "With the cookie token: dial a peer multiaddr.", admin: true,
				body: req(3, "net_connect", fmt.Sprintf(`{"addr":%q}`, "/ip4/127.0.0.1/tcp/7740/p2p/"+testPeerB))},
			{comment: "A dial that fails: the node cannot do it now (code -32003).", admin: true,
				body: req(4, "net_connect", `["/unreachable/ip4/10.0.0.1/tcp/1"]`)},
			{comment: "Bad params: the node cannot parse the multiaddr.", admin: true, body: req(5, "net_connect", `["localhost:7740"]`)},
			{comment: "Bad params: empty.", admin: true, body: req(6, "net_connect", `[""]`)},
		}},
		{"net_ban", []goldenCase{
			{comment: "Admin: without the token the call is refused.", body: req(1, "net_ban", fmt.Sprintf("[%q]", testPeerB))},
			{comment: "Ban a peer id: it is disconnected and refused.", admin: true, body: req(2, "net_ban", fmt.Sprintf("[%q]", testPeerB))},
			{comment: "Bad params: not a peer id.", admin: true, body: req(3, "net_ban", `["peer-1"]`)},
		}},
		{"net_unban", []goldenCase{
			{comment: "Admin: without the token the call is refused.", body: req(1, "net_unban", fmt.Sprintf("[%q]", testPeerB))},
			{comment: "Lift a ban (by name).", admin: true, body: req(2, "net_unban", fmt.Sprintf(`{"id":%q}`, testPeerB))},
			{comment: "Bad params: not a peer id.", admin: true, body: req(3, "net_unban", `["peer-1"]`)},
		}},
		{"miner_status", []goldenCase{
			{comment: "The miner: running, threads, payout address, hash rate, hashes and blocks since start.",
				body: req(1, "miner_status", "")},
			{comment: "miner_status takes no params.", body: req(2, "miner_status", `[1]`)},
		}},
		{"miner_start", []goldenCase{
			{comment: "Admin: without the token the call is refused.", body: req(1, "miner_start", "")},
			{comment: "Start with the configured threads and address.", admin: true, body: req(2, "miner_start", "")},
			{comment: "Restart with 2 threads and another address (positional: one object).", admin: true,
				body: req(3, "miner_start", fmt.Sprintf(`[{"threads":2,"address":%q}]`, chaintest.Key("alice").Address()))},
			{comment: "The same by name.", admin: true,
				body: req(4, "miner_start", fmt.Sprintf(`{"threads":1,"address":%q}`, chaintest.Key("miner").Address()))},
			{comment: "Bad params: at most 256 threads, the bound of --miner.threads too (rpc.MaxMinerThreads).", admin: true, body: req(5, "miner_start", `{"threads":257}`)},
			{comment: "Bad params: an invalid address.", admin: true, body: req(6, "miner_start", `[{"address":"cairn1xyz"}]`)},
			{comment: "Bad params: threads is a count.", admin: true, body: req(7, "miner_start", `{"threads":-1}`)},
			{comment: "Bad params: an unknown field.", admin: true, body: req(8, "miner_start", `{"thread":2}`)},
		}},
		{"miner_stop", []goldenCase{
			{comment: "Admin: without the token the call is refused.", body: req(1, "miner_stop", "")},
			{comment: "Stop the miner (stopping a stopped miner is no error).", admin: true, body: req(2, "miner_stop", "")},
			{comment: "miner_stop takes no params.", admin: true, body: req(3, "miner_stop", `[2]`)},
		}},
		{"node_info", []goldenCase{
			{comment: "Version, network, genesis, tip, sync progress, peers, mining, uptime.", body: req(1, "node_info", "")},
			{comment: "node_info takes no params.", body: req(2, "node_info", `{"x":1}`)},
		}},
		{"protocol", []goldenCase{
			{comment: "An unknown method (code -32601).", body: req(1, "chain_getBlockCount", "")},
			{comment: "A body that is not JSON: parse error (-32700) with id null, the position of the fault in the message.",
				body: `{"jsonrpc":"2.0","id":1,"method":"chain_getHead"`},
			{comment: "Not a request object: invalid request (-32600).", body: `{"id":1,"method":"chain_getHead"}`},
			{comment: "An empty batch is one invalid-request error, not an array.", body: `[]`},
			{comment: "A batch of non-objects: one error each.", body: `[1,2]`},
			{comment: "A batch: responses in order, none for the notification (no id).",
				body: `[` + req(1, "chain_getHead", "") + `,{"jsonrpc":"2.0","method":"txpool_status"},` + req(2, "chain_getHeader", "[9]") + `]`},
			{comment: "A notification (or a batch of them) gets no response: HTTP 204, empty body.",
				body: `{"jsonrpc":"2.0","method":"chain_getHead"}`},
			{comment: "String ids are echoed as sent.", body: `{"jsonrpc":"2.0","id":"a-1","method":"txpool_status"}`},
			{comment: "An id of null is still a request, answered with id null; only a missing id makes a notification.",
				body: `{"jsonrpc":"2.0","id":null,"method":"txpool_status"}`},
			{comment: "Admin calls in a batch each need the token; the read calls beside them do not.",
				body: `[` + req(1, "miner_stop", "") + `,` + req(2, "miner_status", "") + `]`},
		}},
	}
}

// mistype changes one character of a bech32 string's data part.
func mistype(s string) string {
	b := []byte(s)
	i := len(b) - 3
	if b[i] == 'q' {
		b[i] = 'p'
	} else {
		b[i] = 'q'
	}
	return string(b)
}

// localRequest is a request as the cairn CLI sends it: to 127.0.0.1, with
// a JSON body.
func localRequest(method string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, "http://127.0.0.1:7731/", body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// exchange POSTs body to h and returns the status and response body.
func exchange(t testing.TB, h http.Handler, body, token string) (int, []byte) {
	t.Helper()
	r := localRequest(http.MethodPost, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

func newTestServer(t testing.TB, b Backend) *Server {
	t.Helper()
	s, err := NewServer(Config{Token: testToken, Version: "v0.1.0-test"}, b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGolden replays the transcripts in testdata/*.golden: every method,
// its results and its errors. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	b := newTestBackend(t)
	s := newTestServer(t, b)
	files := goldenFiles(b)
	for _, f := range files {
		var out bytes.Buffer
		fmt.Fprintf(&out, "# %s — request/response transcript, checked by TestGolden\n", f.name)
		fmt.Fprintf(&out, "# (go test ./rpc -run TestGolden -update rewrites it).\n")
		for _, c := range f.cases {
			token := c.token
			if c.admin {
				token = testToken
			}
			fmt.Fprintf(&out, "\n# %s\n", c.comment)
			if token != "" {
				if c.admin {
					fmt.Fprintf(&out, "--> Authorization: Bearer <token from the cookie file>\n")
				} else {
					fmt.Fprintf(&out, "--> Authorization: Bearer %s\n", token)
				}
			}
			fmt.Fprintf(&out, "--> %s\n", c.body)
			code, resp := exchange(t, s.Handler(), c.body, token)
			switch {
			case code == http.StatusNoContent && len(resp) == 0:
				fmt.Fprintf(&out, "<-- (no response: HTTP 204, empty body)\n")
				continue
			case code != http.StatusOK:
				fmt.Fprintf(&out, "<-- HTTP %d\n", code)
			}
			checkResponse(t, resp)
			var ind bytes.Buffer
			if err := json.Indent(&ind, resp, "", "  "); err != nil {
				t.Fatalf("%s: %s: response is not JSON: %v\n%s", f.name, c.comment, err, resp)
			}
			fmt.Fprintf(&out, "<-- %s\n", ind.Bytes())
		}
		path := filepath.Join("testdata", f.name+".golden")
		if *update {
			if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./rpc -run TestGolden -update)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s differs from the server's answers (go test ./rpc -run TestGolden -update rewrites it):\n%s",
				path, firstDiff(want, out.Bytes()))
		}
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %s\ngot:  %s", i+1, w, g)
		}
	}
	return "(same lines)"
}

var docMethodRE = regexp.MustCompile(`(?m)^//\t([a-z]+_[A-Za-z]+)\s`)

// TestGoldenCoverage checks that doc.go's method table is what the server
// serves, and that every method has a transcript with a result and an
// error.
func TestGoldenCoverage(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range docMethodRE.FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	s := newTestServer(t, newTestBackend(t))
	if served := s.methods.Names(); !slices.Equal(documented, served) {
		t.Errorf("doc.go documents %v\nthe server serves %v", documented, served)
	}
	for _, name := range s.methods.Names() {
		b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Errorf("method %s has no transcript: %v", name, err)
			continue
		}
		if name == "chain_subscribe" || name == "chain_unsubscribe" {
			// Their results live on a WebSocket: websocket.golden.
			ws, _ := os.ReadFile(filepath.Join("testdata", "websocket.golden"))
			b = append(b, ws...)
		}
		if !bytes.Contains(b, []byte(`"result":`)) || !bytes.Contains(b, []byte(`"error":`)) {
			t.Errorf("testdata/%s.golden lacks a result or an error case", name)
		}
		if s.admin[name] && !bytes.Contains(b, []byte(`"reason": "unauthorized"`)) {
			t.Errorf("testdata/%s.golden lacks the unauthorized case of an admin method", name)
		}
	}
}

// checkResponse fails unless b is a JSON-RPC response object or a
// non-empty array of them.
func checkResponse(t testing.TB, b []byte) {
	t.Helper()
	if err := validResponse(b); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func validResponse(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return err
		}
		if len(arr) == 0 {
			return fmt.Errorf("empty response array")
		}
		for _, m := range arr {
			if err := validResponseObject(m); err != nil {
				return err
			}
		}
		return nil
	}
	return validResponseObject(b)
}

func validResponseObject(b []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("response is not an object: %v", err)
	}
	if string(obj["jsonrpc"]) != `"2.0"` {
		return fmt.Errorf("jsonrpc member is %s", obj["jsonrpc"])
	}
	id, ok := obj["id"]
	if !ok {
		return fmt.Errorf("no id member")
	}
	if !(id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9') || string(id) == "null") {
		return fmt.Errorf("id %s is not a string, number or null", id)
	}
	_, hasRes := obj["result"]
	e, hasErr := obj["error"]
	if hasRes == hasErr {
		return fmt.Errorf("want exactly one of result and error")
	}
	if len(obj) != 3 {
		return fmt.Errorf("%d members, want 3", len(obj))
	}
	if hasErr {
		var eo struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(e, &eo); err != nil || eo.Code == nil || eo.Message == nil || *eo.Message == "" {
			return fmt.Errorf("error member %s lacks a code or a message", e)
		}
	}
	return nil
}
