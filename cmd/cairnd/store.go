package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/node"
)

// The exit statuses of cairnd besides 0 (a clean stop) and 1 (any other
// error, and `cairnd check` finding damage).
const (
	exitDamaged  = 3 // the chain database is damaged: run cairnd reindex
	exitDiskFull = 4 // the disk is full: free space and start again, no repair needed
	exitStoreIO  = 5 // the chain database could not be read or written (an I/O error)
)

// exitError is an error with the exit status it ends cairnd with.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// storeExit turns a failure of the chain database in datadir into the
// exit status and the one message that say what is wrong and what to do;
// other errors pass unchanged. repair is the reindex command line.
func storeExit(err error, datadir, repair string) error {
	db := filepath.Join(datadir, "chain")
	switch {
	case errors.Is(err, chain.ErrCorrupt):
		return &exitError{exitDamaged, fmt.Sprintf("the chain database %s is damaged (%s); cairnd stopped; repair the database with: %s",
			db, oneLine(err), repair)}
	case errors.Is(err, chain.ErrDiskFull):
		return &exitError{exitDiskFull, fmt.Sprintf("disk full: cannot write the chain database %s (%s); free space and start cairnd again — what is stored is intact, nothing needs repair",
			db, oneLine(err))}
	case errors.Is(err, chain.ErrStoreFailed):
		return &exitError{exitStoreIO, fmt.Sprintf("cannot read or write the chain database %s (%s); check the disk, then start cairnd again (`cairnd check` says whether the database is damaged)",
			db, oneLine(err))}
	}
	return err
}

// repairCommand is the reindex command line for the settings of c: the
// same --datadir, --genesis and --config.
func repairCommand(c *cli.Context) string {
	args := []string{"cairnd", "reindex"}
	for _, name := range []string{"config", "datadir", "genesis"} {
		if v := setting(c, name); v != "" {
			if name == "datadir" {
				if abs, err := filepath.Abs(v); err == nil {
					v = abs
				}
			}
			if strings.ContainsAny(v, " \t'\"\\$") {
				v = strconv.Quote(v)
			}
			args = append(args, "--"+name, v)
		}
	}
	return strings.Join(args, " ")
}

// setting is the value of the string flag name for c: set on c's own
// command, else on a parent (`cairnd --datadir D check`), else c's default.
func setting(c *cli.Context, name string) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) {
			return ctx.String(name)
		}
	}
	return c.String(name)
}

// paramsFrom reads the network's parameters from the genesis file at
// path, or returns the built-in network's for "".
func paramsFrom(path string) (*consensus.Params, error) {
	if path == "" {
		return node.DefaultParams(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--genesis: %w", err)
	}
	p, err := consensus.ParseGenesis(data)
	if err != nil {
		return nil, fmt.Errorf("--genesis %s: %w", path, err)
	}
	return p, nil
}

// storeCommand builds check and reindex: commands on the chain database of
// --datadir, for the network of --genesis, taking those settings (and
// --config) after the command as well as before it.
func storeCommand(name, usage, desc string, action func(c *cli.Context, dir string, cfg chain.Config) error) *cli.Command {
	flags := storeFlags()
	return &cli.Command{
		Name: name, Usage: usage, Description: desc, Flags: flags,
		Before: func(c *cli.Context) error { return loadConfigInto(c, flags, daemonFlags()) },
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("unexpected argument %q (see cairnd %s --help)", c.Args().First(), name)
			}
			datadir := setting(c, "datadir")
			if datadir == "" {
				return errors.New("--datadir must not be empty")
			}
			params, err := paramsFrom(setting(c, "genesis"))
			if err != nil {
				return err
			}
			return action(c, filepath.Join(datadir, "chain"), chain.Config{Params: params})
		},
	}
}

func checkCommand(stdout io.Writer) *cli.Command {
	return storeCommand("check", "verify the whole chain database, read-only; exit status 0 if it is sound, 1 if not",
		"Reads every record (LevelDB verifies each table block's checksum), every stored block against its index entry, "+
			"the main chain's height index and undo records, the tx index, and the state: the commitment of the stored "+
			"accounts must equal the tip's stateRoot. Stop the node first.",
		func(c *cli.Context, dir string, cfg chain.Config) error {
			fmt.Fprintf(stdout, "checking %s\n", dir)
			t0 := time.Now()
			r, err := chain.Check(dir, cfg)
			if err != nil {
				return err
			}
			if r.Headers > 0 {
				fmt.Fprintf(stdout, "headers    %d\n", r.Headers)
				fmt.Fprintf(stdout, "blocks     %d bodies decode and match their headers\n", r.Blocks)
				fmt.Fprintf(stdout, "main chain height %d, tip %s; %d undo records\n", r.TipHeight, r.Tip, r.Undo)
				fmt.Fprintf(stdout, "tx index   %d entries\n", r.TxIndex)
				fmt.Fprintf(stdout, "history    %d address records\n", r.History)
				fmt.Fprintf(stdout, "state      %d accounts\n", r.Accounts)
			}
			if r.OK() {
				fmt.Fprintf(stdout, "ok: no damage found (%v)\n", time.Since(t0).Round(time.Millisecond))
				return nil
			}
			for _, p := range r.Problems {
				fmt.Fprintln(stdout, p)
			}
			if more := r.Damaged - len(r.Problems); more > 0 {
				fmt.Fprintf(stdout, "… and %d more\n", more)
			}
			problems := fmt.Sprintf("%d problems", r.Damaged)
			if r.Damaged == 1 {
				problems = "1 problem"
			}
			return &exitError{1, fmt.Sprintf("the chain database %s is corrupt (%s); repair it with: %s",
				dir, problems, repairCommand(c))}
		})
}

func reindexCommand(stdout, stderr io.Writer) *cli.Command {
	return storeCommand("reindex", "rebuild the chain database from its stored blocks, validating each again",
		"Rebuilds the block index, the state, the undo records and the tx index from the stored block bodies, "+
			"validating every block again. A damaged database is first recovered as far as LevelDB can "+
			"(a damaged MANIFEST, a missing or damaged table); the longest valid chain left is kept and the node "+
			"syncs the rest from its peers. Only the chain directory is touched: the p2p key, the RPC cookie and "+
			"wallets are not. Stop the node first.",
		func(c *cli.Context, dir string, cfg chain.Config) error {
			fmt.Fprintf(stdout, "reindexing %s\n", dir)
			t0 := time.Now()
			last := time.Now()
			r, err := chain.Reindex(dir, cfg, func(done, total int) {
				if time.Since(last) >= 2*time.Second {
					fmt.Fprintf(stderr, "… %d of %d blocks\n", done, total)
					last = time.Now()
				}
			})
			if err != nil {
				return storeExit(err, filepath.Dir(dir), "cairnd reindex")
			}
			if r.Recovered {
				fmt.Fprintln(stdout, "LevelDB could not open the database: recovered what its tables hold")
			}
			fmt.Fprintf(stdout, "found %d block bodies (%d unreadable)\n", r.Bodies, r.Unreadable)
			fmt.Fprintf(stdout, "validated and stored %d blocks; %d invalid, %d cut off from genesis by a lost block\n",
				r.Stored, r.Invalid, r.Unconnected)
			fmt.Fprintf(stdout, "tip: height %d, %s (%v)\n", r.Tip.Height, r.Tip.Hash, time.Since(t0).Round(time.Millisecond))
			if r.Unconnected > 0 {
				fmt.Fprintln(stdout, "the node fetches the blocks above the tip from its peers again")
			}
			return nil
		})
}
