package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/txpool"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// warnLog keeps the warnings logged through it and passes every record
// on to next.
type warnLog struct {
	next slog.Handler
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newWarnLog(next slog.Handler) warnLog {
	return warnLog{next: next, mu: new(sync.Mutex), recs: new([]slog.Record)}
}

func (h warnLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h warnLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		*h.recs = append(*h.recs, r.Clone())
		h.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h warnLog) WithAttrs(as []slog.Attr) slog.Handler {
	return warnLog{next: h.next.WithAttrs(as), mu: h.mu, recs: h.recs}
}

func (h warnLog) WithGroup(name string) slog.Handler {
	return warnLog{next: h.next.WithGroup(name), mu: h.mu, recs: h.recs}
}

// dropLines returns the attributes of each "gossip messages dropped"
// warning of cause, in order.
func (h warnLog) dropLines(cause string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range *h.recs {
		if r.Message != "gossip messages dropped" {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		if attrs["cause"] == cause {
			out = append(out, attrs)
		}
	}
	return out
}

// dropCount returns n's count of topic dropped for cause.
func dropCount(n *Network, topic, cause string) uint64 {
	for _, d := range n.GossipDrops() {
		if d.Topic == topic && d.Cause == cause {
			return d.Count
		}
	}
	panic("no counter " + topic + "/" + cause)
}

func gossipMsg(topic string, data string) *pubsub.Message {
	return &pubsub.Message{Message: &pb.Message{Topic: &topic, Data: []byte(data)}}
}

// TestDropTracerCountsAndWarns feeds the tracer every kind of event
// GossipSub reports and checks the counts by topic and cause, and the
// warnings: one line at the first loss of each lossy cause, then at most
// one per cause per dropWarnInterval carrying the count since the last
// line (the tail of a burst comes at the end of the interval), none for
// duplicates and the other counted-only causes.
func TestDropTracerCountsAndWarns(t *testing.T) {
	log := newWarnLog(testLogger(t, "trace").Handler())
	n := &Network{log: slog.New(log), netID: "net"}
	tr := n.newDropTracer()
	now := time.Unix(1_000_000, 0)
	tr.now = func() time.Time { return now }
	type timer struct {
		at time.Time
		f  func()
	}
	var timers []timer
	tr.after = func(d time.Duration, f func()) { timers = append(timers, timer{now.Add(d), f}) }
	fire := func() { // runs the timers due by now
		t.Helper()
		due := slices.DeleteFunc(slices.Clone(timers), func(x timer) bool { return x.at.After(now) })
		timers = slices.DeleteFunc(timers, func(x timer) bool { return !x.at.After(now) })
		for _, x := range due {
			x.f()
		}
	}
	blocks, txs := BlockTopic("net"), TxTopic("net")

	// An RPC of two txs and a block not queued for a peer.
	tr.DropRPC(&pubsub.RPC{RPC: pb.RPC{
		Publish: []*pb.Message{gossipMsg(txs, "t1").Message, gossipMsg(blocks, "b1").Message, gossipMsg(txs, "t2").Message},
		Control: &pb.ControlMessage{},
	}}, "peer")
	tr.DropRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{}}}, "peer") // no message: no drop
	for range 3 {
		tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectValidationThrottled)
	}
	tr.RejectMessage(gossipMsg(blocks, "x"), pubsub.RejectValidationQueueFull)
	// Our validator ignored three txs, two of them for the peer budget
	// (the validator counts those before it returns).
	n.txStats.throttled.Add(2)
	for range 3 {
		tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectValidationIgnored)
	}
	tr.RejectMessage(gossipMsg(blocks, "x"), pubsub.RejectValidationIgnored)
	tr.RejectMessage(gossipMsg(blocks, "x"), pubsub.RejectValidationFailed)
	tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectBlacklstedPeer)
	tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectUnexpectedSignature)
	for range 5 {
		tr.DuplicateMessage(gossipMsg(txs, "x"))
	}
	tr.UndeliverableMessage(gossipMsg(blocks, "x"))
	tr.RejectMessage(gossipMsg("/elsewhere", "x"), pubsub.RejectValidationThrottled)

	want := map[[2]string]uint64{
		{"txs", DropOutboundQueueFull}: 2, {"blocks", DropOutboundQueueFull}: 1,
		{"txs", DropValidationThrottled}: 3, {"other", DropValidationThrottled}: 1,
		{"blocks", DropValidationQueueFull}: 1,
		{"txs", DropPeerBudget}:             2, {"txs", DropValidatorIgnored}: 1, {"blocks", DropValidatorIgnored}: 1,
		{"blocks", DropValidatorRejected}: 1,
		{"txs", DropPubsubRejected}:       2,
		{"txs", DropDuplicate}:            5,
		{"blocks", DropUndeliverable}:     1,
	}
	drops := n.GossipDrops()
	if len(drops) != len(DropTopics)*len(DropCauses) {
		t.Fatalf("%d counters, want every topic and cause: %d", len(drops), len(DropTopics)*len(DropCauses))
	}
	for _, d := range drops {
		if w := want[[2]string{d.Topic, d.Cause}]; d.Count != w {
			t.Errorf("%s/%s: %d, want %d", d.Topic, d.Cause, d.Count, w)
		}
	}

	// The first loss of each lossy cause is logged at once, with what
	// was lost by then.
	checkLines := func(cause string, want ...string) {
		t.Helper()
		lines := log.dropLines(cause)
		var got []string
		for _, l := range lines {
			got = append(got, fmt.Sprintf("blocks=%s txs=%s other=%s total=%s", l["blocks"], l["txs"], l["other"], l["total"]))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s warnings:\n got %q\nwant %q", cause, got, want)
		}
	}
	checkLines(DropOutboundQueueFull, "blocks=1 txs=2 other= total=3")
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1")
	checkLines(DropValidationQueueFull, "blocks=1 txs=0 other= total=1")
	checkLines(DropPeerBudget, "blocks=0 txs=1 other= total=1")
	for _, c := range []string{DropDuplicate, DropValidatorIgnored, DropValidatorRejected, DropPubsubRejected, DropUndeliverable} {
		checkLines(c)
	}

	// Within the interval nothing more is logged; at its end the rest.
	now = now.Add(dropWarnInterval - time.Millisecond)
	tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectValidationThrottled)
	fire()
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1")
	now = now.Add(time.Millisecond)
	fire()
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1", "blocks=0 txs=3 other=1 total=5")
	checkLines(DropPeerBudget, "blocks=0 txs=1 other= total=1", "blocks=0 txs=1 other= total=2")
	checkLines(DropOutboundQueueFull, "blocks=1 txs=2 other= total=3") // nothing new
	if lines := log.dropLines(DropValidationThrottled); lines[1]["since"] != "10s" {
		t.Errorf("second line: since %q, want 10s", lines[1]["since"])
	}
	if len(timers) != 0 {
		t.Errorf("%d timers left", len(timers))
	}

	// The next loss, 2 s after that line, waits for the end of its
	// interval; one 11 s later is logged at once.
	now = now.Add(2 * time.Second)
	tr.RejectMessage(gossipMsg(txs, "x"), pubsub.RejectValidationThrottled)
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1", "blocks=0 txs=3 other=1 total=5")
	if len(timers) != 1 || !timers[0].at.Equal(now.Add(8*time.Second)) {
		t.Fatalf("timers %v, want one 8 s ahead", timers)
	}
	now = now.Add(8 * time.Second)
	fire()
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1", "blocks=0 txs=3 other=1 total=5",
		"blocks=0 txs=1 other= total=6")
	now = now.Add(11 * time.Second)
	tr.RejectMessage(gossipMsg(blocks, "x"), pubsub.RejectValidationThrottled)
	checkLines(DropValidationThrottled, "blocks=0 txs=1 other= total=1", "blocks=0 txs=3 other=1 total=5",
		"blocks=0 txs=1 other= total=6", "blocks=1 txs=0 other= total=7")
}

