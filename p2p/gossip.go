package p2p

import (
	"context"
	"errors"
	"fmt"
	"github.com/libp2p/go-msgio"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// maxMessageMargin is what a gossip RPC may carry beyond one block of
	// the maximum size: framing, topic name, control messages.
	maxMessageMargin = 64 << 10
	// Validators run concurrently up to these limits per topic; beyond
	// them GossipSub drops the message ("validation throttled", not
	// penalized, counted in cairn_gossip_dropped_total). Validations in
	// flight = arrival rate × validation time: at the sizing load of
	// 2,000 new txs/s at every node, 8192 lasts until a validation (or
	// its wait for its peer's turn) takes 4 s (a starved 2-core machine;
	// the old 256 lasted to 0.13 s). The
	// per-peer budgets below bind first for any one peer, so a topic's
	// limit is reached only when many peers are at their budget at once:
	// 8 peers for txs, 8 for blocks. Memory held: a tx validation holds
	// at most types.MaxTxSize (a larger message on the tx topic fails to
	// decode at once) and a goroutine, 8192 × 8 KiB of stack ≈ 64 MiB; a
	// block validation holds one message, 64 × (1 MiB + margin) ≈ 68 MiB
	// at worst. Blocks need no more: the chain imports one at a time, and
	// copies of a block from several peers are one message.
	blockValidatorConcurrency = 8 * blockInFlightPerPeer
	txValidatorConcurrency    = 8 * txInFlightPerPeer
	// validateThrottle bounds GossipSub's validation goroutines over both
	// topics (its default is 8192). It is the sum of the topic limits, so
	// that it never binds before them: GossipSub reports both throttles
	// with the same reason, and this way "validation_throttled" always
	// means a topic's limit.
	validateThrottle = blockValidatorConcurrency + txValidatorConcurrency
	// A peer may have at most ValidationsPerPeer messages of a topic
	// being validated at once, so that one peer's flood cannot take the
	// CPU from another peer's block; its further messages wait for their
	// turn, up to InFlightPerPeer in all (an honest burst — a miner's
	// blocks found in quick succession, a relay of 2,000 tx/s — waits
	// rather than being lost), and beyond that they are ignored at once
	// (counted as throttled; each still costs its sender GossipSub's
	// delivery accounting, and earns it no credit). A waiting message
	// holds a topic slot, not CPU: the topic limits above are a multiple
	// of InFlightPerPeer, so a few flooding peers cannot fill them.
	blockValidationsPerPeer = 2
	blockInFlightPerPeer    = 8
	txValidationsPerPeer    = 32
	// 1024 txs: half a second of a 2,000 tx/s relay, the time a block
	// import of 4,000 txs may hold the pool (a load test lost txs to the
	// budget at 256).
	txInFlightPerPeer = 1024
	// validateQueueSize is GossipSub's queue of messages waiting for a
	// validation worker (its default of 32 drops bursts of txs). A worker
	// only drops duplicates and hands the message to a validator
	// goroutine, so the queue grows only while the workers get no CPU
	// (GC, a block import on a busy machine). The sizing load: 2,000
	// tx/s offered at one node and relayed, i.e. about 2,000 new
	// messages/s arriving at every node (copies already seen are dropped
	// before the queue). 4096 is 2 s of that. Memory: size × message
	// size, 4096 × ~0.25 KiB ≈ 1 MiB of txs; the bound with messages of
	// the maximum size (1 MiB + margin) would be 4.3 GiB, but the queue
	// holds only messages already read, pushed by GossipSub's single
	// event loop, and the workers normally drain it as fast as it fills.
	validateQueueSize = 4096
	// peerOutboundQueueSize is GossipSub's queue of RPCs waiting to be
	// written to one peer (default 32, which dropped txs on every link
	// from about 300 tx/s). Each relayed message is one RPC, so the queue
	// must hold what is relayed while the peer's writer is stalled: the
	// peer reads slowly, the TCP window is full, or a 1 MiB block is being
	// written (0.8 s at 10 Mbit/s). 4096 is 2 s of 2,000 tx/s. Memory
	// per peer: size × message size; what is queued was validated (a tx
	// is at most types.MaxTxSize, ~0.25 KiB with framing, a block needs
	// its proof of work), so 4096 × 0.25 KiB ≈ 1 MiB of txs and the few
	// blocks of those seconds; 64 MiB at the default HighWater of 64
	// peers. The bound with every RPC of the maximum size would be
	// 4096 × (1 MiB + margin) per peer, which only many blocks in 2 s
	// could reach.
	peerOutboundQueueSize = 4096
	// scoreInspectPeriod is how often GossipSub's peer scores are copied
	// for Peers.
	scoreInspectPeriod = time.Second
)

