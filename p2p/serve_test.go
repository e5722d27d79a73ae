package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Serving limits: duplicate hashes, stored bytes, the answer budget on
// both sides, the per-peer byte bucket, silent streams and the cap on
// requests served at once. Requests come from bare mocknet hosts speaking
// the protocol by hand (rawSyncPeer), or from a syncing Network.

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
	sb := newSyncBackend(t, g.Open(chain.Config{}))
	n, err := New(Config{}, sb, sb.pool)
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

// Per-peer byte bucket.

// timedFrames is the record of frames received by raw requests: bytes
// of blocks in all, and when each frame arrived.
type timedFrames struct {
	mu    sync.Mutex
	total int
	marks []frameMark
	over  chan struct{} // closed once total reaches the threshold
	at    int
}

type frameMark struct {
	at    time.Time
	total int
}

func (r *timedFrames) add(n int) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += n
	r.marks = append(r.marks, frameMark{now, r.total})
	if r.over != nil && r.total >= r.at {
		close(r.over)
		r.over = nil
	}
}

// rawTimedRequest is rawSyncRequest recording each frame in rec.
func rawTimedRequest(h host.Host, n *syncNode, kind int, req []byte, rec *timedFrames) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), syncWait)
	defer cancel()
	st, err := h.NewStream(ctx, n.host.ID(), SyncProtocol(n.net.netID, protoNames[kind]))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	timer := time.AfterFunc(syncWait, func() { st.Reset() })
	defer timer.Stop()
	w := bufio.NewWriter(st)
	writeFrame(w, req)
	w.Flush()
	st.CloseWrite()
	r := bufio.NewReader(st)
	frames := 0
	for {
		f, err := readFrame(r, 1<<21)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return frames, err
		}
		frames++
		rec.add(len(f))
	}
}

// TestServeByteBudget: the bytes of blocks served to one peer by any time
// t after its first request are at most burst + rate·t; they are paced,
// not refused; another peer is served meanwhile at full speed.
func TestServeByteBudget(t *testing.T) {
	const (
		rate  = 2 << 20
		burst = 256 << 10
		blob  = 32 << 10
		reqs  = 4
		per   = 40 // blobs per request: 5 MiB in all
	)
	g := chaintest.New(t)
	mn := mocknet.New()
	defer mn.Close()
	sb := newSyncBackend(t, g.Open(chain.Config{}))
	blobs := map[types.Hash]int{}
	var hashes [reqs][]types.Hash
	for i := range hashes {
		hashes[i] = blobHashes(blobs, byte(i+1), per, blob)
	}
	other := blobHashes(blobs, 0xf0, 4, blob)
	n := startSyncNode(t, mn, "n", sb, syncOpts{backend: &blobBackend{syncBackend: sb, blobs: blobs}, timeout: syncWait})
	setLimits(n, protoBlocks, func(l *rateLimit) { l.byteRate, l.byteBurst = rate, burst })
	greedy, polite := rawSyncPeer(t, mn, n), rawSyncPeer(t, mn, n)

	overBurst := make(chan struct{})
	rec := &timedFrames{over: overBurst, at: burst}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, reqs)
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frames, err := rawTimedRequest(greedy, n, protoBlocks, encodeBlocksRequest(hashes[i]), rec)
			if err == nil && frames != per {
				err = fmt.Errorf("%d frames, want %d", frames, per)
			}
			errs <- err
		}()
	}
	greedyDone := make(chan struct{})
	go func() { wg.Wait(); close(greedyDone) }()

	// Once the greedy peer has had its burst, the polite one asks for a
	// little: served in full before the greedy peer is done.
	select {
	case <-overBurst:
	case <-time.After(syncWait):
		t.Fatal("the greedy peer did not get its burst")
	}
	prec := &timedFrames{}
	frames, err := rawTimedRequest(polite, n, protoBlocks, encodeBlocksRequest(other), prec)
	if err != nil || frames != len(other) || prec.total != len(other)*blob {
		t.Fatalf("polite peer: %d frames, %d bytes, %v", frames, prec.total, err)
	}
	select {
	case <-greedyDone:
		t.Error("the polite peer was served only after the greedy one")
	default:
	}

	select {
	case <-greedyDone:
	case <-time.After(syncWait):
		t.Fatal("the greedy peer's requests did not end")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("greedy request: %v", err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.total != reqs*per*blob {
		t.Fatalf("greedy peer got %d bytes, want %d", rec.total, reqs*per*blob)
	}
	for _, m := range rec.marks {
		if limit := burst + rate*m.at.Sub(start).Seconds(); float64(m.total) > limit {
			t.Fatalf("%d bytes served after %v: more than burst + rate·t = %.0f", m.total, m.at.Sub(start), limit)
		}
	}
	if p := n.net.scores.appPenalty(greedy.ID()); p != 0 {
		t.Errorf("greedy peer penalized %.1f", p)
	}
}

// TestServeByteBudgetDeadline: an answer that the peer's byte rate would
// not let out before the request deadline is cut short by a reset, with
// no penalty.
func TestServeByteBudgetDeadline(t *testing.T) {
	g := chaintest.New(t)
	mn := mocknet.New()
	defer mn.Close()
	sb := newSyncBackend(t, g.Open(chain.Config{}))
	blobs := map[types.Hash]int{}
	hs := blobHashes(blobs, 1, 10, 10<<10)
	n := startSyncNode(t, mn, "n", sb, syncOpts{backend: &blobBackend{syncBackend: sb, blobs: blobs}, timeout: time.Second})
	setLimits(n, protoBlocks, func(l *rateLimit) { l.byteRate, l.byteBurst = 20<<10, 20<<10 })
	h := rawSyncPeer(t, mn, n)
	// 100 KiB at 20 KiB/s after a burst of 20: 4 s, past the deadline.
	rec := &timedFrames{}
	start := time.Now()
	frames, err := rawTimedRequest(h, n, protoBlocks, encodeBlocksRequest(hs), rec)
	if err == nil || frames >= len(hs) {
		t.Fatalf("answered %d frames of %d, %v; want a reset", frames, len(hs), err)
	}
	if took := time.Since(start); took > syncWait/2 {
		t.Errorf("reset after %v", took)
	}
	if p := n.net.scores.appPenalty(h.ID()); p != 0 {
		t.Errorf("penalty %.1f", p)
	}
}

// Silent streams and the cap on requests served at once.

// silentStream opens a stream of kind to n and sends nothing; done
// receives how long after opening the stream was reset (or failed).
func silentStream(t *testing.T, h host.Host, n *syncNode, kind int, done chan<- time.Duration) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), syncWait)
	defer cancel()
	start := time.Now()
	st, err := h.NewStream(ctx, n.host.ID(), SyncProtocol(n.net.netID, protoNames[kind]))
	if err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(syncWait, func() { st.Reset() })
	go func() {
		defer timer.Stop()
		var b [1]byte
		if _, err := st.Read(b[:]); err == nil { // negotiates the protocol, then waits
			t.Errorf("a silent stream was sent %q", b[0])
		}
		done <- time.Since(start)
	}()
	return st
}

