package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/rpc"
)

// Reconnection backoff of cairn watch.
const (
	watchBackoffMin = 250 * time.Millisecond
	watchBackoffMax = 8 * time.Second
)

func watchCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "print the node's new blocks (heads, the default), the txs entering its pool (txs), or the txs of an address, as they happen, until Ctrl-C",
		ArgsUsage: "[heads|txs|ADDR|NAME]",
		Action: action(s, func(e *env) error {
			if e.c.NArg() > 1 {
				return usagef("too many arguments (usage: cairn watch [heads|txs|ADDR|NAME])")
			}
			what := e.c.Args().First()
			kind, args := rpc.SubNewHeads, []any(nil)
			switch what {
			case "", "heads":
			case "txs":
				kind = rpc.SubPendingTxs
			default:
				addr, err := e.resolveAddress("", what)
				if err != nil {
					return err
				}
				kind, args = rpc.SubAddress, []any{addr.String()}
			}
			return e.watch(kind, args)
		}),
	}
}

// watch prints the notifications of one subscription until the context
// ends, reconnecting with backoff when the connection drops.
func (e *env) watch(kind string, args []any) error {
	backoff := watchBackoffMin
	for first := true; ; first = false {
		err := e.watchOnce(kind, args, func() { backoff = watchBackoffMin })
		if e.ctx.Err() != nil {
			return nil // Ctrl-C
		}
		if first && err != nil && backoff == watchBackoffMin {
			if _, ok := err.(*rpc.Error); ok {
				return err // refused, not a connection that dropped
			}
		}
		fmt.Fprintf(e.stderr, "watch: %v; reconnecting in %v\n", err, backoff)
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// watchOnce connects, subscribes and prints until the connection or the
// context ends; connected is called once subscribed.
func (e *env) watchOnce(kind string, args []any, connected func()) error {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	c, err := rpc.DialWS(ctx, e.rpcURL, "")
	if err != nil {
		cancel()
		return err
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, kind, args...)
	cancel()
	if err != nil {
		return err
	}
	connected()
	if !e.json {
		fmt.Fprintf(e.stderr, "watching %s on %s (Ctrl-C stops)\n", describeWatch(kind, args), e.rpcURL)
	}
	for {
		select {
		case <-e.ctx.Done():
			return nil
		case r, ok := <-sub.C:
			if !ok {
				if err := c.Err(); err != nil {
					return err
				}
				return fmt.Errorf("the node closed the connection")
			}
			if e.json {
				fmt.Fprintf(e.stdout, "%s\n", r)
				continue
			}
			printWatchEvent(e.stdout, kind, r)
		}
	}
}

func describeWatch(kind string, args []any) string {
	switch kind {
	case rpc.SubPendingTxs:
		return "txs entering the pool"
	case rpc.SubAddress:
		return fmt.Sprintf("the txs of %s", args[0])
	}
	return "new blocks"
}

// printWatchEvent prints one notification as a line.
func printWatchEvent(w io.Writer, kind string, r json.RawMessage) {
	now := time.Now().Format("15:04:05")
	switch kind {
	case rpc.SubNewHeads:
		var x struct {
			rpc.Header
			Reorg *rpc.ReorgInfo `json:"reorg"`
		}
		if json.Unmarshal(r, &x) != nil {
			break
		}
		if x.Reorg != nil {
			fmt.Fprintf(w, "%s  reorg    %d blocks removed, %d added, fork at height %d (%s); old tip %s, new tip %s\n",
				now, len(x.Reorg.Removed), len(x.Reorg.Added), x.Reorg.ForkHeight, short(x.Reorg.ForkHash),
				short(x.Reorg.OldTip), short(x.Reorg.NewTip))
			return
		}
		fmt.Fprintf(w, "%s  block    height %d  %s  miner %s  time %s\n", now, x.Height, x.Hash, x.Miner, msTime(x.Time))
		return
	case rpc.SubPendingTxs:
		var id string
		if json.Unmarshal(r, &id) == nil {
			fmt.Fprintf(w, "%s  pending  %s\n", now, id)
			return
		}
	case rpc.SubAddress:
		var ev rpc.AddressEvent
		if json.Unmarshal(r, &ev) == nil && ev.Tx != nil {
			where := ""
			if ev.Status == "confirmed" {
				where = fmt.Sprintf("  height %d", ev.Height)
			}
			fmt.Fprintf(w, "%s  %-9s %s  %s -> %s  %s%s\n", now, ev.Status, ev.Tx.ID, ev.Tx.From, ev.Tx.To, crn(ev.Tx.Amount), where)
			return
		}
	}
	fmt.Fprintf(w, "%s  %s\n", now, r)
}

// short abbreviates a hash for a line of watch.
func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