// BlockTopic names the block gossip topic of the network netID.
func BlockTopic(netID string) string { return "/cairn/" + netID + "/block/1" }

// TxTopic names the transaction gossip topic of the network netID.
func TxTopic(netID string) string { return "/cairn/" + netID + "/tx/1" }

// TopicStats counts a topic's messages from other peers by the
// validator's verdict; Published counts the node's own messages. Peers is
// how many peers are known to be subscribed to the topic now: a message
// published reaches at most these (a peer connected a moment ago is
// counted only once its subscription has arrived).
type TopicStats struct {
	Accepted, Rejected, Ignored, Published uint64
	// Throttled counts the Ignored messages whose sender had too many
	// being validated at once.
	Throttled uint64
	Peers     int
}

// GossipStats holds the counters of both topics.
type GossipStats struct {
	Blocks, Txs TopicStats
}

// topicCounters are the live counters of one topic.
type topicCounters struct {
	accepted, rejected, ignored, published atomic.Uint64
	// throttled counts messages ignored because their sender had too
	// many being validated (also counted in ignored).
	throttled atomic.Uint64
}

func (c *topicCounters) count(r pubsub.ValidationResult) {
	switch r {
	case pubsub.ValidationAccept:
		c.accepted.Add(1)
	case pubsub.ValidationReject:
		c.rejected.Add(1)
	default:
		c.ignored.Add(1)
	}
}

func (c *topicCounters) stats() TopicStats {
	return TopicStats{
		Accepted:  c.accepted.Load(),
		Rejected:  c.rejected.Load(),
		Ignored:   c.ignored.Load(),
		Published: c.published.Load(),
		Throttled: c.throttled.Load(),
	}
}

// GossipStats returns the gossip counters and topic peers. Safe for
// concurrent use.
func (n *Network) GossipStats() GossipStats {
	st := GossipStats{Blocks: n.blockStats.stats(), Txs: n.txStats.stats()}
	if n.started.Load() && !n.stopped.Load() {
		st.Blocks.Peers = len(n.blockTopic.ListPeers())
		st.Txs.Peers = len(n.txTopic.ListPeers())
	}
	return st
}

// messageID is a message's id: the hash of its payload, so that the same
// block or tx from several peers is one message (docs/PROTOCOL.md §20).
func messageID(m *pb.Message) string {
	h := types.Sum(m.Data)
	return string(h[:])
}

