package txpool_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/txpool"
)

// smallOrderKeys are the 14 encodings of points of order dividing 8 that
// ZIP-215 decoding accepts, 8 canonical then 6 non-canonical (derived and
// checked against the curve library in consensus/smallorder_test.go).
func smallOrderKeys(t testing.TB) []types.PubKey {
	t.Helper()
	var keys []types.PubKey
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"0100000000000000000000000000000000000000000000000000000000000080",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	} {
		var k types.PubKey
		if _, err := hex.Decode(k[:], []byte(h)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

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
	for i, k := range smallOrderKeys(t) {
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
