package txpool

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// DefaultMinAmount is the smallest transfer the pool admits by default, in
// base units: 1, so that only transfers of nothing are refused. A transfer
// of 0 moves no value and only buys block space and a nonce with the fee;
// in an account model there are no outputs to bloat a UTXO set, so a
// larger "dust" threshold would refuse small payments without protecting
// anything the minimum relay fee does not. `cairn send` applies the same
// rule. (To cancel a pooled tx, replace it with a transfer of 1 to
// yourself.)
const DefaultMinAmount = 1

// DefaultMinRelayFee is the smallest fee the pool admits by default, in
// base units: 1000 (0.00001 CRN). It is also the least a replacement must
// add to the fee of the tx it replaces (ReplacementFee).
const DefaultMinRelayFee = 1000

// State is what the pool reads of the chain: accounts at the tip. It is
// satisfied by *chain.Chain; tests may provide their own.
type State interface {
	Account(addr types.Address) (chain.Account, error)
}

// SigRecorder learns of txs whose signature verified, so that block import
// can skip them (chain.SigCache).
type SigRecorder interface {
	Add(id types.Hash)
}

// Config configures a Pool. Zero values take the documented defaults.
type Config struct {
	// Genesis is the hash of this network's genesis block. Required.
	Genesis types.Hash
	// OtherNetworks are genesis hashes of other networks the node knows;
	// a tx signed for one of them is refused as wrong-network rather than
	// bad-signature.
	OtherNetworks []types.Hash
	// MinRelayFee is the smallest fee admitted, in base units; default
	// DefaultMinRelayFee. It is also the least a replacement must add to
	// the fee of the tx it replaces.
	MinRelayFee uint64
	// MinAmount is the smallest amount a transfer may move, in base
	// units; default DefaultMinAmount.
	MinAmount uint64
	// MaxNonceGap bounds how far beyond the account's nonce a queued tx may
	// be; default 64.
	MaxNonceGap uint64
	// MaxPerSender is the most txs, pending and queued, held for one
	// sender; default 64.
	MaxPerSender int
	// MaxQueuedPerSender and MaxQueued bound the queued txs (those whose
	// nonce is beyond the sender's next one): per sender, default 16, and
	// in the whole pool, default 4,096. They count within MaxTxs and
	// MaxBytes too.
	MaxQueuedPerSender int
	MaxQueued          int
	// MaxTxs and MaxBytes are the global caps on all pooled txs, pending
	// and queued; defaults 65,536 txs and 32 MiB of encoded txs.
	MaxTxs   int
	MaxBytes int
	// QueuedTTL is how long a tx is kept queued (not yet executable);
	// default 10 minutes.
	QueuedTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sigs, if set, is told of every tx whose signature verified.
	Sigs SigRecorder
}

func (c Config) withDefaults() Config {
	if c.MinRelayFee == 0 {
		c.MinRelayFee = DefaultMinRelayFee
	}
	if c.MinAmount == 0 {
		c.MinAmount = DefaultMinAmount
	}
	if c.MaxNonceGap == 0 {
		c.MaxNonceGap = 64
	}
	if c.MaxPerSender == 0 {
		c.MaxPerSender = 64
	}
	if c.MaxQueuedPerSender == 0 {
		c.MaxQueuedPerSender = 16
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = 4096
	}
	if c.MaxTxs == 0 {
		c.MaxTxs = 1 << 16
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 32 << 20
	}
	if c.QueuedTTL == 0 {
		c.QueuedTTL = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Genesis.IsZero():
		return errors.New("txpool: Config.Genesis is required")
	case c.MaxPerSender < 1 || c.MaxTxs < 1:
		return errors.New("txpool: MaxPerSender and MaxTxs must be positive")
	case c.MaxQueuedPerSender < 1 || c.MaxQueued < 1:
		return errors.New("txpool: MaxQueuedPerSender and MaxQueued must be positive")
	case c.MaxBytes < types.MaxTxSize:
		return fmt.Errorf("txpool: MaxBytes must hold at least one tx (%d bytes)", types.MaxTxSize)
	case c.QueuedTTL < 0:
		return errors.New("txpool: QueuedTTL must not be negative")
	}
	return nil
}

// txState is where a pooled tx stands.
type txState uint8

const (
	stateNew     txState = iota // being admitted, or removed: in no index
	statePending                // executable: nonces consecutive from the account's
	stateQueued                 // waiting for a nonce gap to fill
)

