package p2p

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
)

// watchedBackend is a syncBackend that records what the importer did:
// every import (with the peer that served the block), and the
// preverification (Preverifier) — how many blocks it verified at once, at
// most, and which passed it and which did not.
type watchedBackend struct {
	*syncBackend

	preverifying, preverifyHigh atomic.Int32
	preverified                 atomic.Int64

	mu             sync.Mutex
	imports        []syncImport
	preverifyFails []types.Hash
	preverifyOK    []types.Hash
}

// syncImport is one ProcessBlock call of a syncing node's importer.
type syncImport struct {
	hash      types.Hash
	height    uint64
	from      string     // the peer that served the block (Origin.Peer)
	tipBefore types.Hash // the tip when the import began
	connected []types.Hash
	err       error
}

func (b *watchedBackend) ProcessBlock(blk *types.Block, o chain.Origin) (chain.Result, error) {
	im := syncImport{hash: blk.Hash(), height: blk.Header.Height, from: o.Peer, tipBefore: b.Chain.Tip().Hash}
	res, err := b.syncBackend.ProcessBlock(blk, o)
	for _, c := range res.Connected {
		im.connected = append(im.connected, c.Hash())
	}
	im.err = err
	b.mu.Lock()
	b.imports = append(b.imports, im)
	b.mu.Unlock()
	return res, err
}

func (b *watchedBackend) PreverifySignatures(blk *types.Block) bool {
	n := b.preverifying.Add(1)
	defer b.preverifying.Add(-1)
	for high := b.preverifyHigh.Load(); n > high && !b.preverifyHigh.CompareAndSwap(high, n); high = b.preverifyHigh.Load() {
	}
	b.preverified.Add(1)
	ok := b.syncBackend.PreverifySignatures(blk)
	b.mu.Lock()
	if ok {
		b.preverifyOK = append(b.preverifyOK, blk.Hash())
	} else {
		b.preverifyFails = append(b.preverifyFails, blk.Hash())
	}
	b.mu.Unlock()
	return ok
}

var _ Preverifier = (*watchedBackend)(nil)

// trustedTx is a chain.SigChecker that takes the signature of one tx for
// verified, whatever it is.
type trustedTx types.Hash

func (id trustedTx) Verified(h types.Hash) bool { return h == types.Hash(id) }

