package explorer

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
)

// benchBlocks is the chain length the overview's figure is measured on.
const benchBlocks = 20_000

// BenchmarkExplorerOverview renders the overview (the whole page, as a
// browser gets it) on a chain of 20,000 blocks with a payment every 10th:
// the target is under 50 ms. The block summaries are cached after the
// first render, as they are on a running node for all but a new block.
func BenchmarkExplorerOverview(b *testing.B) {
	g := chaintest.New(b)
	blocks := g.Payments("a", "genesis", benchBlocks, 10)
	tip := blocks[len(blocks)-1]
	c := g.Open(chain.Config{Now: func() time.Time { return time.UnixMilli(tip.Header.Time) }})
	for _, blk := range blocks {
		if _, err := c.ProcessBlock(blk); err != nil {
			b.Fatal(err)
		}
	}
	if c.Tip().Height != benchBlocks {
		b.Fatalf("tip at %d", c.Tip().Height)
	}
	e := newTestExplorer(b, &testBackend{c: c, pool: newPool(b, g, c), peers: testPeers(benchBlocks)})
	get(b, e, "GET", "/explorer/").want(b, "overview", 200, "Last 20 blocks")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/explorer/", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e6, "ms") // the figure of make bench
}
