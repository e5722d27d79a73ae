package txpool

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

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
	// 1000 (0.00001 CRN).
	MinRelayFee uint64
	// MaxNonceGap bounds how far beyond the account's nonce a queued tx may
	// be; default 64.
	MaxNonceGap uint64
	// MaxPerSender is the most txs held for one sender; default 64.
	MaxPerSender int
	// MaxTxs and MaxBytes are the global caps; defaults 65,536 txs and
	// 32 MiB of encoded txs.
	MaxTxs   int
	MaxBytes int
	// QueuedTTL is how long a queued (not yet executable) tx is kept;
	// default 3 hours.
	QueuedTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sigs, if set, is told of every tx whose signature verified.
	Sigs SigRecorder
}

func (c Config) withDefaults() Config {
	if c.MinRelayFee == 0 {
		c.MinRelayFee = 1000
	}
	if c.MaxNonceGap == 0 {
		c.MaxNonceGap = 64
	}
	if c.MaxPerSender == 0 {
		c.MaxPerSender = 64
	}
	if c.MaxTxs == 0 {
		c.MaxTxs = 1 << 16
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 32 << 20
	}
	if c.QueuedTTL == 0 {
		c.QueuedTTL = 3 * time.Hour
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
	case c.MaxBytes < types.MaxTxSize:
		return fmt.Errorf("txpool: MaxBytes must hold at least one tx (%d bytes)", types.MaxTxSize)
	}
	return nil
}

// entry is one pooled tx.
type entry struct {
	tx     *types.Tx
	id     types.Hash
	sender types.Address
	size   int
	cost   uint64 // amount + fee
	added  time.Time
}

