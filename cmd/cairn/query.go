package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/rpc"
)

// requestTimeout bounds each call to the node, so that a node that
// accepts a connection and never answers does not hang cairn.
const requestTimeout = 30 * time.Second

// client returns an RPC client for the node at --rpc.
func (e *env) client(opts ...rpc.ClientOption) *rpc.Client {
	opts = append(opts, rpc.WithHTTPClient(&http.Client{Timeout: requestTimeout}))
	return rpc.NewClient(e.rpcURL, opts...)
}

// adminClient returns a client carrying the token from the node's cookie
// in --datadir.
func (e *env) adminClient() (*rpc.Client, error) {
	tok, err := rpc.ReadCookie(e.datadir)
	if err != nil {
		path, reason := filepath.Join(e.datadir, "rpc.cookie"), err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			path, reason = pe.Path, pe.Err
		}
		return nil, fmt.Errorf("cannot read the RPC cookie %s: %v (admin calls need --datadir set to cairnd's data directory)", path, reason)
	}
	return e.client(rpc.WithToken(tok)), nil
}

// notFound reports whether err is the node's "not found".
func notFound(err error) bool {
	var re *rpc.Error
	return errors.As(err, &re) && re.Code == rpc.CodeNotFound
}

func balanceCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "balance",
		Usage:     "show an account's balance and nonces",
		ArgsUsage: "ADDR|NAME",
		Action: action(s, func(e *env) error {
			_, addr, err := e.addressArg()
			if err != nil {
				return err
			}
			acct, err := e.client().Account(e.ctx, addr.String())
			if err != nil {
				return err
			}
			return e.print(acct, func(w io.Writer) {
				var t kv
				t.add("address", acct.Address)
				t.add("balance", crn(acct.Balance))
				t.add("nonce", acct.Nonce)
				t.add("pending nonce", acct.PendingNonce)
				t.write(w)
			})
		}),
	}
}

func statusCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the node's network, chain tip, peers, sync and mining",
		Action: action(s, func(e *env) error {
			if _, err := e.args(); err != nil {
				return err
			}
			c := e.client()
			info, err := c.NodeInfo(e.ctx)
			if err != nil {
				return err
			}
			head, err := c.Head(e.ctx)
			if err != nil {
				return err
			}
			v := struct {
				Node any `json:"node"`
				Head any `json:"head"`
			}{info, head}
			return e.print(v, func(w io.Writer) {
				var t kv
				t.add("rpc", e.rpcURL)
				t.add("version", info.Version)
				t.add("network", info.Network)
				t.add("genesis", info.Genesis)
				t.add("height", head.Height)
				t.add("tip", head.Hash)
				t.add("tip time", msTime(head.Time))
				t.add("bits", head.Bits)
				t.add("work", head.Work)
				t.add("peers", info.Peers)
				t.add("sync", syncText(info.Sync))
				t.add("mining", yesNo(info.Mining))
				t.add("uptime", (time.Duration(info.UptimeMs) * time.Millisecond).Round(time.Second))
				t.write(w)
			})
		}),
	}
}

func blockCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "block",
		Usage:     "show a block by height or hash",
		ArgsUsage: "HEIGHT|HASH",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "txs", Usage: "show the full transactions, not only their ids"},
		},
		Action: action(s, func(e *env) error {
			a, err := e.args("HEIGHT|HASH")
			if err != nil {
				return err
			}
			full := e.c.Bool("txs")
			c := e.client()
			ref := a[0]
			var b *rpc.Block
			h, hash, byHeight, err := parseBlockRef(ref)
			if err != nil {
				return err
			}
			if byHeight {
				b, err = c.BlockByHeight(e.ctx, h, full)
				if notFound(err) {
					return fmt.Errorf("no block at height %d", h)
				}
			} else {
				b, err = c.BlockByHash(e.ctx, hash.String(), full)
				if notFound(err) {
					return fmt.Errorf("no block %s", hash)
				}
			}
			if err != nil {
				return err
			}
			return e.print(b, func(w io.Writer) { writeBlock(w, b) })
		}),
	}
}

// parseBlockRef reads a block height (digits) or hash (64 hex digits),
// naming what is wrong with anything else.
func parseBlockRef(ref string) (height uint64, hash types.Hash, byHeight bool, err error) {
	switch {
	case strings.HasPrefix(ref, "-") && isDigits(ref[1:]):
		return 0, hash, false, usagef("block height %s: a height is 0 or more", ref)
	case isDigits(ref) && len(ref) < 2*len(hash):
		h, perr := strconv.ParseUint(ref, 10, 64)
		if perr != nil {
			return 0, hash, false, usagef("block height %s: too large (at most %d)", ref, uint64(math.MaxUint64))
		}
		return h, hash, true, nil
	}
	if hash, err = types.ParseHash(ref); err != nil {
		return 0, hash, false, usagef("%q is neither a block height (0, 1, 2, …) nor a block hash (64 hex digits)", ref)
	}
	return 0, hash, false, nil
}