// entry is one pooled tx.
type entry struct {
	tx     *types.Tx
	id     types.Hash
	sender types.Address
	size   int
	cost   uint64 // amount + fee
	state  txState
	// at orders the entry in its time index. Pending: when it was last
	// announced, that is admitted (the caller relays it) or returned by
	// Stale; the zero time if it was promoted from queued, since a queued
	// tx is not relayed. Queued: when it became queued, which is when its
	// lifetime started.
	at time.Time
	ti int // index in Pool.stale (pending) or Pool.queued (queued)
}

// senderTxs are one sender's pooled txs, sorted by nonce, and the account
// as last read from the chain.
type senderTxs struct {
	addr     types.Address
	acct     chain.Account
	txs      []*entry
	npending int // txs[:npending] are pending, the rest queued
	ei       int // index in Pool.evict, -1 if not there
}

// pendingLen is how many txs, from the first, have consecutive nonces
// starting at the account's nonce: those can go in the next block.
func (s *senderTxs) pendingLen() int {
	n := 0
	for n < len(s.txs) && s.txs[n].tx.Nonce == s.acct.Nonce+uint64(n) {
		n++
	}
	return n
}

func (s *senderTxs) nqueued() int { return len(s.txs) - s.npending }

func (s *senderTxs) find(nonce uint64) (int, bool) {
	return slices.BinarySearchFunc(s.txs, nonce, func(e *entry, n uint64) int { return cmp.Compare(e.tx.Nonce, n) })
}

// Pool is the transaction pool. See the package comment.
type Pool struct {
	cfg   Config
	state State
	// verify checks a signature: consensus.VerifySignature, replaced only
	// by this package's benchmarks that time the pool's own work.
	verify func(types.PubKey, types.Hash, types.Signature) bool

	mu       sync.RWMutex // guards everything below
	byID     map[types.Hash]*entry
	senders  map[types.Address]*senderTxs
	bytes    int
	npending int
	nqueued  int
	// evict holds every sender, keyed by its last tx: the candidates for
	// eviction (evictHeap).
	evict evictHeap
	// stale holds the pending txs, queued the queued ones, each by at.
	stale, queued timeHeap
	// epoch counts Updates. Add reads the sender's account before taking
	// mu; if an Update ran in between and the pool does not track the
	// sender, that read may predate the block the Update applied, and Add
	// reads it again.
	epoch uint64
}

// New returns an empty pool reading accounts from state.
func New(cfg Config, state State) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Pool{
		cfg:     cfg.withDefaults(),
		state:   state,
		verify:  consensus.VerifySignature,
		byID:    make(map[types.Hash]*entry),
		senders: make(map[types.Address]*senderTxs),
	}, nil
}

// AddRaw decodes and admits an encoded tx. See Add.
func (p *Pool) AddRaw(b []byte) (types.Hash, error) {
	tx, err := types.DecodeTx(b)
	if err != nil {
		return types.Hash{}, reject(ReasonUndecodable, "%v", err)
	}
	return p.Add(tx)
}

