package nodetest

// The adversary: a hostile peer that tests point at real nodes. It is a
// bare mocknet host, without a chain, speaking the sync protocols and
// GossipSub by hand: it serves whatever status, headers and blocks the
// test supplies, publishes what the test asks (valid or not), and makes
// requests of its own (heavy, repeated, or silent). What it does to a node
// is measured on the node; what it was asked is counted here.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/p2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// StatusFunc answers a status exchange a node opened: theirs is the
// status the node sent.
type StatusFunc func(from peer.ID, theirs p2p.Status) p2p.Status

// HeadersFunc answers a headers request. Returning more than
// p2p.MaxHeadersPerAnswer headers sends them all anyway.
type HeadersFunc func(from peer.ID, locator []types.Hash, stop types.Hash) []types.Header

// BlocksFunc answers a blocks request with the payloads of the frames to
// send, one per hash normally: a block's encoding, or nil for an empty
// frame ("not here"). Any number of frames of any content may be returned.
type BlocksFunc func(from peer.ID, hashes []types.Hash) [][]byte

// AdversaryCounts counts what the adversary was asked and did.
type AdversaryCounts struct {
	// Served requests that nodes opened, by protocol.
	StatusRequests  int64
	HeadersRequests int64
	BlocksRequests  int64
	// HeadersServed is the number of headers written in full answers;
	// BlockHashesAsked the hashes of blocks requests; BlockFramesServed
	// and BlockBytesServed the frames (and their payload bytes) written.
	HeadersServed     int64
	BlockHashesAsked  int64
	BlockFramesServed int64
	BlockBytesServed  int64
	// ServeErrors counts served requests that failed (the node reset the
	// stream, or sent something undecodable).
	ServeErrors int64
	// GossipBlocks and GossipTxs count messages received on the topics.
	GossipBlocks int64
	GossipTxs    int64
}

type adversaryCounters struct {
	statusRequests, headersRequests, blocksRequests          atomic.Int64
	headersServed, blockHashesAsked, blockFrames, blockBytes atomic.Int64
	serveErrors, gossipBlocks, gossipTxs                     atomic.Int64
}

// Adversary is a hostile peer of a Harness. Its methods are safe for
// concurrent use, except that, like the Harness, connecting and
// disconnecting belong to the test goroutine. A node Restart-ed by the
// harness has a new identity: Connect the adversary to it again. The
// adversary stops at the end of the test, before the nodes.
type Adversary struct {
	h      *Harness
	Host   host.Host
	netID  string
	ctx    context.Context
	cancel context.CancelFunc
	// Timeout bounds each request the adversary makes or serves (default
	// 30 s); set it before connecting.
	Timeout time.Duration

	ps                  *pubsub.PubSub
	blockTopic, txTopic *pubsub.Topic

	mu      sync.Mutex
	status  StatusFunc
	headers HeadersFunc
	blocks  BlocksFunc
	theirs  map[peer.ID]p2p.Status

	n adversaryCounters
}

// AddAdversary starts an adversary, linked and connected to every running
// node. The nodes ask its status at once: to have them hear a particular
// status, set it with NewAdversary and SetStatus before ConnectAll.
func (h *Harness) AddAdversary() *Adversary {
	h.t.Helper()
	a := h.NewAdversary()
	a.ConnectAll()
	return a
}

