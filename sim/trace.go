package sim

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-ledger/cairn/chain/types"
)

// hopTrace follows every block message through GossipSub at every node,
// so that a hop's time can be taken apart: how long the sender took to
// queue the block for this node after validating it, how long it sat in
// the sender's outbound queue, how long the wire took beyond the link's
// latency, how long it waited for validation and how long validation (the
// node's import) took.
type hopTrace struct {
	mu    sync.Mutex
	idx   map[peer.ID]int
	msgs  map[string]*msgTrace // by GossipSub message id
	topic string
}

// msgTrace is one block message's times at every node, in ns since the
// block was mined; 0 = not seen.
type msgTrace struct {
	mined    time.Time
	miner    int     // GossipSub traces no validation or delivery of a node's own message
	recv     []int64 // first RPC carrying it arrived
	validate []int64 // first copy entered validation
	deliver  []int64 // validated: forwarded from here
	from     []int   // who sent the first copy (-1 = none yet)
	queued   map[[2]int]int64
	written  map[[2]int]int64
}

func newHopTrace(topic string) *hopTrace {
	return &hopTrace{idx: make(map[peer.ID]int), msgs: make(map[string]*msgTrace), topic: topic}
}

func (t *hopTrace) addNode(p peer.ID, i int) {
	t.mu.Lock()
	t.idx[p] = i
	t.mu.Unlock()
}

func (t *hopTrace) track(id string, mined time.Time, miner, nodes int) *msgTrace {
	m := &msgTrace{mined: mined, miner: miner, recv: make([]int64, nodes), validate: make([]int64, nodes),
		deliver: make([]int64, nodes), from: make([]int, nodes),
		queued: make(map[[2]int]int64), written: make(map[[2]int]int64)}
	for i := range m.from {
		m.from[i] = -1
	}
	t.mu.Lock()
	t.msgs[id] = m
	t.mu.Unlock()
	return m
}

// nodeTracer is hopTrace as one node's GossipSub tracer.
type nodeTracer struct {
	t *hopTrace
	i int
}

func (nt nodeTracer) at(id string, set func(m *msgTrace, now int64)) {
	t := nt.t
	t.mu.Lock()
	if m := t.msgs[id]; m != nil {
		set(m, max(1, int64(time.Since(m.mined))))
	}
	t.mu.Unlock()
}

func first(v *int64, now int64) {
	if *v == 0 {
		*v = now
	}
}

func (nt nodeTracer) ValidateMessage(msg *pubsub.Message) {
	if msg.GetTopic() != nt.t.topic {
		return
	}
	nt.at(msg.ID, func(m *msgTrace, now int64) {
		first(&m.validate[nt.i], now)
		if j, ok := nt.t.idx[msg.ReceivedFrom]; ok && m.from[nt.i] < 0 {
			m.from[nt.i] = j
		}
	})
}

func (nt nodeTracer) DeliverMessage(msg *pubsub.Message) {
	if msg.GetTopic() != nt.t.topic {
		return
	}
	nt.at(msg.ID, func(m *msgTrace, now int64) { first(&m.deliver[nt.i], now) })
}

// blockIDs returns the ids of the block messages in rpc.
func (nt nodeTracer) blockIDs(rpc *pubsub.RPC) []string {
	var ids []string
	for _, pm := range rpc.GetPublish() {
		if pm.GetTopic() == nt.t.topic {
			ids = append(ids, messageID(pm.GetData()))
		}
	}
	return ids
}

func (nt nodeTracer) RecvRPC(rpc *pubsub.RPC) {
	for _, id := range nt.blockIDs(rpc) {
		nt.at(id, func(m *msgTrace, now int64) { first(&m.recv[nt.i], now) })
	}
}

func (nt nodeTracer) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	nt.sent(rpc, p, func(m *msgTrace) map[[2]int]int64 { return m.queued })
}

func (nt nodeTracer) SendRPCCompleted(rpc *pubsub.RPC, p peer.ID, _ time.Duration) {
	nt.sent(rpc, p, func(m *msgTrace) map[[2]int]int64 { return m.written })
}

func (nt nodeTracer) sent(rpc *pubsub.RPC, p peer.ID, where func(*msgTrace) map[[2]int]int64) {
	ids := nt.blockIDs(rpc)
	if len(ids) == 0 {
		return
	}
	nt.t.mu.Lock()
	j, ok := nt.t.idx[p]
	nt.t.mu.Unlock()
	if !ok {
		return
	}
	for _, id := range ids {
		nt.at(id, func(m *msgTrace, now int64) {
			k := [2]int{nt.i, j}
			if _, seen := where(m)[k]; !seen {
				where(m)[k] = now
			}
		})
	}
}

func (nodeTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (nodeTracer) OnClosedOutboundStream(peer.ID)           {}
func (nodeTracer) Join(string)                              {}
func (nodeTracer) Leave(string)                             {}
func (nodeTracer) Graft(peer.ID, string)                    {}
func (nodeTracer) Prune(peer.ID, string)                    {}
func (nodeTracer) RejectMessage(*pubsub.Message, string)    {}
func (nodeTracer) DuplicateMessage(*pubsub.Message)         {}
func (nodeTracer) ThrottlePeer(peer.ID)                     {}
func (nodeTracer) DropRPC(*pubsub.RPC, peer.ID)             {}
func (nodeTracer) UndeliverableMessage(*pubsub.Message)     {}

// hopParts is a hop taken apart, in ms, over every node but the miner
// that got a block by gossip: see HopParts.
type hopParts struct {
	forward, queue, wire, wait, validate, loop []float64
}

// parts takes apart the hop by which each node got m's first copy, using
// the link latencies lat(j, k) and the times the nodes imported the block
// (ns since mined; <= 0: not imported). The miner's hops start at its
// import. A hop some event of which was not seen is left out.
func (m *msgTrace) parts(lat func(j, k int) time.Duration, imported []int64, out *hopParts) {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	for k, j := range m.from {
		if j < 0 || m.validate[k] == 0 {
			continue
		}
		sent := m.deliver[j]
		if j == m.miner {
			sent = imported[j] // it publishes right after its import
		}
		if sent <= 0 {
			continue
		}
		q, w := m.queued[[2]int{j, k}], m.written[[2]int{j, k}]
		if q == 0 || w == 0 || m.recv[k] == 0 || m.deliver[k] == 0 || imported[k] <= 0 || imported[k] > m.deliver[k] {
			continue
		}
		out.forward = append(out.forward, ms(q-sent))
		out.queue = append(out.queue, ms(w-q))
		out.wire = append(out.wire, ms(m.recv[k]-w-int64(lat(j, k))))
		out.wait = append(out.wait, ms(m.validate[k]-m.recv[k]))
		out.validate = append(out.validate, ms(imported[k]-m.validate[k]))
		out.loop = append(out.loop, ms(m.deliver[k]-imported[k]))
	}
}

// messageID is GossipSub's id of a message carrying data: its hash
// (docs/PROTOCOL.md §20).
func messageID(data []byte) string {
	h := types.Sum(data)
	return string(h[:])
}
