package p2p

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// unstarted returns a Network on a real chain that is never started, to
// call the validators' logic directly.
func unstarted(t *testing.T, b *testBackend) *Network {
	t.Helper()
	n, err := newNetwork(Config{NoDHT: true, Logger: testLogger(t, "v")}, b)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	n.scores.now = func() time.Time { return now }
	return n
}

var verdictNames = map[pubsub.ValidationResult]string{
	pubsub.ValidationAccept: "accept",
	pubsub.ValidationReject: "reject",
	pubsub.ValidationIgnore: "ignore",
}

// TestBlockVerdicts runs the block validator's logic on a real chain, in
// order: each case sees the chain the earlier ones left, and is sent by a
// peer of its own so that its penalty shows alone.
func TestBlockVerdicts(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 3)
	g.Block("b1", "genesis", func(bg *chaintest.BlockGen) { bg.Header.Miner = chaintest.Key("bob").Address() })
	g.Block("badpow", "genesis", func(bg *chaintest.BlockGen) { bg.BadPoW = true })
	g.Block("badroot", "genesis", func(bg *chaintest.BlockGen) {
		bg.Header.StateRoot = types.Sum([]byte("wrong"))
		bg.KeepStateRoot = true
	})
	g.Block("badkid", "badroot", nil)
	g.Block("future", "genesis", func(bg *chaintest.BlockGen) {
		bg.Header.Time = time.Now().Add(time.Hour).UnixMilli()
	})
	b := newBackend(t, g, txpool.Config{})
	n := unstarted(t, b)
	for _, tc := range []struct {
		name    string
		data    []byte
		want    pubsub.ValidationResult
		penalty float64
	}{
		{"junk", []byte("not a block"), pubsub.ValidationReject, PenaltyUndecodable},
		{"truncated", g.Get("a1").Encode()[:100], pubsub.ValidationReject, PenaltyUndecodable},
		{"bad PoW", g.Get("badpow").Encode(), pubsub.ValidationReject, PenaltyInvalidBlock},
		{"bad state root", g.Get("badroot").Encode(), pubsub.ValidationReject, PenaltyInvalidBlock},
		{"bad state root again", g.Get("badroot").Encode(), pubsub.ValidationReject, PenaltyInvalidBlock},
		{"child of invalid", g.Get("badkid").Encode(), pubsub.ValidationReject, PenaltyInvalidBlock},
		{"from the future", g.Get("future").Encode(), pubsub.ValidationIgnore, 0},
		{"valid", g.Get("a1").Encode(), pubsub.ValidationAccept, 0},
		{"known", g.Get("a1").Encode(), pubsub.ValidationIgnore, 0},
		{"unknown parent", g.Get("a3").Encode(), pubsub.ValidationIgnore, 0},
		{"side chain", g.Get("b1").Encode(), pubsub.ValidationAccept, 0},
		{"parent of orphan", g.Get("a2").Encode(), pubsub.ValidationAccept, 0},
	} {
		from := peer.ID(tc.name)
		got := n.checkBlock(from, tc.data)
		if got != tc.want {
			t.Errorf("%s: verdict %s, want %s", tc.name, verdictNames[got], verdictNames[tc.want])
		}
		if p := n.scores.appPenalty(from); p != tc.penalty {
			t.Errorf("%s: penalty %v, want %v", tc.name, p, tc.penalty)
		}
		if banned := n.Banned(from); banned != (tc.penalty >= BanThreshold) {
			t.Errorf("%s: banned = %v", tc.name, banned)
		}
	}
	g.CheckTip(b.c, "a3") // a3 waited as an orphan for a2
}

