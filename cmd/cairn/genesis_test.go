package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/consensus"
)

// devTime is cairn-dev's genesis time (node/genesis.json).
const devTime = "1795478400000"

// readGenesis parses the genesis file at path.
func readGenesis(t *testing.T, path string) *consensus.Params {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := consensus.ParseGenesis(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return p
}

// TestGenesisNewIsCairnDev: cairn-dev's name, time and block time at 3 MH/s
// give back the built-in network on standard output, with
// the hash and netID on standard error; the same flags give the same file.
func TestGenesisNewIsCairnDev(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	args := []string{"genesis", "new", "--network", "cairn-dev", "--time", devTime, "--block-time", "30s", "--hashrate", "3M"}
	r := c.run(args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dev := readGenesis(t, filepath.Join(root, "node", "genesis.json"))
	p, err := consensus.ParseGenesis([]byte(r.stdout))
	if err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if p.GenesisHash() != dev.GenesisHash() {
		t.Errorf("genesis %s, want cairn-dev's %s:\n%s", p.GenesisHash(), dev.GenesisHash(), r.stdout)
	}
	if !strings.HasSuffix(r.stdout, "}\n") {
		t.Errorf("the genesis does not end in a newline: %q", r.stdout)
	}
	if got := field(t, r.stderr, "genesis"); got != dev.GenesisHash().String() {
		t.Errorf("stderr genesis %s, want %s", got, dev.GenesisHash())
	}
	if got := field(t, r.stderr, "netID"); got != "6d86df43" {
		t.Errorf("stderr netID %s, want 6d86df43", got)
	}
	if again := c.run(args...); again.stdout != r.stdout || again.stderr != r.stderr {
		t.Errorf("the same flags gave another output:\n%s%s\nthen\n%s%s", r.stdout, r.stderr, again.stdout, again.stderr)
	}
}

// TestGenesisNewShow: new --out writes the file and says where; show
// prints what was asked for, and show --json the same as an object.
func TestGenesisNewShow(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	alice := c.showJSON("alice").Address
	other := "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzhngkd"
	out := filepath.Join(t.TempDir(), "genesis.json")
	res := jsonOut[newGenesisResult](t, c.ok("genesis", "new", "--network", "round-trip", "--block-time", "2.5s", "--hashrate", "1.5G",
		"--alloc", "alice=1000", "--alloc", other+"=0.00000001", "--time", "2026-06-01T12:00:00Z",
		"--half-life", "10m", "--subsidy", "12.5", "--halving-interval", "1000", "--max-block-size", "2000000", "--max-future-drift", "20s",
		"--out", out, "--json"))
	p := readGenesis(t, out)
	if res.Genesis != p.GenesisHash().String() || res.NetID != p.NetID() || res.File != out || res.Network != "round-trip" || res.Time != 1780315200000 {
		t.Errorf("new --json = %+v; the file has genesis %s", res, p.GenesisHash())
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("genesis file mode: %v %v", fi, err)
	}

	info := jsonOut[genesisInfo](t, c.ok("genesis", "show", "--json", out))
	want := genesisInfo{
		Network: "round-trip", Genesis: res.Genesis, NetID: res.NetID, Time: 1780315200000,
		PowLimit:      "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		TargetSpacing: 2500, HalfLife: 600_000, InitialSubsidy: "1250000000", HalvingInterval: 1000,
		MinedSupply:  "2499999989000", // 12.5 CRN × 1000 blocks × (1 + 1/2 + 1/4 + …), rounded down at each halving
		MaxBlockSize: 2_000_000, MaxFutureDrift: 20_000, AllocTotal: "100000000001",
	}
	got := info
	got.Bits, got.Target, got.Difficulty, got.HashesPerBlock, got.HashRate, got.Alloc = "", "", 0, "", 0, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("show --json =\n%+v\nwant\n%+v", got, want)
	}
	if math.Abs(info.HashRate-1.5e9)/1.5e9 > 1e-4 {
		t.Errorf("hashRate %g, want 1.5e9", info.HashRate)
	}
	bits := consensus.BitsForHashes(1.5e9*2.5, consensus.DefaultPowLimit())
	if info.Bits != fmt.Sprintf("%08x", bits) || info.HashesPerBlock != consensus.CalcWork(bits).String() {
		t.Errorf("bits %s, hashes per block %s; want %08x, %s", info.Bits, info.HashesPerBlock, bits, consensus.CalcWork(bits))
	}
	if len(info.Alloc) != 2 {
		t.Fatalf("alloc %+v", info.Alloc)
	}
	for _, a := range info.Alloc {
		if want := map[string]string{alice: "100000000000", other: "1"}[a.Address]; a.Amount != want {
			t.Errorf("alloc %s: %s, want %s", a.Address, a.Amount, want)
		}
	}

	human := c.ok("genesis", "show", out)
	for key, want := range map[string]string{
		"network":          "round-trip",
		"genesis":          res.Genesis,
		"netID":            res.NetID,
		"time":             "2026-06-01 12:00:00.000 UTC (1780315200000)",
		"block time":       "2.5s",
		"bits":             info.Bits,
		"target":           info.Target,
		"ASERT half-life":  "10m0s (240 blocks)",
		"subsidy":          "12.50000000 CRN a block, halved every 1000 blocks (about 41m40s)",
		"mined supply":     "24999.99989000 CRN (all the subsidies)",
		"max block size":   "2000000 bytes",
		"max future drift": "20s",
		"allocations":      "2, 1000.00000001 CRN in all",
	} {
		if got := field(t, human, key); got != want {
			t.Errorf("show %s: %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(human, alice+"  1000.00000000 CRN") || !strings.Contains(human, other+"  0.00000001 CRN") {
		t.Errorf("show lacks the allocations:\n%s", human)
	}
	if got := field(t, human, "hashes per block"); !strings.HasSuffix(got, "(1.5 GH/s for a block every 2.5s)") {
		t.Errorf("show hashes per block: %q", got)
	}
}

// TestGenesisNewOut: --out refuses an existing file, and --force replaces
// it; nothing is left behind.
func TestGenesisNewOut(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(out, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"genesis", "new", "--network", "x", "--block-time", "1s", "--hashrate", "1k", "--out", out}
	c.fails(c.run(args...), "cairn: --out "+out+": the file exists (add --force to overwrite it)", args...)
	if b, _ := os.ReadFile(out); string(b) != "keep" {
		t.Errorf("the file was changed: %q", b)
	}
	r := c.run(append(args, "--force")...)
	if r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.stderr)
	}
	p := readGenesis(t, out)
	if got := field(t, r.stdout, "genesis"); got != p.GenesisHash().String() {
		t.Errorf("--out: stdout genesis %s, file %s", got, p.GenesisHash())
	}
	if r.stderr != "" {
		t.Errorf("--out: stderr %q", r.stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the directory, want the genesis alone", len(entries))
	}
}

// TestGenesisNewErrors: every bad input is refused with one line naming
// the flag, exit status 1 (2 for a usage error), and nothing written.
func TestGenesisNewErrors(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	alice := c.showJSON("alice").Address
	const usage = " (usage: " + genesisNewUsage + ")"
	noDir := filepath.Join(t.TempDir(), "missing", "genesis.json")
	base := []string{"--network", "x", "--block-time", "1s", "--hashrate", "1M"}
	// with returns base with flag set to value (added if base lacks it).
	with := func(kv ...string) []string {
		args := append([]string(nil), base...)
	next:
		for i := 0; i < len(kv); i += 2 {
			for j := 0; j < len(args); j += 2 {
				if args[j] == kv[i] {
					args[j+1] = kv[i+1]
					continue next
				}
			}
			args = append(args, kv[i], kv[i+1])
		}
		return args
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--block-time", "1s", "--hashrate", "1M"}, exitUsage, "missing --network" + usage},
		{[]string{"--network", "x", "--hashrate", "1M"}, exitUsage, "missing --block-time" + usage},
		{[]string{"--network", "x", "--block-time", "1s"}, exitUsage, "missing --hashrate" + usage},
		{append(with(), "extra"), exitUsage, `unexpected argument "extra"` + usage},
		{append(with(), "--force"), exitUsage, "--force needs --out" + usage},
		{with("--halving-interval", "x"), exitUsage, `invalid value "x" for flag -halving-interval: parse error (see cairn genesis new --help)`},

		{with("--network", ""), 1, `--network: "" must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit`},
		{with("--network", strings.Repeat("n", 33)), 1, `--network: "` + strings.Repeat("n", 33) + `" must be 1-32 characters…`},
		{with("--network", "Main"), 1, `--network: "Main" must be…`},
		{with("--network", "-x"), 1, `--network: "-x" must be…`},

		{with("--block-time", "30"), 1, `--block-time "30": want a duration such as 500ms, 30s or 2m`},
		{with("--block-time", "0s"), 1, "--block-time: 0s: want a whole number of milliseconds from 100ms to 1h0m0s"},
		{with("--block-time", "-1s"), 1, "--block-time: -1s: want…"},
		{with("--block-time", "99ms"), 1, "--block-time: 99ms: want…"},
		{with("--block-time", "61m"), 1, "--block-time: 1h1m0s: want…"},
		{with("--block-time", "1500us"), 1, "--block-time: 1.5ms: want…"},
		{with("--block-time", "1.0001s"), 1, "--block-time: 1.0001s: want a whole number of milliseconds…"},

		{with("--hashrate", "0"), 1, `--hashrate "0": want a positive number of hashes per second`},
		{with("--hashrate", "0.0k"), 1, `--hashrate "0.0k": want a positive number of hashes per second`},
		{with("--hashrate", "-5"), 1, `--hashrate "-5": want a positive number of hashes per second`},
		{with("--hashrate", "-5M"), 1, `--hashrate "-5M": want a positive number of hashes per second`},
		{with("--hashrate", "fast"), 1, `--hashrate "fast": want hashes per second, a number with an optional k, M, G, T, P or E: 800, 250k, 5M or 1.5G`},
		{with("--hashrate", "1e6"), 1, `--hashrate "1e6": want hashes per second…`},
		{with("--hashrate", "5m"), 1, `--hashrate "5m": want hashes per second…`},
		{with("--hashrate", "5 MH/s"), 1, `--hashrate "5 MH/s": want hashes per second…`},
		{with("--hashrate", "1,000"), 1, `--hashrate "1,000": want hashes per second…`},
		{with("--hashrate", "NaN"), 1, `--hashrate "NaN": want hashes per second…`},
		{with("--hashrate", ".5"), 1, `--hashrate ".5": want hashes per second…`},
		{with("--hashrate", "0.1"), 1, "--hashrate: at 0.1 H/s a block takes about 20s even at the easiest target (powLimit, 2 hashes), more than twice the block time 1s"},
		{with("--hashrate", strings.Repeat("9", 80)+"E"), 1, "--hashrate: 1e+98 H/s is too high: even the hardest target gives blocks faster than half the block time 1s"},
		{with("--hashrate", strings.Repeat("9", 400)), 1, `--hashrate "` + strings.Repeat("9", 400) + `": too large`},

		{with("--alloc", "alice"), 1, `--alloc "alice": want ADDR|NAME=CRN, e.g. alice=1000`},
		{with("--alloc", "=5"), 1, `--alloc "=5": want ADDR|NAME=CRN, e.g. alice=1000`},
		{with("--alloc", "alice="), 1, `--alloc "alice=": want ADDR|NAME=CRN, e.g. alice=1000`},
		{with("--alloc", "carol=5"), 1, `--alloc "carol": not an address, and no wallet named "carol" (see cairn wallet list)`},
		{with("--alloc", "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzhngkx=1"), 1, `--alloc "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzhngkx": invalid address: checksum mismatch (mistyped?)`},
		{with("--alloc", "alice=0"), 1, `--alloc "alice=0": the amount must be more than 0`},
		{with("--alloc", "alice=-1"), 1, `--alloc "alice=-1": negative amounts are not allowed`},
		{with("--alloc", "alice=1.5.5"), 1, `--alloc "alice=1.5.5": not a decimal amount (want digits or digits.digits)`},
		{with("--alloc", "alice=0.000000001"), 1, `--alloc "alice=0.000000001": more than 8 decimal places`},
		{with("--alloc", "alice=184467440737.09551616"), 1, `--alloc "alice=184467440737.09551616": amount exceeds 2^64-1 base units (184467440737.09551615 CRN)`},
		{append(with("--alloc", "alice=5"), "--alloc", alice+"=6"), 1, `--alloc "` + alice + `=6": ` + alice + ` is already allocated by --alloc "alice=5"`},
		{append(with("--alloc", "alice=5"), "--alloc", strings.ToUpper(alice)+"=6"), 1, `--alloc "` + strings.ToUpper(alice) + `=6": ` + alice + ` is already allocated by --alloc "alice=5"`},
		{append(with("--alloc", "alice=184467440737"), "--alloc", "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzhngkd=0.09551616"), 1,
			"--alloc: the allocations add up to more than 184467440737.09551615 CRN (2^64-1 base units)"},

		{with("--time", "yesterday"), 1, `--time "yesterday": want an RFC 3339 time such as 2026-06-01T12:00:00Z, or unix milliseconds`},
		{with("--time", "-1"), 1, `--time "-1": want an RFC 3339 time…`},
		{with("--time", "99999999999999999999"), 1, `--time "99999999999999999999": want an RFC 3339 time…`},
		{with("--time", "1969-12-31T23:59:59Z"), 1, "--time: 1969-12-31T23:59:59Z is before 1970"},

		{with("--half-life", "0s"), 1, "--half-life: 0s: want a positive whole number of milliseconds"},
		{with("--half-life", "1us"), 1, "--half-life: 1µs: want a positive whole number of milliseconds"},
		{with("--half-life", "1"), 1, `--half-life "1": want a duration such as 500ms, 30s or 2m`},
		{with("--subsidy", "lots"), 1, `--subsidy "lots": not a decimal amount (want digits or digits.digits)`},
		{with("--halving-interval", "0"), 1, "--halving-interval: must be positive"},
		{with("--max-block-size", "354"), 1, "--max-block-size: must be between 355 and 33554432 bytes, got 354"},
		{with("--max-block-size", "33554433"), 1, "--max-block-size: must be between 355 and 33554432 bytes, got 33554433"},
		{with("--max-future-drift", "-1s"), 1, "--max-future-drift: -1s: want a whole number of milliseconds >= 0"},
		{with("--out", noDir), 1, "--out " + noDir + ": no such file or directory"},
	} {
		dir := t.TempDir()
		args := append([]string{"genesis", "new"}, tc.args...)
		if !strings.Contains(strings.Join(tc.args, " "), "--out") && !strings.Contains(strings.Join(tc.args, " "), "--force") {
			args = append(args, "--out", filepath.Join(dir, "genesis.json"))
		}
		r := c.run(args...)
		if r.code != tc.code {
			t.Errorf("cairn %s: exit %d, want %d", strings.Join(args, " "), r.code, tc.code)
		}
		c.fails(r, "cairn: "+tc.want, args...)
		if r.stdout != "" {
			t.Errorf("cairn %s: stdout %q", strings.Join(args, " "), r.stdout)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("cairn %s: left %s behind", strings.Join(args, " "), entries[0].Name())
		}
	}
}

// TestGenesisNewWarnsOfSchedule: a genesis time more than a half-life ago,
// or beyond the future drift ahead, is written, with a warning.
func TestGenesisNewWarnsOfSchedule(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	now := time.Now()
	for _, tc := range []struct {
		time string
		want []string // what the warning says; none without
	}{
		{devTime, []string{"ago, more than the half-life (2h0m0s): until the chain catches up with its schedule, its blocks will come faster than every 30s"}},
		{now.Add(-10 * 24 * time.Hour).Format(time.RFC3339Nano), []string{"the genesis time is 240h0m0s ago, more than the half-life (2h0m0s)"}},
		{now.Add(-30 * time.Minute).Format(time.RFC3339Nano), nil},
		{now.Add(30 * time.Second).Format(time.RFC3339Nano), nil},
		{now.Add(time.Hour).Format(time.RFC3339Nano), []string{"the genesis time is ", " ahead: no block can be mined until 1m0s before it"}},
	} {
		r := c.run("genesis", "new", "--network", "x", "--block-time", "30s", "--hashrate", "1M", "--time", tc.time)
		if r.code != 0 {
			t.Fatalf("--time %s: exit %d: %s", tc.time, r.code, r.stderr)
		}
		var warn string
		if lines := r.stderrLines(); strings.HasPrefix(lines[len(lines)-1], "cairn: warning: ") {
			warn = lines[len(lines)-1]
		}
		if (warn == "") != (tc.want == nil) {
			t.Errorf("--time %s: warning %q, want one: %v", tc.time, warn, tc.want != nil)
		}
		for _, w := range tc.want {
			if !strings.Contains(warn, w) {
				t.Errorf("--time %s: warning %q lacks %q", tc.time, warn, w)
			}
		}
	}
}

func TestGenesisShowErrors(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cut := write("cut.json", `{"network": "x"`)
	good := c.ok("genesis", "new", "--network", "x", "--block-time", "1s", "--hashrate", "1M", "--time", devTime)
	bits := write("bits.json", regexp.MustCompile(`"bits": "[0-9a-f]{8}"`).ReplaceAllString(good, `"bits": "zz"`))
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{cut}, 1, "cairn: " + cut + ": genesis: invalid JSON: unexpected EOF"},
		{[]string{bits}, 1, "cairn: " + bits + `: genesis: bits: want 8 hex digits of compact target, got "zz"`},
		{[]string{missing}, 1, "cairn: open " + missing + ": no such file or directory"},
		{nil, exitUsage, "cairn: missing FILE (usage: cairn genesis show FILE)"},
		{[]string{cut, bits}, exitUsage, `cairn: unexpected argument "` + bits + `" after FILE (usage: cairn genesis show FILE)`},
	} {
		args := append([]string{"genesis", "show"}, tc.args...)
		r := c.run(args...)
		if r.code != tc.code {
			t.Errorf("cairn %s: exit %d, want %d", strings.Join(args, " "), r.code, tc.code)
		}
		c.fails(r, tc.want, args...)
	}
}

