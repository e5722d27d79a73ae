package p2p

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// Transaction recovery (txsync.go): each mechanism recovers a tx that
// gossip lost, and only that mechanism could have (the others are off or
// too slow to matter); serving limits; penalties for hostile answers.
//
// A tx is "lost" by a dropPool: while a tx is marked, its Add
// answers duplicate without adding it, so the gossip validator ignores
// the message (and GossipSub marks it seen) as if a queue had dropped it.

// dropPool is a txpool whose Add refuses a marked tx once, as a
// duplicate (so that neither gossip nor recovery penalizes or remembers
// the refusal), and counts the refusals.
type dropPool struct {
	*txpool.Pool
	mu      sync.Mutex
	drop    map[types.Hash]bool
	dropped map[types.Hash]int
}

func (b *dropPool) Add(tx *types.Tx) (types.Hash, error) {
	id := tx.ID()
	b.mu.Lock()
	if b.drop[id] {
		delete(b.drop, id)
		b.dropped[id]++
		b.mu.Unlock()
		return id, &txpool.RejectError{Reason: txpool.ReasonDuplicate, Msg: "dropped by the test"}
	}
	b.mu.Unlock()
	return b.Pool.Add(tx)
}

// setDrop marks or unmarks id.
func (b *dropPool) setDrop(id types.Hash, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if on {
		b.drop[id] = true
	} else {
		delete(b.drop, id)
	}
}

func (b *dropPool) droppedCount(id types.Hash) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped[id]
}

// txNode is a started Network on a testBackend, its pool seen through a
// dropPool.
type txNode struct {
	*Network
	name  string
	b     *testBackend
	drops *dropPool
}

// startTxNode starts a Network on h whose transaction recovery tune
// adjusted before Start, with the serving limits of the tx protocols
// raised so that shrunk timers are not refused.
func startTxNode(t *testing.T, g *chaintest.Builder, h host.Host, name string, cfg Config, tune func(*txSync)) *txNode {
	t.Helper()
	b := newBackend(t, g, txpool.Config{})
	drops := &dropPool{Pool: b.pool, drop: map[types.Hash]bool{}, dropped: map[types.Hash]int{}}
	cfg.Host, cfg.NoDHT, cfg.Logger = h, true, testLogger(t, name)
	n, err := New(cfg, b, drops)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now() // penalties add up exactly: no decay
	n.scores.now = func() time.Time { return now }
	if tune != nil {
		tune(n.sync.txs)
	}
	for _, k := range []int{protoTxIDs, protoTxs} {
		n.sync.limits[k].rate, n.sync.limits[k].burst = 1000, 1000
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopBounded(t, name, n) })
	return &txNode{Network: n, name: name, b: b, drops: drops}
}

// txNodes starts count connected nodes, tune adjusting each before Start,
// and waits until every node has seen every other in the gossip topics
// and finished its reconciliation round with each on connect.
func txNodes(t *testing.T, g *chaintest.Builder, count int, tune func(i int, s *txSync)) []*txNode {
	t.Helper()
	mn := newMocknet(t)
	var nodes []*txNode
	for i := range count {
		nodes = append(nodes, startTxNode(t, g, mockHost(t, mn), fmt.Sprintf("n%d", i), Config{},
			func(s *txSync) {
				if tune != nil {
					tune(i, s)
				}
			}))
	}
	if err := mn.LinkAll(); err != nil {
		t.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitTopicPeers(t, n.Network, count-1)
		waitFor(t, n.name+"'s reconciliation rounds on connect", func() bool {
			return n.TxRecoveryStats().Rounds >= uint64(count-1)
		})
	}
	return nodes
}

// lose publishes tx from a (admitted there first) and waits until b's
// validator has ignored it, b's backend having dropped it.
func lose(t *testing.T, a, b *txNode, tx *types.Tx) {
	t.Helper()
	id := tx.ID()
	b.drops.setDrop(id, true)
	if _, err := a.b.pool.Add(tx); err != nil {
		t.Fatal(err)
	}
	before := b.GossipStats().Txs.Ignored
	if err := a.PublishTx(tx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b.name+" to drop the tx", func() bool {
		return b.drops.droppedCount(id) == 1 && b.GossipStats().Txs.Ignored > before
	})
	if b.b.pool.Has(id) {
		t.Fatal("the dropped tx is in the pool")
	}
	b.drops.setDrop(id, false)
}