// senderTxs are one sender's pooled txs, sorted by nonce, and the account
// as last read from the chain.
type senderTxs struct {
	acct chain.Account
	txs  []*entry
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

func (s *senderTxs) find(nonce uint64) (int, bool) {
	return slices.BinarySearchFunc(s.txs, nonce, func(e *entry, n uint64) int { return cmp.Compare(e.tx.Nonce, n) })
}

// Pool is the transaction pool. See the package comment.
type Pool struct {
	cfg   Config
	state State

	mu      sync.RWMutex // guards everything below
	byID    map[types.Hash]*entry
	senders map[types.Address]*senderTxs
	bytes   int
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

// Add admits tx or returns a *RejectError naming why not (DESIGN.md §6),
// leaving the pool unchanged. It returns the tx id. Safe for concurrent use.
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
	p.mu.RLock()
	_, dup := p.byID[id]
	epoch := p.epoch
	p.mu.RUnlock()
	if dup {
		return id, reject(ReasonDuplicate, "tx %s is already in the pool", id)
	}
	if !consensus.VerifySignature(tx.From, tx.SigningDigest(p.cfg.Genesis), tx.Sig) {
		for _, g := range p.cfg.OtherNetworks {
			if consensus.VerifySignature(tx.From, tx.SigningDigest(g), tx.Sig) {
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
		s = &senderTxs{acct: acct}
	}
	acct = s.acct
	if tx.Nonce < acct.Nonce {
		return reject(ReasonNonceTooLow, "nonce %d, account %s is at %d", tx.Nonce, sender, acct.Nonce)
	}
	if tx.Nonce-acct.Nonce > p.cfg.MaxNonceGap {
		return reject(ReasonNonceTooHigh, "nonce %d is more than %d beyond the account's %d", tx.Nonce, p.cfg.MaxNonceGap, acct.Nonce)
	}
	cost, _ := tx.Cost() // CheckTx refused an overflow
	e := &entry{tx: tx, id: id, sender: sender, size: tx.EncodedSize(), cost: cost, added: p.cfg.Now()}
	var old *entry
	if i, ok := s.find(tx.Nonce); ok {
		old = s.txs[i]
		if !feeBumped(tx.Fee, old.tx.Fee) {
			return reject(ReasonReplacementUnderpriced, "fee %d does not beat the pooled tx's %d by 10%%", tx.Fee, old.tx.Fee)
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
	if old == nil && len(s.txs) >= p.cfg.MaxPerSender {
		return reject(ReasonSenderLimit, "%s already has %d txs in the pool", sender, len(s.txs))
	}
	victims, err := p.makeRoom(e, old)
	if err != nil {
		return err
	}
	for _, v := range victims {
		p.removeEntry(v)
	}
	if old != nil {
		p.removeEntry(old)
	}
	p.senders[sender] = s
	i, _ := s.find(tx.Nonce)
	s.txs = slices.Insert(s.txs, i, e)
	p.byID[id] = e
	p.bytes += e.size
	return nil
}

// feeBumped reports whether fee >= 1.1 × old, i.e. 10·fee >= 11·old,
// compared in 128 bits.
func feeBumped(fee, old uint64) bool {
	hiF, loF := bits.Mul64(fee, 10)
	hiO, loO := bits.Mul64(old, 11)
	return hiF > hiO || hiF == hiO && loF >= loO
}

// makeRoom returns the txs to evict so that e, in place of old if that is
// not nil, fits under the global caps, or ReasonPoolFull if e's fee does not
// beat them. Only the last tx of a sender is evictable, so no sender is left
// with a gap, and never one of e's sender. p.mu must be held.
func (p *Pool) makeRoom(e, old *entry) ([]*entry, error) {
	count, bytes := len(p.byID)+1, p.bytes+e.size
	if old != nil {
		count, bytes = count-1, bytes-old.size
	}
	if count <= p.cfg.MaxTxs && bytes <= p.cfg.MaxBytes {
		return nil, nil
	}
	// Evict the cheapest candidate (each other sender's last tx; on equal
	// fees the higher id) until e fits. A linear scan per victim: one or
	// two victims make room for any tx, so this beats sorting them all.
	var victims []*entry
	for count > p.cfg.MaxTxs || bytes > p.cfg.MaxBytes {
		var v *entry
		for addr, s := range p.senders {
			if addr == e.sender || len(s.txs) == 0 {
				continue
			}
			c := s.txs[len(s.txs)-1]
			if v == nil || c.tx.Fee < v.tx.Fee || c.tx.Fee == v.tx.Fee && string(c.id[:]) > string(v.id[:]) {
				if !slices.Contains(victims, c) {
					v = c
				}
			}
		}
		if v == nil || v.tx.Fee >= e.tx.Fee {
			return nil, reject(ReasonPoolFull, "pool holds %d txs, %d bytes; fee %d does not beat the cheapest evictable tx", len(p.byID), p.bytes, e.tx.Fee)
		}
		victims = append(victims, v)
		count, bytes = count-1, bytes-v.size
	}
	return victims, nil
}

// removeEntry removes e from every index. p.mu must be held.
func (p *Pool) removeEntry(e *entry) {
	if _, ok := p.byID[e.id]; !ok {
		return
	}
	delete(p.byID, e.id)
	p.bytes -= e.size
	s := p.senders[e.sender]
	if i, ok := s.find(e.tx.Nonce); ok && s.txs[i] == e {
		s.txs = slices.Delete(s.txs, i, i+1)
	}
	if len(s.txs) == 0 {
		delete(p.senders, e.sender)
	}
}

// dropUncovered removes, in nonce order, every tx of s the account can no
// longer pay for after its predecessors, together with all later ones, and
// every tx whose nonce the account has passed. p.mu must be held.
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
	st := Status{Bytes: p.bytes}
	for _, s := range p.senders {
		n := s.pendingLen()
		st.Pending += n
		st.Queued += len(s.txs) - n
	}
	return st
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
		n := s.pendingLen()
		st := SenderTxs{Sender: addr}
		for i, e := range s.txs {
			if i < n {
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
