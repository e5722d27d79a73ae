// Command cairn-sim runs N real cairn nodes in one process on go-libp2p's
// mocknet, with per-link latency and bandwidth, Poisson mining, a load of
// transfers and an optional partition, and reports block and transaction
// propagation against the shortest-path bound (see package sim).
//
//	cairn-sim -nodes 100 -peers 8 -latency 25ms-150ms -block-time 2s \
//	    -tx-rate 20 -duration 2m -partition 40:60s -seed 7 -json out.json
//
// -scale 16,32,64,100 runs once per node count with the other flags and
// prints how the time-to-all p95 grows with N.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/cairn-ledger/cairn/sim"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	cfg            sim.Config
	jsonFile, plot string
	cpuProfile     string
	mutexProfile   string
	scale          []int
}

// parse parses the flags; an error is one line naming the problem.
func parse(args []string) (*options, error) {
	d := sim.Defaults()
	o := &options{cfg: d}
	fs := flag.NewFlagSet("cairn-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.cfg.Nodes, "nodes", d.Nodes, "nodes")
	fs.IntVar(&o.cfg.Peers, "peers", d.Peers, "connections each node dials at start, to random others")
	latency := fs.String("latency", "25ms-150ms", "one-way latency per link: D, or LO-HI drawn uniformly once per link")
	bandwidth := fs.String("bandwidth", "20Mbit", "per-link rate, e.g. 20Mbit")
	fs.DurationVar(&o.cfg.BlockTime, "block-time", d.BlockTime, "mean time between blocks over the whole network")
	fs.IntVar(&o.cfg.Miners, "miners", 0, "nodes holding hash power, equal shares (0: all)")
	fs.Float64Var(&o.cfg.TxRate, "tx-rate", d.TxRate, "signed transfers per second")
	fs.DurationVar(&o.cfg.Duration, "duration", d.Duration, "run length (real time)")
	partition := fs.String("partition", "", "P:D: at a third of the run cut P% of the nodes off for D, then heal")
	fs.Uint64Var(&o.cfg.Seed, "seed", d.Seed, "seed of topology, latencies, miner choice and tx schedule")
	fs.StringVar(&o.jsonFile, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.plot, "plot", "", "draw the propagation CDF and tip heights to this file (.svg or .png)")
	fs.BoolVar(&o.cfg.MocknetLatency, "mocknet-latency", false, "put the latency in mocknet's links (stop-and-wait per stream) instead of the sim's pipelined delay")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	fs.StringVar(&o.mutexProfile, "mutexprofile", "", "write a profile of the run's lock contention to this file (go tool pprof)")
	scale := fs.String("scale", "", "comma-separated node counts: one run each, then p95 against N")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errors.New(strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0]))
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.cfg.LatencyLo, o.cfg.LatencyHi, err = sim.ParseLatency(*latency); err != nil {
		return nil, err
	}
	if o.cfg.Bandwidth, err = sim.ParseBandwidth(*bandwidth); err != nil {
		return nil, err
	}
	if *partition != "" {
		if o.cfg.PartitionPct, o.cfg.PartitionFor, err = sim.ParsePartition(*partition); err != nil {
			return nil, err
		}
		if o.cfg.PartitionFor >= o.cfg.Duration-o.cfg.Duration/3 {
			return nil, fmt.Errorf("-partition %s: must heal before the run ends (it starts at %v of %v)", *partition, o.cfg.Duration/3, o.cfg.Duration)
		}
	}
	if *scale != "" {
		for _, f := range strings.Split(*scale, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 2 {
				return nil, fmt.Errorf("-scale %q: want node counts >= 2, e.g. 16,32,64,100", *scale)
			}
			o.scale = append(o.scale, n)
		}
	}
	if err := o.cfg.Validate(); err != nil {
		return nil, err
	}
	for _, n := range o.scale {
		c := o.cfg
		c.Nodes = n
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("-scale %d: %v", n, err)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: cairn-sim [flags]; see go doc ./cmd/cairn-sim")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	o.cfg.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, "cairn-sim: "+format+"\n", args...) }
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "cairn-sim: cpu profile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if o.mutexProfile != "" {
		runtime.SetMutexProfileFraction(5)
		defer func() {
			if err := writeProfile("mutex", o.mutexProfile); err != nil {
				fmt.Fprintf(stderr, "cairn-sim: mutex profile: %v\n", err)
			}
		}()
	}
	if len(o.scale) > 0 {
		return runScale(ctx, o, stdout, stderr)
	}
	fmt.Fprintf(stderr, "cairn-sim: starting %d nodes\n", o.cfg.Nodes)
	res, err := sim.Run(ctx, o.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
		return 1
	}
	res.WriteTable(stdout)
	if o.jsonFile != "" {
		if err := res.WriteJSON(o.jsonFile); err != nil {
			fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
			return 1
		}
	}
	if o.plot != "" {
		if err := res.WritePlot(o.plot); err != nil {
			fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
			return 1
		}
	}
	return 0
}

func runScale(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	type row struct {
		n   int
		res *sim.Result
	}
	var rows []row
	for _, n := range o.scale {
		c := o.cfg
		c.Nodes = n
		fmt.Fprintf(stderr, "cairn-sim: scale run with %d nodes\n", n)
		res, err := sim.Run(ctx, c)
		if err != nil {
			fmt.Fprintf(stderr, "cairn-sim: %d nodes: %v\n", n, err)
			return 1
		}
		res.WriteTable(stdout)
		fmt.Fprintln(stdout)
		if o.jsonFile != "" {
			if err := res.WriteJSON(fmt.Sprintf("%s.%d.json", strings.TrimSuffix(o.jsonFile, ".json"), n)); err != nil {
				fmt.Fprintf(stderr, "cairn-sim: %v\n", err)
				return 1
			}
		}
		rows = append(rows, row{n, res})
	}
	fmt.Fprintf(stdout, "%6s %14s %14s %12s %10s %11s %9s %8s %14s  %s\n", "nodes", "to-all p50 ms", "to-all p95 ms", "bound p95 ms",
		"ratio p95", "stale rate", "lag p99", "CPU sat", "calm p95 ms", "p95 vs first")
	for _, r := range rows {
		growth := "-"
		if p0 := rows[0].res.Propagation.P95; p0 > 0 {
			growth = fmt.Sprintf("x%.2f", r.res.Propagation.P95/p0)
		}
		if r.res.CPUBound {
			growth += " CPU-bound"
		}
		calm := fmt.Sprintf("%.0f (%d)", r.res.PropagationCalm.P95, r.res.PropagationCalm.N)
		fmt.Fprintf(stdout, "%6d %14.0f %14.0f %12.0f %10.2f %10.1f%% %7.1fms %7.1f%% %14s  %s\n", r.n, r.res.Propagation.P50, r.res.Propagation.P95,
			r.res.Bound.P95, r.res.PropagationRatio.P95, 100*r.res.StaleRate, r.res.SchedulerLag.P99, 100*r.res.CPUSaturated, calm, growth)
	}
	return 0
}

// writeProfile writes the named runtime/pprof profile to file.
func writeProfile(name, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