const hour = time.Hour

// TestTxReconcileRecoversDroppedGossip: a tx whose gossip message a node
// dropped reaches its pool through reconciliation, which it does not
// gossip again. (Without reconciliation — reconcileEvery an hour — the tx
// never arrives.)
func TestTxReconcileRecoversDroppedGossip(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 2, func(i int, s *txSync) {
		s.reconcileEvery = 200 * time.Millisecond
		s.staleAge = hour // no re-announcement
	})
	a, b := nodes[0], nodes[1]
	tx := g.Tx("alice", chaintest.Key("bob").Address(), 5_000_000, 10_000, 0)
	lose(t, a, b, tx)
	waitFor(t, "b to reconcile the tx", func() bool { return b.b.pool.Has(tx.ID()) })
	st := b.TxRecoveryStats()
	if st.FromReconcile != 1 || st.FromAnnounce != 0 || st.FromGap != 0 {
		t.Errorf("b's recovery stats %+v, want the tx from reconciliation", st)
	}
	if !b.b.pool.IsPending(tx.ID()) {
		t.Error("the reconciled tx is not pending")
	}
	if gs := b.GossipStats().Txs; gs.Accepted != 0 || gs.Published != 0 {
		t.Errorf("b's tx gossip %+v: the tx came or went by gossip", gs)
	}
	if p := b.Penalty(a.ID()); p != 0 {
		t.Errorf("honest peer penalized %.1f", p)
	}
}

// TestTxNonceGapFetchedFromRelayer: a gossiped tx that a node can only
// queue (its sender's previous nonce was lost) is ignored, not relayed,
// and the node fetches the missing nonce from the peer that relayed it.
// (Without the nonce-gap request the missing tx never arrives:
// reconciliation and re-announcement are off.)
func TestTxNonceGapFetchedFromRelayer(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 2, func(i int, s *txSync) {
		s.reconcileEvery, s.staleAge = hour, hour
		s.gapDelay = 20 * time.Millisecond
	})
	a, b := nodes[0], nodes[1]
	bob := chaintest.Key("bob").Address()
	tx0 := g.Tx("alice", bob, 5_000_000, 10_000, 0)
	tx1 := g.Tx("alice", bob, 5_000_000, 10_000, 1)
	lose(t, a, b, tx0)
	ignored := b.GossipStats().Txs.Ignored
	if _, err := a.b.pool.Add(tx1); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishTx(tx1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to fetch the missing nonce", func() bool {
		return b.b.pool.IsPending(tx0.ID()) && b.b.pool.IsPending(tx1.ID())
	})
	st := b.TxRecoveryStats()
	if st.FromGap != 1 || st.GapRequests != 1 || st.FromReconcile != 0 || st.FromAnnounce != 0 {
		t.Errorf("b's recovery stats %+v, want one nonce-gap request bringing one tx", st)
	}
	// tx1 arrived queued: ignored (not relayed), not accepted.
	if gs := b.GossipStats().Txs; gs.Accepted != 0 || gs.Ignored != ignored+1 {
		t.Errorf("b's tx gossip %+v, want the queued tx ignored", gs)
	}
	if p := b.Penalty(a.ID()); p != 0 {
		t.Errorf("honest peer penalized %.1f", p)
	}
}

