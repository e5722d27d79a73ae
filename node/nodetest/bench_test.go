package nodetest_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/node/nodetest"
)

// BenchmarkPropagation8 mines blocks at one node of an 8-node network and
// times until every node has each as its tip, reporting p50 and p95 in ms.
// The reference printed beside it is one hop's validation time (the
// block's import at a single node) times the mesh depth of 8 nodes with
// GossipSub's degree of 6 (two hops).
func BenchmarkPropagation8(b *testing.B) {
	h := nodetest.New(b, 8, nodetest.Options{LogLevel: 8})
	h.WaitGossipReady(30 * time.Second)
	var lat []time.Duration
	var hop time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		blk := h.Mine(0, 1)[0]
		mined := time.Since(start)
		h.WaitTip(10*time.Second, blk.Hash())
		lat = append(lat, time.Since(start)-mined)
		hop += mined
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)].Microseconds()) / 1000
	}
	// One hop: a fresh chain importing one mined block.
	c := h.Nodes[0].Chain()
	tip := c.Tip()
	blk, _ := c.Block(tip.Hash)
	fresh, err := chain.OpenMemory(chain.Config{Params: h.Params})
	if err != nil {
		b.Fatal(err)
	}
	defer fresh.Close()
	for height := uint64(1); height < tip.Height; height++ {
		bb, err := c.BlockByHeight(height)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fresh.ProcessBlock(bb); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	if _, err := fresh.ProcessBlock(blk); err != nil {
		b.Fatal(err)
	}
	hopMs := float64(time.Since(t0).Microseconds()) / 1000
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(hopMs*2, "hop-x-depth-ms")
}
