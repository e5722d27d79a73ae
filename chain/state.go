package chain

import (
	"fmt"
	"sync"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/syndtr/goleveldb/leveldb"
)

// stateView is the account state as of some block, layered over the
// database: accounts read are cached, accounts changed are kept until the
// view is written out in a batch. lt is the running LtHash of the view.
type stateView struct {
	db    *store
	accts map[types.Address]Account
	dirty map[types.Address]struct{}
	lt    consensus.LtHash
}

func newStateView(db *store, lt *consensus.LtHash) *stateView {
	return &stateView{
		db:    db,
		accts: make(map[types.Address]Account),
		dirty: make(map[types.Address]struct{}),
		lt:    *lt,
	}
}

func (v *stateView) get(a types.Address) (Account, error) {
	if acc, ok := v.accts[a]; ok {
		return acc, nil
	}
	acc, err := v.db.account(a)
	if err != nil {
		return Account{}, err
	}
	v.accts[a] = acc
	return acc, nil
}

// blockDelta collects one block's changes before they reach the view, so a
// block that fails leaves the view untouched.
type blockDelta struct {
	v       *stateView
	order   []types.Address // first-touch order: deterministic undo records
	old     map[types.Address]Account
	cur     map[types.Address]Account
	senders []types.Address // of the block's txs, in order
}

func (d *blockDelta) get(a types.Address) (Account, error) {
	if acc, ok := d.cur[a]; ok {
		return acc, nil
	}
	acc, err := d.v.get(a)
	if err != nil {
		return Account{}, err
	}
	d.order = append(d.order, a)
	d.old[a] = acc
	d.cur[a] = acc
	return acc, nil
}

// ltDelta returns Σ element(new) − Σ element(old) over the accounts the
// block changed, each expanded once for its old and once for its new value,
// computed on every core for large blocks.
func (d *blockDelta) ltDelta() *consensus.LtHash {
	var mu sync.Mutex
	var total consensus.LtHash
	forEachChunk(len(d.order), func(lo, hi int) {
		var part consensus.LtHash
		for _, a := range d.order[lo:hi] {
			if old, cur := d.old[a], d.cur[a]; old != cur {
				part.SubAccount(a, old.Balance, old.Nonce)
				part.AddAccount(a, cur.Balance, cur.Nonce)
			}
		}
		mu.Lock()
		total.Add(&part)
		mu.Unlock()
	})
	return &total
}

// apply runs blk's transactions and reward on a delta over the view
// (docs/PROTOCOL.md §11 State and applying a block) without changing the
// view. A rule violation returns a *consensus.RuleError.
func (v *stateView) apply(p *consensus.Params, blk *types.Block) (*blockDelta, error) {
	n := 2*len(blk.Txs) + 1
	d := &blockDelta{v: v, old: make(map[types.Address]Account, n), cur: make(map[types.Address]Account, n)}
	senders := make([]types.Address, len(blk.Txs))
	forEachChunk(len(blk.Txs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			senders[i] = blk.Txs[i].Sender()
		}
	})
	d.senders = senders
	var fees uint64
	for i, tx := range blk.Txs {
		if err := d.applyTx(i, tx, senders[i]); err != nil {
			return nil, err
		}
		if fees+tx.Fee < fees {
			return nil, consensus.NewRuleError(consensus.ErrBalanceOverflow, "tx %d: fees overflow", i)
		}
		fees += tx.Fee
	}
	reward := p.Subsidy(blk.Header.Height) + fees
	if reward < fees {
		return nil, consensus.NewRuleError(consensus.ErrBalanceOverflow, "subsidy + fees overflows")
	}
	if reward > 0 {
		m, err := d.get(blk.Header.Miner)
		if err != nil {
			return nil, err
		}
		if m.Balance+reward < m.Balance {
			return nil, consensus.NewRuleError(consensus.ErrBalanceOverflow, "miner balance of %s overflows", blk.Header.Miner)
		}
		m.Balance += reward
		d.cur[blk.Header.Miner] = m
	}
	return d, nil
}

