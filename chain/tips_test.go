package chain_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
)

// TestTips: every kind of branch tip with its status and length from the
// main chain.
//
//	genesis - a1 - a2 - a3 - a4 - a5 - a6 - a7      (active)
//	                |     \- e4 - e5 - e6        (was active: valid-fork)
//	                \- b3 - b4                   (stored, never connected: valid-headers)
//	                \- d3 (breaks a rule) - d4 … d8   (invalid)
//	                                        a7 - h8 (header only: headers-only)
func TestTips(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 5)
	other := func(_ uint64, bg *chaintest.BlockGen) { bg.Header.Time++ } // not the a block of that height
	g.Branch("e", "a3", 3, other)                                        // e4, e5, e6: beats a5
	g.Chain("a", "a5", 2)                                                // a6, a7: beats e6
	g.Branch("b", "a2", 2, other)
	g.Block("d3", "a2", func(bg *chaintest.BlockGen) {
		bg.Header.Time += 2
		bg.Header.StateRoot = types.Hash{1}
		bg.KeepStateRoot = true
	})
	g.Branch("d", "d3", 5, other) // d4 … d8: more work than a7, so connecting them is tried
	g.Block("h8", "a7", nil)
	c := g.Open(chain.Config{})
	g.Process(c, "a1", "a2", "a3", "a4", "a5", "e4", "e5", "e6")
	g.CheckTip(c, "e6")
	g.Process(c, "a6", "a7", "b3", "b4")
	g.CheckTip(c, "a7")
	var err error
	for _, n := range chaintest.Seq("d", 3, 8) {
		if _, e := c.ProcessBlock(g.Get(n)); e != nil {
			err = e
		}
	}
	if err == nil {
		t.Fatal("the d branch was accepted")
	}
	g.CheckTip(c, "a7")
	if _, err := c.ProcessHeaders([]types.Header{g.Get("h8").Header}); err != nil {
		t.Fatal(err)
	}
	want := []chain.BranchTip{
		{Hash: g.Hash("a7"), Height: 7, Status: chain.TipActive},
		{Hash: g.Hash("h8"), Height: 8, BranchLen: 1, Status: chain.TipHeadersOnly},
		{Hash: g.Hash("e6"), Height: 6, BranchLen: 3, Status: chain.TipValidFork},
		{Hash: g.Hash("b4"), Height: 4, BranchLen: 2, Status: chain.TipValidHeaders},
	}
	want = append(want[:1], append([]chain.BranchTip{{Hash: g.Hash("d8"), Height: 8, BranchLen: 6, Status: chain.TipInvalid}}, want[1:]...)...)
	got := c.Tips()
	if len(got) != len(want) {
		t.Fatalf("tips %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tip %d: %+v (%s), want %+v (%s)", i, got[i], g.BlockName(got[i].Hash), want[i], g.BlockName(want[i].Hash))
		}
	}
}
