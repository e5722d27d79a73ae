// Package chaintest builds chains of named blocks for tests, so that fork
// and reorg tests read like their diagrams:
//
//	genesis -> a1 -> a2 -> a3          (main)
//	             \-> b2 -> b3 -> b4    (heavier branch: reorg to b4)
//
//	g := chaintest.New(t)
//	g.Chain("a", "genesis", 3)
//	g.Block("b2", "a1", nil)
//	...
//
// Every block is valid unless its BlockGen callback makes it otherwise:
// height, parent, time (one target spacing after the parent), bits (ASERT),
// txRoot, stateRoot and proof of work are filled in. The state after each
// block is computed by an independent model (a plain map), so tests can
// compare the chain's balances and state root with it.
//
// A Builder is not safe for concurrent use.
package chaintest

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// Wallets are the names of the keys funded at genesis.
var Wallets = []string{"alice", "bob", "carol", "dave"}

// GenesisFunds is each wallet's allocation, in base units.
const GenesisFunds = 1_000_000 * 100_000_000

// Params returns easy test parameters: powLimit about 2^255 (half of all
// hashes meet it), 1 s spacing, subsidy 50 CRN halving every 100 blocks, and
// GenesisFunds for each of Wallets.
func Params() *consensus.Params {
	powLimit := consensus.CompactToBig(0x207fffff)
	p := &consensus.Params{
		Network:         "cairn-test",
		GenesisTime:     1_700_000_000_000,
		GenesisBits:     0x207fffff,
		PowLimit:        powLimit,
		TargetSpacing:   1000,
		HalfLife:        3600_000,
		InitialSubsidy:  50 * 100_000_000,
		HalvingInterval: 100,
		MaxBlockSize:    1 << 20,
		MaxFutureDrift:  15_000,
	}
	for _, w := range Wallets {
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: Key(w).Address(), Amount: GenesisFunds})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// Signer is a test key.
type Signer struct {
	priv ed25519.PrivateKey
	Pub  types.PubKey
}

var keys sync.Map // name -> Signer

