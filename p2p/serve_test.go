package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Serving limits: duplicate hashes, stored bytes, the answer budget on
// both sides. Requests come from bare mocknet hosts speaking the protocol
// by hand (rawSyncPeer), or from a syncing Network.

// setLimits changes n's serving limits of kind (under the syncer's
// mutex, as the serving side reads them).
func setLimits(n *syncNode, kind int, change func(*rateLimit)) {
	s := n.net.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	change(&s.limits[kind])
}

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

// blobHashes returns n made-up hashes with blobs of size bytes each.
func blobHashes(blobs map[types.Hash]int, tag byte, n, size int) []types.Hash {
	hs := make([]types.Hash, n)
	for i := range hs {
		hs[i] = types.Hash{tag, byte(i), byte(i >> 8)}
		blobs[hs[i]] = size
	}
	return hs
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

// TestServeBlocksAnswerBudget: whole blocks in order until the next would
// pass the budget, the first one whatever its size, then empty frames.
func TestServeBlocksAnswerBudget(t *testing.T) {
	g := chaintest.New(t)
	mn := mocknet.New()
	defer mn.Close()
	sb := newSyncBackend(t, g.Open(chain.Config{}))
	blobs := map[types.Hash]int{}
	bb := &blobBackend{syncBackend: sb, blobs: blobs}
	n := startSyncNode(t, mn, "n", sb, syncOpts{backend: bb})
	setLimits(n, protoBlocks, func(l *rateLimit) { l.answerBytes = 100 })
	h := rawSyncPeer(t, mn, n)
	blob := func(size int) types.Hash {
		hs := blobHashes(blobs, byte(len(blobs)+1), 1, size)
		return hs[0]
	}
	b60, b30, b20, b5, b40, b150, b101 := blob(60), blob(30), blob(20), blob(5), blob(40), blob(150), blob(101)
	missing := types.Hash{0xee}
	for _, tc := range []struct {
		name string
		hs   []types.Hash
		want []int
	}{
		{"cut at the budget", []types.Hash{b60, b30, b20, b5, missing}, []int{60, 30, 0, 0, 0}},
		{"exactly the budget", []types.Hash{b60, b40, b5}, []int{60, 40, 0}},
		{"missing block first", []types.Hash{missing, b60, b40}, []int{0, 60, 40}},
		{"first block over the budget", []types.Hash{b150, b5}, []int{150, 0}},
		{"one block over the budget", []types.Hash{b101}, []int{101}},
		{"small blocks", []types.Hash{b5, b20, b30, b40}, []int{5, 20, 30, 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, err := rawSyncRequest(t, h, n, protoBlocks, encodeBlocksRequest(tc.hs))
			if err != nil {
				t.Fatal(err)
			}
			if got := frameSizes(frames); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("frames of %v bytes, want %v", got, tc.want)
			}
		})
	}
}

// The answer budget seen by the requester.

// budgetChain builds, once per test binary, a chain of budgetBlocks
// blocks of up to 8 KiB (MaxBlockSize 8 KiB), most of them near full,
// some small, so that answers under a budget of 3 blocks get cut.
var budgetChain struct {
	once   sync.Once
	params *consensus.Params
	blocks []*types.Block
}

const (
	budgetBlocks   = 80
	budgetMaxBlock = 8 << 10
	budgetAnswer   = 3 * budgetMaxBlock
)

func budgetBlocksOf(t *testing.T) (*consensus.Params, []*types.Block) {
	t.Helper()
	budgetChain.once.Do(func() {
		p := *chaintest.Params()
		p.MaxBlockSize = budgetMaxBlock
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		g := chaintest.NewWithParams(t, &p)
		bob := chaintest.Key("bob").Address()
		parent := "genesis"
		var blocks []*types.Block
		for i := 1; i <= budgetBlocks; i++ {
			name := fmt.Sprintf("a%d", i)
			txs := 54 // 149 + 54·142 bytes: 7817 of 8192
			if i%5 == 0 {
				txs = i % 7
			}
			blocks = append(blocks, g.Block(name, parent, func(bg *chaintest.BlockGen) {
				for j := range txs {
					bg.Pay(chaintest.Wallets[j%len(chaintest.Wallets)], bob, 1, 1)
				}
			}))
			parent = name
		}
		budgetChain.params, budgetChain.blocks = &p, blocks
	})
	if budgetChain.blocks == nil {
		t.Fatal("building the budget chain failed")
	}
	return budgetChain.params, budgetChain.blocks
}