// Add admits tx or returns a *RejectError naming why not (the reasons are
// listed with tx_send in docs/RPC.md; the policy is docs/PROTOCOL.md,
// Transaction pool policy), leaving the pool unchanged. It returns the tx
// id. Safe for concurrent use.
//
// An admitted tx is either pending or queued (IsPending tells which). Only
// a pending tx is to be relayed: a queued one may never become executable
// and is kept for QueuedTTL only; when the missing nonces arrive and it
// becomes pending, Stale returns it at once so that the node announces it.
func (p *Pool) Add(tx *types.Tx) (types.Hash, error) {
	id := tx.ID()
	if err := consensus.CheckTx(tx); err != nil {
		if consensus.CodeOf(err) == consensus.ErrSmallOrderKey {
			return id, reject(ReasonSmallOrderKey, "%v", err)
		}
		return id, reject(ReasonInvalid, "%v", err)
	}
	if tx.Fee < p.cfg.MinRelayFee {
		return id, reject(ReasonFeeTooLow, "fee %d below the minimum relay fee %d", tx.Fee, p.cfg.MinRelayFee)
	}
	if tx.Amount < p.cfg.MinAmount {
		return id, reject(ReasonAmountTooLow, "amount %d below the minimum transfer %d", tx.Amount, p.cfg.MinAmount)
	}
	p.mu.RLock()
	_, dup := p.byID[id]
	epoch := p.epoch
	p.mu.RUnlock()
	if dup {
		return id, reject(ReasonDuplicate, "tx %s is already in the pool", id)
	}
	if !p.verify(tx.From, tx.SigningDigest(p.cfg.Genesis), tx.Sig) {
		for _, g := range p.cfg.OtherNetworks {
			if p.verify(tx.From, tx.SigningDigest(g), tx.Sig) {
				return id, reject(ReasonWrongNetwork, "tx is signed for network %s, this is %s", g.String()[:8], p.cfg.Genesis.String()[:8])
			}
		}
		return id, reject(ReasonBadSignature, "signature does not verify for network %s", p.cfg.Genesis.String()[:8])
	}
	sender := tx.Sender()
	acct, err := p.state.Account(sender)
	if err != nil {
		return id, fmt.Errorf("txpool: read account %s: %w", sender, err)
	}
	p.mu.Lock()
	if _, tracked := p.senders[sender]; !tracked && p.epoch != epoch {
		// An Update ran since the read, which may predate its block: a tx
		// checked against it could be one the block made invalid, and no
		// later Update would look at this sender again.
		if acct, err = p.state.Account(sender); err != nil {
			p.mu.Unlock()
			return id, fmt.Errorf("txpool: read account %s: %w", sender, err)
		}
	}
	err = p.insert(tx, id, sender, acct)
	p.mu.Unlock()
	if err == nil && p.cfg.Sigs != nil {
		p.cfg.Sigs.Add(id)
	}
	return id, err
}

// insert applies the stateful admission rules and adds the tx. acct is the
// sender's account on the chain, used if the pool holds no tx of the
// sender; otherwise the rules use the account as the pool last read it
// (at the sender's first tx, or at the last Update that touched it), the
// one its pooled txs are consistent with. Only Update moves that view
// forward, so an Add whose read races with a block cannot mix two states
// of one account (and admit a tx that Update then drops as unpaid).
// p.mu must be held.
func (p *Pool) insert(tx *types.Tx, id types.Hash, sender types.Address, acct chain.Account) error {
	if _, dup := p.byID[id]; dup {
		return reject(ReasonDuplicate, "tx %s is already in the pool", id)
	}
	s := p.senders[sender]
	if s == nil {
		s = &senderTxs{addr: sender, acct: acct, ei: -1}
	}
	acct = s.acct
	if tx.Nonce < acct.Nonce {
		return reject(ReasonNonceTooLow, "nonce %d, account %s is at %d", tx.Nonce, sender, acct.Nonce)
	}
	if tx.Nonce-acct.Nonce > p.cfg.MaxNonceGap {
		return reject(ReasonNonceTooHigh, "nonce %d is more than %d beyond the account's %d", tx.Nonce, p.cfg.MaxNonceGap, acct.Nonce)
	}
	cost, _ := tx.Cost() // CheckTx refused an overflow
	e := &entry{tx: tx, id: id, sender: sender, size: tx.EncodedSize(), cost: cost, ti: -1}
	var old *entry
	if i, ok := s.find(tx.Nonce); ok {
		old = s.txs[i]
		need, ok := ReplacementFee(old.tx.Fee, p.cfg.MinRelayFee)
		if !ok {
			return reject(ReasonReplacementUnderpriced, "no fee can replace the pooled tx's %d", old.tx.Fee)
		}
		if tx.Fee < need {
			return reject(ReasonReplacementUnderpriced, "fee %d, replacing the pooled tx's %d needs %d (+10 %%, at least +%d)", tx.Fee, old.tx.Fee, need, p.cfg.MinRelayFee)
		}
	}
	// The balance must cover all of the sender's pooled txs with this one
	// (in place of the one it replaces), whatever their nonces: then every
	// tx the pool holds stays payable, and no admission silently pushes out
	// another of the same sender (geth refuses such overdrafts the same way).
	spend, ok := cost, true
	for _, o := range s.txs {
		if o != old {
			spend += o.cost
			ok = ok && spend >= o.cost
		}
	}
	if !ok || spend > acct.Balance {
		return reject(ReasonInsufficientBalance, "%s has %d, its pooled txs with this one cost more", sender, acct.Balance)
	}
	// Pending: the next nonce after the sender's pending txs, or one of
	// them replaced. Anything beyond is queued.
	queued := tx.Nonce > acct.Nonce+uint64(s.npending)
	if old == nil {
		if len(s.txs) >= p.cfg.MaxPerSender {
			return reject(ReasonSenderLimit, "%s already has %d txs in the pool", sender, len(s.txs))
		}
		if queued && s.nqueued() >= p.cfg.MaxQueuedPerSender {
			return reject(ReasonSenderLimit, "%s already has %d queued txs in the pool, and nonce %d is not the next (%d)", sender, s.nqueued(), tx.Nonce, acct.Nonce+uint64(s.npending))
		}
	}
	victims, err := p.makeRoom(e, old, queued)
	if err != nil {
		return err
	}
	for _, v := range victims {
		p.removeEntry(v)
	}
	if old != nil {
		p.swap(s, old, e)
		return nil
	}
	i, _ := s.find(tx.Nonce)
	s.txs = slices.Insert(s.txs, i, e)
	p.byID[id] = e
	p.bytes += e.size
	if s.ei < 0 {
		p.senders[sender] = s
		heap.Push(&p.evict, s)
	}
	p.reindex(s) // fixes s's place in p.evict
	return nil
}