// startGossip builds GossipSub on n.host, joins and subscribes to both
// topics with their validators, and starts the loops draining the
// subscriptions. Everything stops with ctx; shutdown cancels the
// subscriptions.
func (n *Network) startGossip(ctx context.Context) error {
	blockTopic, txTopic := BlockTopic(n.netID), TxTopic(n.netID)
	opts := []pubsub.Option{
		pubsub.WithMessageIdFn(messageID),
		// No signatures, authors or sequence numbers: a block or tx
		// carries its own proof, and StrictNoSign alone would still set
		// author and seqno.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		// Without flood publishing a message published before the mesh
		// forms is lost.
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(n.params.MaxBlockSize + maxMessageMargin),
		pubsub.WithValidateQueueSize(validateQueueSize),
		pubsub.WithValidateThrottle(validateThrottle),
		pubsub.WithPeerOutboundQueueSize(peerOutboundQueueSize),
		// Every dropped or throttled message is counted (GossipDrops)
		// and those that lose a message are logged (trace.go).
		pubsub.WithRawTracer(n.newDropTracer()),
		pubsub.WithBlacklist(blacklist{n.scores}),
		pubsub.WithPeerScore(peerScoreParams(blockTopic, txTopic, n.appScore), peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.scores.setGossipScores), scoreInspectPeriod),
		pubsub.WithLogger(slog.New(pubsubLog{n.log.With("module", "pubsub").Handler()})),
		pubsub.WithRPCLogger(slog.New(oversizeWatch{n})),
		pubsub.WithGossipSubParams(gossipSubParams()),
	}
	if n.cfg.GossipTracer != nil {
		opts = append(opts, pubsub.WithRawTracer(n.cfg.GossipTracer))
	}
	ps, err := pubsub.NewGossipSub(ctx, n.host, opts...)
	if err != nil {
		return fmt.Errorf("p2p: start gossipsub: %w", err)
	}
	n.ps = ps
	if err := ps.RegisterTopicValidator(blockTopic, n.validator(n.checkBlock, &n.blockStats, 0, blockValidationsPerPeer, blockInFlightPerPeer),
		pubsub.WithValidatorConcurrency(blockValidatorConcurrency)); err != nil {
		return fmt.Errorf("p2p: block topic validator: %w", err)
	}
	if err := ps.RegisterTopicValidator(txTopic, n.validator(n.checkTx, &n.txStats, 1, txValidationsPerPeer, txInFlightPerPeer),
		pubsub.WithValidatorConcurrency(txValidatorConcurrency)); err != nil {
		return fmt.Errorf("p2p: tx topic validator: %w", err)
	}
	if n.blockTopic, err = ps.Join(blockTopic); err != nil {
		return fmt.Errorf("p2p: join %s: %w", blockTopic, err)
	}
	if n.txTopic, err = ps.Join(txTopic); err != nil {
		return fmt.Errorf("p2p: join %s: %w", txTopic, err)
	}
	for _, t := range []*pubsub.Topic{n.blockTopic, n.txTopic} {
		sub, err := t.Subscribe()
		if err != nil {
			return fmt.Errorf("p2p: subscribe %s: %w", t, err)
		}
		n.subs = append(n.subs, sub)
		n.goFunc(func() { n.drain(ctx, sub) })
	}
	return nil
}

// gossipSubParams returns GossipSub's router parameters, chosen for
// networks of 10 to 1,000 nodes whose every node wants every message, with
// blocks every few seconds (docs/PROTOCOL.md §20):
//
//   - Mesh degree D = 6 (Dlo 5, Dhi 12, Dout 2, Dscore 4), GossipSub's
//     defaults. A random mesh of degree 6 reaches 1,000 nodes in about
//     log(1000)/log(5) ≈ 4.3 hops, 100 in about 3. A wider mesh shortens
//     paths a little but every node then receives each message D times:
//     cairn-sim (100 nodes, 25–150 ms links) measured time-to-all p95 of
//     372 ms with D = 6, 469 ms with D = 8, 604 ms with D = 10 and 538 ms
//     with D = 14 (CPU-bound), because the duplicates cost more than the
//     shorter paths save. The gossip mesh makes paths about 1.2× the
//     latency-shortest path (README, cairn sim).
//   - Heartbeat 700 ms (as Ethereum's consensus layer uses) instead of
//     1 s: a node the mesh misses learns of a block from the IHAVE gossip
//     sent at the next heartbeat, so with 2 s blocks a shorter heartbeat
//     bounds that fallback to well under one block time; the mesh is also
//     repaired sooner after peers leave (a partition, a restart).
//   - History: 6 heartbeats (4.2 s, two block times) of messages are kept
//     to answer IWANT, and the last 3 are announced in IHAVE.
//   - Everything else is GossipSub's default: lazy gossip to
//     max(Dlazy = 6, 25 % of the non-mesh peers), IDONTWANT for messages
//     over 1 KiB (every block with a transaction), at most 5,000 ids per
//     IHAVE.
func gossipSubParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi, p.Dout, p.Dscore, p.Dlazy = 6, 5, 12, 2, 4, 6
	p.HeartbeatInterval = 700 * time.Millisecond
	p.HistoryLength, p.HistoryGossip = 6, 3
	return p
}