// TestGossipDropsBeforeStart: a Network not started has every counter,
// at zero.
func TestGossipDropsBeforeStart(t *testing.T) {
	n := unstarted(t, newBackend(t, chaintest.New(t), txpool.Config{}))
	drops := n.GossipDrops()
	if len(drops) != len(DropTopics)*len(DropCauses) {
		t.Fatalf("%d counters", len(drops))
	}
	for _, d := range drops {
		if d.Count != 0 {
			t.Errorf("%+v", d)
		}
	}
}

// TestOutboundQueueFullCounted: a peer that reads a's messages far slower
// than a publishes them fills its outbound queue at a; every message
// beyond the queue is dropped, counted as outbound_queue_full on its
// topic, and warned about once (the warnings are rate limited).
func TestOutboundQueueFullCounted(t *testing.T) {
	g := chaintest.New(t)
	mn := newMocknet(t)
	log := newWarnLog(testLogger(t, "a").Handler())
	h := mockHost(t, mn)
	a, err := newNetwork(Config{Host: h, NoDHT: true, Logger: slog.New(log)}, newBackend(t, g, txpool.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopBounded(t, "a", a) })
	slow := mockHost(t, mn)
	l, err := mn.LinkPeers(h.ID(), slow.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mn.ConnectPeers(h.ID(), slow.ID()); err != nil {
		t.Fatal(err)
	}
	// Before Stop: closing the connection resets the stalled stream,
	// which would otherwise take its time to deliver what it holds.
	t.Cleanup(func() { h.Network().ClosePeer(slow.ID()) })
	tp := joinAndWait(t, rawPubSub(t, slow), TxTopic(a.netID), h.ID())
	if _, err := tp.Subscribe(); err != nil {
		t.Fatal(err)
	}
	waitTopicPeersTx(t, a)
	// From now on a write to slow takes seconds: a's writer for slow
	// stalls after a few messages, and the queue fills.
	l.SetOptions(mocknet.LinkOptions{Bandwidth: 10})

	const extra = 500
	published := peerOutboundQueueSize + extra
	for i := range published {
		if err := a.publish(a.txTopic, fmt.Appendf(nil, "flood %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The last messages are queued (or dropped) by a's event loop after
	// publish returns.
	waitFor(t, "the drops to be counted", func() bool {
		return dropCount(a, "txs", DropOutboundQueueFull) >= extra-32
	})
	// Nearly every message past the queue is dropped: a few left the
	// queue before the writer stalled (the mock stream buffers 256
	// bytes), control messages may take a few slots.
	got := dropCount(a, "txs", DropOutboundQueueFull)
	if got < extra-32 || got > extra+64 {
		t.Errorf("%d messages dropped, want about %d", got, extra)
	}
	if b := dropCount(a, "blocks", DropOutboundQueueFull); b != 0 {
		t.Errorf("%d blocks dropped, none sent", b)
	}
	lines := log.dropLines(DropOutboundQueueFull)
	if len(lines) != 1 {
		t.Fatalf("%d warnings for %d drops, want 1: %v", len(lines), got, lines)
	}
	if lines[0]["txs"] == "0" || lines[0]["blocks"] != "0" {
		t.Errorf("warning %v", lines[0])
	}
}

// waitTopicPeersTx waits until n sees a peer in the tx topic.
func waitTopicPeersTx(t *testing.T, n *Network) {
	t.Helper()
	waitFor(t, "a peer in the tx topic", func() bool { return n.GossipStats().Txs.Peers >= 1 })
}

// txGate is a txpool whose Add waits until open is closed.
type txGate struct {
	*txpool.Pool
	open chan struct{}
}

func (g *txGate) Add(tx *types.Tx) (types.Hash, error) {
	<-g.open
	return g.Pool.Add(tx)
}

// TestPeerBudgetDropCounted: a peer that sends more txs than its budget
// of validations while a's pool is slow has the excess ignored by a's
// validator; the tracer counts exactly those as peer_budget (not as
// validator_ignored) and warns, and the txs validated are accepted.
func TestPeerBudgetDropCounted(t *testing.T) {
	g := chaintest.New(t)
	mn := newMocknet(t)
	log := newWarnLog(testLogger(t, "a").Handler())
	h := mockHost(t, mn)
	b := newBackend(t, g, txpool.Config{})
	gate := &txGate{Pool: b.pool, open: make(chan struct{})}
	a, err := New(Config{Host: h, NoDHT: true, Logger: slog.New(log)}, b, gate)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopBounded(t, "a", a) })
	var once sync.Once
	release := func() { once.Do(func() { close(gate.open) }) }
	t.Cleanup(release) // before Stop, which waits for the validations
	mal := mockHost(t, mn)
	link(t, mn, mal, h)
	// The sender's outbound queue must hold the whole burst (its default
	// of 32 would drop most of it before it left).
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, mal, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(), pubsub.WithMessageIdFn(messageID), pubsub.WithFloodPublish(true),
		pubsub.WithPeerOutboundQueueSize(2*txInFlightPerPeer))
	if err != nil {
		t.Fatal(err)
	}
	txs := joinAndWait(t, ps, TxTopic(a.netID), h.ID())

	const extra = 8
	bob := chaintest.Key("bob").Address()
	for i := range txInFlightPerPeer + extra { // 32 run, 224 wait, 8 over
		publish(t, txs, g.Tx("alice", bob, 1000, 10_000, uint64(i)).Encode())
	}
	waitFor(t, "the excess to be ignored", func() bool { return dropCount(a, "txs", DropPeerBudget) == extra })
	release()
	// Whatever the pool makes of the validated txs, the ignores among
	// them are validator_ignored, and the budget's stay peer_budget.
	var st TopicStats
	waitFor(t, "every validation to end", func() bool {
		st = a.GossipStats().Txs
		return st.Accepted+st.Ignored+st.Rejected == txInFlightPerPeer+extra &&
			dropCount(a, "txs", DropValidatorIgnored)+dropCount(a, "txs", DropValidatorRejected) == st.Ignored+st.Rejected-extra
	})
	if got := dropCount(a, "txs", DropPeerBudget); got != extra || st.Throttled != extra {
		t.Errorf("peer_budget %d, throttled verdicts %d, want %d", got, st.Throttled, extra)
	}
	if got, want := dropCount(a, "txs", DropValidatorIgnored), st.Ignored-extra; got != want {
		t.Errorf("validator_ignored %d, want %d", got, want)
	}
	lines := log.dropLines(DropPeerBudget)
	if len(lines) != 1 || lines[0]["txs"] != "1" {
		t.Errorf("warnings %v, want one, at the first drop", lines)
	}
}
