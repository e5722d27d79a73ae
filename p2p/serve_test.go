package p2p

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Serving blocks: duplicate hashes, stored bytes. Requests come from bare
// mocknet hosts speaking the protocol by hand (rawSyncPeer).

// blobBackend serves, for the hashes in blobs, a blob of that many bytes
// as the block's encoding (the serving side does not decode what it
// serves); blockCalls counts calls of Block, which serving must not make.
type blobBackend struct {
	*syncBackend
	blobs      map[types.Hash]int
	blockCalls atomic.Int64
}

func (b *blobBackend) BlockBytes(h types.Hash) ([]byte, error) {
	if n, ok := b.blobs[h]; ok {
		return bytes.Repeat([]byte{byte(n)}, n), nil
	}
	return b.syncBackend.BlockBytes(h)
}

func (b *blobBackend) Block(h types.Hash) (*types.Block, error) {
	b.blockCalls.Add(1)
	return b.syncBackend.Block(h)
}

// frameSizes returns the lengths of frames.
func frameSizes(frames [][]byte) []int {
	out := make([]int, len(frames))
	for i, f := range frames {
		out[i] = len(f)
	}
	return out
}

// TestServeBlocksStoredBytes: a blocks answer is the stored encodings,
// byte for byte, without decoding a block.
func TestServeBlocksStoredBytes(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 60)
	mn := mocknet.New()
	defer mn.Close()
	sb := newSyncBackend(t, syncSourceChain(t, g, 60))
	bb := &blobBackend{syncBackend: sb}
	n := startSyncNode(t, mn, "n", sb, syncOpts{backend: bb})
	h := rawSyncPeer(t, mn, n)
	names := []string{"a1", "a7", "a57", "a60"} // a7 and a57 carry txs
	var hs []types.Hash
	for _, name := range names {
		hs = append(hs, g.Hash(name))
	}
	frames, err := rawSyncRequest(t, h, n, protoBlocks, encodeBlocksRequest(hs))
	if err != nil || len(frames) != len(hs) {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	for i, name := range names {
		want, err := sb.Chain.BlockBytes(hs[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(frames[i], want) {
			t.Errorf("%s: served %d bytes, not its stored %d", name, len(frames[i]), len(want))
		}
	}
	if c := bb.blockCalls.Load(); c != 0 {
		t.Errorf("serving called Block %d times", c)
	}
}

// TestServeBlocksDuplicate: a blocks request naming a hash twice is
// refused before any block is read, and costs the requester
// PenaltyUndecodable; the same hashes once each are served.
func TestServeBlocksDuplicate(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 10)
	mn := mocknet.New()
	defer mn.Close()
	sb := newSyncBackend(t, syncSourceChain(t, g, 10))
	n := startSyncNode(t, mn, "n", sb, syncOpts{})
	a1, a2, a3 := g.Hash("a1"), g.Hash("a2"), g.Hash("a3")
	many := make([]types.Hash, MaxBlocksPerRequest)
	for i := range many {
		many[i] = a1
	}
	for _, tc := range []struct {
		name string
		hs   []types.Hash
	}{
		{"adjacent", []types.Hash{a1, a2, a2, a3}},
		{"first and last", []types.Hash{a1, a2, a3, a1}},
		{"128 times one block", many},
		{"unknown hash twice", []types.Hash{{7}, a1, {7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := rawSyncPeer(t, mn, n)
			served := sb.served.Load()
			frames, err := rawSyncRequest(t, h, n, protoBlocks, encodeBlocksRequest(tc.hs))
			if err == nil || len(frames) != 0 {
				t.Fatalf("answered with %d frames, %v; want a reset stream", len(frames), err)
			}
			if got := sb.served.Load() - served; got != 0 {
				t.Errorf("%d blocks read for a refused request", got)
			}
			if p := n.net.scores.appPenalty(h.ID()); p < PenaltyUndecodable*0.99 {
				t.Errorf("penalty %.1f, want %v", p, PenaltyUndecodable)
			}
		})
	}
	t.Run("distinct", func(t *testing.T) {
		h := rawSyncPeer(t, mn, n)
		frames, err := rawSyncRequest(t, h, n, protoBlocks, encodeBlocksRequest([]types.Hash{a1, a2, a3, {7}}))
		if err != nil || len(frames) != 4 || len(frames[0]) == 0 || len(frames[3]) != 0 {
			t.Fatalf("frames %v, %v", frameSizes(frames), err)
		}
		if p := n.net.scores.appPenalty(h.ID()); p != 0 {
			t.Errorf("penalty %.1f for a good request", p)
		}
	})
}

func TestCheckDistinct(t *testing.T) {
	for _, tc := range []struct {
		hs  []types.Hash
		dup bool
	}{
		{nil, false},
		{[]types.Hash{{1}}, false},
		{[]types.Hash{{1}, {2}, {3}}, false},
		{[]types.Hash{{1}, {1}}, true},
		{[]types.Hash{{1}, {2}, {3}, {2}}, true},
		{[]types.Hash{{}, {}}, true},
		{[]types.Hash{{31: 1}, {30: 1}, {31: 1}}, true},
	} {
		err := checkDistinct(tc.hs)
		if (err != nil) != tc.dup || err != nil && !errors.Is(err, errDuplicateHash) {
			t.Errorf("%v: got %v, want duplicate %v", tc.hs, err, tc.dup)
		}
	}
}