// appScore is GossipSub's application-specific score (P5): minus the
// peer's penalty points.
func (n *Network) appScore(p peer.ID) float64 { return -n.scores.appPenalty(p) }

// drain reads a subscription until it is cancelled. The work is done by
// the validators; a subscription that is not read would only drop
// messages once its buffer fills.
func (n *Network) drain(ctx context.Context, sub *pubsub.Subscription) {
	for {
		if _, err := sub.Next(ctx); err != nil {
			return
		}
	}
}

// PublishBlock gossips a block (normally one the chain just accepted).
// Safe for concurrent use.
func (n *Network) PublishBlock(b *types.Block) error {
	if err := n.publish(n.blockTopic, b.Encode()); err != nil {
		return fmt.Errorf("p2p: publish block %s: %w", b.Hash(), err)
	}
	n.blockStats.published.Add(1)
	return nil
}

// PublishTx gossips a transaction (normally one the txpool just
// admitted). Safe for concurrent use.
func (n *Network) PublishTx(tx *types.Tx) error {
	if err := n.publish(n.txTopic, tx.Encode()); err != nil {
		return fmt.Errorf("p2p: publish tx %s: %w", tx.ID(), err)
	}
	n.txStats.published.Add(1)
	return nil
}

func (n *Network) publish(t *pubsub.Topic, data []byte) error {
	if !n.started.Load() {
		return ErrNotStarted
	}
	if n.stopped.Load() {
		return ErrStopped
	}
	return t.Publish(n.ctx, data)
}

// validator makes a topic validator of check (docs/PROTOCOL.md §20): this node's
// own messages are accepted (it processed them before publishing), nothing
// is validated once Stop has begun, a peer with perPeer messages of the
// topic (index topic) being validated has the next ignored, and every
// verdict is counted in stats.
func (n *Network) validator(check func(peer.ID, []byte) pubsub.ValidationResult, stats *topicCounters, topic, perPeer, inFlight int) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if from == n.host.ID() {
			return pubsub.ValidationAccept
		}
		if !n.acquire() {
			return pubsub.ValidationIgnore // stopping
		}
		defer n.release()
		release, ok := n.startValidation(ctx, from, topic, perPeer, inFlight)
		if !ok {
			stats.throttled.Add(1)
			stats.count(pubsub.ValidationIgnore)
			return pubsub.ValidationIgnore
		}
		defer release()
		r := check(from, msg.Data)
		stats.count(r)
		return r
	}
}

// validationBudget is one peer's validations of one topic: sem holds a
// token per validation running; waiting counts those waiting for one;
// users counts both, and the budget is forgotten when it drops to 0.
type validationBudget struct {
	sem            chan struct{}
	waiting, users int
}

// startValidation waits until p has fewer than perPeer messages of topic
// being validated and counts one more, unless p already has inFlight
// running or waiting (or ctx ends first); it returns the release to call
// when the validation is done.
func (n *Network) startValidation(ctx context.Context, p peer.ID, topic, perPeer, inFlight int) (func(), bool) {
	n.validatingMu.Lock()
	if n.validating == nil {
		n.validating = make(map[peer.ID]*[2]*validationBudget)
	}
	bs := n.validating[p]
	if bs == nil {
		bs = new([2]*validationBudget)
		n.validating[p] = bs
	}
	b := bs[topic]
	if b == nil {
		b = &validationBudget{sem: make(chan struct{}, perPeer)}
		bs[topic] = b
	}
	if b.users >= inFlight {
		n.validatingMu.Unlock()
		return nil, false
	}
	b.users++
	release := func() {
		<-b.sem
		n.doneValidation(p, topic, b)
	}
	select {
	case b.sem <- struct{}{}:
		n.validatingMu.Unlock()
		return release, true
	default:
	}
	b.waiting++
	n.validatingMu.Unlock()
	select {
	case b.sem <- struct{}{}:
		n.validatingMu.Lock()
		b.waiting--
		n.validatingMu.Unlock()
		return release, true
	case <-ctx.Done():
	case <-n.ctx.Done():
	}
	n.validatingMu.Lock()
	b.waiting--
	n.validatingMu.Unlock()
	n.doneValidation(p, topic, b)
	return nil, false
}

