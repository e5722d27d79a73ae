package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
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

const sendUsage = "cairn send --from NAME --to ADDR|NAME --amount CRN [--fee CRN] [--nonce N] [--memo TEXT] [--wait [--timeout 2m]]"

// transferFlags are the flags of a transfer, for send and tx sign, with
// more before --memo.
func transferFlags(more ...cli.Flag) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "from", Usage: "send from the wallet `NAME`"},
		&cli.StringFlag{Name: "to", Usage: "send to `ADDR|NAME`, an address or a wallet name"},
		&cli.StringFlag{Name: "amount", Usage: "send `CRN`, a decimal with at most 8 places"},
	}
	flags = append(flags, more...)
	return append(flags, &cli.StringFlag{Name: "memo", Usage: fmt.Sprintf("store `TEXT` (at most %d bytes) with the transaction", types.MaxMemoSize)})
}

func sendCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "sign a transfer with a wallet and submit it to the node",
		UsageText: sendUsage,
		Flags: append(transferFlags(
			&cli.StringFlag{Name: "fee", Usage: "pay `CRN` to the miner", Value: defaultFee},
			&cli.StringFlag{Name: "nonce", Usage: "use nonce `N` (to replace a pending transaction, or fill a gap)", DefaultText: "the account's next, from the node"}),
			&cli.BoolFlag{Name: "wait", Usage: "wait until the transaction is confirmed and print its height and confirmations"},
			&cli.DurationFlag{Name: "timeout", Usage: "give up waiting after `DURATION`", Value: 2 * time.Minute},
		),
		Action: action(s, send),
	}
}

// transfer is a transfer as its flags give it: the sending wallet's name
// and address, and the transfer without its nonce.
type transfer struct {
	from     string
	fromAddr types.Address
	wallet.TxParams
}

// transfer reads the flags of a transfer, refusing a missing one of
// required, and what no pool would admit: an amount below the minimum
// transfer, a memo too long. Nothing is asked of the node.
func (e *env) transfer(usage string, required ...string) (*transfer, error) {
	for _, f := range required {
		if !e.c.IsSet(f) {
			return nil, usagef("missing --%s (usage: %s)", f, usage)
		}
	}
	t := &transfer{from: e.c.String("from")}
	var err error
	if _, t.fromAddr, err = e.walletAddress(t.from); err != nil {
		return nil, err
	}
	if t.To, err = e.resolveAddress("--to", e.c.String("to")); err != nil {
		return nil, err
	}
	if t.Amount, err = parseAmount("--amount", e.c.String("amount")); err != nil {
		return nil, err
	}
	// The pools' rule (txpool.DefaultMinAmount): a smaller transfer would
	// be refused as amount-too-low.
	if t.Amount < txpool.DefaultMinAmount {
		return nil, fmt.Errorf("--amount %q: below the minimum transfer of %s", e.c.String("amount"), wallet.FormatCRN(txpool.DefaultMinAmount))
	}
	if t.Fee, err = parseAmount("--fee", e.c.String("fee")); err != nil {
		return nil, err
	}
	if memo := []byte(e.c.String("memo")); len(memo) > types.MaxMemoSize {
		return nil, fmt.Errorf("--memo: %d bytes, at most %d allowed", len(memo), types.MaxMemoSize)
	} else if len(memo) > 0 {
		t.Memo = memo
	}
	return t, nil
}