// waitResets waits for k streams to end and returns how long each lasted.
func waitResets(t *testing.T, done <-chan time.Duration, k int) []time.Duration {
	t.Helper()
	var out []time.Duration
	deadline := time.After(syncWait)
	for range k {
		select {
		case d := <-done:
			out = append(out, d)
		case <-deadline:
			t.Fatalf("%d of %d streams still open after %v", k-len(out), k, syncWait)
		}
	}
	return out
}

// TestServeSilentStreams: a stream whose request frame does not come
// within frameWait is reset then, long before the request deadline, and
// costs PenaltySilentStream; nine of them do not get the peer banned, ten
// do.
func TestServeSilentStreams(t *testing.T) {
	const frameWait = 300 * time.Millisecond
	g := chaintest.New(t)
	mn := mocknet.New()
	defer mn.Close()
	n := startSyncNode(t, mn, "n", newSyncBackend(t, g.Open(chain.Config{})), syncOpts{timeout: time.Minute})
	for kind := range numProtos {
		setLimits(n, kind, func(l *rateLimit) { l.frameWait = frameWait })
	}
	h := rawSyncPeer(t, mn, n)
	done := make(chan time.Duration, 16)
	// Nine silent streams, of each kind, at most as many at once as
	// served: each reset at frameWait, nine penalties, no ban yet.
	kinds := []int{protoBlocks, protoBlocks, protoBlocks, protoBlocks, protoBlocks, protoStatus, protoStatus, protoHeaders, protoHeaders}
	for _, kind := range kinds {
		silentStream(t, h, n, kind, done)
	}
	for _, d := range waitResets(t, done, len(kinds)) {
		if d < frameWait || d > 20*time.Second {
			t.Errorf("silent stream reset after %v; want frameWait %v, not the request deadline of a minute", d, frameWait)
		}
	}
	eventually(t, n, "nine silent-stream penalties", func() bool {
		return n.net.scores.appPenalty(h.ID()) >= 9*PenaltySilentStream*0.99
	})
	if n.net.Banned(h.ID()) {
		t.Fatalf("banned at %.1f points", n.net.scores.appPenalty(h.ID()))
	}
	// The tenth gets it banned and disconnected.
	silentStream(t, h, n, protoBlocks, done)
	waitResets(t, done, 1)
	eventually(t, n, "ban", func() bool { return n.net.Banned(h.ID()) })
	eventually(t, n, "disconnection", func() bool {
		return n.host.Network().Connectedness(h.ID()) != network.Connected
	})
}