// openBudgetChain opens a chain holding the first n blocks.
func openBudgetChain(t *testing.T, p *consensus.Params, blocks []*types.Block, n int) *chain.Chain {
	t.Helper()
	c, err := chain.OpenMemory(chain.Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, b := range blocks[:n] {
		if _, err := c.ProcessBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestSyncAnswerBudget: a node syncs blocks from a single peer whose
// answers are cut by the answer budget, in one round, asking again for
// what was not sent; a peer that passes the budget is penalized.
func TestSyncAnswerBudget(t *testing.T) {
	p, blocks := budgetBlocksOf(t)
	last := blocks[len(blocks)-1].Hash()
	budget := func(n *syncNode, bytes int) {
		setLimits(n, protoBlocks, func(l *rateLimit) { l.answerBytes = bytes })
	}
	t.Run("one peer", func(t *testing.T) {
		mn := mocknet.New()
		defer mn.Close()
		sb := newSyncBackend(t, openBudgetChain(t, p, blocks, len(blocks)))
		src := startSyncNode(t, mn, "src", sb, syncOpts{})
		var logs lockedBuffer
		dst := startSyncNode(t, mn, "dst", newSyncBackend(t, openBudgetChain(t, p, blocks, 0)), syncOpts{log: &logs})
		budget(src, budgetAnswer)
		budget(dst, budgetAnswer)
		syncConnect(t, mn, dst, src)
		waitSyncTip(t, dst, last)
		waitSyncIdle(t, dst)
		// Every answer carried at most 3 of the big blocks, and the first
		// requests asked for up to 32: blocks were asked for again.
		if got := sb.served.Load(); got <= budgetBlocks {
			t.Errorf("%d block lookups for %d blocks: no answer was cut", got, budgetBlocks)
		}
		out := logs.String()
		if c := strings.Count(out, `msg="sync finished"`); c != 1 || strings.Contains(out, "ended short") || strings.Contains(out, "round failed") {
			t.Errorf("want one round that finished:\n%s", out)
		}
		if pen := dst.net.scores.appPenalty(src.host.ID()); pen != 0 {
			t.Errorf("src penalized %.1f", pen)
		}
	})
	t.Run("over the budget", func(t *testing.T) {
		mn := mocknet.New()
		defer mn.Close()
		liar := startSyncNode(t, mn, "liar", newSyncBackend(t, openBudgetChain(t, p, blocks, len(blocks))), syncOpts{})
		honest := startSyncNode(t, mn, "honest", newSyncBackend(t, openBudgetChain(t, p, blocks, len(blocks))), syncOpts{})
		dst := startSyncNode(t, mn, "dst", newSyncBackend(t, openBudgetChain(t, p, blocks, 0)), syncOpts{})
		budget(liar, 0) // answers everything
		budget(honest, budgetAnswer)
		budget(dst, budgetAnswer)
		release := holdSync(dst)
		syncConnect(t, mn, dst, liar)
		syncConnect(t, mn, dst, honest)
		waitSyncStatuses(t, dst, liar, honest)
		release()
		waitSyncTip(t, dst, last)
		if pen := dst.net.scores.appPenalty(liar.host.ID()); pen < PenaltyBadSyncAnswer*0.99 {
			t.Errorf("liar's penalty is %.1f, want %v", pen, PenaltyBadSyncAnswer)
		}
		if pen := dst.net.scores.appPenalty(honest.host.ID()); pen != 0 {
			t.Errorf("honest peer's penalty is %.1f", pen)
		}
	})
}

// TestHandleResponseBudget: the fetcher tells blocks a peer lacks (asked
// of others) from blocks an answer's budget may have cut (asked again,
// of the same peer too).
func TestHandleResponseBudget(t *testing.T) {
	g := chaintest.New(t)
	n, err := New(Config{}, newSyncBackend(t, g.Open(chain.Config{})))
	if err != nil {
		t.Fatal(err)
	}
	bob := chaintest.Key("bob").Address()
	block := func(name string, txs int) *types.Block { // 149 + 142·txs bytes
		return g.Block(name, "genesis", func(bg *chaintest.BlockGen) {
			for range txs {
				bg.Pay("alice", bob, 1, 1)
			}
		})
	}
	b1, b2 := block("b1", 1), block("b2", 2)
	const budget, maxBlk = 1000, 450 // an empty frame after more than 550 bytes may be cut
	if s := b1.EncodedSize() + b2.EncodedSize(); s <= budget-maxBlk || s > budget {
		t.Fatalf("b1 and b2 take %d bytes", s)
	}
	n.sync.limits[protoBlocks].answerBytes = budget
	f := newFetcher(n.sync, chain.Tip{})
	f.maxBlk = maxBlk
	p, q := &fetchPeer{id: "p", height: 100}, &fetchPeer{id: "q", height: 100}
	f.peers = []*fetchPeer{p, q}
	// Answer: empty, b1, empty, b2, empty, empty; the last item is not
	// delivered (the stream failed).
	answer := []*types.Block{nil, b1, nil, b2, nil, nil}
	req := &blockReq{peer: p}
	for i := range 7 {
		it := &fetchItem{hash: types.Hash{byte(i + 1)}, pos: i, state: itemInflight, req: req, height: uint64(i + 1)}
		f.items[it.hash] = it
		f.order = append(f.order, it)
		req.items = append(req.items, it)
		req.hashes = append(req.hashes, it.hash)
	}
	p.inflight, f.inflight = 1, 1
	f.handleResponse(blockResp{req: req, blocks: answer})
	for i, want := range []struct {
		state itemState
		tried bool
	}{
		{itemQueued, true},  // empty first: p lacks it
		{itemReady, false},  // b1
		{itemQueued, true},  // empty after b1 alone: lacked
		{itemReady, false},  // b2
		{itemQueued, false}, // empty after b1 and b2: perhaps cut
		{itemQueued, false},
		{itemQueued, true}, // not delivered
	} {
		it := req.items[i]
		if it.state != want.state || it.triedBy("p") != want.tried {
			t.Errorf("item %d: state %d, tried by p %v; want %d, %v", i, it.state, it.triedBy("p"), want.state, want.tried)
		}
	}
	for _, it := range f.queue {
		if !f.canServe(p, it) && !it.triedBy("p") {
			t.Errorf("item at %d cannot be asked of p again", it.pos)
		}
	}
	if len(f.queue) != 5 {
		t.Errorf("%d items queued, want 5", len(f.queue))
	}
}