func TestParseHashRate(t *testing.T) {
	for in, want := range map[string]float64{
		"1": 1, "800": 800, "2.5": 2.5, "250k": 250e3, "250K": 250e3, "5M": 5e6, "1.5G": 1.5e9,
		"3T": 3e12, "7P": 7e15, "1E": 1e18, "5MH/s": 5e6, "800H/s": 800, "0.5": 0.5, "007": 7,
	} {
		got, err := parseHashRate(in)
		if err != nil || math.Abs(got-want)/want > 1e-15 {
			t.Errorf("parseHashRate(%q) = %g, %v; want %g", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0.0", "-1", "+1", "1e6", "5m", "5 M", "5MH", "5Mh/s", "1.", ".5", "0x10", "Inf", "1,000", "k", "5MM"} {
		if got, err := parseHashRate(in); err == nil {
			t.Errorf("parseHashRate(%q) = %g, want an error", in, got)
		}
	}
}

func TestParseGenesisTime(t *testing.T) {
	for in, want := range map[string]int64{
		"0":                              0,
		"1795478400000":                  1795478400000,
		"2026-11-24T00:00:00Z":           1795478400000,
		"2026-11-24T02:00:00+02:00":      1795478400000,
		"2026-11-24T00:00:00.123456Z":    1795478400123,
		"9223372036854775807":            math.MaxInt64,
		"1970-01-01T00:00:00.000000001Z": 0,
	} {
		got, err := parseGenesisTime(in)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("parseGenesisTime(%q) = %v (%d), %v; want %d", in, got, got.UnixMilli(), err, want)
		}
	}
	for _, in := range []string{"", "now", "-1", "+5", "1.5", "2026-11-24", "2026-11-24 00:00:00", "9223372036854775808"} {
		if got, err := parseGenesisTime(in); err == nil {
			t.Errorf("parseGenesisTime(%q) = %v, want an error", in, got)
		}
	}
}

func TestMinedSupply(t *testing.T) {
	for _, tc := range []struct {
		initial, interval uint64
		want              string
	}{
		{5_000_000_000, 210_000, "2099999997690000"}, // Bitcoin's 20,999,999.9769 BTC
		{1, 1, "1"},
		// (2^64-1) × Σ_{k<64} (2^(64-k) - 1): beyond 2^64, computed exactly.
		{math.MaxUint64, math.MaxUint64, "680564733841876925672370617851286913090"},
	} {
		if got := minedSupply(tc.initial, tc.interval).String(); got != tc.want {
			t.Errorf("minedSupply(%d, %d) = %s, want %s", tc.initial, tc.interval, got, tc.want)
		}
	}
}

func TestFormatHashRate(t *testing.T) {
	for h, want := range map[float64]string{
		0.5: "0.5 H/s", 800: "800 H/s", 2.14e6: "2.14 MH/s", 1.5e9: "1.5 GH/s", 250e3: "250 kH/s", 7e20: "700 EH/s",
	} {
		if got := formatHashRate(h); got != want {
			t.Errorf("formatHashRate(%g) = %q, want %q", h, got, want)
		}
	}
}