// TestServeActiveCap: requests of a peer beyond the cap of those served at
// once are reset at once, without penalty; those admitted are served.
func TestServeActiveCap(t *testing.T) {
	g := chaintest.New(t)
	buildSyncSource(t, g, 5)
	mn := mocknet.New()
	defer mn.Close()
	n := startSyncNode(t, mn, "n", newSyncBackend(t, syncSourceChain(t, g, 5)), syncOpts{timeout: time.Minute})
	const active = 3
	setLimits(n, protoBlocks, func(l *rateLimit) { l.active, l.frameWait = active, time.Minute })
	h := rawSyncPeer(t, mn, n)
	activeOf := func(p peer.ID) int { return activeRequests(n, p, protoBlocks) }

	// Three streams that have not sent their request yet are admitted.
	held := make([]network.Stream, active)
	heldDone := make(chan time.Duration, active)
	for i := range held {
		held[i] = silentStreamKeep(t, h, n, heldDone)
	}
	eventually(t, n, "three requests admitted", func() bool { return activeOf(h.ID()) == active })

	// Two more are reset at once, well before the frame deadline.
	extra := make(chan time.Duration, 2)
	silentStream(t, h, n, protoBlocks, extra)
	silentStream(t, h, n, protoBlocks, extra)
	for _, d := range waitResets(t, extra, 2) {
		if d > 20*time.Second {
			t.Errorf("stream over the cap reset after %v", d)
		}
	}
	// Another peer is not affected by h's cap.
	other := rawSyncPeer(t, mn, n)
	frames, err := rawSyncRequest(t, other, n, protoBlocks, encodeBlocksRequest([]types.Hash{g.Hash("a1")}))
	if err != nil || len(frames) != 1 || len(frames[0]) == 0 {
		t.Fatalf("other peer: frames %v, %v", frameSizes(frames), err)
	}
	// The held streams send their requests now and are answered.
	for _, st := range held {
		w := bufio.NewWriter(st)
		writeFrame(w, encodeBlocksRequest([]types.Hash{g.Hash("a2"), g.Hash("a3")}))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		st.CloseWrite()
	}
	waitResets(t, heldDone, active)
	eventually(t, n, "requests released", func() bool { return activeOf(h.ID()) == 0 })
	if p := n.net.scores.appPenalty(h.ID()); p != 0 {
		t.Errorf("penalty %.1f for streams over the cap", p)
	}
}

// silentStreamKeep opens a blocks stream to n that sends nothing until
// the test writes on it; done receives how long it lasted once its answer
// (2 non-empty frames) has been read.
func silentStreamKeep(t *testing.T, h host.Host, n *syncNode, done chan<- time.Duration) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), syncWait)
	defer cancel()
	start := time.Now()
	st, err := h.NewStream(ctx, n.host.ID(), SyncProtocol(n.net.netID, protoNames[protoBlocks]))
	if err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(syncWait, func() { st.Reset() })
	go func() {
		defer timer.Stop()
		r := bufio.NewReader(st)
		for i := range 2 {
			f, err := readFrame(r, 1<<21)
			if err != nil || len(f) == 0 {
				t.Errorf("held stream: frame %d: %d bytes, %v", i, len(f), err)
				break
			}
		}
		done <- time.Since(start)
	}()
	return st
}

// activeRequests returns how many requests of kind from p n is serving.
func activeRequests(n *syncNode, p peer.ID, kind int) int {
	s := n.net.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[p]; b != nil {
		return b[kind].active
	}
	return 0
}

// TestStopEndsServedRequests: a served request is work the Network owns.
// Stop resets its stream at once, not at its frame or request deadline,
// and returns only after its handler has; the requester is not charged.
func TestStopEndsServedRequests(t *testing.T) {
	g := chaintest.New(t)
	mn := mocknet.New()
	defer mn.Close()
	n := startSyncNode(t, mn, "n", newSyncBackend(t, g.Open(chain.Config{})), syncOpts{timeout: time.Minute})
	setLimits(n, protoStatus, func(l *rateLimit) { l.frameWait = time.Minute })
	h := rawSyncPeer(t, mn, n)
	done := make(chan time.Duration, 1)
	silentStream(t, h, n, protoStatus, done)
	eventually(t, n, "the request admitted", func() bool { return activeRequests(n, h.ID(), protoStatus) == 1 })
	if err := n.net.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if k := activeRequests(n, h.ID(), protoStatus); k != 0 {
		t.Errorf("Stop returned with %d requests still served", k)
	}
	if d := waitResets(t, done, 1)[0]; d > 20*time.Second {
		t.Errorf("stream reset after %v; want at Stop, not at a deadline of a minute", d)
	}
	if p := n.net.scores.appPenalty(h.ID()); p != 0 {
		t.Errorf("penalty %.1f for a request cut by Stop", p)
	}
}