// ReplacementFee is the least fee that replaces a pooled tx paying old:
// old plus the greater of 10 % of it (rounded up) and the minimum relay
// fee (BIP125 rules 3 and 4: the replacement pays for what it replaces
// and for its own relay). false if that overflows. `cairn tx bump` and
// `cairn tx cancel` pay it by default, with DefaultMinRelayFee.
func ReplacementFee(old, minRelayFee uint64) (uint64, bool) {
	bump := max(old/10+min(old%10, 1), minRelayFee)
	need := old + bump
	return need, need >= old
}

// swap puts e in the place of old, a tx of s with the same nonce: e takes
// old's state. A queued replacement keeps old's lifetime, so that
// replacing does not keep a queued nonce alive; a pending one counts as
// announced now, since the caller relays it. p.mu must be held.
func (p *Pool) swap(s *senderTxs, old, e *entry) {
	i, _ := s.find(old.tx.Nonce)
	s.txs[i] = e
	delete(p.byID, old.id)
	p.byID[e.id] = e
	p.bytes += e.size - old.size
	e.state, e.at, e.ti = old.state, old.at, old.ti
	old.state, old.ti = stateNew, -1
	h := &p.queued
	if e.state == statePending {
		h = &p.stale
		e.at = p.cfg.Now()
	}
	(*h)[e.ti] = e
	heap.Fix(h, e.ti)
	heap.Fix(&p.evict, s.ei)
}

// removeEntry removes e from every index and from its sender's txs, and
// the sender from the pool if that was its last tx. It does not recompute
// which of the sender's txs are pending: the caller calls reindex when
// done with the sender. p.mu must be held.
func (p *Pool) removeEntry(e *entry) {
	if _, ok := p.byID[e.id]; !ok {
		return
	}
	delete(p.byID, e.id)
	p.bytes -= e.size
	switch e.state {
	case statePending:
		p.npending--
		heap.Remove(&p.stale, e.ti)
	case stateQueued:
		p.nqueued--
		heap.Remove(&p.queued, e.ti)
	}
	e.state, e.ti = stateNew, -1
	s := p.senders[e.sender]
	if i, ok := s.find(e.tx.Nonce); ok && s.txs[i] == e {
		s.txs = slices.Delete(s.txs, i, i+1)
		if i < s.npending {
			s.npending--
		}
	}
	if len(s.txs) == 0 {
		heap.Remove(&p.evict, s.ei)
		delete(p.senders, e.sender)
		return
	}
	heap.Fix(&p.evict, s.ei)
}

// reindex recomputes which of s's txs are pending and moves those whose
// state changed between the counts and the time indexes. A tx promoted
// from queued is due for announcement at once (its at is the zero time);
// a tx that becomes queued starts its lifetime now. p.mu must be held.
func (p *Pool) reindex(s *senderTxs) {
	if len(s.txs) == 0 {
		return
	}
	n := s.pendingLen()
	var now time.Time
	for i, e := range s.txs {
		want := stateQueued
		if i < n {
			want = statePending
		}
		if e.state == want {
			continue
		}
		if now.IsZero() {
			now = p.cfg.Now()
		}
		switch e.state {
		case statePending:
			p.npending--
			heap.Remove(&p.stale, e.ti)
		case stateQueued:
			p.nqueued--
			heap.Remove(&p.queued, e.ti)
		}
		if want == statePending {
			if e.state == stateQueued {
				e.at = time.Time{}
			} else {
				e.at = now
			}
			p.npending++
			heap.Push(&p.stale, e)
		} else {
			e.at = now
			p.nqueued++
			heap.Push(&p.queued, e)
		}
		e.state = want
	}
	s.npending = n
	heap.Fix(&p.evict, s.ei)
}