// isDigits reports whether s is one or more decimal digits.
func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

func writeBlock(w io.Writer, b *rpc.Block) {
	var t kv
	t.add("hash", b.Hash)
	t.add("height", b.Height)
	t.add("parent", b.Parent)
	t.add("time", msTime(b.Time))
	t.add("miner", b.Miner)
	t.add("main chain", yesNo(b.MainChain))
	t.add("confirmations", b.Confirmations)
	t.add("bits", b.Bits)
	t.add("nonce", b.Nonce)
	t.add("work", b.Work)
	t.add("tx root", b.TxRoot)
	t.add("state root", b.StateRoot)
	t.add("size", fmt.Sprintf("%d bytes", b.Size))
	t.add("txs", b.TxCount)
	t.write(w)
	if len(b.Txs) > 0 {
		fmt.Fprintln(w)
		rows := make([][]string, 0, len(b.Txs))
		for _, tx := range b.Txs {
			rows = append(rows, []string{tx.ID, tx.From, tx.To, crn(tx.Amount), crn(tx.Fee), strconv.FormatUint(tx.Nonce, 10)})
		}
		table(w, []string{"ID", "FROM", "TO", "AMOUNT", "FEE", "NONCE"}, rows)
	} else if len(b.TxIDs) > 0 {
		fmt.Fprintln(w)
		for _, id := range b.TxIDs {
			fmt.Fprintln(w, id)
		}
	}
}

func txCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:        "tx",
		Usage:       "show a transaction by id and whether it is pending or confirmed; sign, decode, broadcast, bump or cancel one",
		ArgsUsage:   "ID",
		Subcommands: txSubcommands(s),
		Action: action(s, func(e *env) error {
			if e.c.NArg() == 0 || e.c.Args().First() == "help" {
				return unknownCommand(e.c)
			}
			a, err := e.args("ID")
			if err != nil {
				return err
			}
			id, err := types.ParseHash(a[0])
			if err != nil && strings.Trim(a[0], "0123456789abcdefABCDEF") != "" {
				return usagef("%q is neither a transaction id (64 hex digits) nor a command (see %s --help)", a[0], e.c.Command.HelpName)
			}
			if err != nil {
				return usagef("%q is not a transaction id: %v", a[0], err)
			}
			tx, err := e.client().Transaction(e.ctx, id.String())
			if notFound(err) {
				return fmt.Errorf("no transaction %s (neither pending nor on the main chain)", id)
			}
			if err != nil {
				return err
			}
			return e.print(tx, func(w io.Writer) { writeTx(w, tx) })
		}),
	}
}

func writeTx(w io.Writer, tx *rpc.Tx) {
	var t kv
	t.add("id", tx.ID)
	t.add("status", tx.Status)
	if tx.Status == "confirmed" {
		t.add("block", tx.BlockHash)
		t.add("height", tx.Height)
		t.add("index", tx.Index)
		t.add("confirmations", tx.Confirmations)
	}
	t.add("from", tx.From)
	t.add("to", tx.To)
	t.add("amount", crn(tx.Amount))
	t.add("fee", crn(tx.Fee))
	t.add("nonce", tx.Nonce)
	if tx.Memo != "" {
		t.add("memo", memoText(tx.Memo))
	}
	t.add("size", fmt.Sprintf("%d bytes", tx.Size))
	t.write(w)
}

func peersCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "peers",
		Usage: "list the node's peers",
		Action: action(s, func(e *env) error {
			if _, err := e.args(); err != nil {
				return err
			}
			c := e.client()
			ni, err := c.NetInfo(e.ctx)
			if err != nil {
				return err
			}
			peers, err := c.Peers(e.ctx)
			if err != nil {
				return err
			}
			if peers == nil {
				peers = []rpc.Peer{}
			}
			return e.print(peers, func(w io.Writer) {
				if !ni.Enabled {
					fmt.Fprintln(w, "the node runs without a network")
					return
				}
				var t kv
				t.add("node id", ni.ID)
				t.add("listening", strings.Join(ni.Addrs, " "))
				t.add("peers", len(peers))
				t.write(w)
				if len(peers) == 0 {
					return
				}
				fmt.Fprintln(w)
				rows := make([][]string, 0, len(peers))
				for _, p := range peers {
					h := "?"
					if p.Height != nil {
						h = strconv.FormatUint(*p.Height, 10)
					}
					rows = append(rows, []string{p.ID, p.Addr, p.Direction, strconv.FormatFloat(p.Score, 'f', 1, 64), h})
				}
				table(w, []string{"ID", "ADDRESS", "DIRECTION", "SCORE", "HEIGHT"}, rows)
			})
		}),
	}
}

func mempoolCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "mempool",
		Usage: "show the node's pending and queued transactions",
		Action: action(s, func(e *env) error {
			if _, err := e.args(); err != nil {
				return err
			}
			c := e.client()
			st, err := c.PoolStatus(e.ctx)
			if err != nil {
				return err
			}
			content, err := c.PoolContent(e.ctx)
			if err != nil {
				return err
			}
			v := struct {
				Status  any `json:"status"`
				Content any `json:"content"`
			}{st, content}
			return e.print(v, func(w io.Writer) {
				var t kv
				t.add("pending", st.Pending)
				t.add("queued", st.Queued)
				t.add("bytes", st.Bytes)
				t.write(w)
				var rows [][]string
				for _, s := range content.Senders {
					for _, tx := range s.Pending {
						rows = append(rows, []string{s.Sender, strconv.FormatUint(tx.Nonce, 10), "pending", tx.ID, tx.To, crn(tx.Amount), crn(tx.Fee)})
					}
					for _, tx := range s.Queued {
						rows = append(rows, []string{s.Sender, strconv.FormatUint(tx.Nonce, 10), "queued", tx.ID, tx.To, crn(tx.Amount), crn(tx.Fee)})
					}
				}
				if len(rows) > 0 {
					fmt.Fprintln(w)
					table(w, []string{"SENDER", "NONCE", "STATE", "ID", "TO", "AMOUNT", "FEE"}, rows)
				}
			})
		}),
	}
}

func minerCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "miner",
		Usage: "show, start or stop the node's miner (start and stop read the cookie in --datadir)",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "show whether the miner runs, its threads, address and hash rate",
				Action: action(s, func(e *env) error {
					if _, err := e.args(); err != nil {
						return err
					}
					st, err := e.client().MinerStatus(e.ctx)
					if err != nil {
						return err
					}
					return e.printMiner(st)
				}),
			},
			{
				Name:  "start",
				Usage: "start the miner, or restart it with new settings",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "threads", Usage: "hash with `N` threads", DefaultText: "the node's setting"},
					&cli.StringFlag{Name: "address", Usage: "pay rewards to `ADDR|NAME`, an address or a wallet name", DefaultText: "the node's setting"},
				},
				Action: action(s, func(e *env) error {
					if _, err := e.args(); err != nil {
						return err
					}
					var p rpc.MinerStartParams
					if n := e.c.Int("threads"); e.c.IsSet("threads") {
						if n < 1 || n > rpc.MaxMinerThreads {
							return usagef("--threads %d: want 1 to %d", n, rpc.MaxMinerThreads)
						}
						p.Threads = n
					}
					if e.c.IsSet("address") {
						a, err := e.resolveAddress("--address", e.c.String("address"))
						if err != nil {
							return err
						}
						p.Address = a.String()
					}
					c, err := e.adminClient()
					if err != nil {
						return err
					}
					st, err := c.MinerStart(e.ctx, p)
					if err != nil {
						return err
					}
					return e.printMiner(st)
				}),
			},
			{
				Name:  "stop",
				Usage: "stop the miner",
				Action: action(s, func(e *env) error {
					if _, err := e.args(); err != nil {
						return err
					}
					c, err := e.adminClient()
					if err != nil {
						return err
					}
					st, err := c.MinerStop(e.ctx)
					if err != nil {
						return err
					}
					return e.printMiner(st)
				}),
			},
		},
	}
}

func (e *env) printMiner(st *rpc.MinerStatus) error {
	return e.print(st, func(w io.Writer) {
		var t kv
		t.add("running", yesNo(st.Running))
		t.add("threads", st.Threads)
		addr := st.Address
		if addr == "" {
			addr = "(none set)"
		}
		t.add("address", addr)
		t.add("hash rate", fmt.Sprintf("%.0f H/s", st.HashRate))
		t.add("hashes", st.Hashes)
		t.add("blocks mined", st.BlocksMined)
		t.write(w)
	})
}