// TestTxVerdicts runs the tx validator's logic on a real pool: invalid
// whatever the state -> Reject and penalty; refused for a reason of the
// local view -> Ignore, no penalty.
func TestTxVerdicts(t *testing.T) {
	g := chaintest.New(t)
	other := types.Sum([]byte("another network"))
	b := newBackend(t, g, txpool.Config{OtherNetworks: []types.Hash{other}})
	n := unstarted(t, b)
	bob := chaintest.Key("bob").Address()
	valid := g.Tx("alice", bob, 1000, 10_000, 0)
	badSig := g.Tx("alice", bob, 1000, 10_000, 0)
	badSig.Sig[0] ^= 1
	wrongNet := &types.Tx{Version: types.TxVersion, To: bob, Amount: 1000, Fee: 10_000}
	chaintest.Key("alice").Sign(wrongNet, other)
	for _, tc := range []struct {
		name    string
		data    []byte
		want    pubsub.ValidationResult
		penalty float64
	}{
		{"junk", []byte("not a tx"), pubsub.ValidationReject, PenaltyUndecodable},
		{"trailing byte", append(valid.Encode(), 0), pubsub.ValidationReject, PenaltyUndecodable},
		{"bad signature", badSig.Encode(), pubsub.ValidationReject, PenaltyInvalidTx},
		{"wrong network", wrongNet.Encode(), pubsub.ValidationReject, PenaltyInvalidTx},
		{"amount overflow", g.Tx("alice", bob, math.MaxUint64, 10_000, 0).Encode(), pubsub.ValidationReject, PenaltyInvalidTx},
		{"fee too low", g.Tx("alice", bob, 1000, 1, 0).Encode(), pubsub.ValidationIgnore, 0},
		{"nonce too high", g.Tx("alice", bob, 1000, 10_000, 1000).Encode(), pubsub.ValidationIgnore, 0},
		{"insufficient balance", g.Tx("eve", bob, 1000, 10_000, 0).Encode(), pubsub.ValidationIgnore, 0},
		{"valid", valid.Encode(), pubsub.ValidationAccept, 0},
		{"known", valid.Encode(), pubsub.ValidationIgnore, 0},
		{"replacement underpriced", g.Tx("alice", bob, 1000, 10_001, 0).Encode(), pubsub.ValidationIgnore, 0},
	} {
		from := peer.ID(tc.name)
		got := n.checkTx(from, tc.data)
		if got != tc.want {
			t.Errorf("%s: verdict %s, want %s", tc.name, verdictNames[got], verdictNames[tc.want])
		}
		if p := n.scores.appPenalty(from); p != tc.penalty {
			t.Errorf("%s: penalty %v, want %v", tc.name, p, tc.penalty)
		}
	}
	if !b.pool.Has(valid.ID()) || b.pool.Status().Pending+b.pool.Status().Queued != 1 {
		t.Errorf("pool status %+v, want just the valid tx", b.pool.Status())
	}
}

// rawPubSub is a malicious peer's GossipSub on h: it speaks the network's
// format (no signatures, authors or seqnos) but validates nothing.
func rawPubSub(t *testing.T, h host.Host) *pubsub.PubSub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithFloodPublish(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// joinAndWait joins topic on ps and waits until target is in it.
func joinAndWait(t *testing.T, ps *pubsub.PubSub, topic string, target peer.ID) *pubsub.Topic {
	t.Helper()
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the malicious peer to see its target in "+topic, func() bool {
		return slices.Contains(tp.ListPeers(), target)
	})
	return tp
}

