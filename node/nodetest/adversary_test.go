package nodetest_test

import (
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Smoke tests of the adversary: each proves one capability reaches a real
// node. They assert what the node did with the attack only as far as
// "it got there", never whether the node defends itself.

const smokeWait = 10 * time.Second

// A lying status (2^255 work) makes the victim ask the adversary for
// headers; the adversary answers with 2000 cheap junk headers that pass
// the header rules in a row.
func TestAdversaryLyingStatus(t *testing.T) {
	p := nodetest.WorkParams(time.Now().UnixMilli() - 3*3600*1000) // a branch from genesis is cheap for ~10 000 headers
	h := nodetest.New(t, 1, nodetest.Options{Params: p})
	victim := h.Nodes[0]
	fork := nodetest.ForkOf([]*types.Block{p.Genesis()}, 0)
	junk := nodetest.NewJunk(p, fork)

	a := h.NewAdversary()
	var mu sync.Mutex
	var first []types.Header
	var firstAt int64
	var locator []types.Hash
	a.SetHeaders(func(from peer.ID, loc []types.Hash, _ types.Hash) []types.Header {
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			return nil // one batch is enough to show it lands
		}
		firstAt = time.Now().UnixMilli()
		first, locator = junk.Headers(p2p.MaxHeadersPerAnswer, firstAt), loc
		return first
	})
	a.ClaimWork(new(big.Int).Lsh(big.NewInt(1), 255), 1_000_000)
	a.Connect(victim)

	h.WaitFor("the victim to ask for headers and get 2000", smokeWait, func() bool {
		c := a.Counts()
		return c.HeadersRequests >= 1 && c.HeadersServed >= p2p.MaxHeadersPerAnswer
	})
	if st, ok := a.Their(victim.Net().ID()); !ok || st.Genesis != p.GenesisHash() {
		t.Fatalf("the victim's status: %+v %v", st, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(locator) == 0 || locator[len(locator)-1] != p.GenesisHash() {
		t.Fatalf("locator %v does not end at genesis", locator)
	}
	checkInRow(t, p, fork, first, firstAt)
	t.Logf("victim asked %d times, served %d headers; its best header is now at height %d",
		a.Counts().HeadersRequests, a.Counts().HeadersServed, victim.Chain().BestHeader().Header.Height)
}

// What the adversary publishes reaches the victim's gossip validators: a
// cheap side block, an orphan and undecodable bytes each move the block
// topic's counters; a tx moves the tx topic's.
func TestAdversaryGossip(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{})
	victim := h.Nodes[0]
	h.Mine(0, 3)
	a := h.AddAdversary()
	a.WaitGossip(smokeWait)

	judged := func(s p2p.TopicStats) uint64 { return s.Accepted + s.Rejected + s.Ignored }
	publish := func(what string, topic func(p2p.GossipStats) p2p.TopicStats, send func() error) {
		t.Helper()
		before := topic(victim.Net().GossipStats())
		if err := send(); err != nil {
			t.Fatalf("publish %s: %v", what, err)
		}
		h.WaitFor(what+" to reach the victim's validator", smokeWait, func() bool {
			return judged(topic(victim.Net().GossipStats())) > judged(before)
		})
		after := topic(victim.Net().GossipStats())
		t.Logf("%s: accepted +%d, rejected +%d, ignored +%d", what,
			after.Accepted-before.Accepted, after.Rejected-before.Rejected, after.Ignored-before.Ignored)
	}
	blocks := func(s p2p.GossipStats) p2p.TopicStats { return s.Blocks }
	txs := func(s p2p.GossipStats) p2p.TopicStats { return s.Txs }

	genesis, err := nodetest.ForkAt(victim.Chain(), h.Params.GenesisHash())
	if err != nil {
		t.Fatal(err)
	}
	side := nodetest.CheapBlocks(h.Params, genesis, 1, time.Now().UnixMilli())[0]
	publish("a side block", blocks, func() error { return a.PublishBlock(side) })
	orphan := nodetest.Orphans(h.Params, 1, nodetest.OrphanOptions{Seed: 7})[0]
	publish("an orphan", blocks, func() error { return a.PublishBlock(orphan) })
	publish("garbage", blocks, func() error { return a.PublishRaw("block", []byte("not a block")) })
	tx := &types.Tx{Version: types.TxVersion, To: chaintest.Key("bob").Address(), Amount: 1, Fee: 2000}
	chaintest.Key("alice").Sign(tx, h.Params.GenesisHash())
	publish("a tx", txs, func() error { return a.PublishTx(tx) })
}

// The adversary as a requester: status, headers, and a blocks request,
// answered in full; one with a hash repeated 128 times gets whatever the
// victim does with it (logged).
func TestAdversaryRequests(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{})
	victim := h.Nodes[0]
	mined := h.Mine(0, 3)
	a := h.AddAdversary()

	g := h.Params.GenesisHash()
	st, err := a.RequestStatus(victim, p2p.Status{Genesis: g, TipHash: g, BestHash: g, Work: big.NewInt(2)})
	if err != nil || st.TipHash != mined[2].Hash() || st.TipHeight != 3 {
		t.Fatalf("status: %+v %v", st, err)
	}
	hs, err := a.RequestHeaders(victim, []types.Hash{g}, types.Hash{})
	if err != nil || len(hs) != 3 || hs[2].Hash() != mined[2].Hash() {
		t.Fatalf("headers: %d %v", len(hs), err)
	}

	hashes := []types.Hash{mined[0].Hash(), mined[1].Hash(), mined[2].Hash(), {1}}
	size := mined[0].EncodedSize() + mined[1].EncodedSize() + mined[2].EncodedSize()
	frames, n, err := a.RequestBlocks(victim, hashes)
	if err != nil || frames != 4 || n != size {
		t.Fatalf("blocks: %d frames, %d bytes (want 4, %d): %v", frames, n, size, err)
	}

	repeated := slices.Repeat([]types.Hash{mined[2].Hash()}, p2p.MaxBlocksPerRequest)
	frames, n, err = a.RequestBlocks(victim, repeated)
	t.Logf("%d × the same block (%d bytes): %d frames, %d bytes back, err %v",
		len(repeated), mined[2].EncodedSize(), frames, n, err)
}

