// Command benchtab runs cairn's benchmarks and prints every performance
// figure cairn sets itself a target for (the figures table below) beside
// the ceiling measured in the same run, as a ratio against its target. It is what `make bench` runs.
//
// Figures whose benchmark does not exist yet (a later issue builds it) are
// listed as "not built yet", never invented.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
)

// metric names one reported value of one benchmark.
type metric struct {
	bench string // benchmark name without the -N suffix
	unit  string // "tx/s", "ns/op", …
}

// figure is one row of the performance table: a value, the ceiling it is
// judged against, and its target.
type figure struct {
	name    string
	value   metric
	ceiling metric // zero: an absolute target only
	target  string // how the figure is judged
	ratio   float64
	// lower: smaller values are better (latency, memory).
	lower bool
	abs   float64 // absolute bound, if any (same unit as value)
}

var figures = []figure{
	{name: "txpool admission, tx/s", value: metric{"BenchmarkAdmission", "tx/s"},
		ceiling: metric{"BenchmarkVerifySingle", "sig/s"}, ratio: 0.7, target: ">= 0.7 of single verify"},
	{name: "block import, unseen txs, tx/s", value: metric{"BenchmarkImportUnseen1000", "tx/s"},
		ceiling: metric{"BenchmarkOverlapImport1000", "tx/s"}, ratio: 0.8, target: ">= 0.8 of the overlap bound"},
	{name: "block import, pre-verified txs, tx/s", value: metric{"BenchmarkImportVerified1000", "tx/s"},
		ceiling: metric{"BenchmarkLevelDBBatch1000", "tx/s"}, ratio: 0.6, target: ">= 0.6 of the LevelDB batch"},
	{name: "import at 1M accounts, tx/s", value: metric{"BenchmarkImportAt1MAccounts", "tx/s"},
		ceiling: metric{"BenchmarkImportAt10kAccounts", "tx/s"}, ratio: 0.8, target: ">= 0.8 of the same import at 10,000 accounts"},
	{name: "sync of 20,000 blocks, blocks/s", value: metric{"BenchmarkSync20000", "blocks/s"},
		ceiling: metric{"BenchmarkLocalImport20000", "blocks/s"}, ratio: 0.8, target: ">= 0.8 of local import"},
	{name: "sync of full blocks, tx/s", value: metric{"BenchmarkFullSync400", "tx/s"},
		ceiling: metric{"BenchmarkOverlapFullSync400", "tx/s"}, ratio: 0.8, target: ">= 0.8 of the overlap bound"},
	{name: "RSS during full-block sync, MB", value: metric{"BenchmarkFullSync400", "peak-MB"},
		lower: true, abs: 200, target: "<= 200 MB"},
	{name: "block to all 8 nodes, p95 ms", value: metric{"BenchmarkPropagation8", "p95-ms"},
		ceiling: metric{"BenchmarkPropagation8", "hop-x-depth-ms"}, lower: true, abs: 50, target: "p95 <= 50 ms"},
	{name: "new head to 1,000 WebSocket subscribers, p95 ms", value: metric{"BenchmarkSubscribers1000", "p95-ms"},
		lower: true, abs: 50, target: "p95 <= 50 ms"},
	{name: "RPC chain_getHead, req/s", value: metric{"BenchmarkRPCGetHead", "req/s"},
		ceiling: metric{"BenchmarkHTTPConstant", "req/s"}, ratio: 0.6, target: ">= 0.6 of net/http constant"},
	{name: "RPC chain_getBlock, req/s", value: metric{"BenchmarkRPCGetBlock", "req/s"},
		ceiling: metric{"BenchmarkHTTPConstant", "req/s"}, ratio: 0.6, target: ">= 0.6 of net/http constant"},
	{name: "mining, hashes/s per thread", value: metric{"BenchmarkMinerThread", "hash/s"},
		ceiling: metric{"BenchmarkBareHeaderHash", "hash/s"}, ratio: 0.9, target: ">= 0.9 of a bare hash loop"},
	{name: "idle RSS after 20,000 blocks, MB", value: metric{"BenchmarkIdleRSS", "MB"},
		lower: true, abs: 64, target: "<= 64 MB"},
	{name: "start to RPC-ready, s", value: metric{"BenchmarkStartReady", "s"},
		lower: true, abs: 0.3, target: "<= 0.3 s"},
	{name: "explorer overview on 20,000 blocks, ms", value: metric{"BenchmarkExplorerOverview", "ms"},
		lower: true, abs: 50, target: "<= 50 ms"},
}