// Key returns the deterministic key of a name. Safe for concurrent use.
func Key(name string) Signer {
	if s, ok := keys.Load(name); ok {
		return s.(Signer)
	}
	seed := types.Sum([]byte("chaintest/" + name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	var s Signer
	s.priv = priv
	copy(s.Pub[:], priv.Public().(ed25519.PublicKey))
	keys.Store(name, s)
	return s
}

// Address returns the signer's address.
func (s Signer) Address() types.Address { return s.Pub.Address() }

// Sign sets tx.From and signs tx for the network of genesis.
func (s Signer) Sign(tx *types.Tx, genesis types.Hash) {
	tx.From = s.Pub
	d := tx.SigningDigest(genesis)
	copy(tx.Sig[:], ed25519.Sign(s.priv, d[:]))
}

// State is the model state: address -> account.
type State map[types.Address]chain.Account

// Root computes the state commitment of s from scratch.
func (s State) Root() types.Hash {
	var lt consensus.LtHash
	for a, acc := range s {
		lt.AddAccount(a, acc.Balance, acc.Nonce)
	}
	return lt.Sum()
}

func (s State) clone() State {
	c := make(State, len(s))
	for a, acc := range s {
		c[a] = acc
	}
	return c
}

// apply is the model of applying a block (docs/PROTOCOL.md §11 State and
// applying a block), written independently of package chain. It returns an error if the block is invalid on s.
func (s State) apply(p *consensus.Params, blk *types.Block) error {
	var fees uint64
	for i, tx := range blk.Txs {
		from := tx.From.Address()
		acc := s[from]
		cost := new(big.Int).Add(new(big.Int).SetUint64(tx.Amount), new(big.Int).SetUint64(tx.Fee))
		if tx.Nonce != acc.Nonce {
			return fmt.Errorf("tx %d: wrong nonce", i)
		}
		if !cost.IsUint64() || cost.Uint64() > acc.Balance {
			return fmt.Errorf("tx %d: insufficient balance", i)
		}
		acc.Balance -= cost.Uint64()
		acc.Nonce++
		s.set(from, acc)
		to := s[tx.To]
		if to.Balance+tx.Amount < to.Balance {
			return fmt.Errorf("tx %d: balance overflow", i)
		}
		to.Balance += tx.Amount
		s.set(tx.To, to)
		fees += tx.Fee
	}
	m := s[blk.Header.Miner]
	m.Balance += p.Subsidy(blk.Header.Height) + fees
	s.set(blk.Header.Miner, m)
	return nil
}

func (s State) set(a types.Address, acc chain.Account) {
	if acc.IsZero() {
		delete(s, a)
	} else {
		s[a] = acc
	}
}

// Builder builds named blocks. See the package comment.
type Builder struct {
	t      testing.TB
	Params *consensus.Params
	blocks map[string]*types.Block
	names  map[types.Hash]string
	states map[string]State // nil for a block the model finds invalid
	miner  types.Address
}

// New returns a builder on Params() whose only block is "genesis".
func New(t testing.TB) *Builder { return NewWithParams(t, Params()) }

// NewWithParams returns a builder on the given (validated) parameters.
func NewWithParams(t testing.TB, p *consensus.Params) *Builder {
	b := &Builder{t: t, Params: p, blocks: map[string]*types.Block{}, names: map[types.Hash]string{},
		states: map[string]State{}, miner: Key("miner").Address()}
	b.blocks["genesis"] = p.Genesis()
	b.names[p.GenesisHash()] = "genesis"
	st := State{}
	for _, a := range p.Alloc {
		st[a.Address] = chain.Account{Balance: a.Amount}
	}
	b.states["genesis"] = st
	return b
}

// Get returns the named block.
func (b *Builder) Get(name string) *types.Block {
	b.t.Helper()
	blk, ok := b.blocks[name]
	if !ok {
		b.t.Fatalf("chaintest: no block named %q", name)
	}
	return blk
}

// Hash returns the hash of the named block.
func (b *Builder) Hash(name string) types.Hash { return b.Get(name).Hash() }

// BlockName returns the name of the block with hash h, or, for a block b did
// not build, the hash's first 12 hex digits.
func (b *Builder) BlockName(h types.Hash) string {
	if n, ok := b.names[h]; ok {
		return n
	}
	return h.String()[:12]
}

// BlockNames returns the names of blks (see BlockName).
func (b *Builder) BlockNames(blks []*types.Block) []string {
	out := make([]string, len(blks))
	for i, blk := range blks {
		out[i] = b.BlockName(blk.Hash())
	}
	return out
}

// State returns the model state after the named block (nil if the model
// found the block invalid).
func (b *Builder) State(name string) State { b.Get(name); return b.states[name] }

// BlockGen is handed to a block's callback: the header is filled in except
// txRoot, stateRoot and nonce, which are computed after the callback unless
// the Keep flags say otherwise.
type BlockGen struct {
	b      *Builder
	Header types.Header
	Txs    []*types.Tx
	// KeepTxRoot / KeepStateRoot leave Header.TxRoot / StateRoot as the
	// callback set them. BadPoW picks a nonce whose hash misses the target.
	KeepTxRoot    bool
	KeepStateRoot bool
	BadPoW        bool
	// nonces counts the txs of each sender added in this block.
	state State
	sent  map[types.Address]uint64
}

// Pay appends a tx from the named wallet with the next nonce (from the
// parent's model state and earlier txs of this block), signed for this
// network, and returns it.
func (g *BlockGen) Pay(from string, to types.Address, amount, fee uint64) *types.Tx {
	k := Key(from)
	nonce := g.state[k.Address()].Nonce + g.sent[k.Address()]
	tx := g.b.Tx(from, to, amount, fee, nonce)
	g.sent[k.Address()]++
	g.Txs = append(g.Txs, tx)
	return tx
}

// Tx returns a tx from the named wallet, signed for this network.
func (b *Builder) Tx(from string, to types.Address, amount, fee, nonce uint64) *types.Tx {
	tx := &types.Tx{Version: types.TxVersion, To: to, Amount: amount, Fee: fee, Nonce: nonce}
	Key(from).Sign(tx, b.Params.GenesisHash())
	return tx
}

// Block builds the child of parent named name; gen, if not nil, may add txs
// or change the header. The model state after it is computed; a block the
// model finds invalid gets a zero stateRoot unless KeepStateRoot is set.
func (b *Builder) Block(name, parent string, gen func(g *BlockGen)) *types.Block {
	b.t.Helper()
	if _, dup := b.blocks[name]; dup {
		b.t.Fatalf("chaintest: block %q already built", name)
	}
	pb := b.Get(parent)
	ph := pb.Header
	g := &BlockGen{b: b, state: b.states[parent], sent: map[types.Address]uint64{}}
	g.Header = types.Header{
		Version: types.HeaderVersion,
		Height:  ph.Height + 1,
		Parent:  pb.Hash(),
		Miner:   b.miner,
		Time:    ph.Time + b.Params.TargetSpacing,
		Bits:    b.Params.NextBits(ph.Height, ph.Time),
	}
	if gen != nil {
		gen(g)
	}
	blk := &types.Block{Header: g.Header, Txs: g.Txs}
	if !g.KeepTxRoot {
		blk.Header.TxRoot = types.MerkleRoot(blk.TxIDs())
	}
	var st State
	if ps := b.states[parent]; ps != nil {
		st = ps.clone()
		if err := st.apply(b.Params, blk); err != nil {
			st = nil
		}
	}
	if !g.KeepStateRoot {
		blk.Header.StateRoot = types.Hash{}
		if st != nil {
			blk.Header.StateRoot = st.Root()
		}
	}
	b.mine(&blk.Header, g.BadPoW)
	b.blocks[name] = blk
	b.names[blk.Hash()] = name
	b.states[name] = st
	return blk
}

// Chain builds n blocks with no txs on top of parent, named by prefix and
// height, so that names read as heights: Chain("a", "genesis", 3) gives
// a1, a2, a3; Chain("b", "a1", 2) gives b2, b3.
func (b *Builder) Chain(prefix, parent string, n int) []*types.Block {
	b.t.Helper()
	return b.Branch(prefix, parent, n, nil)
}

// Branch is Chain with a callback: gen, if not nil, is called for each
// block with its height, as Block's callback.
func (b *Builder) Branch(prefix, parent string, n int, gen func(height uint64, g *BlockGen)) []*types.Block {
	b.t.Helper()
	h := b.Get(parent).Header.Height
	out := make([]*types.Block, 0, n)
	for i := 0; i < n; i++ {
		h++
		name := fmt.Sprintf("%s%d", prefix, h)
		var f func(g *BlockGen)
		if gen != nil {
			height := h
			f = func(g *BlockGen) { gen(height, g) }
		}
		out = append(out, b.Block(name, parent, f))
		parent = name
	}
	return out
}

// Seq returns the names prefix+from … prefix+to, counting down if from >
// to: Seq("a", 3, 1) is a3, a2, a1.
func Seq(prefix string, from, to int) []string {
	step := 1
	if from > to {
		step = -1
	}
	var out []string
	for i := from; ; i += step {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
		if i == to {
			return out
		}
	}
}

// mine finds a nonce meeting (or, with bad, missing) the header's target.
func (b *Builder) mine(h *types.Header, bad bool) {
	for h.Nonce = 0; ; h.Nonce++ {
		err := consensus.CheckProofOfWork(h.Hash(), h.Bits, b.Params.PowLimit)
		if (err == nil) != bad {
			return
		}
	}
}

// Open returns a chain on an in-memory database for b's parameters. At the
// end of the test it checks the chain with Verify and closes it.
func (b *Builder) Open(cfg chain.Config) *chain.Chain {
	b.t.Helper()
	cfg.Params = b.Params
	c, err := chain.OpenMemory(cfg)
	if err != nil {
		b.t.Fatalf("chaintest: open chain: %v", err)
	}
	b.t.Cleanup(func() {
		if err := c.Verify(); err != nil {
			b.t.Errorf("chaintest: chain inconsistent at end of test: %v", err)
		}
		c.Close()
	})
	return c
}

// Process feeds the named blocks to c in order and fails the test on any
// error.
func (b *Builder) Process(c *chain.Chain, names ...string) {
	b.t.Helper()
	for _, name := range names {
		if _, err := c.ProcessBlock(b.Get(name)); err != nil {
			b.t.Fatalf("chaintest: process %s: %v", name, err)
		}
	}
}

// CheckTip fails the test unless c's tip is the named block, its state
// equals the model's account by account, and Verify passes.
func (b *Builder) CheckTip(c *chain.Chain, name string) {
	b.t.Helper()
	tip := c.Tip()
	if want := b.Hash(name); tip.Hash != want {
		b.t.Fatalf("chaintest: tip is %s at height %d, want %s (%s)", tip.Hash, tip.Height, name, want)
	}
	st := b.State(name)
	if st == nil {
		b.t.Fatalf("chaintest: tip %s is invalid in the model", name)
	}
	if st.Root() != tip.Header.StateRoot {
		b.t.Fatalf("chaintest: model state root %s, tip has %s", st.Root(), tip.Header.StateRoot)
	}
	addrs := []types.Address{b.miner}
	for _, w := range Wallets {
		addrs = append(addrs, Key(w).Address())
	}
	for a := range st {
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		got, err := c.Account(a)
		if err != nil {
			b.t.Fatalf("chaintest: account %s: %v", a, err)
		}
		if got != st[a] {
			b.t.Fatalf("chaintest: account %s is %+v, model says %+v", a, got, st[a])
		}
	}
	if err := c.Verify(); err != nil {
		b.t.Fatalf("chaintest: %v", err)
	}
}
