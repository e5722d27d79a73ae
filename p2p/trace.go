package p2p

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// The causes of a dropped gossip message, as GossipDrop.Cause and the
// cause label of cairn_gossip_dropped_total.
const (
	// DropOutboundQueueFull: a message this node relays or publishes was
	// not sent to one peer because that peer's outbound queue
	// (peerOutboundQueueSize) was full. Counted once per message and
	// peer. (GossipSub reports a send to a peer that has just gone the
	// same way.)
	DropOutboundQueueFull = "outbound_queue_full"
	// DropValidationQueueFull: a message from a peer was dropped before
	// validation because GossipSub's validation queue was full.
	DropValidationQueueFull = "validation_queue_full"
	// DropValidationThrottled: a message from a peer was dropped because
	// its topic had the most validations running (txValidatorConcurrency,
	// blockValidatorConcurrency). GossipSub has marked it seen, so copies
	// from other peers are dropped as duplicates: the node loses it.
	DropValidationThrottled = "validation_throttled"
	// DropPeerBudget: our validator ignored a message because its sender
	// had its budget of messages being validated (txValidationsPerPeer,
	// blockValidationsPerPeer); lost like a throttled one. These are the
	// throttled verdicts of cairn_gossip_messages_total.
	DropPeerBudget = "peer_budget"
	// DropValidatorIgnored: our validator ignored the message for another
	// reason: known, stale, refused by the pool for a reason of this
	// node's view, or the node is stopping.
	DropValidatorIgnored = "validator_ignored"
	// DropValidatorRejected: our validator rejected the message as
	// invalid (and penalized its sender).
	DropValidatorRejected = "validator_rejected"
	// DropPubsubRejected: GossipSub itself refused the message before our
	// validator: blacklisted peer or source, a signature or author where
	// none may be, a message claiming to be ours.
	DropPubsubRejected = "pubsub_rejected"
	// DropUndeliverable: a validated message was not handed to the
	// node's own subscription, whose reader was behind. The node's work
	// is done by the validators, so this loses nothing but is a sign of
	// a starved process.
	DropUndeliverable = "undeliverable"
	// DropDuplicate: a message already seen, from another peer. Normal:
	// with several peers most copies are duplicates.
	DropDuplicate = "duplicate"
)

// DropCauses lists every drop cause in a fixed order.
var DropCauses = []string{
	DropOutboundQueueFull, DropValidationQueueFull, DropValidationThrottled, DropPeerBudget,
	DropValidatorIgnored, DropValidatorRejected, DropPubsubRejected, DropUndeliverable, DropDuplicate,
}

// DropTopics are the topic labels of GossipDrop: those of
// cairn_gossip_messages_total, and other for a topic the node does not
// use.
var DropTopics = []string{"blocks", "txs", "other"}

// The indexes of DropTopics and DropCauses.
const (
	topicBlocks = iota
	topicTxs
	topicOther
	numDropTopics
)

const (
	causeOutboundQueueFull = iota
	causeValidationQueueFull
	causeValidationThrottled
	causePeerBudget
	causeValidatorIgnored
	causeValidatorRejected
	causePubsubRejected
	causeUndeliverable
	causeDuplicate
	numDropCauses
)

// lossy reports whether a drop of cause loses a message (it is then
// logged at warn level); the others are counted only.
func lossy(cause int) bool {
	switch cause {
	case causeOutboundQueueFull, causeValidationQueueFull, causeValidationThrottled, causePeerBudget:
		return true
	}
	return false
}

// dropWarnInterval is the least time between two warnings of one cause;
// each says how many messages were dropped since the last.
const dropWarnInterval = 10 * time.Second

// GossipDrop counts the gossip messages of one topic dropped for one
// cause since the Network started.
type GossipDrop struct {
	Topic string // one of DropTopics
	Cause string // one of DropCauses
	Count uint64
}

// GossipDrops returns every drop counter, zeros included, topic by topic
// in the order of DropTopics and DropCauses. Safe for concurrent use;
// all zeros before Start.
func (n *Network) GossipDrops() []GossipDrop {
	var counts [numDropTopics][numDropCauses]uint64
	if v, ok := dropTracers.Load(weak.Make(n)); ok {
		counts = v.(*dropTracer).snapshot()
	}
	out := make([]GossipDrop, 0, numDropTopics*numDropCauses)
	for t := range numDropTopics {
		for c := range numDropCauses {
			out = append(out, GossipDrop{Topic: DropTopics[t], Cause: DropCauses[c], Count: counts[t][c]})
		}
	}
	return out
}