func publish(t *testing.T, tp *pubsub.Topic, data []byte) {
	t.Helper()
	if err := tp.Publish(context.Background(), data); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidBlockRejectedNotRelayedBanned: on mal -- a -- b, a block with
// bad proof of work from mal is rejected by a, never reaches b, and gets
// mal banned: disconnected, and a reconnection is dropped.
func TestInvalidBlockRejectedNotRelayedBanned(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 1)
	bad := g.Block("bad", "genesis", func(bg *chaintest.BlockGen) { bg.BadPoW = true })
	mn := newMocknet(t)
	a := startNode(t, "a", Config{Host: mockHost(t, mn), NoDHT: true}, newBackend(t, g, txpool.Config{}))
	b := startNode(t, "b", Config{Host: mockHost(t, mn), NoDHT: true}, newBackend(t, g, txpool.Config{}))
	mal := mockHost(t, mn)
	link(t, mn, a.host, b.host)
	link(t, mn, mal, a.host)
	waitTopicPeers(t, b.Network, 1)
	blocks := joinAndWait(t, rawPubSub(t, mal), BlockTopic(a.netID), a.ID())

	publish(t, blocks, bad.Encode())
	waitFor(t, "a to reject the block", func() bool { return a.GossipStats().Blocks.Rejected == 1 })
	if !a.Banned(mal.ID()) {
		t.Errorf("mal not banned; penalty %v", a.scores.appPenalty(mal.ID()))
	}
	waitFor(t, "a to disconnect mal", func() bool {
		return a.host.Network().Connectedness(mal.ID()) != network.Connected
	})

	// A valid block from a reaches b, and b never saw anything else.
	a.mine(t, g.Get("a1"))
	waitTip(t, b, g.Hash("a1"))
	waitFor(t, "b to validate the valid block", func() bool {
		st := b.GossipStats().Blocks
		return st.Accepted+st.Ignored+st.Rejected >= 1
	})
	// Accepted, or ignored if b's syncer fetched it first.
	if st := b.GossipStats().Blocks; st.Rejected != 0 || st.Accepted+st.Ignored != 1 {
		t.Errorf("b's block stats %+v, want only the valid block", st)
	}
	if b.b.c.HasBlock(bad.Hash()) || a.b.c.HasBlock(bad.Hash()) {
		t.Error("the invalid block was stored")
	}

	// mal comes back: a hangs up at once (the mocknet host has no gater;
	// TestGaterRefusesBannedPeer covers a host built by the Network).
	if _, err := mn.ConnectPeers(mal.ID(), a.ID()); err == nil {
		waitFor(t, "a to drop mal's new connection", func() bool {
			return a.host.Network().Connectedness(mal.ID()) != network.Connected
		})
	}
}

// TestPenaltiesAddUpToBan: junk on the block topic and txs with bad
// signatures each cost a little; mal stays connected until their sum
// reaches BanThreshold.
func TestPenaltiesAddUpToBan(t *testing.T) {
	g := chaintest.New(t)
	mn := newMocknet(t)
	a := startNode(t, "a", Config{Host: mockHost(t, mn), NoDHT: true}, newBackend(t, g, txpool.Config{}))
	mal := mockHost(t, mn)
	link(t, mn, mal, a.host)
	ps := rawPubSub(t, mal)
	blocks := joinAndWait(t, ps, BlockTopic(a.netID), a.ID())
	txs := joinAndWait(t, ps, TxTopic(a.netID), a.ID())

	publish(t, blocks, []byte("junk"))
	waitFor(t, "a to reject the junk", func() bool { return a.GossipStats().Blocks.Rejected == 1 })
	want := PenaltyUndecodable
	for i := range 3 {
		tx := g.Tx("alice", chaintest.Key("bob").Address(), 1000, 10_000, uint64(i))
		tx.Sig[5] ^= 0x40
		publish(t, txs, tx.Encode())
		waitFor(t, "a to reject the tx", func() bool { return a.GossipStats().Txs.Rejected == uint64(i+1) })
		want += PenaltyInvalidTx
		if got := a.scores.appPenalty(mal.ID()); got != want {
			t.Fatalf("after %d bad txs: penalty %v, want %v", i+1, got, want)
		}
		if banned := want >= BanThreshold; a.Banned(mal.ID()) != banned {
			t.Fatalf("after %d bad txs: banned = %v", i+1, !banned)
		}
		if want < BanThreshold && a.host.Network().Connectedness(mal.ID()) != network.Connected {
			t.Fatalf("mal disconnected at penalty %v", want)
		}
	}
	waitFor(t, "a to disconnect mal", func() bool {
		return a.host.Network().Connectedness(mal.ID()) != network.Connected
	})
	if st := a.GossipStats(); st.Txs.Accepted+st.Blocks.Accepted != 0 {
		t.Errorf("stats %+v: something accepted", st)
	}
	if a.b.pool.Status().Pending+a.b.pool.Status().Queued != 0 {
		t.Error("a bad tx entered the pool")
	}
}

// blockingBackend holds ProcessBlock until release is closed.
type blockingBackend struct {
	*testBackend
	entered chan struct{}
	release chan struct{}
	done    atomic.Bool // ProcessBlock returned
}

func (b *blockingBackend) ProcessBlock(blk *types.Block, o chain.Origin) (chain.Result, error) {
	close(b.entered)
	<-b.release
	defer b.done.Store(true)
	return b.testBackend.ProcessBlock(blk, o)
}