// side is a figure an issue asks for that the performance table gives no
// target: printed beside a reference measured in the same run, when there
// is one.
type side struct {
	name        string
	value, base metric
}

var sides = []side{
	{"heap per idle WebSocket subscriber (server and client ends), bytes", metric{"BenchmarkSubscribers1000", "B/sub"}, metric{}},
	{"new head to 1,000 subscribers beside one that never reads, p95 ms", metric{"BenchmarkSubscribers1000OneStalled", "p95-ms"}, metric{"BenchmarkSubscribers1000", "p95-ms"}},
	{"new head told to 1,000 stalled subscribers, ns", metric{"BenchmarkNotifyStalled1000", "ns/op"}, metric{"BenchmarkNotifyNone", "ns/op"}},
	{"LtHash per account value (expand + add), ns", metric{"BenchmarkLtHashAccount", "ns/op"}, metric{"BenchmarkAESCTR2048", "ns/op"}},
	{"txpool admission, one goroutine, tx/s", metric{"BenchmarkAdmissionSerial", "tx/s"}, metric{"BenchmarkVerifySingle", "sig/s"}},
	{"block template from 50,000 pooled txs, ns", metric{"BenchmarkTemplate50k", "ns/op"}, metric{}},
	{"memory per pooled tx, bytes", metric{"BenchmarkPoolMemoryPerTx", "B/tx"}, metric{}},
	{"LtHash lane-wise add, ns", metric{"BenchmarkLtHashAdd", "ns/op"}, metric{}},
	{"batch verify (1024), sig/s", metric{"BenchmarkVerifyBatch1024", "sig/s"}, metric{"BenchmarkVerifySingle", "sig/s"}},
	{"batch verify on all cores (1024 per goroutine), sig/s", metric{"BenchmarkVerifyBatch1024Parallel", "sig/s"}, metric{"BenchmarkVerifyBatch1024", "sig/s"}},
	{"overlap bound of the unseen import: batch-verify CPU per signature, ns", metric{"BenchmarkOverlapImport1000", "verify-ns/sig"}, metric{}},
	{"overlap bound of the unseen import: pre-verified apply CPU per tx, ns", metric{"BenchmarkOverlapImport1000", "apply-ns/tx"}, metric{}},
	{"overlap bound of the full-block sync: batch-verify CPU per signature, ns", metric{"BenchmarkOverlapFullSync400", "verify-ns/sig"}, metric{}},
	{"overlap bound of the full-block sync: pre-verified apply CPU per tx, ns", metric{"BenchmarkOverlapFullSync400", "apply-ns/tx"}, metric{}},
	{"single verify, crypto/ed25519, sig/s", metric{"BenchmarkVerifySingleStdlib", "sig/s"}, metric{"BenchmarkVerifySingle", "sig/s"}},
	{"encode header, ns", metric{"BenchmarkEncodeHeader", "ns/op"}, metric{}},
	{"decode header, ns", metric{"BenchmarkDecodeHeader", "ns/op"}, metric{}},
	{"header hash, ns", metric{"BenchmarkHeaderHash", "ns/op"}, metric{}},
	{"encode tx, ns", metric{"BenchmarkEncodeTx", "ns/op"}, metric{}},
	{"decode tx, ns", metric{"BenchmarkDecodeTx", "ns/op"}, metric{}},
	{"encode 1000-tx block, MB/s", metric{"BenchmarkEncodeBlock1000", "MB/s"}, metric{}},
	{"decode 1000-tx block, MB/s", metric{"BenchmarkDecodeBlock1000", "MB/s"}, metric{}},
	{"Merkle root of 1000 ids, ns", metric{"BenchmarkMerkleRoot1000", "ns/op"}, metric{}},
}

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// parse reads `go test -bench` output into bench -> unit -> value. When a
// benchmark appears more than once (-count), the last value wins.
func parse(out []byte) map[string]map[string]float64 {
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		vals := map[string]float64{}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			vals[fields[i+1]] = v
		}
		res[m[1]] = vals
	}
	return res
}