// dropTracers maps each started Network to its tracer. A field of
// Network would do as well; this map keeps the tracer out of Network's
// definition, and its weak keys let an entry go when its Network is
// garbage (the tracer holds its Network weakly too).
var dropTracers sync.Map // weak.Pointer[Network] → *dropTracer

// newDropTracer makes n's tracer for GossipSub (called once, by
// startGossip).
func (n *Network) newDropTracer() *dropTracer {
	key := weak.Make(n)
	t := &dropTracer{
		log:    n.log.With("module", "gossip"),
		net:    key,
		blocks: BlockTopic(n.netID),
		txs:    TxTopic(n.netID),
		now:    time.Now,
		after:  func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
	dropTracers.Store(key, t)
	runtime.AddCleanup(n, func(k weak.Pointer[Network]) { dropTracers.Delete(k) }, key)
	return t
}

// dropTracer is a pubsub.RawTracer that counts every dropped or
// throttled message by topic and cause, and logs those that lose a
// message at warn level, at most one line per cause per
// dropWarnInterval. GossipSub calls it synchronously from its event loop
// and validation goroutines, so it only counts and, rarely, logs.
type dropTracer struct {
	log         *slog.Logger
	net         weak.Pointer[Network] // for the validators' throttled counters
	blocks, txs string                // topic names
	now         func() time.Time
	after       func(time.Duration, func()) // time.AfterFunc; tests replace it

	counts [numDropTopics][numDropCauses]atomic.Uint64
	// budgetSeen counts, per topic, the peer-budget ignores already told
	// apart from other ignores (see ignored).
	budgetSeen [numDropTopics]atomic.Uint64

	mu   sync.Mutex
	warn [numDropCauses]warnState

	// mesh is this node's GossipSub mesh per topic (Graft and Prune
	// events), for MeshPeers.
	meshMu sync.Mutex
	mesh   [numDropTopics]map[peer.ID]struct{}
}

func (t *dropTracer) meshAdd(p peer.ID, topic string) {
	t.meshMu.Lock()
	defer t.meshMu.Unlock()
	tp := t.topic(topic)
	if t.mesh[tp] == nil {
		t.mesh[tp] = make(map[peer.ID]struct{})
	}
	t.mesh[tp][p] = struct{}{}
}

func (t *dropTracer) meshRemove(p peer.ID, topic string) {
	t.meshMu.Lock()
	defer t.meshMu.Unlock()
	if topic == "" {
		for _, m := range t.mesh {
			delete(m, p)
		}
		return
	}
	delete(t.mesh[t.topic(topic)], p)
}

func (t *dropTracer) meshPeers(topic int) []peer.ID {
	t.meshMu.Lock()
	defer t.meshMu.Unlock()
	var out []peer.ID
	for p := range t.mesh[topic] {
		out = append(out, p)
	}
	return out
}

// MeshPeers returns the peers in this node's GossipSub mesh of each topic:
// those it forwards every message to (others hear of a message by gossip,
// at a heartbeat). Safe for concurrent use.
func (n *Network) MeshPeers() (blocks, txs []peer.ID) {
	if v, ok := dropTracers.Load(weak.Make(n)); ok {
		t := v.(*dropTracer)
		return t.meshPeers(topicBlocks), t.meshPeers(topicTxs)
	}
	return nil, nil
}

// warnState is the rate limit of one cause's warnings.
type warnState struct {
	last    time.Time             // of the last line; zero before the first
	logged  [numDropTopics]uint64 // the counts that line reported up to
	pending bool                  // a line is scheduled for the end of the interval
}

var _ pubsub.RawTracer = (*dropTracer)(nil)

func (t *dropTracer) topic(name string) int {
	switch name {
	case t.blocks:
		return topicBlocks
	case t.txs:
		return topicTxs
	}
	return topicOther
}

func (t *dropTracer) snapshot() (s [numDropTopics][numDropCauses]uint64) {
	for tp := range numDropTopics {
		for c := range numDropCauses {
			s[tp][c] = t.counts[tp][c].Load()
		}
	}
	return s
}

// drop counts a message of topic dropped for cause.
func (t *dropTracer) drop(topic, cause int) {
	t.counts[topic][cause].Add(1)
	if lossy(cause) {
		t.maybeWarn(cause)
	}
}

// maybeWarn logs cause's line now if none was logged within
// dropWarnInterval; otherwise it makes sure one is logged when the
// interval ends, so that the last drops of a burst are reported too.
func (t *dropTracer) maybeWarn(cause int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &t.warn[cause]
	now := t.now()
	if w.last.IsZero() || now.Sub(w.last) >= dropWarnInterval {
		t.warnLocked(cause, now)
		return
	}
	if !w.pending {
		w.pending = true
		t.after(w.last.Add(dropWarnInterval).Sub(now), func() { t.flush(cause) })
	}
}

// flush logs cause's drops since its last line, if any.
func (t *dropTracer) flush(cause int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.warn[cause].pending = false
	t.warnLocked(cause, t.now())
}

func (t *dropTracer) warnLocked(cause int, now time.Time) {
	w := &t.warn[cause]
	var cur, since [numDropTopics]uint64
	var sum, total uint64
	for tp := range numDropTopics {
		cur[tp] = t.counts[tp][cause].Load()
		since[tp] = cur[tp] - w.logged[tp]
		sum += since[tp]
		total += cur[tp]
	}
	if sum == 0 {
		return
	}
	attrs := []any{"cause", DropCauses[cause], "blocks", since[topicBlocks], "txs", since[topicTxs]}
	if since[topicOther] > 0 {
		attrs = append(attrs, "other", since[topicOther])
	}
	if !w.last.IsZero() {
		attrs = append(attrs, "since", now.Sub(w.last).Round(time.Millisecond))
	}
	attrs = append(attrs, "total", total, "why", dropWhy[cause])
	t.log.Warn("gossip messages dropped", attrs...)
	w.last, w.logged = now, cur
}

// dropWhy explains each lossy cause in its warning.
var dropWhy = [numDropCauses]string{
	causeOutboundQueueFull:   "a peer's outbound queue was full: it reads slower than we send",
	causeValidationQueueFull: "the validation queue was full: the validation workers got no CPU",
	causeValidationThrottled: "the topic had the most validations running",
	causePeerBudget:          "the sender had the most messages being validated that one peer may have",
}

// ignored classifies a message our validator ignored: the validator
// counts a peer-budget refusal in the topic's throttled counter before it
// returns, and GossipSub calls RejectMessage after, so every ignore that
// finds the throttled counter ahead of those already classified is one.
// Two ignores at once may swap their causes; the counts stay right.
func (t *dropTracer) ignored(topic int) int {
	n := t.net.Value()
	if n == nil || topic == topicOther {
		return causeValidatorIgnored
	}
	throttled := &n.blockStats.throttled
	if topic == topicTxs {
		throttled = &n.txStats.throttled
	}
	seen := &t.budgetSeen[topic]
	for {
		s := seen.Load()
		if s >= throttled.Load() {
			return causeValidatorIgnored
		}
		if seen.CompareAndSwap(s, s+1) {
			return causePeerBudget
		}
	}
}

// RejectMessage is called for a message refused by GossipSub or a
// validator, or ignored by a validator, with one of pubsub's Reject*
// reasons.
func (t *dropTracer) RejectMessage(msg *pubsub.Message, reason string) {
	tp := t.topic(msg.GetTopic())
	cause := causePubsubRejected
	switch reason {
	case pubsub.RejectValidationQueueFull:
		cause = causeValidationQueueFull
	case pubsub.RejectValidationThrottled:
		cause = causeValidationThrottled
	case pubsub.RejectValidationIgnored:
		cause = t.ignored(tp)
	case pubsub.RejectValidationFailed:
		cause = causeValidatorRejected
	}
	t.drop(tp, cause)
}

// DropRPC is called for an RPC not queued for p: count its messages.
func (t *dropTracer) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	msgs := rpc.GetPublish()
	for _, m := range msgs {
		t.counts[t.topic(m.GetTopic())][causeOutboundQueueFull].Add(1)
	}
	if len(msgs) > 0 {
		t.maybeWarn(causeOutboundQueueFull)
	}
}

func (t *dropTracer) DuplicateMessage(msg *pubsub.Message) {
	t.drop(t.topic(msg.GetTopic()), causeDuplicate)
}

func (t *dropTracer) UndeliverableMessage(msg *pubsub.Message) {
	t.drop(t.topic(msg.GetTopic()), causeUndeliverable)
}

// The rest of pubsub.RawTracer is not a drop.
func (t *dropTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (t *dropTracer) OnClosedOutboundStream(peer.ID)                       {}
func (t *dropTracer) Join(string)                                          {}
func (t *dropTracer) Leave(string)                                         {}
func (t *dropTracer) Graft(p peer.ID, topic string)                        { t.meshAdd(p, topic) }
func (t *dropTracer) Prune(p peer.ID, topic string)                        { t.meshRemove(p, topic) }
func (t *dropTracer) ValidateMessage(*pubsub.Message)                      {}
func (t *dropTracer) DeliverMessage(*pubsub.Message)                       {}
func (t *dropTracer) ThrottlePeer(peer.ID)                                 {}
func (t *dropTracer) RecvRPC(*pubsub.RPC)                                  {}
func (t *dropTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (t *dropTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