// applyTx applies tx (number i of its block) from sender to the delta.
func (d *blockDelta) applyTx(i int, tx *types.Tx, sender types.Address) error {
	from, err := d.get(sender)
	if err != nil {
		return err
	}
	if tx.Nonce != from.Nonce {
		return consensus.NewRuleError(consensus.ErrWrongNonce, "tx %d: nonce %d, account %s is at %d", i, tx.Nonce, sender, from.Nonce)
	}
	cost, ok := tx.Cost()
	if !ok {
		return consensus.NewRuleError(consensus.ErrAmountOverflow, "tx %d: amount %d + fee %d overflows", i, tx.Amount, tx.Fee)
	}
	if cost > from.Balance {
		return consensus.NewRuleError(consensus.ErrInsufficientBalance, "tx %d: %s has %d, needs %d", i, sender, from.Balance, cost)
	}
	from.Balance -= cost
	from.Nonce++
	d.cur[sender] = from
	to, err := d.get(tx.To)
	if err != nil {
		return err
	}
	if to.Balance+tx.Amount < to.Balance {
		return consensus.NewRuleError(consensus.ErrBalanceOverflow, "tx %d: balance of %s overflows", i, tx.To)
	}
	to.Balance += tx.Amount
	d.cur[tx.To] = to
	return nil
}

// applyTx applies one tx directly to the view, for block templates: the
// view is then the state after the txs chosen so far (fees and reward
// aside, which only ever credit the miner).
func (v *stateView) applyTx(tx *types.Tx, sender types.Address) error {
	d := &blockDelta{v: v, old: map[types.Address]Account{}, cur: map[types.Address]Account{}}
	if err := d.applyTx(0, tx, sender); err != nil {
		return err
	}
	for a, acc := range d.cur {
		v.accts[a] = acc
	}
	return nil
}

// connect applies blk to the view and returns its undo record. A rule
// violation returns a *consensus.RuleError and leaves the view as it was.
func (v *stateView) connect(p *consensus.Params, blk *types.Block) ([]undoEntry, []types.Address, error) {
	d, err := v.apply(p, blk)
	if err != nil {
		return nil, nil, err
	}
	lt := v.lt
	lt.Add(d.ltDelta())
	if root := lt.Sum(); root != blk.Header.StateRoot {
		return nil, nil, consensus.NewRuleError(consensus.ErrBadStateRoot, "stateRoot %s, computed %s", blk.Header.StateRoot, root)
	}
	v.lt = lt
	undo := make([]undoEntry, 0, len(d.order))
	for _, a := range d.order {
		v.accts[a] = d.cur[a]
		v.dirty[a] = struct{}{}
		undo = append(undo, undoEntry{addr: a, old: d.old[a]})
	}
	return undo, d.senders, nil
}

// disconnect reverts a block with its undo record. The result must commit
// to wantRoot (the parent's stateRoot); anything else means the stored data
// is corrupt.
func (v *stateView) disconnect(undo []undoEntry, wantRoot types.Hash) error {
	for i := len(undo) - 1; i >= 0; i-- {
		e := undo[i]
		cur, err := v.get(e.addr)
		if err != nil {
			return err
		}
		v.lt.SubAccount(e.addr, cur.Balance, cur.Nonce)
		v.lt.AddAccount(e.addr, e.old.Balance, e.old.Nonce)
		v.accts[e.addr] = e.old
		v.dirty[e.addr] = struct{}{}
	}
	if root := v.lt.Sum(); root != wantRoot {
		return v.db.failed(fmt.Errorf("%w: state after undo is %s, parent's stateRoot is %s", ErrCorrupt, root, wantRoot))
	}
	return nil
}

// write adds the view's changed accounts and LtHash to batch.
func (v *stateView) write(batch *leveldb.Batch) {
	for a := range v.dirty {
		if acc := v.accts[a]; acc.IsZero() {
			batch.Delete(accountKey(a))
		} else {
			batch.Put(accountKey(a), acc.encode())
		}
	}
	batch.Put(keyLtHash, v.lt.Bytes())
}
