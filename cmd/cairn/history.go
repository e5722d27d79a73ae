package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/rpc"
)

func historyCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show an address's transactions, block rewards and genesis allocation, newest first (pending ones first)",
		ArgsUsage: "ADDR|NAME",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "limit", Usage: fmt.Sprintf("show at most `N` entries (1 to %d; default %d)", rpc.MaxHistoryLimit, rpc.DefaultHistoryLimit)},
			&cli.StringFlag{Name: "cursor", Usage: "continue at `CURSOR`, the one the previous page printed"},
		},
		Action: action(s, func(e *env) error {
			arg, addr, err := e.addressArg()
			if err != nil {
				return err
			}
			limit := e.c.Int("limit")
			if e.c.IsSet("limit") && (limit < 1 || limit > rpc.MaxHistoryLimit) {
				return usagef("--limit %d: want 1 to %d", limit, rpc.MaxHistoryLimit)
			}
			h, err := e.client().History(e.ctx, addr.String(), e.c.String("cursor"), limit)
			if err != nil {
				return err
			}
			return e.print(h, func(w io.Writer) {
				if len(h.Entries) == 0 {
					fmt.Fprintf(w, "no history for %s\n", h.Address)
				} else {
					rows := make([][]string, 0, len(h.Entries))
					for _, x := range h.Entries {
						rows = append(rows, historyRow(x))
					}
					table(w, []string{"HEIGHT", "CONF", "DIRECTION", "AMOUNT", "FEE", "COUNTERPARTY", "ID"}, rows)
				}
				if h.Next != "" {
					fmt.Fprintf(w, "more: cairn history %s --cursor %s\n", arg, h.Next)
				}
			})
		}),
	}
}

// historyRow is one line of the history table: the amount signed as it
// changed the balance (a tx sent also costs its fee, shown apart).
func historyRow(x rpc.HistoryEntry) []string {
	height, conf := strconv.FormatUint(x.Height, 10), strconv.FormatUint(x.Confirmations, 10)
	if x.Pending {
		height, conf = "pending", "0"
	}
	amount := crn(x.Amount)
	switch x.Direction {
	case "sent":
		amount = "-" + amount
	case "self":
		amount = "±" + amount
	default:
		amount = "+" + amount
	}
	fee := "-"
	if x.ID != "" {
		fee = crn(x.Fee)
	}
	party, id := x.Counterparty, x.ID
	if party == "" {
		party = "-"
	}
	if id == "" {
		id = "-"
	}
	return []string{height, conf, x.Direction, amount, fee, party, id}
}
