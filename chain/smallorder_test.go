package chain_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// TestSmallOrderKeyBlockRefused funds the address of every small-order key
// at genesis and offers, on top of
//
//	genesis -> a1 -> a2
//
// one block per key holding an ordinary payment and a tx from that key
// signed with R = the identity, S = 0 (no private key involved). The
// signature verifies under ZIP-215 and the independent model of chaintest
// finds the block valid (nonce, balance, stateRoot), so the only rule it
// breaks is the small-order one: ProcessBlock must refuse it with
// ErrSmallOrderKey, twice, storing nothing and changing no account; a
// valid block is accepted afterwards.
func TestSmallOrderKeyBlockRefused(t *testing.T) {
	keys := chaintest.SmallOrderKeys()
	p := chaintest.Params()
	for _, k := range keys {
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: k.Address(), Amount: 1_000 * 100_000_000})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b := chaintest.NewWithParams(t, p)
	b.Chain("a", "genesis", 2)
	c := b.Open(chain.Config{})
	b.Process(c, "a1", "a2")
	b.CheckTip(c, "a2")

	bob := chaintest.Key("bob").Address()
	for i, k := range keys {
		name := fmt.Sprintf("so%d", i)
		var bad *types.Tx
		blk := b.Block(name, "a2", func(g *chaintest.BlockGen) {
			g.Pay("alice", bob, 1, 1)
			bad = &types.Tx{Version: types.TxVersion, From: k, To: bob, Amount: 5, Fee: 1}
			bad.Sig[0] = 1 // R = the identity, S = 0
			g.Txs = append(g.Txs, bad)
		})
		if b.State(name) == nil {
			t.Fatalf("%x: the model finds the block invalid: it breaks more than one rule", k)
		}
		if !consensus.VerifySignature(k, bad.SigningDigest(p.GenesisHash()), bad.Sig) {
			t.Fatalf("%x: the signature does not verify: it breaks more than one rule", k)
		}
		hash := blk.Hash()
		for round := range 2 {
			res, err := c.ProcessBlock(blk)
			if consensus.CodeOf(err) != consensus.ErrSmallOrderKey {
				t.Fatalf("%x, round %d: ProcessBlock = %v, %v; want ErrSmallOrderKey", k, round, res.Status, err)
			}
			if len(res.Connected) != 0 || len(res.Disconnected) != 0 {
				t.Fatalf("%x: refused block changed the main chain: %+v", k, res)
			}
		}
		if _, err := c.Block(hash); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("%x: Block(refused) = %v, want ErrNotFound", k, err)
		}
		if _, err := c.Header(hash); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("%x: Header(refused) = %v, want ErrNotFound", k, err)
		}
		for _, tx := range blk.Txs {
			if _, err := c.TxLocation(tx.ID()); !errors.Is(err, chain.ErrNotFound) {
				t.Fatalf("%x: TxLocation(tx of refused block) = %v, want ErrNotFound", k, err)
			}
		}
		if n := c.OrphanCount(); n != 0 {
			t.Fatalf("%x: %d orphans", k, n)
		}
		b.CheckTip(c, "a2") // tip, every account (the funded keys' too), Verify
	}

	b.Block("ok", "a2", func(g *chaintest.BlockGen) { g.Pay("alice", bob, 1, 1) })
	if res, err := c.ProcessBlock(b.Get("ok")); err != nil || res.Status != chain.StatusConnected {
		t.Fatalf("valid block after the refusals: %v, %v", res.Status, err)
	}
	b.CheckTip(c, "ok")
}