// TestStopWaitsForValidation: Stop returns only after a validator that is
// inside the Backend has returned, so that the node may close the chain
// right after.
func TestStopWaitsForValidation(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 1)
	mn := newMocknet(t)
	bb := &blockingBackend{testBackend: newBackend(t, g, txpool.Config{}),
		entered: make(chan struct{}), release: make(chan struct{})}
	h := mockHost(t, mn)
	n, err := New(Config{Host: h, NoDHT: true, Logger: testLogger(t, "a")}, bb, bb.pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mal := mockHost(t, mn)
	link(t, mn, mal, h)
	blocks := joinAndWait(t, rawPubSub(t, mal), BlockTopic(n.netID), h.ID())
	publish(t, blocks, g.Get("a1").Encode())
	select {
	case <-bb.entered:
	case <-time.After(waitTimeout):
		t.Fatal("the validator never called ProcessBlock")
	}

	type result struct {
		err         error
		backendDone bool
	}
	stopped := make(chan result, 1)
	go func() {
		err := n.Stop()
		stopped <- result{err, bb.done.Load()}
	}()
	waitFor(t, "Stop to begin", func() bool {
		n.mu.RLock()
		defer n.mu.RUnlock()
		return n.stopping
	})
	close(bb.release)
	select {
	case r := <-stopped:
		if r.err != nil {
			t.Errorf("Stop: %v", r.err)
		}
		if !r.backendDone {
			t.Error("Stop returned while a validation was inside the Backend")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Stop hung")
	}
	if !bb.c.HasBlock(g.Hash("a1")) {
		t.Error("the block in validation was not stored")
	}
}

// TestOversizedMessageRefused: a message past the size limit from mal is
// dropped by GossipSub before any validator sees it, mal is penalized as for
// undecodable data (enough of them ban it, as TestPenaltiesAddUpToBan
// shows), nothing is stored and a keeps working.
func TestOversizedMessageRefused(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 1)
	mn := newMocknet(t)
	a := startNode(t, "a", Config{Host: mockHost(t, mn), NoDHT: true}, newBackend(t, g, txpool.Config{}))
	mal := mockHost(t, mn)
	link(t, mn, mal, a.host)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, mal,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(8<<20),
	)
	if err != nil {
		t.Fatal(err)
	}
	blocks := joinAndWait(t, ps, BlockTopic(a.netID), a.ID())
	huge := make([]byte, 2*g.Params.MaxBlockSize)
	copy(huge, g.Get("a1").Encode())
	publish(t, blocks, huge)
	waitFor(t, "mal to be penalized for the oversized message", func() bool {
		return a.scores.appPenalty(mal.ID()) >= PenaltyUndecodable
	})
	// a is still healthy: a valid block from another honest peer is taken.
	b := startNode(t, "b", Config{Host: mockHost(t, mn), NoDHT: true}, newBackend(t, g, txpool.Config{}))
	link(t, mn, a.host, b.host)
	waitTopicPeers(t, b.Network, 1)
	b.mine(t, g.Get("a1"))
	waitTip(t, a, g.Hash("a1"))
	if st := a.GossipStats().Blocks; st.Rejected != 0 {
		t.Fatalf("the oversized message reached a validator: %+v", st)
	}
	if a.b.c.Tip().Height != 1 {
		t.Fatal("a's chain changed beyond the valid block")
	}
}

// A peer that relays a valid block is known to have its height, so
// net_peers does not show the height of its last status message forever.
func TestRelayedBlockRaisesPeerHeight(t *testing.T) {
	g := chaintest.New(t)
	g.Chain("a", "genesis", 2)
	n := unstarted(t, newBackend(t, g, txpool.Config{}))
	p := peer.ID("relayer")
	n.sync.mu.Lock()
	n.sync.peerLocked(p).hasStatus = true
	n.sync.mu.Unlock()
	for i, name := range []string{"a1", "a2"} {
		if got := n.checkBlock(p, g.Get(name).Encode()); got != pubsub.ValidationAccept {
			t.Fatalf("%s: verdict %s", name, verdictNames[got])
		}
		if h, ok := n.sync.peerHeight(p); !ok || h != uint64(i+1) {
			t.Fatalf("after %s: peer height %d, %v; want %d", name, h, ok, i+1)
		}
	}
}