// TestTxAnnounceAfterGossipLoss: once a node's peer dropped a tx's gossip
// message, publishing the tx again does not reach the peer (GossipSub
// drops the copy at the publisher as seen: the trap), and an announcement
// does. (Without the announcement the tx never arrives: reconciliation is
// off.)
func TestTxAnnounceAfterGossipLoss(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 2, func(i int, s *txSync) { s.reconcileEvery, s.staleAge = hour, hour })
	a, b := nodes[0], nodes[1]
	tx := g.Tx("alice", chaintest.Key("bob").Address(), 5_000_000, 10_000, 0)
	lose(t, a, b, tx)

	// The trap: publishing the tx again does not reach b (a drops it as
	// seen; b would too). A fresh tx published after it on the same link
	// reaches b, and the first does not: its loss is not undone by
	// gossip. (If the copy were sent, b's backend, no longer dropping
	// the tx, would admit it; it could only be admitted after the fresh
	// one, so this check may miss a broken trap, but never fails wrongly.)
	if err := a.PublishTx(tx); err != nil {
		t.Fatal(err)
	}
	fresh := g.Tx("carol", chaintest.Key("bob").Address(), 5_000_000, 10_000, 0)
	if _, err := a.b.pool.Add(fresh); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishTx(fresh); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to pool the fresh tx", func() bool { return b.b.pool.Has(fresh.ID()) })
	if b.b.pool.Has(tx.ID()) {
		t.Fatal("the re-published tx reached b")
	}

	a.AnnounceTxs([]types.Hash{tx.ID()})
	waitFor(t, "b to fetch the announced tx", func() bool { return b.b.pool.Has(tx.ID()) })
	if st := b.TxRecoveryStats(); st.FromAnnounce != 1 || st.FromReconcile != 0 {
		t.Errorf("b's recovery stats %+v, want the tx from the announcement", st)
	}
	if st := a.TxRecoveryStats(); st.Announced != 1 {
		t.Errorf("a announced %d ids, want 1", st.Announced)
	}
}

// TestTxStaleReannounced: a pending tx that no block included for
// staleAge is announced again, and a peer that lost it fetches it.
func TestTxStaleReannounced(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 2, func(i int, s *txSync) {
		s.reconcileEvery = hour
		s.staleEvery, s.staleAge = 20*time.Millisecond, 100*time.Millisecond
	})
	a, b := nodes[0], nodes[1]
	tx := g.Tx("alice", chaintest.Key("bob").Address(), 5_000_000, 10_000, 0)
	lose(t, a, b, tx)
	waitFor(t, "b to fetch the stale tx", func() bool { return b.b.pool.Has(tx.ID()) })
	if st := b.TxRecoveryStats(); st.FromAnnounce != 1 || st.FromReconcile != 0 {
		t.Errorf("b's recovery stats %+v, want the tx from an announcement", st)
	}
}

// TestTxRecoveryUnderLoss: three nodes; one publishes 4 senders × 60
// txs at once while each of the other two loses a tenth of them (the
// first copy it sees, picked at random), which strands the senders'
// later nonces; every pool ends up with every tx, pending, through
// nonce-gap requests and reconciliation (every second here).
func TestTxRecoveryUnderLoss(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 3, func(i int, s *txSync) { s.reconcileEvery = time.Second })
	src := nodes[0]
	to := chaintest.Key("miner").Address()
	var txs []*types.Tx
	for nonce := range 60 {
		for _, w := range chaintest.Wallets {
			txs = append(txs, g.Tx(w, to, 1000, 2000, uint64(nonce)))
		}
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	lost := 0
	for _, n := range nodes[1:] {
		for _, tx := range txs {
			if rng.IntN(10) == 0 {
				n.drops.setDrop(tx.ID(), true)
				lost++
			}
		}
	}
	start := time.Now()
	for _, tx := range txs {
		if _, err := src.b.pool.Add(tx); err != nil {
			t.Fatal(err)
		}
		if err := src.PublishTx(tx); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes[1:] {
		waitFor(t, n.name+" to pool every tx", func() bool { return n.b.pool.Status().Pending == len(txs) })
	}
	took := time.Since(start)
	for _, n := range nodes[1:] {
		st := n.TxRecoveryStats()
		t.Logf("%s: %+v", n.name, st)
		if st.FromGap+st.FromReconcile+st.FromAnnounce == 0 {
			t.Errorf("%s recovered nothing", n.name)
		}
		for _, o := range nodes {
			if o != n && n.Penalty(o.ID()) != 0 {
				t.Errorf("%s penalized %s", n.name, o.name)
			}
		}
	}
	t.Logf("%d txs, %d first copies lost, every pool complete after %v", len(txs), lost, took)
}

// Serving and penalties: a bare host speaking the protocols by hand.

// rawTxRequest sends one request frame on a new stream of kind to n and
// returns the frames of the answer and the error that ended it.
func rawTxRequest(t *testing.T, h host.Host, n *Network, kind int, req []byte) ([][]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	st, err := h.NewStream(ctx, n.ID(), SyncProtocol(n.netID, protoNames[kind]))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	timer := time.AfterFunc(waitTimeout, func() { st.Reset() })
	defer timer.Stop()
	w := bufio.NewWriter(st)
	writeFrame(w, req)
	w.Flush()
	st.CloseWrite()
	r := bufio.NewReader(st)
	var frames [][]byte
	for {
		f, err := readFrame(r, 1<<20)
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return frames, err
		}
		frames = append(frames, f)
	}
}