// dropUncovered removes, in nonce order, every tx of s the account can no
// longer pay for after its predecessors, together with all later ones, and
// every tx whose nonce the account has passed. The caller reindexes s.
// p.mu must be held.
func (p *Pool) dropUncovered(s *senderTxs) {
	var spend uint64
	cut := -1
	for i, e := range s.txs {
		if e.tx.Nonce < s.acct.Nonce {
			continue
		}
		spend += e.cost
		if spend < e.cost || spend > s.acct.Balance {
			cut = i
			break
		}
	}
	var drop []*entry
	for i, e := range s.txs {
		if e.tx.Nonce < s.acct.Nonce || cut >= 0 && i >= cut {
			drop = append(drop, e)
		}
	}
	for _, e := range drop {
		p.removeEntry(e)
	}
}

// Has reports whether the pool holds the tx with id. Safe for concurrent
// use.
func (p *Pool) Has(id types.Hash) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.byID[id]
	return ok
}

// Get returns the pooled tx with id. Safe for concurrent use.
func (p *Pool) Get(id types.Hash) (*types.Tx, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if e, ok := p.byID[id]; ok {
		return e.tx, true
	}
	return nil, false
}

// Status counts the pooled txs. Safe for concurrent use.
type Status struct {
	Pending, Queued int
	Bytes           int
}

// Status returns the pool's counts. Safe for concurrent use.
func (p *Pool) Status() Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Status{Pending: p.npending, Queued: p.nqueued, Bytes: p.bytes}
}

// SenderTxs is one sender's pooled txs for Content.
type SenderTxs struct {
	Sender  types.Address
	Pending []*types.Tx // executable, in nonce order
	Queued  []*types.Tx // waiting for a nonce gap to fill
}

// Content returns every pooled tx grouped by sender, senders in address
// order. Safe for concurrent use.
func (p *Pool) Content() []SenderTxs {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]SenderTxs, 0, len(p.senders))
	for addr, s := range p.senders {
		st := SenderTxs{Sender: addr}
		for i, e := range s.txs {
			if i < s.npending {
				st.Pending = append(st.Pending, e.tx)
			} else {
				st.Queued = append(st.Queued, e.tx)
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SenderTxs) int { return cmp.Compare(string(a.Sender[:]), string(b.Sender[:])) })
	return out
}

// Touching returns the pooled txs that touch addr: its own, pending then
// queued in nonce order, then those paying it, by sender and nonce. It
// scans the pool (at most Config.MaxTxs txs). Safe for concurrent use.
func (p *Pool) Touching(addr types.Address) []*types.Tx {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []*types.Tx
	if s := p.senders[addr]; s != nil {
		for _, e := range s.txs {
			out = append(out, e.tx)
		}
	}
	own := len(out)
	for _, e := range p.byID {
		if e.tx.To == addr && e.tx.Sender() != addr {
			out = append(out, e.tx)
		}
	}
	slices.SortFunc(out[own:], func(a, b *types.Tx) int {
		if c := cmp.Compare(string(a.From[:]), string(b.From[:])); c != 0 {
			return c
		}
		return cmp.Compare(a.Nonce, b.Nonce)
	})
	return out
}

// NextNonce returns the nonce a new tx of addr should use: the account's
// nonce on the chain plus its pending txs in the pool. Safe for concurrent
// use.
func (p *Pool) NextNonce(addr types.Address) (uint64, error) {
	acct, err := p.state.Account(addr)
	if err != nil {
		return 0, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := p.senders[addr]
	if s == nil {
		return acct.Nonce, nil
	}
	n := acct.Nonce
	for _, e := range s.txs {
		if e.tx.Nonce == n {
			n++
		} else if e.tx.Nonce > n {
			break
		}
	}
	return n, nil
}