// doneValidation counts a user of b less and forgets p's budgets once
// nothing of p's is validating or waiting.
func (n *Network) doneValidation(p peer.ID, topic int, b *validationBudget) {
	n.validatingMu.Lock()
	defer n.validatingMu.Unlock()
	b.users--
	bs := n.validating[p]
	if b.users == 0 && bs != nil && bs[topic] == b {
		bs[topic] = nil
		if bs[0] == nil && bs[1] == nil {
			delete(n.validating, p)
		}
	}
}

// checkBlock judges a gossiped block. The header is looked at first, so
// that a block known, low in work or invalid by its header costs no more
// than that: Ignore what is known, has too little work to be worth
// storing (chain.ErrLowWork: an honest peer on a losing branch sends such
// blocks, so no penalty, but nothing is relayed and the sender earns no
// credit), is from the future or has an unknown parent (and sync from the
// sender then); Reject and penalize what is invalid; Accept what the chain
// stored.
func (n *Network) checkBlock(from peer.ID, data []byte) pubsub.ValidationResult {
	if len(data) < types.HeaderSize {
		n.penalize(from, fmt.Sprintf("undecodable block: %d bytes", len(data)), PenaltyUndecodable)
		return pubsub.ValidationReject
	}
	hdr, err := types.DecodeHeader(data[:types.HeaderSize])
	if err != nil {
		n.penalize(from, "undecodable block header: "+err.Error(), PenaltyUndecodable)
		return pubsub.ValidationReject
	}
	hash := hdr.Hash()
	if st, err := n.backend.WantBlock(&hdr); err != nil || st == chain.StatusDuplicate {
		if err == nil {
			return pubsub.ValidationIgnore
		}
		return n.blockVerdict(from, hash, hdr.Height, err)
	}
	blk, err := types.DecodeBlock(data, n.params.MaxBlockSize)
	if err != nil {
		n.penalize(from, "undecodable block: "+err.Error(), PenaltyUndecodable)
		return pubsub.ValidationReject
	}
	res, err := n.backend.ProcessBlock(blk, chain.Origin{Peer: string(from), Unrequested: true})
	if err != nil {
		return n.blockVerdict(from, hash, hdr.Height, err)
	}
	switch res.Status {
	case chain.StatusConnected, chain.StatusSideChain:
		n.sync.noteHeight(from, blk.Header.Height) // the relayer validated it, so it has it
		return pubsub.ValidationAccept
	case chain.StatusOrphan:
		n.log.Debug("gossiped block has unknown parent", "hash", hash, "parent", blk.Header.Parent, "peer", from)
		n.sync.requestSync(from)
		return pubsub.ValidationIgnore
	default: // StatusDuplicate
		return pubsub.ValidationIgnore
	}
}

// blockVerdict turns the chain's refusal of a gossiped block into a
// verdict, penalizing the sender of an invalid one.
func (n *Network) blockVerdict(from peer.ID, hash types.Hash, height uint64, err error) pubsub.ValidationResult {
	switch {
	case errors.Is(err, chain.ErrLowWork):
		n.log.Debug("gossiped block has too little work", "hash", hash, "peer", from, "err", err)
		if height > n.backend.Tip().Height {
			// The sender has blocks above the tip (an orphan too far
			// ahead to hold): it may have more work; ask.
			n.sync.requestSync(from)
		}
		return pubsub.ValidationIgnore
	case consensus.CodeOf(err) == consensus.ErrTimeTooNew:
		n.log.Debug("gossiped block from the future", "hash", hash, "peer", from, "err", err)
		return pubsub.ValidationIgnore
	case consensus.IsRuleError(err) || errors.Is(err, chain.ErrKnownInvalid):
		n.penalize(from, fmt.Sprintf("invalid block %s: %v", hash, err), PenaltyInvalidBlock)
		return pubsub.ValidationReject
	default: // I/O or internal: not the peer's fault
		n.log.Warn("process gossiped block", "hash", hash, "peer", from, "err", err)
		return pubsub.ValidationIgnore
	}
}

