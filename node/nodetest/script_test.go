package nodetest_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node/nodetest"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Consensus scripts (chaintest.Scripts) replayed through a node's network
// paths, as btcd replays its fullblocktests against other nodes: through
// gossip, each block published by a peer, and through headers-first sync,
// a fresh node syncing from a node that holds the blocks. The chain
// package replays the same scripts directly (chain's TestScripts).

const scriptWait = 30 * time.Second

// TestScriptsGossip replays each script through gossip; see replayGossip.
func TestScriptsGossip(t *testing.T) {
	for _, sc := range chaintest.Scripts() {
		t.Run(sc.Name, func(t *testing.T) { replayGossip(t, sc.Build(t)) })
	}
}

// TestScriptsSync replays each script through headers-first sync; see
// replaySync.
func TestScriptsSync(t *testing.T) {
	for _, sc := range chaintest.Scripts() {
		t.Run(sc.Name, func(t *testing.T) { replaySync(t, sc.Build(t)) })
	}
}

// replaySync delivers the script's blocks to a node with SubmitBlock,
// checking every step there. At each ExpectTip step a fresh node joins,
// syncs from it headers first, and must reach the same tip with the
// model's state; it is stopped before the script goes on, so that it
// learns nothing by gossip.
func replaySync(t *testing.T, s *chaintest.Script) {
	h := nodetest.New(t, 1, nodetest.Options{Params: s.Params})
	src := h.Nodes[0]
	for _, st := range s.Steps {
		s.Deliver(src.Chain(), st, src.SubmitBlock)
		if st.Kind != chaintest.ExpectTip {
			continue
		}
		fresh := h.AddNode()
		i := len(h.Nodes) - 1
		h.WaitTip(scriptWait, st.Block.Hash(), i)
		s.CheckTip(fresh.Chain(), st.Name)
		h.Stop(i)
	}
}

// verdict is a gossip validator's judgement of a block.
type verdict string

const (
	accepted verdict = "accepted"
	rejected verdict = "rejected"
	ignored  verdict = "ignored"
)

// replayGossip replays the script against a node (the victim) through
// gossip, beside a reference chain that gets each step directly first.
//
// A peer, the feeder, publishes the script's blocks; a block the script
// rejects is published by a peer of its own, since its sender is banned.
// What the victim's validator must answer follows from the step and from
// what the victim's chain says of the block's header beforehand (WantBlock,
// the contract between chain and relay): a block it has, whose parent it
// lacks (held as an orphan) or whose branch has too little work is
// ignored, without penalty; one it knows invalid from the header is
// rejected; any other block is accepted, or rejected if the script says
// it breaks a rule. A block delivered again as known invalid is not
// published (GossipSub drops a message it has seen); the victim must
// refuse its header.
//
// After each step the feeder serves, for sync, the reference chain's main
// chain as it is then; if the victim's tip differs (it ignored the blocks
// of a branch that has since won) the feeder tells it its status, and the
// victim must sync to the reference's tip. At each ExpectTip step the
// victim's state must be the model's.
func replayGossip(t *testing.T, s *chaintest.Script) {
	h := nodetest.New(t, 1, nodetest.Options{Params: s.Params})
	victim := h.Nodes[0]
	ref := s.Open(chain.Config{})
	feeder := newScriptPeer(h, s)
	feeder.follow(ref)
	feeder.Connect(victim)
	feeder.WaitGossip(scriptWait)

	for _, st := range s.Steps {
		if st.Kind == chaintest.ExpectTip {
			s.Deliver(ref, st, ref.ProcessBlock)
			h.WaitTip(scriptWait, st.Block.Hash())
			s.CheckTip(victim.Chain(), st.Name)
			continue
		}
		want, why := expectVerdict(victim.Chain(), st)
		if want == rejected && st.Kind != chaintest.Reject {
			t.Fatalf("%v: the victim refuses it from its header: %s", st, why)
		}
		if st.Kind == chaintest.Orphan && why != "orphan" {
			t.Fatalf("%v: the victim would not hold it as an orphan: %s", st, why)
		}
		s.Deliver(ref, st, ref.ProcessBlock)
		if st.Kind == chaintest.Reject && st.Code == 0 {
			if want != rejected {
				t.Fatalf("%v: the victim does not refuse it from its header (%s)", st, why)
			}
			continue
		}
		sender := feeder.Adversary
		if st.Kind == chaintest.Reject {
			sender = h.NewAdversary()
			sender.Connect(victim)
			sender.WaitGossip(scriptWait)
		}
		if got := publish(t, h, victim, sender, st.Block); got != want {
			t.Fatalf("%v: gossip verdict %s, want %s (%s)", st, got, want, why)
		}
		t.Logf("%v: %s (%s)", st, want, why)
		checkAfter(t, victim.Chain(), st, want)
		feeder.catchUp(t, h, victim, ref)
	}
	if ref.Tip().Hash != s.Hash(s.Tip()) {
		t.Fatalf("the reference chain ends at %s, the script at %s", s.BlockName(ref.Tip().Hash), s.Tip())
	}
	if sd := feeder.StandingWith(victim); sd.Banned || !sd.Connected {
		t.Fatalf("the feeder, which sent only valid blocks, lost its standing with the victim: %+v", sd)
	}
}

