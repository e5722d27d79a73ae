package rpc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
)

// The lookups of this file are the methods' work without the JSON-RPC
// layer, for other readers of a Backend (the explorer pages) to show
// exactly what the API answers. Each is safe for concurrent use as the
// Backend is.

// LookupTx returns the tx with id as chain_getTransaction does: confirmed,
// located in its main-chain block, or pending in the pool, with Raw. A tx
// in neither is an *Error with CodeNotFound.
func LookupTx(b Backend, id types.Hash) (*Tx, error) {
	loc, err := b.TxLocation(id)
	switch {
	case err == nil:
		blk, err := b.Block(loc.Block)
		if err != nil {
			return nil, fmt.Errorf("tx %s indexed in block %s: %w", id, loc.Block, err)
		}
		if loc.Index < 0 || loc.Index >= len(blk.Txs) {
			return nil, fmt.Errorf("tx %s indexed at %d in block %s of %d txs", id, loc.Index, loc.Block, len(blk.Txs))
		}
		tx := blk.Txs[loc.Index]
		t := NewTx(tx)
		t.setConfirmed(loc.Block.String(), loc.Height, loc.Index, b.Tip().Height)
		t.Raw = hex.EncodeToString(tx.Encode())
		return t, nil
	case !errors.Is(err, chain.ErrNotFound):
		return nil, err
	}
	if tx, ok := b.PoolTx(id); ok {
		t := NewTx(tx)
		t.Status = StatusPending
		t.Raw = hex.EncodeToString(tx.Encode())
		return t, nil
	}
	return nil, newError(CodeNotFound, ReasonNotFound, "tx %s: not found (neither on the main chain nor in the pool)", id)
}

// AddressHistory returns a page of addr's history as state_getHistory
// does: its pooled txs first, then its main-chain entries newest first.
// A limit out of range or a cursor AddressHistory did not return is an
// *Error with CodeInvalidParams.
func AddressHistory(b Backend, addr types.Address, opts HistoryOptions) (*History, error) {
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = DefaultHistoryLimit
	case limit < 0 || limit > MaxHistoryLimit:
		return nil, errInvalidParams("options: limit %d: want 1 to %d", limit, MaxHistoryLimit)
	}
	cur, err := parseHistoryCursor(opts.Cursor)
	if err != nil {
		return nil, errInvalidParams("options: %v", err)
	}
	out := &History{Address: addr.String(), Entries: []HistoryEntry{}}
	if cur.confirmed == nil { // the pending entries come first
		pool := b.PoolTouching(addr)
		for i := cur.pending; i < len(pool) && len(out.Entries) < limit; i++ {
			out.Entries = append(out.Entries, pendingEntry(addr, pool[i]))
		}
		if n := cur.pending + len(out.Entries); n < len(pool) {
			out.Next = historyCursor{pending: n}.String()
			return out, nil
		}
	}
	tip := b.Tip()
	entries, more, err := b.History(addr, cur.confirmed, limit-len(out.Entries))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, confirmedEntry(b, e, tip.Height))
	}
	switch {
	case more:
		last := entries[len(entries)-1]
		out.Next = historyCursor{confirmed: &chain.HistoryCursor{Height: last.Height, Pos: last.Pos}}.String()
	case len(out.Entries) == limit && len(entries) == 0 && cur.confirmed == nil:
		// The page filled with pending entries: the confirmed follow.
		out.Next = historyCursor{confirmed: &chain.HistoryCursor{Height: tip.Height + 1}}.String()
	}
	return out, nil
}

func pendingEntry(addr types.Address, tx *types.Tx) HistoryEntry {
	e := HistoryEntry{ID: tx.ID().String(), Amount: strconv.FormatUint(tx.Amount, 10),
		Fee: strconv.FormatUint(tx.Fee, 10), Nonce: tx.Nonce, Pending: true}
	switch from := tx.Sender(); {
	case from == tx.To:
		e.Direction, e.Counterparty = chain.HistorySelf.String(), from.String()
	case from == addr:
		e.Direction, e.Counterparty = chain.HistorySent.String(), tx.To.String()
	default:
		e.Direction, e.Counterparty = chain.HistoryReceived.String(), from.String()
	}
	return e
}

func confirmedEntry(b Backend, e chain.HistoryEntry, tip uint64) HistoryEntry {
	out := HistoryEntry{Direction: e.Kind.String(), Amount: strconv.FormatUint(e.Amount, 10),
		Fee: strconv.FormatUint(e.Fee, 10), Height: e.Height}
	if e.Height <= tip {
		out.Confirmations = tip - e.Height + 1
	}
	if info, err := b.HeaderByHeight(e.Height); err == nil {
		out.BlockHash = info.Hash.String()
	}
	if e.Kind != chain.HistoryMined && e.Kind != chain.HistoryGenesis {
		out.ID, out.Counterparty, out.Nonce = e.ID.String(), e.Counterparty.String(), e.Nonce
	}
	return out
}