// Silent streams reach the victim's handler; the adversary sees each one
// end, whether the victim refuses it, times it out, or (here, at the
// latest) bans the adversary, closing the connection.
func TestAdversarySilentStreams(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{})
	victim := h.Nodes[0]
	a := h.AddAdversary()
	const n = 4
	streams, err := a.OpenSilentStreams(victim, "headers", n)
	if err != nil || len(streams) != n {
		t.Fatalf("%d streams: %v", len(streams), err)
	}
	h.WaitFor("a silent stream at the victim's handler", smokeWait, func() bool {
		return a.VictimStreams(victim, "headers") >= 1
	})
	seen := a.VictimStreams(victim, "headers")
	ended := 0
	for _, s := range streams {
		if s.Ended() {
			ended++
		}
	}
	t.Logf("%d of %d silent streams open at the victim's handler, %d already ended by it", seen, n, ended)
	victim.Net().BanPeer(a.ID(), time.Minute)
	for i, s := range streams {
		select {
		case <-s.Done():
			t.Logf("stream %d ended: %v", i, s.Err())
		case <-time.After(smokeWait):
			t.Fatalf("stream %d still open %v after the ban", i, smokeWait)
		}
	}
	if got := a.StandingWith(victim); !got.Banned {
		t.Fatalf("standing after the ban: %+v", got)
	}
}

// An invalid block (proof of work missed) costs the adversary its place:
// its standing at the victim shows the ban.
func TestAdversaryStanding(t *testing.T) {
	h := nodetest.New(t, 1, nodetest.Options{})
	victim := h.Nodes[0]
	a := h.AddAdversary()
	a.WaitGossip(smokeWait)
	if s := a.StandingWith(victim); !s.Connected || !s.Listed || s.Banned {
		t.Fatalf("standing before: %+v", s)
	}
	genesis, err := nodetest.ForkAt(victim.Chain(), h.Params.GenesisHash())
	if err != nil {
		t.Fatal(err)
	}
	bad := nodetest.CheapBlocks(h.Params, genesis, 1, time.Now().UnixMilli())[0]
	for consensus.CheckProofOfWork(bad.Hash(), bad.Header.Bits, h.Params.PowLimit) == nil {
		bad.Header.Nonce++
	}
	if err := a.PublishBlock(bad); err != nil {
		t.Fatal(err)
	}
	h.WaitFor("the victim to ban the adversary", smokeWait, func() bool { return a.StandingWith(victim).Banned })
	t.Logf("standing after: %+v", a.StandingWith(victim))
}

// Honest mining on schedule with WorkParams keeps the genesis target, and
// a second node accepts the chain.
func TestScheduledMining(t *testing.T) {
	const n = 30
	p := nodetest.WorkParamsEndingNow(n)
	h := nodetest.New(t, 2, nodetest.Options{Params: p, ScheduledTimes: true})
	blocks := h.Mine(0, n)
	for i, blk := range blocks {
		if blk.Header.Bits != p.GenesisBits || blk.Header.Time != nodetest.ScheduledTime(p, uint64(i+1)) {
			t.Fatalf("block %d: bits %08x time %d", i+1, blk.Header.Bits, blk.Header.Time)
		}
	}
	h.WaitTip(smokeWait, blocks[n-1].Hash())
	want := new(big.Int).Mul(consensus.CalcWork(p.GenesisBits), big.NewInt(n+1))
	if w := h.Nodes[1].Chain().Tip().Work; w.Cmp(want) != 0 {
		t.Fatalf("work %v, want %v", w, want)
	}
}