func main() {
	benchtime := flag.String("benchtime", "1s", "passed to go test -benchtime")
	pattern := flag.String("bench", ".", "passed to go test -bench")
	input := flag.String("input", "", "read go test -bench output from this file instead of running it")
	flag.Parse()

	var out []byte
	if *input != "" {
		var err error
		if out, err = os.ReadFile(*input); err != nil {
			fmt.Fprintln(os.Stderr, "benchtab:", err)
			os.Exit(1)
		}
	} else {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", *pattern, "-benchtime", *benchtime, "-benchmem", "./...")
		var buf bytes.Buffer
		cmd.Stdout = &buf
		cmd.Stderr = os.Stderr
		fmt.Println("running: " + strings.Join(cmd.Args, " "))
		err := cmd.Run()
		out = buf.Bytes()
		os.Stdout.Write(out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtab: benchmarks failed:", err)
			os.Exit(1)
		}
	}
	os.Exit(report(os.Stdout, parse(out)))
}

func report(w *os.File, res map[string]map[string]float64) int {
	get := func(m metric) (float64, bool) {
		v, ok := res[m.bench][m.unit]
		return v, ok
	}
	fmt.Fprintln(w, "\nPerformance figures — each beside its ceiling from this run")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tceiling\tratio\ttarget\tverdict")
	missed := 0
	for _, f := range figures {
		v, ok := get(f.value)
		if !ok {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\tnot built yet (%s)\n", f.name, f.target, f.value.bench)
			continue
		}
		ceil, ratio, verdict := "-", "-", "ok"
		if f.ceiling.bench != "" {
			c, ok := get(f.ceiling)
			if !ok || c == 0 {
				fmt.Fprintf(tw, "%s\t%.4g %s\t-\t-\t%s\tceiling missing (%s)\n", f.name, v, f.value.unit, f.target, f.ceiling.bench)
				missed++
				continue
			}
			ceil = fmt.Sprintf("%.4g %s", c, f.ceiling.unit)
			r := v / c
			ratio = fmt.Sprintf("%.2f", r)
			if f.ratio > 0 && r < f.ratio {
				verdict = "BELOW TARGET"
			}
		}
		if f.abs > 0 && ((f.lower && v > f.abs) || (!f.lower && v < f.abs)) {
			verdict = "BELOW TARGET"
		}
		if verdict != "ok" {
			missed++
		}
		fmt.Fprintf(tw, "%s\t%.4g %s\t%s\t%s\t%s\t%s\n", f.name, v, f.value.unit, ceil, ratio, f.target, verdict)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nother figures, beside a reference from this run")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\treference\tvalue/reference")
	for _, sd := range sides {
		v, ok := get(sd.value)
		if !ok {
			continue
		}
		ref, ratio := "-", "-"
		if b, ok := get(sd.base); ok && b != 0 {
			ref = fmt.Sprintf("%.4g %s (%s)", b, sd.base.unit, strings.TrimPrefix(sd.base.bench, "Benchmark"))
			ratio = fmt.Sprintf("%.2f", v/b)
		}
		fmt.Fprintf(tw, "%s\t%.4g %s\t%s\t%s\n", sd.name, v, sd.value.unit, ref, ratio)
	}
	tw.Flush()
	if missed > 0 {
		fmt.Fprintf(w, "\n%d figure(s) below target\n", missed)
	}
	return 0
}
