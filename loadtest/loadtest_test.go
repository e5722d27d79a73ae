package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/rpc"
)

// runDeadline bounds one run of the load test once cairnd is built.
const runDeadline = 90 * time.Second

// TestLoadTestSmall runs the whole load test against three real cairnd
// processes: 20 senders, one 3 s stage at 50 tx/s, 1 s blocks. At that
// rate nothing may be refused or lost, every accepted tx is mined within
// the drain, the balances replayed from the chain are every node's, and
// the nodes end on one tip; the JSON says so.
func TestLoadTestSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cairnd and starts 3 processes; skipped with -short")
	}
	// A cold build of go-libp2p takes minutes on 2 cores: not part of
	// the run's deadline.
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer bcancel()
	start := time.Now()
	cairnd, err := buildCairnd(bctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built cairnd in %v", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	dir := filepath.Join(t.TempDir(), "nodes")
	opts, err := parseFlags([]string{"-senders", "20", "-rates", "50", "-stage", "3s", "-block-time", "1s",
		"-drain", "30s", "-json", jsonPath, "-dir", dir, "-cairnd", cairnd}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	start = time.Now()
	_, err = run(ctx, opts, &out)
	t.Logf("run took %v; output:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		BlockTimeS float64 `json:"block_time_s"`
		Stages     []struct {
			OfferedTPS    float64        `json:"offered_tps"`
			AcceptedTPS   float64        `json:"accepted_tps"`
			Offered       int            `json:"offered"`
			Accepted      int            `json:"accepted"`
			Lost          *int           `json:"lost"`
			Rejects       map[string]int `json:"rejects"`
			InclusionP95S float64        `json:"inclusion_p95_s"`
			NextBlockP95S float64        `json:"next_block_p95_s"`
			Blocks        int            `json:"blocks"`
			Nodes         []struct {
				Node string `json:"node"`
			} `json:"nodes"`
		} `json:"stages"`
		AcceptedTotal  int   `json:"accepted_total"`
		MinedTotal     int   `json:"mined_total"`
		LostTotal      *int  `json:"lost_total"`
		ConservationOK *bool `json:"conservation_ok"`
		SameTip        *bool `json:"same_tip"`
		SameStateRoot  bool  `json:"same_state_root"`
		Drained        bool  `json:"drained"`
		TipHeight      int   `json:"tip_height"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got.BlockTimeS != 1 || len(got.Stages) != 1 {
		t.Fatalf("block_time_s %v, %d stages; want 1 and 1:\n%s", got.BlockTimeS, len(got.Stages), b)
	}
	s := got.Stages[0]
	if s.Offered != 150 || s.OfferedTPS < 40 || s.OfferedTPS > 52 {
		t.Errorf("offered %d at %.1f tx/s, want 150 at about 50", s.Offered, s.OfferedTPS)
	}
	if s.Accepted != s.Offered || len(s.Rejects) != 0 || s.AcceptedTPS != s.OfferedTPS {
		t.Errorf("accepted %d (%.1f tx/s) of %d, refused %v: want all accepted", s.Accepted, s.AcceptedTPS, s.Offered, s.Rejects)
	}
	if s.Lost == nil || *s.Lost != 0 || got.LostTotal == nil || *got.LostTotal != 0 {
		t.Errorf("lost: stage %v, total %v; want 0", s.Lost, got.LostTotal)
	}
	if got.AcceptedTotal != 150 || got.MinedTotal != 150 || !got.Drained {
		t.Errorf("accepted %d, mined %d, drained %v; want 150, 150, true", got.AcceptedTotal, got.MinedTotal, got.Drained)
	}
	if s.InclusionP95S <= 0 || s.InclusionP95S > 30 || s.Blocks == 0 {
		t.Errorf("inclusion p95 %vs over %d blocks", s.InclusionP95S, s.Blocks)
	}
	// A tx waits at least for the next block: the floor is below the
	// inclusion latency (within the scanner's 100 ms resolution).
	if s.NextBlockP95S <= 0 || s.NextBlockP95S > s.InclusionP95S+0.2 {
		t.Errorf("next-block p95 %vs, inclusion p95 %vs", s.NextBlockP95S, s.InclusionP95S)
	}
	if got.ConservationOK == nil || !*got.ConservationOK {
		t.Errorf("conservation_ok %v", got.ConservationOK)
	}
	if got.SameTip == nil || !*got.SameTip || !got.SameStateRoot || got.TipHeight < 1 {
		t.Errorf("same_tip %v, same_state_root %v at height %d", got.SameTip, got.SameStateRoot, got.TipHeight)
	}
	if len(s.Nodes) != 3 {
		t.Errorf("%d nodes in the stage report, want 3", len(s.Nodes))
	}
	// A given -dir is kept, with the nodes' logs.
	if _, err := os.Stat(filepath.Join(dir, "entry", "cairnd.log")); err != nil {
		t.Errorf("the entry node's log: %v", err)
	}
}

// fakeChain is a JSON-RPC server of chain_getHead and chain_getBlock
// over a chain the test replaces at will.
type fakeChain struct {
	mu     sync.Mutex
	blocks []rpc.Block // the main chain by height
	extra  map[string]rpc.Block
}

// setChain makes the main chain genesis + blocks named by names, each
// with txs "<name>-tx".
func (f *fakeChain) setChain(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocks = []rpc.Block{{Header: rpc.Header{Hash: "genesis"}}}
	if f.extra == nil {
		f.extra = map[string]rpc.Block{}
	}
	for i, n := range names {
		b := rpc.Block{Header: rpc.Header{Hash: n, Height: uint64(i + 1), Parent: f.blocks[i].Hash}, TxIDs: []string{n + "-tx"}, Size: 100 * (i + 1)}
		f.blocks = append(f.blocks, b)
		f.extra[n] = b
	}
}

func (f *fakeChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []any           `json:"params"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	var result any
	switch req.Method {
	case "chain_getHead":
		top := f.blocks[len(f.blocks)-1]
		result = rpc.Head{Hash: top.Hash, Height: top.Height}
	case "chain_getBlock":
		switch ref := req.Params[0].(type) {
		case float64:
			result = f.blocks[int(ref)]
		case string:
			result = f.extra[ref]
			if ref == "genesis" {
				result = f.blocks[0]
			}
		}
	}
	f.mu.Unlock()
	res, _ := json.Marshal(result)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, res)
}

// TestScannerFollowsReorgs: the scanner's view is the node's main chain
// through extensions and reorganisations, deeper and to a shorter chain:
// a tx of a block that left the main chain is no longer included.
func TestScannerFollowsReorgs(t *testing.T) {
	f := &fakeChain{}
	f.setChain()
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx := context.Background()
	sc, err := newScanner(ctx, rpc.NewClient(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	check := func(want ...string) {
		t.Helper()
		if err := sc.poll(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range sc.chainBlocks() {
			got = append(got, b.hash)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("view %v, want %v", got, want)
		}
		for _, n := range []string{"a1", "a2", "a3", "b2", "b3", "b4", "c2"} {
			_, in := sc.included(n + "-tx")
			if wantIn := strings.Contains(" "+strings.Join(want, " ")+" ", " "+n+" "); in != wantIn {
				t.Errorf("after %v: %s-tx included = %v", want, n, in)
			}
		}
	}
	check()
	f.setChain("a1", "a2")
	check("a1", "a2")
	sc.phase.Store(3)
	f.setChain("a1", "a2", "a3")
	check("a1", "a2", "a3")
	if b := sc.chainBlocks(); b[2].phase != 3 || b[0].phase != phaseBefore {
		t.Errorf("phases %d, %d", b[0].phase, b[2].phase)
	}
	f.setChain("a1", "b2", "b3", "b4") // two blocks replaced, one more
	check("a1", "b2", "b3", "b4")
	f.setChain("a1", "c2") // a shorter chain of more work
	check("a1", "c2")
	f.setChain("a1") // its head is a block the view has
	check("a1")
	ids := map[string]*txRec{"a1-tx": {}, "c2-tx": {}}
	if n := sc.missing(ids); n != 1 {
		t.Errorf("%d missing, want 1 (c2-tx)", n)
	}
}

// TestScrapeDrops reads cairn_gossip_dropped_total from a metrics page.
func TestScrapeDrops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `# HELP cairn_gossip_dropped_total x
# TYPE cairn_gossip_dropped_total counter
cairn_gossip_dropped_total{cause="outbound_queue_full",topic="txs"} 1234
cairn_gossip_dropped_total{cause="duplicate",topic="blocks"} 5
cairn_gossip_messages_total{topic="txs",verdict="accepted"} 99
`)
	}))
	defer srv.Close()
	var port int
	fmt.Sscanf(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:], "%d", &port)
	got := scrapeDrops(context.Background(), &node{metricsPort: port})
	want := map[string]uint64{"txs/outbound_queue_full": 1234, "blocks/duplicate": 5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d", k, got[k], v)
		}
	}
}
