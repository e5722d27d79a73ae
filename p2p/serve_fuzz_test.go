package p2p

import (
	"errors"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// FuzzBlocksRequestDistinct checks what a server accepts of a blocks
// request, decoding then checkDistinct, against a quadratic reference: an
// accepted request has distinct hashes, and a decodable one is refused
// for a duplicate exactly when it has one. Since random bytes seldom
// repeat a 32-byte hash, the input also serves as a list of one-byte
// hashes (byte i → a hash whose bytes are all in[i]).
func FuzzBlocksRequestDistinct(f *testing.F) {
	a, b := types.Hash{1}, types.Hash{2}
	f.Add(encodeBlocksRequest([]types.Hash{a, b}))
	f.Add(encodeBlocksRequest([]types.Hash{a, b, a}))
	f.Add(encodeBlocksRequest(nil))
	f.Add([]byte{3, 1, 2, 3, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		check := func(hs []types.Hash) {
			dup := false
			for i := range hs {
				for j := range i {
					dup = dup || hs[i] == hs[j]
				}
			}
			err := checkDistinct(hs)
			if (err != nil) != dup {
				t.Fatalf("%d hashes, duplicate %v: checkDistinct says %v", len(hs), dup, err)
			}
			if err != nil && !errors.Is(err, errDuplicateHash) {
				t.Fatalf("refusal %q is not errDuplicateHash", err)
			}
		}
		if hs, err := decodeBlocksRequest(in); err == nil {
			check(hs)
		}
		var small []types.Hash
		for _, c := range in[:min(len(in), MaxBlocksPerRequest)] {
			var h types.Hash
			for i := range h {
				h[i] = c
			}
			small = append(small, h)
		}
		check(small)
	})
}