// checkTx judges a gossiped tx: Reject and penalize a tx that is invalid
// whatever the state; Ignore one refused for a reason that depends on this
// node's view (nonce, balance, fee, pool limits) or that is known; Accept
// one the pool admitted as pending. One admitted as queued (a nonce gap)
// is Ignored, not relayed, and the peer that relayed it is asked for the
// sender's missing nonces (txsync.go); it is announced once it becomes
// pending.
func (n *Network) checkTx(from peer.ID, data []byte) pubsub.ValidationResult {
	tx, err := types.DecodeTx(data)
	if err != nil {
		n.penalize(from, "undecodable tx: "+err.Error(), PenaltyUndecodable)
		return pubsub.ValidationReject
	}
	id := types.Sum(data) // the encoding is canonical: this is tx.ID()
	if n.pool.Has(id) {
		return pubsub.ValidationIgnore
	}
	_, err = n.pool.Add(tx)
	if err == nil {
		if n.pool.IsPending(id) {
			return pubsub.ValidationAccept
		}
		n.sync.txs.noteGap(from, tx.Sender())
		return pubsub.ValidationIgnore
	}
	switch classifyRefusal(err) {
	case refusedUndecodable:
		n.penalize(from, fmt.Sprintf("tx %s: %v", id, err), PenaltyUndecodable)
		return pubsub.ValidationReject
	case refusedInvalid:
		n.penalize(from, fmt.Sprintf("tx %s: %v", id, err), PenaltyInvalidTx)
		return pubsub.ValidationReject
	case notRefused:
		n.log.Warn("add gossiped tx", "id", id, "peer", from, "err", err)
		return pubsub.ValidationIgnore
	default:
		// duplicate, nonce-too-low/high, fee-too-low, insufficient-balance,
		// replacement-underpriced, sender-limit, pool-full: another node
		// may rightly hold another view.
		return pubsub.ValidationIgnore
	}
}

// pubsubLog filters GossipSub's logs: it logs every RPC at debug level
// and its lifecycle at info, so only its warnings and errors are kept,
// except one repeated for every delivered message on a host whose
// connection manager cannot decay tags (a mocknet host).
type pubsubLog struct{ slog.Handler }

func (h pubsubLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h pubsubLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "error bumping delivery tag" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h pubsubLog) WithAttrs(as []slog.Attr) slog.Handler { return pubsubLog{h.Handler.WithAttrs(as)} }

func (h pubsubLog) WithGroup(name string) slog.Handler { return pubsubLog{h.Handler.WithGroup(name)} }

// oversizeWatch is GossipSub's RPC logger. GossipSub drops a message over
// its size limit while reading the stream, before any validator or tracer
// sees it; the only trace is this logger's "error reading rpc" record with
// msgio.ErrMsgTooLarge. oversizeWatch turns that record into a penalty for
// the sender and discards every other RPC record.
type oversizeWatch struct{ n *Network }

func (w oversizeWatch) Enabled(context.Context, slog.Level) bool { return true }

func (w oversizeWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "error reading rpc" {
		return nil
	}
	var from peer.ID
	tooLarge := false
	r.Attrs(func(a slog.Attr) bool {
		switch v := a.Value.Any().(type) {
		case peer.ID:
			from = v
		case error:
			tooLarge = tooLarge || errors.Is(v, msgio.ErrMsgTooLarge)
		}
		return true
	})
	if tooLarge && from != "" {
		w.n.penalize(from, "gossip message over the size limit", PenaltyUndecodable)
	}
	return nil
}

func (w oversizeWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w oversizeWatch) WithGroup(string) slog.Handler      { return w }