// expectVerdict returns what the validator of the node with chain c must
// answer to the block of st, and why.
func expectVerdict(c *chain.Chain, st chaintest.Step) (verdict, string) {
	hdr := st.Block.Header
	status, err := c.WantBlock(&hdr)
	switch {
	case err == nil && status == chain.StatusDuplicate:
		return ignored, "known already"
	case errors.Is(err, chain.ErrLowWork):
		return ignored, "too little work"
	case consensus.CodeOf(err) == consensus.ErrTimeTooNew:
		return ignored, "from the future"
	case err != nil:
		return rejected, err.Error()
	case !c.HasBlock(hdr.Parent):
		return ignored, "orphan"
	case st.Kind == chaintest.Reject:
		return rejected, "breaks a rule"
	}
	return accepted, "wanted"
}

// publish has a publish blk and returns the victim's verdict.
func publish(t *testing.T, h *nodetest.Harness, victim *nodetest.Node, a *nodetest.Adversary, blk *types.Block) verdict {
	t.Helper()
	judged := func(s p2p.TopicStats) uint64 { return s.Accepted + s.Rejected + s.Ignored }
	before := victim.Net().GossipStats().Blocks
	if err := a.PublishBlock(blk); err != nil {
		t.Fatalf("publish block %s: %v", blk.Hash(), err)
	}
	var after p2p.TopicStats
	h.WaitFor("the victim's verdict on block "+blk.Hash().String()[:12], scriptWait, func() bool {
		after = victim.Net().GossipStats().Blocks
		return judged(after) > judged(before)
	})
	switch {
	case after.Accepted > before.Accepted:
		return accepted
	case after.Rejected > before.Rejected:
		return rejected
	}
	return ignored
}

// checkAfter checks what the victim's chain c knows of the block of st
// after its validator gave the verdict v.
func checkAfter(t *testing.T, c *chain.Chain, st chaintest.Step, v verdict) {
	t.Helper()
	hdr := st.Block.Header
	status, err := c.WantBlock(&hdr)
	switch {
	case v == accepted && !c.HasBlock(st.Block.Hash()):
		t.Fatalf("%v: accepted, but not stored", st)
	case v == rejected && !errors.Is(err, chain.ErrKnownInvalid) && !consensus.IsRuleError(err):
		t.Fatalf("%v: rejected, but its header is not refused now: %v, %v", st, status, err)
	case st.Kind == chaintest.Orphan && (err != nil || status != chain.StatusDuplicate):
		t.Fatalf("%v: not held: %v, %v", st, status, err)
	}
}

// scriptPeer is the peer that publishes a script's valid blocks and
// serves sync from a snapshot of the reference chain: its status names
// the snapshot's tip, its headers are the snapshot's main chain, its
// bodies any block of the script. The snapshot moves only after a step,
// so that the victim learns of no block by sync before the step that
// delivers it by gossip.
type scriptPeer struct {
	*nodetest.Adversary
	bodies map[types.Hash][]byte // fixed at the start

	mu      sync.Mutex
	status  p2p.Status
	headers []types.Header // main chain by height, genesis first
	height  map[types.Hash]uint64
}

func newScriptPeer(h *nodetest.Harness, s *chaintest.Script) *scriptPeer {
	p := &scriptPeer{Adversary: h.NewAdversary(), bodies: map[types.Hash][]byte{}}
	for _, st := range s.Steps {
		if st.Block != nil {
			p.bodies[st.Block.Hash()] = st.Block.Encode()
		}
	}
	p.SetStatus(func(peer.ID, p2p.Status) p2p.Status {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.status
	})
	p.SetHeaders(func(_ peer.ID, locator []types.Hash, stop types.Hash) []types.Header {
		p.mu.Lock()
		defer p.mu.Unlock()
		start := uint64(0)
		for _, l := range locator {
			if ht, ok := p.height[l]; ok {
				start = ht
				break
			}
		}
		var out []types.Header
		for ht := start + 1; ht < uint64(len(p.headers)) && len(out) < p2p.MaxHeadersPerAnswer; ht++ {
			out = append(out, p.headers[ht])
			if p.headers[ht].Hash() == stop {
				break
			}
		}
		return out
	})
	p.SetBlocks(func(_ peer.ID, hashes []types.Hash) [][]byte {
		frames := make([][]byte, len(hashes))
		for i, hash := range hashes {
			frames[i] = p.bodies[hash] // nil: not here
		}
		return frames
	})
	return p
}

// follow moves the snapshot to ref as it is now.
func (p *scriptPeer) follow(ref *chain.Chain) {
	tip := ref.Tip()
	headers := make([]types.Header, 0, tip.Height+1)
	height := make(map[types.Hash]uint64, tip.Height+1)
	for ht := uint64(0); ht <= tip.Height; ht++ {
		info, err := ref.HeaderByHeight(ht)
		if err != nil {
			panic(err) // the reference chain is in memory and not changing
		}
		headers = append(headers, info.Header)
		height[info.Hash] = ht
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.headers, p.height = headers, height
	p.status = p2p.Status{Genesis: ref.GenesisHash(), TipHash: tip.Hash, TipHeight: tip.Height, Work: tip.Work,
		BestHash: tip.Hash, BestHeight: tip.Height}
}

// catchUp moves the snapshot to ref and, if the victim's tip is not ref's,
// tells the victim the feeder's status and waits until it has synced to
// ref's tip.
func (p *scriptPeer) catchUp(t *testing.T, h *nodetest.Harness, victim *nodetest.Node, ref *chain.Chain) {
	t.Helper()
	p.follow(ref)
	tip := ref.Tip().Hash
	if victim.Chain().Tip().Hash == tip {
		return
	}
	p.mu.Lock()
	st := p.status
	p.mu.Unlock()
	if _, err := p.RequestStatus(victim, st); err != nil {
		t.Fatalf("tell the victim the feeder's status: %v", err)
	}
	h.WaitTip(scriptWait, tip)
	t.Logf("the victim synced to the reference's tip at height %d", st.TipHeight)
}
