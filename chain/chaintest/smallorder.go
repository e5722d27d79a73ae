package chaintest

import (
	"encoding/hex"

	"github.com/cairn-ledger/cairn/chain/types"
)

// smallOrderKeyHex are the 14 encodings of points of order dividing 8 that
// ZIP-215 decoding accepts: 8 canonical, then 6 non-canonical (derived and
// checked against the curve library in consensus/smallorder_test.go).
var smallOrderKeyHex = []string{
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
}

// SmallOrderKeys returns the public keys of smallOrderKeyHex: each a
// point of order dividing 8, which consensus refuses as a sender.
func SmallOrderKeys() []types.PubKey {
	keys := make([]types.PubKey, len(smallOrderKeyHex))
	for i, h := range smallOrderKeyHex {
		if _, err := hex.Decode(keys[i][:], []byte(h)); err != nil {
			panic(err)
		}
	}
	return keys
}
