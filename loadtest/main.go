// Command loadtest measures cairn's transaction path under a constant
// offered load: it builds cairnd, makes a fresh genesis funding N senders
// (deterministic keys from the seeds "load-<i>"), starts three cairnd
// processes on loopback (two mining one thread each, one entry node), and
// submits signed transfers to the entry node with tx_send at each rate of
// -rates for -stage, open loop. Per stage it prints the offered and
// accepted rates, the refusals by reason, submit and inclusion latencies,
// block fill, every node's pool, tip, CPU, memory and gossip drops. After
// the last stage it waits up to -drain for every accepted transfer to be
// mined, stops the miners, and checks that nothing was lost: every
// accepted transfer in the chain, every balance of the chain replayed
// from genesis equal to the nodes' accounts, one tip and state root.
//
//	go run ./loadtest -senders 300 -rates 200,500,1000,2000 -stage 60s -json out.json
//
// It exits 1 if an accepted transfer was lost, the balances do not add
// up or the nodes disagree.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the flags.
type options struct {
	senders   int
	rates     []int
	stage     time.Duration
	drain     time.Duration
	blockTime time.Duration
	jsonPath  string
	dir       string
	keep      bool
	workers   int
	cairnd    string
	logLevel  string
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain is the whole command; it returns the exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, opts, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if !rep.ok() {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	rates := fs.String("rates", "200,500,1000,2000", "offered `TX/S` of each stage, comma-separated")
	fs.IntVar(&o.senders, "senders", 300, "`N` funded senders, each with its own nonce")
	fs.DurationVar(&o.stage, "stage", 60*time.Second, "`DURATION` of each stage")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "after the last stage, wait up to `DURATION` for every accepted tx to be mined")
	fs.DurationVar(&o.blockTime, "block-time", 2*time.Second, "target block time (`DURATION`) of the genesis")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results to `FILE` as JSON")
	fs.StringVar(&o.dir, "dir", "", "`DIR` for the genesis and the nodes' datadirs and logs, empty or new (default a temporary directory, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (a -dir is always kept)")
	fs.IntVar(&o.workers, "workers", 128, "`N` goroutines submitting at once")
	fs.StringVar(&o.cairnd, "cairnd", "", "use the cairnd binary at `PATH` instead of building ./cmd/cairnd")
	fs.StringVar(&o.logLevel, "log-level", "info", "cairnd's --log.level")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./loadtest [flags]\n\nRuns 3 cairnd processes on loopback (2 mining, 1 entry) and offers signed\ntransfers to the entry node at each rate, then checks that none was lost.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return o, fmt.Errorf("-rates %q: want positive whole numbers of tx/s, comma-separated", *rates)
		}
		o.rates = append(o.rates, r)
	}
	switch {
	case o.senders < 2:
		return o, errors.New("-senders: at least 2")
	case o.stage <= 0 || o.drain < 0:
		return o, errors.New("-stage must be positive and -drain not negative")
	case o.blockTime < 100*time.Millisecond || o.blockTime%time.Millisecond != 0:
		return o, fmt.Errorf("-block-time %s: want a whole number of milliseconds, at least 100ms", o.blockTime)
	case o.workers < 1:
		return o, errors.New("-workers: at least 1")
	}
	return o, nil
}

// prepareDir returns the directory to run in and whether to remove it at
// the end.
func prepareDir(o options) (string, bool, error) {
	if o.dir == "" {
		d, err := os.MkdirTemp("", "cairn-loadtest-")
		return d, !o.keep, err
	}
	d, err := filepath.Abs(o.dir)
	if err != nil {
		return "", false, err
	}
	if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
		return "", false, fmt.Errorf("-dir %s is not empty", d)
	}
	return d, false, os.MkdirAll(d, 0o755)
}
