package rpc

import (
	"encoding/json"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

func TestBlockCacheEviction(t *testing.T) {
	c := newBlockCache(25)
	body := func(n int) *blockBody { return &blockBody{txs: make([]Tx, n)} }
	h := func(i byte) types.Hash { return types.Hash{i} }
	c.put(h(1), body(10))
	c.put(h(2), body(10))
	if c.get(h(1)) == nil || c.get(h(2)) == nil {
		t.Fatal("bodies within the bound were not kept")
	}
	c.put(h(3), body(10)) // 33 > 25: evicts the oldest
	if c.get(h(1)) != nil || c.get(h(2)) == nil || c.get(h(3)) == nil || c.txs != 22 {
		t.Fatalf("after eviction: 1 %v, 2 %v, 3 %v, txs %d", c.get(h(1)) != nil, c.get(h(2)) != nil, c.get(h(3)) != nil, c.txs)
	}
	c.put(h(4), body(30)) // larger than the whole cache: not kept
	if c.get(h(4)) != nil || c.get(h(2)) == nil {
		t.Fatal("an oversized body displaced the cache")
	}
}

// TestBlockCacheTipMoves checks that a cached block answers with
// confirmations and main-chain status of the current tip.
func TestBlockCacheTipMoves(t *testing.T) {
	b := newTestBackend(t)
	s := newTestServer(t, b)
	get := func() *Block {
		t.Helper()
		_, body := exchange(t, s.Handler(), req(1, "chain_getBlock", "[2, true]"), "")
		var r struct{ Result *Block }
		if err := json.Unmarshal(body, &r); err != nil || r.Result == nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r.Result
	}
	if blk := get(); blk.Confirmations != 3 || blk.Txs[0].Confirmations != 3 {
		t.Fatalf("before: %d/%d confirmations", blk.Confirmations, blk.Txs[0].Confirmations)
	}
	b.g.Process(b.c, "h5") // the body of the header-only block: the tip moves to 5
	if blk := get(); blk.Confirmations != 4 || blk.Txs[9].Confirmations != 4 || blk.Txs[9].Index != 9 {
		t.Fatalf("after: %d/%d confirmations", blk.Confirmations, blk.Txs[9].Confirmations)
	}
}