// NewAdversary starts an adversary connected to nobody. By default it
// claims to be a fresh node on the harness's network (genesis tip), serves
// no headers and lacks every block.
func (h *Harness) NewAdversary() *Adversary {
	h.t.Helper()
	hst, err := h.mn.GenPeer()
	if err != nil {
		h.t.Fatalf("nodetest: adversary peer: %v", err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	a := &Adversary{h: h, Host: hst, netID: h.Params.NetID(), ctx: ctx, cancel: cancel,
		Timeout: 30 * time.Second, theirs: make(map[peer.ID]p2p.Status)}
	h.t.Cleanup(a.close)
	hst.SetStreamHandler(a.Protocol("status"), a.serveStatus)
	hst.SetStreamHandler(a.Protocol("headers"), a.serveHeaders)
	hst.SetStreamHandler(a.Protocol("blocks"), a.serveBlocks)
	if err := a.startGossip(); err != nil {
		h.t.Fatalf("nodetest: adversary gossip: %v", err)
	}
	return a
}

func (a *Adversary) close() {
	a.cancel()
	_ = a.Host.Close()
}

// Close stops the adversary now (it is stopped at the end of the test in
// any case); its counts stay readable.
func (a *Adversary) Close() { a.close() }

// ID returns the adversary's peer id.
func (a *Adversary) ID() peer.ID { return a.Host.ID() }

// Protocol returns the protocol ID of the sync protocol name ("status",
// "headers", "blocks") on the harness's network.
func (a *Adversary) Protocol(name string) protocol.ID { return p2p.SyncProtocol(a.netID, name) }

// Connect links and connects the adversary to the given nodes.
func (a *Adversary) Connect(nodes ...*Node) {
	a.h.t.Helper()
	for _, nd := range nodes {
		if len(a.h.mn.LinksBetweenPeers(a.ID(), nd.host.ID())) == 0 {
			if _, err := a.h.mn.LinkPeers(a.ID(), nd.host.ID()); err != nil {
				a.h.t.Fatalf("nodetest: link adversary-%s: %v", nd.Name, err)
			}
		}
		if _, err := a.h.mn.ConnectPeers(a.ID(), nd.host.ID()); err != nil {
			a.h.t.Fatalf("nodetest: connect adversary-%s: %v", nd.Name, err)
		}
	}
}

// TryConnect links the adversary to nd if need be and tries to connect,
// returning the error (a node that bans the adversary refuses it).
func (a *Adversary) TryConnect(nd *Node) error {
	if len(a.h.mn.LinksBetweenPeers(a.ID(), nd.host.ID())) == 0 {
		if _, err := a.h.mn.LinkPeers(a.ID(), nd.host.ID()); err != nil {
			return err
		}
	}
	_, err := a.h.mn.ConnectPeers(a.ID(), nd.host.ID())
	return err
}

// ConnectAll links and connects the adversary to every running node.
func (a *Adversary) ConnectAll() {
	a.h.t.Helper()
	a.Connect(a.h.pick(nil)...)
}

// Disconnect closes the adversary's connections to nd (the link stays, so
// either side may dial again).
func (a *Adversary) Disconnect(nd *Node) {
	_ = a.h.mn.DisconnectPeers(a.ID(), nd.host.ID())
}

// Connected reports whether the adversary has a connection to nd.
func (a *Adversary) Connected(nd *Node) bool {
	return a.Host.Network().Connectedness(nd.host.ID()) == network.Connected
}

// Standing is a node's view of the adversary.
type Standing struct {
	// Connected: the node has a connection to the adversary.
	Connected bool
	// Banned: the node refuses the adversary (p2p.Network.Banned).
	Banned bool
	// Listed: the node lists the adversary among its peers; Score is then
	// its score there (GossipSub's, which includes minus the penalty
	// points, refreshed every second; minus the points alone before
	// GossipSub reports one).
	Listed bool
	Score  float64
}

// StandingWith returns nd's view of the adversary.
func (a *Adversary) StandingWith(nd *Node) Standing {
	s := Standing{
		Connected: nd.host.Network().Connectedness(a.ID()) == network.Connected,
		Banned:    nd.Net().Banned(a.ID()),
	}
	for _, p := range nd.Net().Peers() {
		if p.ID == a.ID() {
			s.Listed, s.Score = true, p.Score
		}
	}
	return s
}

// Counts returns what the adversary was asked and did so far.
func (a *Adversary) Counts() AdversaryCounts {
	return AdversaryCounts{
		StatusRequests:    a.n.statusRequests.Load(),
		HeadersRequests:   a.n.headersRequests.Load(),
		BlocksRequests:    a.n.blocksRequests.Load(),
		HeadersServed:     a.n.headersServed.Load(),
		BlockHashesAsked:  a.n.blockHashesAsked.Load(),
		BlockFramesServed: a.n.blockFrames.Load(),
		BlockBytesServed:  a.n.blockBytes.Load(),
		ServeErrors:       a.n.serveErrors.Load(),
		GossipBlocks:      a.n.gossipBlocks.Load(),
		GossipTxs:         a.n.gossipTxs.Load(),
	}
}

// Their returns the last status p sent in a status exchange it opened.
func (a *Adversary) Their(p peer.ID) (p2p.Status, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.theirs[p]
	return st, ok
}

// Serving.

// SetStatus sets what the adversary answers to status exchanges; nil
// restores the default (a fresh node on the network).
func (a *Adversary) SetStatus(f StatusFunc) {
	a.mu.Lock()
	a.status = f
	a.mu.Unlock()
}

// ClaimWork makes the adversary claim a tip of the given work and height
// (tip and best header hashes made up) on the harness's network.
func (a *Adversary) ClaimWork(work *big.Int, height uint64) {
	fake := types.SumConcat([]byte("nodetest/adversary-tip"), work.Bytes())
	st := p2p.Status{Genesis: a.h.Params.GenesisHash(), TipHash: fake, TipHeight: height, Work: new(big.Int).Set(work),
		BestHash: fake, BestHeight: height}
	a.SetStatus(func(peer.ID, p2p.Status) p2p.Status { return st })
}

// SetHeaders sets how the adversary answers headers requests; nil
// restores the default (no headers).
func (a *Adversary) SetHeaders(f HeadersFunc) {
	a.mu.Lock()
	a.headers = f
	a.mu.Unlock()
}

// ServeJunk answers every headers request with p2p.MaxHeadersPerAnswer
// headers from j, made at the current time.
func (a *Adversary) ServeJunk(j *Junk) {
	a.SetHeaders(func(peer.ID, []types.Hash, types.Hash) []types.Header {
		return j.Headers(p2p.MaxHeadersPerAnswer, time.Now().UnixMilli())
	})
}

// SetBlocks sets how the adversary answers blocks requests; nil restores
// the default (an empty frame for every hash).
func (a *Adversary) SetBlocks(f BlocksFunc) {
	a.mu.Lock()
	a.blocks = f
	a.mu.Unlock()
}

// Handle replaces the adversary's handler of the sync protocol name with
// f, for misbehaviour beyond what the answer functions allow (stalling,
// garbage frames). The counters then only count what f counts.
func (a *Adversary) Handle(name string, f network.StreamHandler) {
	a.Host.SetStreamHandler(a.Protocol(name), f)
}

// serve runs one served request under the adversary's timeout; a failure
// resets the stream and is counted.
func (a *Adversary) serve(st network.Stream, limit int, handle func(p peer.ID, req []byte, w *bufio.Writer) error) {
	t := time.AfterFunc(a.Timeout, func() { st.Reset() })
	defer t.Stop()
	p := st.Conn().RemotePeer()
	req, err := p2p.ReadFrame(bufio.NewReader(st), limit)
	if err == nil {
		w := bufio.NewWriter(st)
		if err = handle(p, req, w); err == nil {
			err = w.Flush()
		}
	}
	if err != nil {
		a.n.serveErrors.Add(1)
		st.Reset()
		return
	}
	st.Close()
}

func (a *Adversary) serveStatus(st network.Stream) {
	a.n.statusRequests.Add(1)
	a.serve(st, p2p.MaxStatusSize, func(p peer.ID, req []byte, w *bufio.Writer) error {
		theirs, err := p2p.DecodeStatus(req)
		if err != nil {
			return err
		}
		a.mu.Lock()
		a.theirs[p] = theirs
		f := a.status
		a.mu.Unlock()
		var ours p2p.Status
		if f != nil {
			ours = f(p, theirs)
		} else {
			g := a.h.Params.GenesisHash()
			ours = p2p.Status{Genesis: g, TipHash: g, Work: consensus.CalcWork(a.h.Params.GenesisBits), BestHash: g}
		}
		return p2p.WriteFrame(w, p2p.EncodeStatus(ours))
	})
}

func (a *Adversary) serveHeaders(st network.Stream) {
	a.n.headersRequests.Add(1)
	a.serve(st, p2p.MaxHeadersRequestSize, func(p peer.ID, req []byte, w *bufio.Writer) error {
		locator, stop, err := p2p.DecodeHeadersRequest(req)
		if err != nil {
			return err
		}
		a.mu.Lock()
		f := a.headers
		a.mu.Unlock()
		var hs []types.Header
		if f != nil {
			hs = f(p, locator, stop)
		}
		if err := p2p.WriteFrame(w, p2p.EncodeHeaders(hs)); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		a.n.headersServed.Add(int64(len(hs)))
		return nil
	})
}

func (a *Adversary) serveBlocks(st network.Stream) {
	a.n.blocksRequests.Add(1)
	a.serve(st, p2p.MaxBlocksRequestSize, func(p peer.ID, req []byte, w *bufio.Writer) error {
		hashes, err := p2p.DecodeBlocksRequest(req)
		if err != nil {
			return err
		}
		a.n.blockHashesAsked.Add(int64(len(hashes)))
		a.mu.Lock()
		f := a.blocks
		a.mu.Unlock()
		frames := make([][]byte, len(hashes))
		if f != nil {
			frames = f(p, hashes)
		}
		for _, fr := range frames {
			if err := p2p.WriteFrame(w, fr); err != nil {
				return err
			}
			a.n.blockFrames.Add(1)
			a.n.blockBytes.Add(int64(len(fr)))
		}
		return nil
	})
}

// Gossip.

// messageID is the nodes' GossipSub message id (p2p's is unexported): the
// hash of the payload.
func messageID(m *pb.Message) string {
	h := types.Sum(m.Data)
	return string(h[:])
}

// maxGossipSize is the adversary's own GossipSub message limit: what the
// largest block decode accepts and more, so that it can send messages
// over the nodes' limit (the block size plus a margin).
const maxGossipSize = types.MaxBlockSizeLimit + 1<<20

func (a *Adversary) startGossip() error {
	ps, err := pubsub.NewGossipSub(a.ctx, a.Host,
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(maxGossipSize),
	)
	if err != nil {
		return err
	}
	a.ps = ps
	if a.blockTopic, err = ps.Join(p2p.BlockTopic(a.netID)); err != nil {
		return err
	}
	if a.txTopic, err = ps.Join(p2p.TxTopic(a.netID)); err != nil {
		return err
	}
	for _, tc := range []struct {
		t *pubsub.Topic
		n *atomic.Int64
	}{{a.blockTopic, &a.n.gossipBlocks}, {a.txTopic, &a.n.gossipTxs}} {
		sub, err := tc.t.Subscribe()
		if err != nil {
			return err
		}
		go func() {
			for {
				if _, err := sub.Next(a.ctx); err != nil {
					return
				}
				tc.n.Add(1)
			}
		}()
	}
	return nil
}

// WaitGossip waits until the adversary and the given nodes (all running
// ones if none given) see each other subscribed to both topics, so that
// what the adversary publishes next reaches them.
func (a *Adversary) WaitGossip(timeout time.Duration, idx ...int) {
	a.h.t.Helper()
	nodes := a.h.pick(idx)
	a.h.WaitFor("the adversary's gossip subscriptions", timeout, func() bool {
		for _, nd := range nodes {
			b, tx := nd.Net().TopicPeers()
			if !contains(b, a.ID()) || !contains(tx, a.ID()) ||
				!contains(a.blockTopic.ListPeers(), nd.host.ID()) || !contains(a.txTopic.ListPeers(), nd.host.ID()) {
				return false
			}
		}
		return true
	})
}

func contains(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// PublishBlock gossips blk's encoding on the block topic. A node drops a
// message it has seen (by payload hash) without validating it again.
func (a *Adversary) PublishBlock(blk *types.Block) error {
	return a.blockTopic.Publish(a.ctx, blk.Encode())
}

// PublishTx gossips tx's encoding on the tx topic.
func (a *Adversary) PublishTx(tx *types.Tx) error { return a.txTopic.Publish(a.ctx, tx.Encode()) }

// PublishRaw gossips data on topic ("block" or "tx", or a full topic name).
func (a *Adversary) PublishRaw(topic string, data []byte) error {
	switch topic {
	case "block", p2p.BlockTopic(a.netID):
		return a.blockTopic.Publish(a.ctx, data)
	case "tx", p2p.TxTopic(a.netID):
		return a.txTopic.Publish(a.ctx, data)
	}
	return fmt.Errorf("nodetest: adversary has no topic %q", topic)
}

// Requesting.

// request opens a stream of the sync protocol name to nd, sends payload
// in one frame, closes its side, and reads frames of at most limit bytes
// until the node ends the stream. It returns the frames read and the error
// that ended the answer (nil for a clean end).
func (a *Adversary) request(nd *Node, name string, payload []byte, limit int, each func([]byte) error) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.Timeout)
	defer cancel()
	st, err := a.Host.NewStream(ctx, nd.host.ID(), a.Protocol(name))
	if err != nil {
		return fmt.Errorf("open %s stream: %w", name, err)
	}
	t := time.AfterFunc(a.Timeout, func() { st.Reset() })
	defer t.Stop()
	if err := p2p.WriteFrame(st, payload); err != nil {
		st.Reset()
		return fmt.Errorf("write %s request: %w", name, err)
	}
	if err := st.CloseWrite(); err != nil {
		st.Reset()
		return err
	}
	r := bufio.NewReaderSize(st, 64<<10)
	for {
		f, err := p2p.ReadFrame(r, limit)
		if err == io.EOF {
			st.Close()
			return nil
		}
		if err == nil {
			err = each(f)
		}
		if err != nil {
			st.Reset()
			return err
		}
	}
}

// RequestStatus exchanges statuses with nd as the opener, sending ours.
func (a *Adversary) RequestStatus(nd *Node, ours p2p.Status) (p2p.Status, error) {
	var theirs p2p.Status
	got := false
	err := a.request(nd, "status", p2p.EncodeStatus(ours), p2p.MaxStatusSize, func(f []byte) error {
		if got {
			return errors.New("more than one status frame")
		}
		var err error
		theirs, err = p2p.DecodeStatus(f)
		got = true
		return err
	})
	if err == nil && !got {
		err = errors.New("no status frame")
	}
	return theirs, err
}

// RequestHeaders asks nd for the headers after locator, up to stop.
func (a *Adversary) RequestHeaders(nd *Node, locator []types.Hash, stop types.Hash) ([]types.Header, error) {
	var hs []types.Header
	err := a.request(nd, "headers", p2p.EncodeHeadersRequest(locator, stop), p2p.MaxHeadersResponseSize, func(f []byte) error {
		var err error
		hs, err = p2p.DecodeHeaders(f)
		return err
	})
	return hs, err
}

// RequestBlocks asks nd for the blocks hashes (repeats allowed, up to
// p2p.MaxBlocksPerRequest of them, or more to be refused) and reads the
// whole answer, without keeping it: frames is how many frames came back,
// bytes their payload bytes in all.
func (a *Adversary) RequestBlocks(nd *Node, hashes []types.Hash) (frames, bytes int, err error) {
	err = a.request(nd, "blocks", p2p.EncodeBlocksRequest(hashes), a.h.Params.MaxBlockSize, func(f []byte) error {
		frames++
		bytes += len(f)
		return nil
	})
	return frames, bytes, err
}

// RequestRaw sends payload as one request frame of the sync protocol name
// and returns the answer's frames (each at most limit bytes).
func (a *Adversary) RequestRaw(nd *Node, name string, payload []byte, limit int) ([][]byte, error) {
	var out [][]byte
	err := a.request(nd, name, payload, limit, func(f []byte) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// SilentStream is a stream the adversary opened and never writes to.
type SilentStream struct {
	network.Stream
	done chan struct{}
	err  error
}

// Done is closed once the node has ended the stream (closed or reset it),
// or the adversary stopped.
func (s *SilentStream) Done() <-chan struct{} { return s.done }

// Ended reports whether the node has ended the stream.
func (s *SilentStream) Ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Err returns, once Done is closed, what ended the stream: io.EOF if the
// node closed it (having sent nothing), otherwise the read error (a reset
// stream, a closed connection). Data sent by the node ends it too, with
// an error saying so.
func (s *SilentStream) Err() error {
	<-s.done
	return s.err
}

// OpenSilentStreams opens n streams of the sync protocol name to nd that
// never send a byte beyond the protocol negotiation, which each stream
// completes at once: the node's handler then waits for a request that
// never comes. Each stream is watched until the node ends it. The streams
// reach the node's handler shortly after they are returned: wait for
// VictimStreams to see them.
func (a *Adversary) OpenSilentStreams(nd *Node, name string, n int) ([]*SilentStream, error) {
	out := make([]*SilentStream, 0, n)
	for range n {
		ctx, cancel := context.WithTimeout(a.ctx, a.Timeout)
		st, err := a.Host.NewStream(ctx, nd.host.ID(), a.Protocol(name))
		cancel()
		if err != nil {
			return out, fmt.Errorf("open silent %s stream %d: %w", name, len(out), err)
		}
		s := &SilentStream{Stream: st, done: make(chan struct{})}
		go func() {
			defer close(s.done)
			// Reading completes a lazy protocol negotiation, then waits
			// for the node to end the stream.
			var b [1]byte
			k, err := st.Read(b[:])
			if k > 0 {
				err = fmt.Errorf("the node sent data on a silent stream (%w)", err)
			}
			s.err = err
		}()
		context.AfterFunc(a.ctx, func() { st.Reset() })
		out = append(out, s)
	}
	return out, nil
}

// VictimStreams returns how many streams of the sync protocol name nd has
// open with the adversary, on its side: streams that reached its handler.
func (a *Adversary) VictimStreams(nd *Node, name string) int {
	proto := a.Protocol(name)
	n := 0
	for _, c := range nd.host.Network().ConnsToPeer(a.ID()) {
		for _, st := range c.GetStreams() {
			if st.Protocol() == proto {
				n++
			}
		}
	}
	return n
}
