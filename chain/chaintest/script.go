package chaintest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Consensus scripts, after btcd's fullblocktests: a script is blocks built
// by name on a Builder and a list of steps, data, that say in which order
// the blocks are delivered and what must happen to each. The same steps
// are replayed against a chain directly (Play), and by node/nodetest
// through gossip and through headers-first sync.

// StepKind is what a Step expects.
type StepKind int

const (
	// Accept: the block is stored, connected (the tip moves) or on a side
	// branch, as Step.Status says.
	Accept StepKind = iota + 1
	// Reject: the block is refused for breaking the rule Step.Code, or,
	// with Code 0, as known invalid (chain.ErrKnownInvalid).
	Reject
	// Orphan: the block's parent is unknown; the block is held.
	Orphan
	// ExpectTip: the block is the tip, with the model's state.
	ExpectTip
)

// Step is one step of a Script.
type Step struct {
	Kind  StepKind
	Name  string
	Block *types.Block
	// Status is, for Accept, chain.StatusConnected or StatusSideChain.
	// Disconnected (old tip first) and Connected (in order) name the
	// blocks the Result of processing it lists; nil for none.
	Status       chain.ProcessStatus
	Disconnected []string
	Connected    []string
	// Code is, for Reject, the rule the block breaks; 0 for a block
	// refused as known invalid.
	Code consensus.ErrorCode
}

func (st Step) String() string {
	switch st.Kind {
	case Accept:
		var b strings.Builder
		fmt.Fprintf(&b, "accept %s (%v", st.Name, st.Status)
		for _, n := range st.Disconnected {
			b.WriteString(" -" + n)
		}
		for _, n := range st.Connected {
			b.WriteString(" +" + n)
		}
		b.WriteString(")")
		return b.String()
	case Reject:
		if st.Code == 0 {
			return "reject " + st.Name + " (known invalid)"
		}
		return fmt.Sprintf("reject %s (%v)", st.Name, st.Code)
	case Orphan:
		return "orphan " + st.Name
	case ExpectTip:
		return "tip " + st.Name
	}
	return fmt.Sprintf("step %d %s", int(st.Kind), st.Name)
}

// Script is a Builder with the steps of a consensus test. Build the blocks
// first (Block, Chain, Branch), then add steps naming them; a script may
// alternate the two. A Script is not safe for concurrent use.
type Script struct {
	*Builder
	Name   string
	Steps  []Step
	played int // steps delivered by Play
}

// NewScript returns an empty script on Params().
func NewScript(t testing.TB, name string) *Script {
	return &Script{Builder: New(t), Name: name}
}

func (s *Script) add(st Step) {
	s.t.Helper()
	st.Block = s.Get(st.Name)
	s.Steps = append(s.Steps, st)
}

// Accept adds a step delivering the named block, which must be stored
// with status st, the Result listing the blocks named (nil for none).
func (s *Script) Accept(name string, st chain.ProcessStatus, disconnected, connected []string) {
	s.t.Helper()
	s.add(Step{Kind: Accept, Name: name, Status: st, Disconnected: disconnected, Connected: connected})
}

// Connect adds steps delivering the named blocks, each extending the tip.
func (s *Script) Connect(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.Accept(n, chain.StatusConnected, nil, []string{n})
	}
}

// Side adds steps delivering the named blocks, each stored on a branch
// with no more work than the tip.
func (s *Script) Side(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.Accept(n, chain.StatusSideChain, nil, nil)
	}
}

// Reorg adds a step delivering the named block, which makes its branch
// the main chain: disconnected blocks, old tip first, then connected ones.
func (s *Script) Reorg(name string, disconnected, connected []string) {
	s.t.Helper()
	s.Accept(name, chain.StatusConnected, disconnected, connected)
}

// Reject adds a step delivering the named block, refused for breaking the
// rule code.
func (s *Script) Reject(name string, code consensus.ErrorCode) {
	s.t.Helper()
	if code == 0 {
		s.t.Fatalf("chaintest: script %s: Reject %s needs a code (RejectKnown for a known-invalid block)", s.Name, name)
	}
	s.add(Step{Kind: Reject, Name: name, Code: code})
}

// RejectKnown adds a step delivering the named block again, refused as
// known invalid.
func (s *Script) RejectKnown(name string) {
	s.t.Helper()
	s.add(Step{Kind: Reject, Name: name})
}

// Orphan adds steps delivering the named blocks, each held as an orphan.
func (s *Script) Orphan(names ...string) {
	s.t.Helper()
	for _, n := range names {
		s.add(Step{Kind: Orphan, Name: n})
	}
}

// ExpectTip adds a step checking that the named block is the tip.
func (s *Script) ExpectTip(name string) {
	s.t.Helper()
	s.add(Step{Kind: ExpectTip, Name: name})
}

