package txpool_test

import (
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
)

// fuzzOtherNet is a network the fuzzed pool knows of besides its own.
var fuzzOtherNet = types.Sum([]byte("another cairn network"))

// FuzzAddRaw offers arbitrary bytes to a pool (on a State stub, alice at
// nonce 0 with a large balance, holding one tx of hers already). It must
// never panic, and the answer must match the bytes: undecodable exactly
// when DecodeTx refuses them; otherwise admitted (then held under its id,
// and a duplicate the second time) or refused with another named reason,
// the pool unchanged. The seeds in testdata/fuzz/FuzzAddRaw cover an
// admitted tx, a replacement, a tx for another network and each kind of
// malformed encoding.
func FuzzAddRaw(f *testing.F) {
	genesis := chaintest.Params().GenesisHash()
	pooled := &types.Tx{Version: types.TxVersion, To: chaintest.Key("bob").Address(), Amount: 1, Fee: 2000, Nonce: 0}
	chaintest.Key("alice").Sign(pooled, genesis)
	f.Add(pooled.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := txpool.New(txpool.Config{Genesis: genesis, OtherNetworks: []types.Hash{fuzzOtherNet}}, &richState{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Add(pooled); err != nil {
			t.Fatal(err)
		}
		before := viewOf(p)
		id, err := p.AddRaw(b)
		tx, derr := types.DecodeTx(b)
		reason := txpool.ReasonOf(err)
		switch {
		case derr != nil:
			if reason != txpool.ReasonUndecodable {
				t.Fatalf("DecodeTx: %v; AddRaw: %v", derr, err)
			}
			sameView(t, p, before)
		case err == nil:
			if id != tx.ID() || !p.Has(id) {
				t.Fatalf("admitted %s (decoded id %s), Has = %v", id, tx.ID(), p.Has(id))
			}
			if _, err := p.AddRaw(b); txpool.ReasonOf(err) != txpool.ReasonDuplicate {
				t.Fatalf("second AddRaw: %v", err)
			}
		case reason == 0 || reason == txpool.ReasonUndecodable:
			t.Fatalf("decodable tx refused with %v", err)
		case reason == txpool.ReasonDuplicate:
			sameView(t, p, before)
		default:
			sameView(t, p, before, tx.ID())
		}
	})
}
