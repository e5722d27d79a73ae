package txpool_test

import (
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/txpool"
)

// smallOrderTx is a tx from pub with R = the identity and S = 0, a
// signature that ZIP-215 accepts for a small-order pub over any message,
// so for every network.
func smallOrderTx(pub types.PubKey, nonce uint64) *types.Tx {
	tx := &types.Tx{Version: types.TxVersion, From: pub, To: bob, Amount: 1, Fee: 2000, Nonce: nonce}
	tx.Sig[0] = 1
	return tx
}

// TestSmallOrderKeyRefused: a tx from each small-order key, whose signature
// verifies and whose sender can pay (richState), is refused as
// small-order-key, through Add and AddRaw, leaving the pool unchanged; an
// ordinary tx is still admitted afterwards.
func TestSmallOrderKeyRefused(t *testing.T) {
	genesis := chaintest.Params().GenesisHash()
	p, err := txpool.New(txpool.Config{Genesis: genesis}, &richState{})
	if err != nil {
		t.Fatal(err)
	}
	before := viewOf(p)
	for i, k := range chaintest.SmallOrderKeys() {
		tx := smallOrderTx(k, uint64(i))
		if !consensus.VerifySignature(k, tx.SigningDigest(genesis), tx.Sig) {
			t.Fatalf("%x: the signature does not verify, so the test shows nothing", k)
		}
		_, err := p.Add(tx)
		if txpool.ReasonOf(err) != txpool.ReasonSmallOrderKey {
			t.Fatalf("%x: Add = %v, want small-order-key", k, err)
		}
		if !strings.HasPrefix(err.Error(), "small-order-key: ") {
			t.Fatalf("%x: message %q", k, err)
		}
		// What rpc reads to answer -32000 with data.reason.
		if r, ok := err.(interface{ RejectReason() string }); !ok || r.RejectReason() != "small-order-key" {
			t.Fatalf("%x: RejectReason of %v", k, err)
		}
		if _, err := p.AddRaw(tx.Encode()); txpool.ReasonOf(err) != txpool.ReasonSmallOrderKey {
			t.Fatalf("%x: AddRaw = %v, want small-order-key", k, err)
		}
		sameView(t, p, before, tx.ID())
	}
	ok := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1, Fee: 2000}
	signer("alice").Sign(ok, genesis)
	if _, err := p.Add(ok); err != nil {
		t.Fatalf("ordinary tx after the refusals: %v", err)
	}
}