// Tip returns the name of the tip the script expects in the end: that of
// its last ExpectTip step ("genesis" if it has none).
func (s *Script) Tip() string {
	for i := len(s.Steps) - 1; i >= 0; i-- {
		if s.Steps[i].Kind == ExpectTip {
			return s.Steps[i].Name
		}
	}
	return "genesis"
}

// Play delivers to c, with ProcessBlock, every step added since the last
// Play (all of them the first time), checking each (Deliver). Steps and
// checks of a test's own may thus alternate.
func (s *Script) Play(c *chain.Chain) {
	s.t.Helper()
	s.PlayWith(c, c.ProcessBlock)
}

// PlayWith is Play with another way of processing a block, such as a
// node's SubmitBlock; c is the chain behind it.
func (s *Script) PlayWith(c *chain.Chain, process func(*types.Block) (chain.Result, error)) {
	s.t.Helper()
	for s.played < len(s.Steps) {
		st := s.Steps[s.played]
		s.played++
		s.Deliver(c, st, process)
	}
}

// Deliver carries out one step on c and fails the test unless it goes as
// the step says: the step's block is processed with process and the
// Result or error compared with the step; an ExpectTip step checks the
// tip and its state (CheckTip).
func (s *Script) Deliver(c *chain.Chain, st Step, process func(*types.Block) (chain.Result, error)) {
	s.t.Helper()
	if st.Kind == ExpectTip {
		s.CheckTip(c, st.Name)
		return
	}
	res, err := process(st.Block)
	if err := s.Check(st, res, err); err != nil {
		s.t.Fatalf("chaintest: script %s: %v", s.Name, err)
	}
}

// Check reports how the outcome of processing the block of step st (not
// an ExpectTip step) differs from what st expects; nil if it does not.
func (s *Script) Check(st Step, res chain.Result, err error) error {
	switch st.Kind {
	case Accept:
		if err != nil {
			return fmt.Errorf("%v: %w", st, err)
		}
		if res.Status != st.Status {
			return fmt.Errorf("%v: status %v", st, res.Status)
		}
		if got := s.BlockNames(res.Disconnected); !sameNames(got, st.Disconnected) {
			return fmt.Errorf("%v: disconnected %v", st, got)
		}
		if got := s.BlockNames(res.Connected); !sameNames(got, st.Connected) {
			return fmt.Errorf("%v: connected %v", st, got)
		}
	case Reject:
		known := errors.Is(err, chain.ErrKnownInvalid)
		switch {
		case err == nil:
			return fmt.Errorf("%v: accepted with status %v", st, res.Status)
		case st.Code == 0 && !known:
			return fmt.Errorf("%v: %w", st, err)
		case st.Code != 0 && (known || consensus.CodeOf(err) != st.Code):
			return fmt.Errorf("%v: %w", st, err)
		}
	case Orphan:
		if err != nil || res.Status != chain.StatusOrphan {
			return fmt.Errorf("%v: status %v, %v", st, res.Status, err)
		}
	default:
		return fmt.Errorf("%v: not a step that delivers a block", st)
	}
	return nil
}

func sameNames(got, want []string) bool {
	return len(got) == 0 && len(want) == 0 || slices.Equal(got, want)
}

// CheckTx fails the test unless tx is at the named main-chain block in c's
// tx index, or, with block "", on no main-chain block.
func (b *Builder) CheckTx(c *chain.Chain, tx *types.Tx, block string) {
	b.t.Helper()
	loc, err := c.TxLocation(tx.ID())
	if block == "" {
		if !errors.Is(err, chain.ErrNotFound) {
			b.t.Fatalf("chaintest: tx %s: at %s (%v), want it on no main-chain block", tx.ID(), b.BlockName(loc.Block), err)
		}
		return
	}
	if err != nil {
		b.t.Fatalf("chaintest: tx %s: %v, want it in %s", tx.ID(), err, block)
	}
	blk := b.Get(block)
	if loc.Block != blk.Hash() || loc.Height != blk.Header.Height || blk.Txs[loc.Index].ID() != tx.ID() {
		b.t.Fatalf("chaintest: tx %s: at %s height %d index %d, want it in %s", tx.ID(), b.BlockName(loc.Block), loc.Height, loc.Index, block)
	}
}

// CheckMainChain fails the test unless c's main chain above genesis is
// exactly the named blocks, each marked as on the main chain.
func (b *Builder) CheckMainChain(c *chain.Chain, names ...string) {
	b.t.Helper()
	if tip := c.Tip(); tip.Height != uint64(len(names)) {
		b.t.Fatalf("chaintest: tip at height %d, want %d", tip.Height, len(names))
	}
	for i, n := range names {
		info, err := c.HeaderByHeight(uint64(i + 1))
		if err != nil || info.Hash != b.Hash(n) || !info.MainChain {
			b.t.Fatalf("chaintest: height %d: %s (%v), want %s", i+1, b.BlockName(info.Hash), err, n)
		}
	}
}