// rawPeer returns a bare host linked and connected to n.
func rawPeer(t *testing.T, mn mocknet.Mocknet, n *Network) host.Host {
	t.Helper()
	h := mockHost(t, mn)
	link(t, mn, h, n.host)
	return h
}

// TestServeTxs: the answers to each request, and what a malformed one
// costs.
func TestServeTxs(t *testing.T) {
	g := chaintest.New(t)
	mn := newMocknet(t)
	n := startTxNode(t, g, mockHost(t, mn), "n", Config{}, func(s *txSync) { s.reconcileEvery, s.staleAge = hour, hour })
	bob := chaintest.Key("bob").Address()
	alice := chaintest.Key("alice").Address()
	low := g.Tx("alice", bob, 5_000_000, 2_000, 0)
	high := g.Tx("carol", bob, 5_000_000, 9_000, 0)
	queued := g.Tx("alice", bob, 5_000_000, 2_000, 2)
	for _, tx := range []*types.Tx{low, high, queued} {
		if _, err := n.b.pool.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	h := rawPeer(t, mn, n.Network)

	t.Run("txids", func(t *testing.T) {
		frames, err := rawTxRequest(t, h, n.Network, protoTxIDs, encodeTxIDsRequest(10))
		if err != nil || len(frames) != 1 {
			t.Fatalf("%d frames, %v", len(frames), err)
		}
		ids, err := decodeTxIDs(frames[0], 10)
		if err != nil || !slices.Equal(ids, []types.Hash{high.ID(), low.ID()}) {
			t.Fatalf("ids %v, %v; want the pending ones, highest fee first", ids, err)
		}
		frames, err = rawTxRequest(t, h, n.Network, protoTxIDs, encodeTxIDsRequest(1))
		if err != nil || len(frames) != 1 {
			t.Fatalf("max 1: %d frames, %v", len(frames), err)
		}
		if ids, err := decodeTxIDs(frames[0], 1); err != nil || !slices.Equal(ids, []types.Hash{high.ID()}) {
			t.Fatalf("max 1: ids %v, %v", ids, err)
		}
	})
	t.Run("by id", func(t *testing.T) {
		req := txRequest{Type: txReqByID, IDs: []types.Hash{queued.ID(), {7}, high.ID()}}
		frames, err := rawTxRequest(t, h, n.Network, protoTxs, req.encode())
		if err != nil || len(frames) != 3 {
			t.Fatalf("%d frames, %v", len(frames), err)
		}
		if types.Sum(frames[0]) != queued.ID() || len(frames[1]) != 0 || types.Sum(frames[2]) != high.ID() {
			t.Fatalf("frames of %v bytes do not answer the ids", frameSizes(frames))
		}
	})
	t.Run("by sender", func(t *testing.T) {
		req := txRequest{Type: txReqBySender, Sender: alice, From: 0, Count: 4}
		frames, err := rawTxRequest(t, h, n.Network, protoTxs, req.encode())
		if err != nil || len(frames) != 4 {
			t.Fatalf("%d frames, %v", len(frames), err)
		}
		if types.Sum(frames[0]) != low.ID() || len(frames[1]) != 0 || types.Sum(frames[2]) != queued.ID() || len(frames[3]) != 0 {
			t.Fatalf("frames of %v bytes are not nonces 0..3 of alice", frameSizes(frames))
		}
	})
	t.Run("announce", func(t *testing.T) {
		req := txRequest{Type: txReqAnnounce, IDs: []types.Hash{high.ID(), {8}}}
		frames, err := rawTxRequest(t, h, n.Network, protoTxs, req.encode())
		if err != nil || len(frames) != 0 {
			t.Fatalf("announcement answered with %d frames, %v", len(frames), err)
		}
	})
	for _, tc := range []struct {
		name string
		kind int
		req  []byte
	}{
		{"malformed txids request", protoTxIDs, []byte{0x80, 0x40}},
		{"unknown txs request", protoTxs, []byte{9}},
		{"by id naming an id twice", protoTxs, (&txRequest{Type: txReqByID, IDs: []types.Hash{{1}, {1}}}).encode()},
		{"announce naming an id twice", protoTxs, (&txRequest{Type: txReqAnnounce, IDs: []types.Hash{{1}, {1}}}).encode()},
		{"no nonce", protoTxs, []byte{txReqBySender, 20: 0, 28: 0, 29: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := rawPeer(t, mn, n.Network) // a fresh peer: two of these get one banned
			before := n.Penalty(h.ID())
			frames, err := rawTxRequest(t, h, n.Network, tc.kind, tc.req)
			if err == nil || len(frames) != 0 {
				t.Fatalf("answered: %d frames, %v", len(frames), err)
			}
			if got := n.Penalty(h.ID()); got != before+PenaltyUndecodable {
				t.Fatalf("penalty %.1f -> %.1f, want +%v", before, got, PenaltyUndecodable)
			}
		})
	}
}

// TestServeTxIDsRateLimit: with the default rate a peer gets a burst of
// 4 txids requests, then one per 5 s; the refused ones cost nothing. (The
// cap of one at once is lifted: a request ends for the requester a moment
// before it does for the server.)
func TestServeTxIDsRateLimit(t *testing.T) {
	g := chaintest.New(t)
	mn := newMocknet(t)
	n := startTxNode(t, g, mockHost(t, mn), "n", Config{}, func(s *txSync) { s.reconcileEvery, s.staleAge = hour, hour })
	s := n.sync
	s.mu.Lock()
	s.limits[protoTxIDs] = defaultServeLimits[protoTxIDs]
	s.limits[protoTxIDs].active = 0
	s.mu.Unlock()
	h := rawPeer(t, mn, n.Network)
	refused := 0
	for range 7 {
		if _, err := rawTxRequest(t, h, n.Network, protoTxIDs, encodeTxIDsRequest(10)); err != nil {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d of 7 txids requests refused, want 3 beyond the burst of 4", refused)
	}
	if p := n.Penalty(h.ID()); p != 0 {
		t.Fatalf("refused requests penalized %.1f", p)
	}
}

// hostile is a bare host that answers status like an honest peer on the
// node's genesis, and answers the tx protocols with its handlers.
type hostile struct {
	host.Host
	mu    sync.Mutex
	asked []int // ids per by-id request received
}

func newHostile(t *testing.T, mn mocknet.Mocknet, n *txNode, txids func() []types.Hash,
	txs func(h *hostile, req txRequest, w *bufio.Writer)) *hostile {
	t.Helper()
	h := &hostile{Host: mockHost(t, mn)}
	serve := func(kind, limit int, answer func(req []byte, w *bufio.Writer)) {
		h.SetStreamHandler(SyncProtocol(n.netID, protoNames[kind]), func(st network.Stream) {
			defer st.Close()
			req, err := readFrame(bufio.NewReader(st), limit)
			if err != nil {
				st.Reset()
				return
			}
			w := bufio.NewWriter(st)
			answer(req, w)
			w.Flush()
		})
	}
	serve(protoStatus, maxStatusSize, func(_ []byte, w *bufio.Writer) {
		tip := n.b.c.Tip() // the genesis: n's chain is fresh
		writeFrame(w, statusMsg{Genesis: tip.Hash, TipHash: tip.Hash, Work: new(big.Int).Set(tip.Work), BestHash: tip.Hash}.encode())
	})
	serve(protoTxIDs, maxTxIDsRequestSize, func(_ []byte, w *bufio.Writer) { writeFrame(w, encodeTxIDs(txids())) })
	serve(protoTxs, maxTxsRequestSize, func(b []byte, w *bufio.Writer) {
		req, err := decodeTxRequest(b)
		if err != nil {
			t.Errorf("hostile: %v", err)
			return
		}
		if req.Type == txReqByID {
			h.mu.Lock()
			h.asked = append(h.asked, len(req.IDs))
			h.mu.Unlock()
		}
		txs(h, req, w)
	})
	link(t, mn, h.Host, n.host)
	return h
}

func (h *hostile) askedIDs() (requests, ids int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.asked {
		ids += k
	}
	return len(h.asked), ids
}

// TestTxRecoveryPenalties: what a hostile peer's answers cost it, and
// that it cannot make the node fetch more than maxFetchPerRound txs in a
// round.
func TestTxRecoveryPenalties(t *testing.T) {
	g := chaintest.New(t)
	bob := chaintest.Key("bob").Address()
	good := g.Tx("alice", bob, 5_000_000, 10_000, 0)
	other := g.Tx("carol", bob, 5_000_000, 10_000, 0)
	forged := g.Tx("dave", bob, 5_000_000, 10_000, 0)
	forged.Sig[0] ^= 1 // a tx whose signature does not verify

	stalled := make(chan struct{}) // a stalling peer answers when the test ends
	t.Cleanup(func() { close(stalled) })
	type setup struct {
		txids func() []types.Hash
		txs   func(h *hostile, req txRequest, w *bufio.Writer)
	}
	serveTxs := func(txs ...*types.Tx) func(*hostile, txRequest, *bufio.Writer) {
		return func(_ *hostile, req txRequest, w *bufio.Writer) {
			for range req.IDs {
				var b []byte
				if len(txs) > 0 {
					b, txs = txs[0].Encode(), txs[1:]
				}
				writeFrame(w, b)
			}
		}
	}
	serveAll := func(txs ...*types.Tx) func(*hostile, txRequest, *bufio.Writer) {
		return func(_ *hostile, _ txRequest, w *bufio.Writer) {
			for _, tx := range txs {
				writeFrame(w, tx.Encode())
			}
		}
	}
	for _, tc := range []struct {
		name    string
		setup   setup
		timeout time.Duration
		penalty float64
	}{
		{"tx not asked for", setup{func() []types.Hash { return []types.Hash{good.ID()} }, serveTxs(other)}, 0, PenaltyBadSyncAnswer},
		{"bad signature", setup{func() []types.Hash { return []types.Hash{forged.ID()} }, serveTxs(forged)}, 0, PenaltyInvalidTx},
		{"more frames than asked", setup{func() []types.Hash { return []types.Hash{good.ID()} }, serveAll(good, other)}, 0, PenaltyBadSyncAnswer},
		{"txids naming an id twice", setup{func() []types.Hash { return []types.Hash{good.ID(), good.ID()} }, serveTxs()}, 0, PenaltyBadSyncAnswer},
		{"slow answer", setup{func() []types.Hash { return []types.Hash{good.ID()} }, func(*hostile, txRequest, *bufio.Writer) {
			<-stalled // past the node's deadline of 300 ms
		}}, 300 * time.Millisecond, penaltySyncStall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mn := newMocknet(t)
			n := startTxNode(t, g, mockHost(t, mn), "n", Config{RequestTimeout: tc.timeout},
				func(s *txSync) { s.reconcileEvery, s.staleAge = hour, hour })
			h := newHostile(t, mn, n, tc.setup.txids, tc.setup.txs)
			if _, err := mn.ConnectPeers(h.ID(), n.ID()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the penalty", func() bool { return n.Penalty(h.ID()) >= tc.penalty })
			if p := n.Penalty(h.ID()); p != tc.penalty {
				t.Fatalf("penalty %.1f, want %v", p, tc.penalty)
			}
			if n.b.pool.Has(good.ID()) || n.b.pool.Has(other.ID()) || n.b.pool.Has(forged.ID()) {
				t.Fatal("a tx of a bad answer entered the pool")
			}
		})
	}

	t.Run("fetch cap", func(t *testing.T) {
		mn := newMocknet(t)
		n := startTxNode(t, g, mockHost(t, mn), "n", Config{}, func(s *txSync) { s.reconcileEvery, s.staleAge = hour, hour })
		ids := make([]types.Hash, MaxPendingIDs)
		for i := range ids {
			ids[i] = types.Sum([]byte(fmt.Sprint(i)))
		}
		h := newHostile(t, mn, n, func() []types.Hash { return ids }, serveTxs())
		if _, err := mn.ConnectPeers(h.ID(), n.ID()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the round to end", func() bool {
			n.sync.txs.mu.Lock()
			defer n.sync.txs.mu.Unlock()
			tp := n.sync.txs.peers[h.ID()]
			return n.TxRecoveryStats().Rounds == 1 && tp != nil && !tp.busy
		})
		if reqs, asked := h.askedIDs(); reqs != maxFetchPerRound/MaxTxsPerRequest || asked != maxFetchPerRound {
			t.Fatalf("%d ids asked in %d requests, want %d in %d", asked, reqs, maxFetchPerRound, maxFetchPerRound/MaxTxsPerRequest)
		}
		if p := n.Penalty(h.ID()); p != 0 {
			t.Fatalf("empty answers penalized %.1f", p)
		}
	})

	t.Run("nonce gap answer of another nonce", func(t *testing.T) {
		mn := newMocknet(t)
		n := startTxNode(t, g, mockHost(t, mn), "n", Config{}, func(s *txSync) {
			s.reconcileEvery, s.staleAge, s.gapDelay = hour, hour, time.Millisecond
		})
		tx2 := g.Tx("alice", bob, 5_000_000, 10_000, 2)
		h := newHostile(t, mn, n, func() []types.Hash { return nil }, func(_ *hostile, req txRequest, w *bufio.Writer) {
			for i := range req.Count {
				var b []byte
				if i == 0 {
					b = tx2.Encode() // asked for nonce 0, sends nonce 2
				}
				writeFrame(w, b)
			}
		})
		if _, err := mn.ConnectPeers(h.ID(), n.ID()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the status of the hostile peer", func() bool { return n.TxRecoveryStats().Rounds == 1 })
		if _, err := n.b.pool.Add(tx2); err != nil || n.b.pool.IsPending(tx2.ID()) {
			t.Fatalf("tx2 not queued: %v", err)
		}
		n.sync.txs.noteGap(h.ID(), tx2.Sender())
		waitFor(t, "the penalty", func() bool { return n.Penalty(h.ID()) >= PenaltyBadSyncAnswer })
		if p := n.Penalty(h.ID()); p != PenaltyBadSyncAnswer {
			t.Fatalf("penalty %.1f, want %v", p, PenaltyBadSyncAnswer)
		}
	})
}

// TestTxReconcileCatchUp: a node far behind a peer's pool (more missing
// than one round fetches) has its next round with that peer brought
// forward, so that it catches up in a few rounds rather than one round
// per reconcileEvery. (Without it the rounds here are 2 s apart and the
// 12 txs take three of them.)
func TestTxReconcileCatchUp(t *testing.T) {
	g := chaintest.New(t)
	nodes := txNodes(t, g, 2, func(i int, s *txSync) {
		s.reconcileEvery = 2 * time.Second
		s.staleAge = hour // no re-announcement
		s.fetchPerRound = 4
		s.catchUp = 50 * time.Millisecond
	})
	a, b := nodes[0], nodes[1]
	bob := chaintest.Key("bob").Address()
	var ids []types.Hash
	for nonce := range uint64(12) {
		tx := g.Tx("alice", bob, 5_000_000, 10_000, nonce)
		if _, err := a.b.pool.Add(tx); err != nil { // a's pool only
			t.Fatal(err)
		}
		ids = append(ids, tx.ID())
	}
	has := func() int {
		n := 0
		for _, id := range ids {
			if b.b.pool.Has(id) {
				n++
			}
		}
		return n
	}
	waitFor(t, "b's first reconciled txs", func() bool { return has() > 0 })
	first := time.Now()
	waitFor(t, "b to catch up", func() bool { return has() == len(ids) })
	if took := time.Since(first); took > time.Second {
		t.Errorf("caught up %v after the first round: the rounds were not brought forward", took)
	}
	if st := b.TxRecoveryStats(); st.FromReconcile != uint64(len(ids)) {
		t.Errorf("b's recovery stats %+v, want %d txs from reconciliation", st, len(ids))
	}
}
