package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
	"github.com/cairn-ledger/cairn/wallet"
)

// replaceCommand is `cairn tx bump` or, with cancel, `cairn tx cancel`:
// both replace a pending transaction of one of the store's wallets by one
// with the same nonce and a higher fee (docs/PROTOCOL.md §27).
func replaceCommand(s *streams, cancel bool) *cli.Command {
	c := &cli.Command{
		Name:      "bump",
		Usage:     "replace a pending transaction of yours by the same transfer with a higher fee",
		ArgsUsage: "ID",
	}
	if cancel {
		c.Name = "cancel"
		c.Usage = fmt.Sprintf("replace a pending transaction of yours by a transfer of %s to yourself, with a higher fee", wallet.FormatCRN(txpool.DefaultMinAmount))
	}
	c.UsageText = "cairn tx " + c.Name + " ID [--fee CRN]"
	c.Flags = []cli.Flag{
		&cli.StringFlag{Name: "fee", Usage: "pay `CRN` to the miner", DefaultText: "the least the pools take: the old fee + 10 %, and at least + " + wallet.FormatCRN(txpool.DefaultMinRelayFee)},
	}
	c.Action = action(s, func(e *env) error { return replace(e, cancel) })
	return c
}

func replace(e *env, cancel bool) error {
	a, err := e.args("ID")
	if err != nil {
		return err
	}
	id, err := types.ParseHash(a[0])
	if err != nil {
		return usagef("%q is not a transaction id: %v", a[0], err)
	}
	var fee uint64
	feeSet := e.c.IsSet("fee")
	if feeSet {
		if fee, err = parseAmount("--fee", e.c.String("fee")); err != nil {
			return err
		}
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	c := e.client()
	old, err := e.pendingTx(c, id)
	if err != nil {
		return err
	}
	name, err := st.Find(old.Sender())
	if errors.Is(err, wallet.ErrNotFound) {
		return fmt.Errorf("transaction %s is not yours: its sender %s is none of the wallets in %s (see cairn wallet list)", id, old.Sender(), st.Dir)
	}
	if err != nil {
		return err
	}
	need, ok := txpool.ReplacementFee(old.Fee, txpool.DefaultMinRelayFee)
	if !ok {
		return fmt.Errorf("transaction %s pays a fee of %s: no fee can be higher by the pools' replacement rule", id, wallet.FormatCRN(old.Fee))
	}
	switch {
	case !feeSet:
		fee = need
	case fee < need:
		return fmt.Errorf("--fee %q: below the least replacement fee, %s: the pooled transaction pays %s, and a replacement must pay 10 %% more, and at least %s more",
			e.c.String("fee"), wallet.FormatCRN(need), wallet.FormatCRN(old.Fee), wallet.FormatCRN(txpool.DefaultMinRelayFee))
	}
	p := wallet.TxParams{To: old.To, Amount: old.Amount, Fee: fee, Nonce: old.Nonce, Memo: old.Memo}
	if cancel {
		p = wallet.TxParams{To: old.Sender(), Amount: txpool.DefaultMinAmount, Fee: fee, Nonce: old.Nonce}
	}

	genesis, err := e.nodeGenesis(c)
	if err != nil {
		return err
	}
	k, err := e.loadKey(name)
	if err != nil {
		return err
	}
	tx, err := wallet.BuildTx(k, p, genesis)
	if err != nil {
		return err
	}
	newID, err := e.submit(c, tx, name)
	var re *rpc.Error
	if errors.As(err, &re) && re.Reason() == txpool.ReasonNonceTooLow.String() {
		// A block took the old tx while the passphrase was typed.
		if _, cerr := e.pendingTx(c, id); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		return err
	}
	return e.print(rpc.SendResult{ID: newID}, func(w io.Writer) {
		t := sentTx(newID, tx)
		t.add("replaces", id)
		t.add("status", "pending")
		t.write(w)
	})
}

// pendingTx returns the tx id from the node's pool, and a clear error if
// the node has it on its main chain or not at all.
func (e *env) pendingTx(c *rpc.Client, id types.Hash) (*types.Tx, error) {
	got, err := c.Transaction(e.ctx, id.String())
	if notFound(err) {
		return nil, fmt.Errorf("no transaction %s in the node's pool or on its main chain: there is nothing to replace", id)
	}
	if err != nil {
		return nil, err
	}
	if got.Status == rpc.StatusConfirmed {
		return nil, fmt.Errorf("transaction %s is already confirmed at height %d: it cannot be replaced", id, got.Height)
	}
	tx, err := parseRawTx(got.Raw)
	if err != nil {
		return nil, fmt.Errorf("cairnd at %s sent transaction %s in a form cairn cannot read: %v", e.rpcURL, id, err)
	}
	if tx.ID() != id {
		return nil, fmt.Errorf("cairnd at %s sent transaction %s for %s", e.rpcURL, tx.ID(), id)
	}
	return tx, nil
}