// TestSyncBadSignature (issue 17): a bad peer serves a branch heavier than
// the honest chain whose block 250 holds a tx with a bad signature — a
// valid header, proof of work and txRoot over the bad tx. The syncing
// node, whose signature cache has never seen any of the txs, imports
// blocks 1..249 and refuses that block for its signature
// (ErrBadSignature) without connecting or storing it; the bad peer is
// penalized once and dropped from sync, and the node finishes at the
// honest tip 400, served by the honest peer. Throughout, the importer
// preverified at most preverifyLookahead blocks at once, and it did
// preverify.
func TestSyncBadSignature(t *testing.T) {
	const (
		honestTip = 400
		badHeight = 250
		badTip    = 410 // more work than the honest chain
	)
	g := chaintest.New(t)
	addr := func(name string) types.Address { return chaintest.Key(name).Address() }
	// A few signed payments in every block, so that every import verifies
	// signatures (or finds them preverified).
	g.Branch("a", "genesis", honestTip, func(h uint64, bg *chaintest.BlockGen) {
		bg.Pay("alice", addr("bob"), h, 1000)
		bg.Pay("carol", addr("dave"), 2*h, 1500)
		bg.Pay("bob", addr("carol"), 1, 1000)
	})
	// The bad branch leaves the honest chain after block 249. Its block
	// 250 is valid but for one signature: the builder's model does not
	// check signatures, so that block's txRoot commits to the bad tx, its
	// stateRoot is what its txs would give, and the blocks above it are
	// valid on it.
	var badTx *types.Tx
	g.Branch("b", fmt.Sprintf("a%d", badHeight-1), badTip-badHeight+1, func(h uint64, bg *chaintest.BlockGen) {
		bg.Pay("alice", addr("dave"), h+7, 1000)
		bg.Pay("dave", addr("bob"), 3, 1200)
		if h == badHeight {
			badTx = bg.Pay("carol", addr("alice"), 5, 1000)
			badTx.Sig[0] ^= 1
		}
	})
	badHash := g.Hash(fmt.Sprintf("b%d", badHeight))
	badBranch := map[types.Hash]bool{}
	for _, name := range chaintest.Seq("b", badHeight+1, badTip) {
		badBranch[g.Hash(name)] = true
	}
	if hb, ha := g.Get(fmt.Sprintf("b%d", badHeight)).Header, g.Get(fmt.Sprintf("a%d", badHeight)).Header; hb.TxRoot == ha.TxRoot || hb.Parent != ha.Parent {
		t.Fatal("the bad block is not a sibling of the honest one with other txs")
	}

	mn := mocknet.New()
	defer mn.Close()
	honest := startSyncNode(t, mn, "honest", newSyncBackend(t, syncSourceChain(t, g, honestTip)), syncOpts{})
	// The bad peer's chain takes the bad signature for verified, so that
	// it stores and serves the bad branch as its main chain.
	bc := g.Open(chain.Config{Sigs: trustedTx(badTx.ID())})
	g.Process(bc, chaintest.Seq("a", 1, badHeight-1)...)
	g.Process(bc, chaintest.Seq("b", badHeight, badTip)...)
	bad := startSyncNode(t, mn, "bad", newSyncBackend(t, bc), syncOpts{})

	sigs := chain.NewSigCache(1 << 16)
	dc := g.Open(chain.Config{Sigs: sigs})
	db := newSyncBackend(t, dc)
	w := &watchedBackend{syncBackend: db}
	dst := startSyncNode(t, mn, "dst", db, syncOpts{backend: w})
	// Blocks of 3 txs: preverify them all the same (set before any peer
	// is connected, so before any fetcher reads it).
	dst.net.sync.preverifyMinTxs = 1

	// The bad peer first: once the node has its headers, the bad branch is
	// the best header chain, and the honest peer, which claims less work,
	// is not asked for headers until that branch is found invalid. It
	// serves blocks of 1..249 too.
	syncConnect(t, mn, dst, bad)
	eventually(t, dst, "the bad branch as the best header chain", func() bool {
		return dc.BestHeader().Hash == g.Hash(fmt.Sprintf("b%d", badTip))
	})
	syncConnect(t, mn, dst, honest)
	waitSyncTip(t, dst, g.Hash(fmt.Sprintf("a%d", honestTip)))
	g.CheckTip(dc, fmt.Sprintf("a%d", honestTip))

	badID, honestID := string(bad.host.ID()), string(honest.host.ID())
	w.mu.Lock()
	imports := slices.Clone(w.imports)
	var fails, passedBehind []string
	for _, h := range w.preverifyFails {
		fails = append(fails, g.BlockName(h))
	}
	for _, h := range w.preverifyOK {
		if name := g.BlockName(h); strings.HasPrefix(name, "b") {
			passedBehind = append(passedBehind, name)
		}
	}
	w.mu.Unlock()

	// The imports: the bad block once, after 1..249 and refused for its
	// signature; only its descendants besides, refused as such; the main
	// chain connected block by block, 1..400, never a block of the bad
	// branch.
	var connected []string
	badImports := 0
	for _, im := range imports {
		name := g.BlockName(im.hash)
		for _, h := range im.connected {
			connected = append(connected, g.BlockName(h))
		}
		switch {
		case im.hash == badHash:
			badImports++
			if code := consensus.CodeOf(im.err); code != consensus.ErrBadSignature || !errors.Is(im.err, &consensus.RuleError{Code: consensus.ErrBadSignature}) {
				t.Errorf("import of the bad block %s: %v, want ErrBadSignature", name, im.err)
			}
			if im.from != badID {
				t.Errorf("the bad block came from %s, not the bad peer", im.from)
			}
			if want := g.Hash(fmt.Sprintf("a%d", badHeight-1)); im.tipBefore != want {
				t.Errorf("the bad block was imported on tip %s, want a%d", g.BlockName(im.tipBefore), badHeight-1)
			}
		case badBranch[im.hash]:
			if code := consensus.CodeOf(im.err); code != consensus.ErrInvalidAncestor && !errors.Is(im.err, chain.ErrKnownInvalid) {
				t.Errorf("import of %s above the bad block: %v, want refused as its descendant", name, im.err)
			}
		case im.err != nil:
			t.Errorf("import of %s from %s: %v", name, im.from, im.err)
		case im.height >= badHeight && im.from != honestID:
			t.Errorf("%s came from %s, not the honest peer", name, im.from)
		}
	}
	if badImports != 1 {
		t.Errorf("the bad block was imported %d times, want once", badImports)
	}
	if want := chaintest.Seq("a", 1, honestTip); !slices.Equal(connected, want) {
		t.Errorf("blocks connected: %v,\nwant a1..a%d in order", connected, honestTip)
	}

	// The chain holds the bad block as invalid, not as a block: never
	// connected, not stored, its branch an invalid tip, refused again
	// without work; and the bad signature never entered the cache.
	hi, err := dc.Header(badHash)
	if err != nil || !hi.Invalid || hi.Valid || hi.MainChain || hi.HasData {
		t.Errorf("the bad block's index entry: %+v, %v; want invalid, never valid, not on the main chain, no data", hi, err)
	}
	if _, err := dc.Block(badHash); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Block(bad block) = %v, want ErrNotFound", err)
	}
	if !slices.ContainsFunc(dc.Tips(), func(bt chain.BranchTip) bool {
		return bt.Hash == g.Hash(fmt.Sprintf("b%d", badTip)) && bt.Status == chain.TipInvalid
	}) {
		t.Errorf("the bad branch is not an invalid tip: %+v", dc.Tips())
	}
	if _, err := dc.ProcessBlock(g.Get(fmt.Sprintf("b%d", badHeight))); !errors.Is(err, chain.ErrKnownInvalid) {
		t.Errorf("the bad block offered again: %v, want ErrKnownInvalid", err)
	}
	if sigs.Verified(badTx.ID()) {
		t.Error("the bad signature is in the signature cache")
	}

	// The bad peer: penalized once, and out of sync; the honest one not.
	if p := dst.net.scores.appPenalty(bad.host.ID()); p < PenaltyBadSyncAnswer*0.9 || p > PenaltyBadSyncAnswer {
		t.Errorf("bad peer's penalty is %.1f, want about %v (once)", p, PenaltyBadSyncAnswer)
	}
	if p := dst.net.scores.appPenalty(honest.host.ID()); p != 0 {
		t.Errorf("honest peer's penalty is %.1f", p)
	}
	s := dst.net.sync
	s.mu.Lock()
	sp := s.peers[bad.host.ID()]
	dropped := sp == nil || sp.failed
	s.mu.Unlock()
	if !dropped {
		t.Error("the bad peer is still a sync peer")
	}

	// The pipeline ran, and its lookahead held.
	high, seen := s.preverifyHigh.Load(), w.preverifyHigh.Load()
	t.Logf("%d imports, %d preverified (%d failed, %d verified behind the bad block: %v); most preverified at once: %d (importer), %d (backend)",
		len(imports), w.preverified.Load(), len(fails), len(passedBehind), passedBehind, high, seen)
	if high < 1 || high > preverifyLookahead || seen < 1 || seen > preverifyLookahead {
		t.Errorf("most blocks preverified at once: %d by the importer's count, %d by the backend's; want 1..%d",
			high, seen, preverifyLookahead)
	}
	// Only blocks of the bad branch fail preverification (the bad block),
	// and the pipeline pauses once an import fails: what it verified
	// behind the bad block is what its lookahead held when that block was
	// refused.
	for _, name := range fails {
		if !strings.HasPrefix(name, "b") {
			t.Errorf("block %s failed preverification", name)
		}
	}
	if len(passedBehind) > preverifyLookahead {
		t.Errorf("blocks behind the bad one verified by the pipeline: %v; want at most %d", passedBehind, preverifyLookahead)
	}
}
