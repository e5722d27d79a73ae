package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
	"github.com/cairn-ledger/cairn/wallet"
)

// defaultFee is 0.0001 CRN, ten times the pools' default minimum relay
// fee of 1000 base units.
const defaultFee = "0.0001"

// pollInterval is how often `send --wait` asks the node about the tx.
const pollInterval = 250 * time.Millisecond

const sendUsage = "cairn send --from NAME --to ADDR|NAME --amount CRN [--fee CRN] [--memo TEXT] [--wait [--timeout 2m]]"

func sendCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "sign a transfer with a wallet and submit it to the node",
		UsageText: sendUsage,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "send from the wallet `NAME`"},
			&cli.StringFlag{Name: "to", Usage: "send to `ADDR|NAME`, an address or a wallet name"},
			&cli.StringFlag{Name: "amount", Usage: "send `CRN`, a decimal with at most 8 places"},
			&cli.StringFlag{Name: "fee", Usage: "pay `CRN` to the miner", Value: defaultFee},
			&cli.StringFlag{Name: "memo", Usage: fmt.Sprintf("store `TEXT` (at most %d bytes) with the transaction", types.MaxMemoSize)},
			&cli.BoolFlag{Name: "wait", Usage: "wait until the transaction is confirmed and print its height and confirmations"},
			&cli.DurationFlag{Name: "timeout", Usage: "give up waiting after `DURATION`", Value: 2 * time.Minute},
		},
		Action: action(s, send),
	}
}

func send(e *env) error {
	if _, err := e.args(); err != nil {
		return err
	}
	for _, f := range []string{"from", "to", "amount"} {
		if !e.c.IsSet(f) {
			return usagef("missing --%s (usage: %s)", f, sendUsage)
		}
	}
	from := e.c.String("from")
	_, fromAddr, err := e.walletAddress(from)
	if err != nil {
		return err
	}
	to, err := e.resolveAddress("--to", e.c.String("to"))
	if err != nil {
		return err
	}
	amount, err := parseAmount("--amount", e.c.String("amount"))
	if err != nil {
		return err
	}
	// The pools' rule (txpool.DefaultMinAmount): a smaller transfer would
	// be refused as amount-too-low.
	if amount < txpool.DefaultMinAmount {
		return fmt.Errorf("--amount %q: below the minimum transfer of %s", e.c.String("amount"), wallet.FormatCRN(txpool.DefaultMinAmount))
	}
	fee, err := parseAmount("--fee", e.c.String("fee"))
	if err != nil {
		return err
	}
	memo := []byte(e.c.String("memo"))
	if len(memo) > types.MaxMemoSize {
		return fmt.Errorf("--memo: %d bytes, at most %d allowed", len(memo), types.MaxMemoSize)
	}
	wait, timeout := e.c.Bool("wait"), e.c.Duration("timeout")
	if wait && timeout <= 0 {
		return usagef("--timeout %v: want a positive duration such as 2m", timeout)
	}

	// Ask the node first, so that nobody types a passphrase for a node
	// that is not there.
	c := e.client()
	info, err := c.NodeInfo(e.ctx)
	if err != nil {
		return err
	}
	genesis, err := types.ParseHash(info.Genesis)
	if err != nil {
		return fmt.Errorf("cairnd at %s sent a bad genesis hash: %v", e.rpcURL, err)
	}
	k, err := e.loadKey(from)
	if err != nil {
		return err
	}
	acct, err := c.Account(e.ctx, fromAddr.String())
	if err != nil {
		return err
	}
	tx, err := wallet.BuildTx(k, wallet.TxParams{To: to, Amount: amount, Fee: fee, Nonce: acct.PendingNonce, Memo: memo}, genesis)
	if err != nil {
		return err
	}
	id, err := c.SendTx(e.ctx, tx)
	var re *rpc.Error
	if errors.As(err, &re) && re.Reason() == txpool.ReasonInsufficientBalance.String() {
		// The node's message counts in base units, as the RPC does; say it
		// in CRN.
		cost := "more than the supply"
		if amount+fee >= amount {
			cost = wallet.FormatCRN(amount + fee)
		}
		return fmt.Errorf("transaction rejected: insufficient-balance: %s has %s; this transfer costs %s (amount and fee), on top of its pending transactions",
			from, crn(acct.Balance), cost)
	}
	if err != nil {
		return err
	}

	sent := kv{width: 14}
	sent.add("id", id)
	sent.add("from", fromAddr)
	sent.add("to", to)
	sent.add("amount", wallet.FormatCRN(amount))
	sent.add("fee", wallet.FormatCRN(fee))
	sent.add("nonce", acct.PendingNonce)
	if !wait {
		return e.print(rpc.SendResult{ID: id}, func(w io.Writer) {
			sent.add("status", "pending")
			sent.write(w)
		})
	}
	if !e.json {
		sent.write(e.stdout)
	}
	res, err := e.waitConfirmed(c, tx.ID(), timeout)
	if err != nil {
		return err
	}
	return e.print(res, func(w io.Writer) {
		t := kv{width: 14}
		t.add("status", res.Status)
		t.add("height", res.Height)
		t.add("block", res.BlockHash)
		t.add("confirmations", res.Confirmations)
		t.write(w)
	})
}

// waitConfirmed polls chain_getTransaction until the tx is on the main
// chain, for at most timeout.
func (e *env) waitConfirmed(c *rpc.Client, id types.Hash, timeout time.Duration) (*rpc.Tx, error) {
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	last := "unknown to the node"
	for {
		tx, err := c.Transaction(ctx, id.String())
		switch {
		case err == nil && tx.Status == "confirmed":
			return tx, nil
		case err == nil:
			last = tx.Status
		case notFound(err):
			last = "unknown to the node"
		case ctx.Err() != nil:
			// The deadline or an interrupt cut the call short; said below.
		default:
			return nil, err
		}
		select {
		case <-ctx.Done():
			if e.ctx.Err() != nil {
				return nil, e.ctx.Err()
			}
			return nil, fmt.Errorf("transaction %s not confirmed within %v (status: %s); see cairn tx %s", id, timeout, last, id)
		case <-tick.C:
		}
	}
}