func send(e *env) error {
	if _, err := e.args(); err != nil {
		return err
	}
	t, err := e.transfer(sendUsage, "from", "to", "amount")
	if err != nil {
		return err
	}
	nonceSet := e.c.IsSet("nonce")
	if nonceSet {
		if t.Nonce, err = parseNonce("--nonce", e.c.String("nonce")); err != nil {
			return err
		}
	}
	wait, timeout := e.c.Bool("wait"), e.c.Duration("timeout")
	if wait && timeout <= 0 {
		return usagef("--timeout %v: want a positive duration such as 2m", timeout)
	}

	// Ask the node first, so that nobody types a passphrase for a node
	// that is not there.
	c := e.client()
	genesis, err := e.nodeGenesis(c)
	if err != nil {
		return err
	}
	k, err := e.loadKey(t.from)
	if err != nil {
		return err
	}
	if !nonceSet {
		acct, err := c.Account(e.ctx, t.fromAddr.String())
		if err != nil {
			return err
		}
		t.Nonce = acct.PendingNonce
	}
	tx, err := wallet.BuildTx(k, t.TxParams, genesis)
	if err != nil {
		return err
	}
	id, err := e.submit(c, tx, t.from)
	if err != nil {
		return err
	}

	sent := sentTx(id, tx)
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

// nodeGenesis asks the node for its genesis hash, the network a
// transaction is signed for.
func (e *env) nodeGenesis(c *rpc.Client) (types.Hash, error) {
	info, err := c.NodeInfo(e.ctx)
	if err != nil {
		return types.Hash{}, err
	}
	genesis, err := types.ParseHash(info.Genesis)
	if err != nil {
		return types.Hash{}, fmt.Errorf("cairnd at %s sent a bad genesis hash: %v", e.rpcURL, err)
	}
	return genesis, nil
}

// submit sends tx to the node and returns its id. who names the sender in
// an insufficient-balance refusal, which is told in CRN: the node's
// message counts in base units, as the RPC does.
func (e *env) submit(c *rpc.Client, tx *types.Tx, who string) (string, error) {
	id, err := c.SendTx(e.ctx, tx)
	var re *rpc.Error
	if !errors.As(err, &re) || re.Reason() != txpool.ReasonInsufficientBalance.String() {
		return id, err
	}
	acct, aerr := c.Account(e.ctx, tx.Sender().String())
	if aerr != nil {
		return "", err
	}
	cost := "more than the supply"
	if v, ok := tx.Cost(); ok {
		cost = wallet.FormatCRN(v)
	}
	return "", fmt.Errorf("transaction rejected: insufficient-balance: %s has %s; this transfer costs %s (amount and fee), on top of its other pending transactions",
		who, crn(acct.Balance), cost)
}

// sentTx is how send, tx broadcast, tx bump and tx cancel show a
// transaction the node accepted, under id.
func sentTx(id string, tx *types.Tx) *kv {
	t := &kv{width: 14}
	t.add("id", id)
	t.add("from", tx.Sender())
	t.add("to", tx.To)
	t.add("amount", wallet.FormatCRN(tx.Amount))
	t.add("fee", wallet.FormatCRN(tx.Fee))
	t.add("nonce", tx.Nonce)
	return t
}

// parseNonce parses a tx nonce given with flag.
func parseNonce(flag, s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case err == nil:
		return n, nil
	case strings.HasPrefix(s, "-") && isDigits(s[1:]):
		return 0, usagef("%s %s: a nonce is 0 or more", flag, s)
	case isDigits(s):
		return 0, usagef("%s %s: too large (at most %d)", flag, s, uint64(math.MaxUint64))
	}
	return 0, usagef("%s %q: want a whole number, the count of the sender's earlier transactions", flag, s)
}

// waitConfirmed looks the tx up (chain_getTransaction) at each new head
// the node announces on its WebSocket — or, against a node without one,
// every pollInterval — until it is on the main chain, for at most timeout.
func (e *env) waitConfirmed(c *rpc.Client, id types.Hash, timeout time.Duration) (*rpc.Tx, error) {
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	// Looked up at each new block, which the node's WebSocket announces;
	// against a node without one, every pollInterval.
	var heads <-chan json.RawMessage
	if ws, err := rpc.DialWS(ctx, e.rpcURL, ""); err == nil {
		defer ws.Close()
		if sub, err := ws.Subscribe(ctx, rpc.SubNewHeads); err == nil {
			heads = sub.C
		}
	}
	var tick <-chan time.Time
	if heads == nil {
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		tick = t.C
	}
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
		case <-tick:
		case _, ok := <-heads:
			if !ok { // the WebSocket dropped: poll from now on
				heads = nil
				t := time.NewTicker(pollInterval)
				defer t.Stop()
				tick = t.C
			}
		}
	}
}
