package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/wallet"
)

const genesisNewUsage = "cairn genesis new --network NAME --block-time DURATION --hashrate H/s [--alloc ADDR|NAME=CRN]... [--time TIME] [--out FILE [--force]]"

func genesisCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:  "genesis",
		Usage: "make a new network's genesis.json, or show the parameters of one",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "write the genesis.json of a new network, with the difficulty its first miners' hash rate needs",
				UsageText: genesisNewUsage,
				Description: "The genesis bits are chosen so that, at the stated hash rate, a block takes the\n" +
					"block time on average; cairnd's ASERT corrects the difficulty if the rate was\n" +
					"wrong, by a factor of 2 every half-life. The genesis goes to standard output\n" +
					"(its hash and netID to standard error), or to --out FILE.\n\n" +
					"Make it when the network starts: ASERT schedules block h at the genesis time\n" +
					"plus h block times, so a chain that starts late gets easy blocks until it has\n" +
					"caught up.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "network", Usage: "name the network `NAME`: 1-32 characters of a-z, 0-9 and '-'"},
					&cli.StringFlag{Name: "block-time", Usage: fmt.Sprintf("aim for a block every `DURATION` (%s to %s), e.g. 30s", consensus.MinBlockTime, consensus.MaxBlockTime)},
					&cli.StringFlag{Name: "hashrate", Usage: "the hash rate all the miners bring at launch, in `H/s`: a number with an optional k, M, G, T, P or E (x1000 each), e.g. 800, 250k, 5M, 1.5G"},
					&cli.GenericFlag{Name: "alloc", Value: &allocFlag{}, Usage: "give an address or wallet name CRN at genesis, as `ADDR|NAME=CRN`; repeat for more"},
					&cli.StringFlag{Name: "time", Usage: "genesis `TIME`, RFC 3339 (2026-06-01T12:00:00Z) or unix milliseconds", DefaultText: "now"},
					&cli.StringFlag{Name: "out", Usage: "write the genesis to `FILE` rather than standard output"},
					&cli.BoolFlag{Name: "force", Usage: "overwrite an existing --out file"},
					&cli.StringFlag{Name: "half-life", Usage: "double or halve the difficulty every `DURATION` behind or ahead of schedule (ASERT)",
						DefaultText: fmt.Sprintf("%d block times", consensus.DefaultHalfLifeBlocks)},
					&cli.StringFlag{Name: "subsidy", Usage: "reward the first blocks with `CRN` each", Value: strconv.FormatUint(consensus.DefaultInitialSubsidy/wallet.BaseUnitsPerCRN, 10)},
					&cli.Uint64Flag{Name: "halving-interval", Usage: "halve the subsidy every `BLOCKS`", Value: consensus.DefaultHalvingInterval},
					&cli.IntFlag{Name: "max-block-size", Usage: "refuse blocks larger than `BYTES`", Value: consensus.DefaultMaxBlockSize},
					&cli.StringFlag{Name: "max-future-drift", Usage: "refuse blocks timed more than `DURATION` ahead of the node's clock", Value: consensus.DefaultMaxFutureDrift.String()},
				},
				Action: action(s, genesisNew),
			},
			{
				Name:      "show",
				Usage:     "print a genesis.json's parameters, genesis hash and netID",
				ArgsUsage: "FILE",
				Action:    action(s, genesisShow),
			},
		},
	}
}

// allocFlag collects the --alloc values, one per flag: unlike a
// StringSliceFlag it does not split them at commas.
type allocFlag struct{ specs []string }

func (a *allocFlag) Set(v string) error { a.specs = append(a.specs, v); return nil }
func (a *allocFlag) String() string     { return strings.Join(a.specs, " ") }

// genesisFlags names the flag behind each member a *consensus.GenesisError
// can name.
var genesisFlags = map[string]string{
	"network":         "--network",
	"time":            "--time",
	"targetSpacing":   "--block-time",
	"hashRate":        "--hashrate",
	"halfLife":        "--half-life",
	"initialSubsidy":  "--subsidy",
	"halvingInterval": "--halving-interval",
	"maxBlockSize":    "--max-block-size",
	"maxFutureDrift":  "--max-future-drift",
	"alloc":           "--alloc",
}

// newGenesisResult is what genesis new reports besides the file.
type newGenesisResult struct {
	Network string `json:"network"`
	Time    int64  `json:"time"`
	Genesis string `json:"genesis"`
	NetID   string `json:"netID"`
	File    string `json:"file,omitempty"`
}

func genesisNew(e *env) error {
	if _, err := e.args(); err != nil {
		return err
	}
	for _, f := range []string{"network", "block-time", "hashrate"} {
		if !e.c.IsSet(f) {
			return usagef("missing --%s (usage: %s)", f, genesisNewUsage)
		}
	}
	out, force := e.c.String("out"), e.c.Bool("force")
	if force && out == "" {
		return usagef("--force needs --out (usage: %s)", genesisNewUsage)
	}
	if out != "" && !force {
		if _, err := os.Lstat(out); err == nil {
			return fmt.Errorf("--out %s: the file exists (add --force to overwrite it)", out)
		}
	}
	spec, err := e.genesisSpec()
	if err != nil {
		return err
	}
	p, err := spec.Params()
	var ge *consensus.GenesisError
	if errors.As(err, &ge) && genesisFlags[ge.Field] != "" {
		return fmt.Errorf("%s: %s", genesisFlags[ge.Field], ge.Reason)
	}
	if err != nil {
		return err
	}
	g, err := p.MarshalGenesis()
	if err != nil {
		return err
	}
	g = append(g, '\n')
	res := newGenesisResult{Network: p.Network, Time: p.GenesisTime, Genesis: p.GenesisHash().String(), NetID: p.NetID()}
	report := e.stderr // the genesis takes standard output
	if out != "" {
		if err := writeNewFile(out, g, force); err != nil {
			return err
		}
		res.File, report = out, e.stdout
	} else if _, err := e.stdout.Write(g); err != nil {
		return err
	}
	if err := e.printTo(report, res, func(w io.Writer) {
		var t kv
		t.add("network", res.Network)
		t.add("time", msTime(res.Time))
		t.add("genesis", res.Genesis)
		t.add("netID", res.NetID)
		if res.File != "" {
			t.add("file", res.File)
		}
		t.write(w)
	}); err != nil {
		return err
	}
	e.warnSchedule(spec)
	return nil
}

// genesisSpec reads the flags of genesis new.
func (e *env) genesisSpec() (consensus.GenesisSpec, error) {
	var s consensus.GenesisSpec
	blockTime, err := parseDuration("--block-time", e.c.String("block-time"))
	if err != nil {
		return s, err
	}
	hashRate, err := parseHashRate(e.c.String("hashrate"))
	if err != nil {
		return s, err
	}
	genesisTime := time.Now()
	if e.c.IsSet("time") {
		if genesisTime, err = parseGenesisTime(e.c.String("time")); err != nil {
			return s, err
		}
	}
	s = consensus.DefaultGenesisSpec(e.c.String("network"), genesisTime, blockTime, hashRate)
	if e.c.IsSet("half-life") {
		if s.HalfLife, err = parseDuration("--half-life", e.c.String("half-life")); err != nil {
			return s, err
		}
	}
	if s.InitialSubsidy, err = parseAmount("--subsidy", e.c.String("subsidy")); err != nil {
		return s, err
	}
	s.HalvingInterval = e.c.Uint64("halving-interval")
	s.MaxBlockSize = e.c.Int("max-block-size")
	if s.MaxFutureDrift, err = parseDuration("--max-future-drift", e.c.String("max-future-drift")); err != nil {
		return s, err
	}
	s.Alloc, err = e.genesisAlloc(e.c.Generic("alloc").(*allocFlag).specs)
	return s, err
}

// genesisAlloc resolves the --alloc values: ADDR|NAME=CRN each, no
// address twice, the sum below 2^64 base units.
func (e *env) genesisAlloc(specs []string) ([]consensus.Alloc, error) {
	var alloc []consensus.Alloc
	seen := map[types.Address]string{}
	var total uint64
	for _, spec := range specs {
		who, amount, ok := strings.Cut(spec, "=")
		if !ok || who == "" || amount == "" {
			return nil, fmt.Errorf("--alloc %q: want ADDR|NAME=CRN, e.g. alice=1000", spec)
		}
		addr, err := e.resolveAddress("--alloc", who)
		if err != nil {
			return nil, err
		}
		v, err := wallet.ParseAmount(amount)
		if err != nil {
			reason := err
			if inner := errors.Unwrap(err); inner != nil {
				reason = inner
			}
			return nil, fmt.Errorf("--alloc %q: %v", spec, reason)
		}
		if v == 0 {
			return nil, fmt.Errorf("--alloc %q: the amount must be more than 0", spec)
		}
		if prev, dup := seen[addr]; dup {
			return nil, fmt.Errorf("--alloc %q: %s is already allocated by --alloc %q", spec, addr, prev)
		}
		seen[addr] = spec
		if total+v < total {
			return nil, fmt.Errorf("--alloc: the allocations add up to more than %s (2^64-1 base units)", wallet.FormatCRN(math.MaxUint64))
		}
		total += v
		alloc = append(alloc, consensus.Alloc{Address: addr, Amount: v})
	}
	return alloc, nil
}

// warnSchedule warns when the genesis time is far from now: ASERT
// schedules block h at the genesis time plus h block times, so a chain
// that starts a half-life late gets blocks twice as easy, and one whose
// genesis is beyond the future drift cannot start before it.
func (e *env) warnSchedule(s consensus.GenesisSpec) {
	now := time.Now()
	switch {
	case now.Sub(s.Time) > s.HalfLife:
		fmt.Fprintf(e.stderr, "cairn: warning: the genesis time is %s ago, more than the half-life (%s): until the chain catches up with its schedule, its blocks will come faster than every %s\n",
			now.Sub(s.Time).Round(time.Second), s.HalfLife, s.BlockTime)
	case s.Time.Sub(now) > s.MaxFutureDrift:
		fmt.Fprintf(e.stderr, "cairn: warning: the genesis time is %s ahead: no block can be mined until %s before it\n",
			s.Time.Sub(now).Round(time.Second), s.MaxFutureDrift)
	}
}

// hashRateRE is a hash rate: digits, an optional fraction, an optional SI
// multiplier and an optional unit.
var hashRateRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([kKMGTPE]?)(?:H/s)?$`)

var siMultiplier = map[string]float64{"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}

// parseHashRate reads --hashrate: a positive decimal number, an optional
// k (or K), M, G, T, P or E (1e3 to 1e18) and an optional "H/s": 800,
// 250k, 5M, 1.5GH/s. No sign, exponent, space or digit grouping.
func parseHashRate(s string) (float64, error) {
	m := hashRateRE.FindStringSubmatch(s)
	if m == nil && !strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("--hashrate %q: want hashes per second, a number with an optional k, M, G, T, P or E: 800, 250k, 5M or 1.5G", s)
	}
	var v float64
	if m != nil {
		v, _ = strconv.ParseFloat(m[1], 64) // digits[.digits]: a range error at worst, with v = +Inf
		v *= siMultiplier[m[2]]
	}
	switch {
	case v == 0: // zero or negative
		return 0, fmt.Errorf("--hashrate %q: want a positive number of hashes per second", s)
	case math.IsInf(v, 0):
		return 0, fmt.Errorf("--hashrate %q: too large", s)
	}
	return v, nil
}

// parseDuration reads a duration flag.
func parseDuration(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a duration such as 500ms, 30s or 2m", flag, s)
	}
	return d, nil
}

// parseGenesisTime reads --time: RFC 3339, or unix milliseconds as in
// genesis.json.
func parseGenesisTime(s string) (time.Time, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms), nil
		}
	} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--time %q: want an RFC 3339 time such as 2026-06-01T12:00:00Z, or unix milliseconds", s)
}

// writeNewFile writes data to path through a temporary file in the same
// directory, so that path never holds half a genesis. Without force it
// refuses to replace an existing file (checked again at the last step,
// a hard link, which fails if the name was taken in the meantime).
func writeNewFile(path string, data []byte, force bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename or link: gone, or a second name
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		if force {
			err = os.Rename(tmp, path)
		} else {
			err = os.Link(tmp, path)
		}
	}
	if errors.Is(err, fs.ErrExist) && !force {
		return fmt.Errorf("--out %s: the file exists (add --force to overwrite it)", path)
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops an *os.PathError's or *os.LinkError's operation and
// file names, which name the temporary file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// printTo is print with the output going to w.
func (e *env) printTo(w io.Writer, v any, human func(w io.Writer)) error {
	if !e.json {
		human(w)
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// genesisInfo is genesis show's --json output: the genesis.json members
// (amounts in base units, as there), and what they imply.
type genesisInfo struct {
	Network         string      `json:"network"`
	Genesis         string      `json:"genesis"`
	NetID           string      `json:"netID"`
	Time            int64       `json:"time"`
	Bits            string      `json:"bits"`
	Target          string      `json:"target"`
	PowLimit        string      `json:"powLimit"`
	Difficulty      float64     `json:"difficulty"`     // powLimit / target
	HashesPerBlock  string      `json:"hashesPerBlock"` // expected: 2^256 / (target + 1)
	HashRate        float64     `json:"hashRate"`       // H/s for a block every targetSpacing
	TargetSpacing   int64       `json:"targetSpacing"`
	HalfLife        int64       `json:"halfLife"`
	InitialSubsidy  string      `json:"initialSubsidy"`
	HalvingInterval uint64      `json:"halvingInterval"`
	MinedSupply     string      `json:"minedSupply"` // the sum of every block's subsidy
	MaxBlockSize    int         `json:"maxBlockSize"`
	MaxFutureDrift  int64       `json:"maxFutureDrift"`
	Alloc           []allocInfo `json:"alloc"` // sorted by address
	AllocTotal      string      `json:"allocTotal"`
}

type allocInfo struct {
	Address string `json:"address"`
	Amount  string `json:"amount"`
}

func genesisShow(e *env) error {
	a, err := e.args("FILE")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(a[0])
	if err != nil {
		return err
	}
	p, err := consensus.ParseGenesis(b)
	if err != nil {
		return fmt.Errorf("%s: %w", a[0], err)
	}
	info := newGenesisInfo(p)
	return e.print(info, func(w io.Writer) {
		var t kv
		t.add("network", info.Network)
		t.add("genesis", info.Genesis)
		t.add("netID", info.NetID)
		t.add("time", fmt.Sprintf("%s (%d)", msTime(info.Time), info.Time))
		t.add("block time", time.Duration(info.TargetSpacing)*time.Millisecond)
		t.add("bits", info.Bits)
		t.add("target", info.Target)
		t.add("difficulty", fmt.Sprintf("%.6g (powLimit / target)", info.Difficulty))
		hashes := info.HashesPerBlock
		if w := workFloat(p.GenesisBits); w >= 1e12 {
			hashes = fmt.Sprintf("%.4g", w)
		}
		t.add("hashes per block", fmt.Sprintf("%s (%s for a block every %s)", hashes, formatHashRate(info.HashRate), time.Duration(info.TargetSpacing)*time.Millisecond))
		t.add("pow limit", info.PowLimit)
		t.add("ASERT half-life", fmt.Sprintf("%s (%.4g blocks)", time.Duration(info.HalfLife)*time.Millisecond, float64(info.HalfLife)/float64(info.TargetSpacing)))
		t.add("subsidy", fmt.Sprintf("%s a block, halved every %d blocks (%s)", wallet.FormatCRN(p.InitialSubsidy), p.HalvingInterval, span(float64(p.HalvingInterval)*float64(p.TargetSpacing))))
		t.add("mined supply", crn(info.MinedSupply)+" (all the subsidies)")
		t.add("max block size", fmt.Sprintf("%d bytes", info.MaxBlockSize))
		t.add("max future drift", time.Duration(info.MaxFutureDrift)*time.Millisecond)
		if len(info.Alloc) == 0 {
			t.add("allocations", "none")
		} else {
			t.add("allocations", fmt.Sprintf("%d, %s in all", len(info.Alloc), crn(info.AllocTotal)))
		}
		t.write(w)
		rows := make([][]string, len(info.Alloc))
		for i, al := range info.Alloc {
			rows[i] = []string{"  " + al.Address, crn(al.Amount)}
		}
		if len(rows) > 0 {
			table(w, []string{"  ADDRESS", "AMOUNT"}, rows)
		}
	})
}

func newGenesisInfo(p *consensus.Params) genesisInfo {
	target := consensus.CompactToBig(p.GenesisBits)
	var pl [32]byte
	p.PowLimit.FillBytes(pl[:])
	var tb [32]byte
	target.FillBytes(tb[:])
	difficulty, _ := new(big.Float).Quo(new(big.Float).SetInt(p.PowLimit), new(big.Float).SetInt(target)).Float64()
	info := genesisInfo{
		Network:         p.Network,
		Genesis:         p.GenesisHash().String(),
		NetID:           p.NetID(),
		Time:            p.GenesisTime,
		Bits:            fmt.Sprintf("%08x", p.GenesisBits),
		Target:          fmt.Sprintf("%x", tb),
		PowLimit:        fmt.Sprintf("%x", pl),
		Difficulty:      difficulty,
		HashesPerBlock:  consensus.CalcWork(p.GenesisBits).String(),
		HashRate:        workFloat(p.GenesisBits) / (float64(p.TargetSpacing) / 1000),
		TargetSpacing:   p.TargetSpacing,
		HalfLife:        p.HalfLife,
		InitialSubsidy:  strconv.FormatUint(p.InitialSubsidy, 10),
		HalvingInterval: p.HalvingInterval,
		MinedSupply:     minedSupply(p.InitialSubsidy, p.HalvingInterval).String(),
		MaxBlockSize:    p.MaxBlockSize,
		MaxFutureDrift:  p.MaxFutureDrift,
		Alloc:           make([]allocInfo, len(p.Alloc)),
	}
	var total uint64 // below 2^64: ParseGenesis checks
	for i, a := range p.Alloc {
		info.Alloc[i] = allocInfo{Address: a.Address.String(), Amount: strconv.FormatUint(a.Amount, 10)}
		total += a.Amount
	}
	info.AllocTotal = strconv.FormatUint(total, 10)
	return info
}

// workFloat is the expected hashes of a block of bits.
func workFloat(bits uint32) float64 {
	w, _ := new(big.Float).SetInt(consensus.CalcWork(bits)).Float64()
	return w
}

// minedSupply is the sum of the subsidies of every block: the subsidy
// halves every interval blocks until the 64th halving makes it 0. It
// may exceed 2^64 base units (no account could hold it all).
func minedSupply(initial, interval uint64) *big.Int {
	sum, n := new(big.Int), new(big.Int).SetUint64(interval)
	for k := range 64 {
		sum.Add(sum, new(big.Int).Mul(new(big.Int).SetUint64(initial>>k), n))
	}
	return sum
}

// formatHashRate writes hashes/s with an SI prefix: "2.14 MH/s".
func formatHashRate(h float64) string {
	for _, u := range []struct {
		scale  float64
		prefix string
	}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if h >= u.scale {
			return fmt.Sprintf("%.3g %sH/s", h/u.scale, u.prefix)
		}
	}
	return fmt.Sprintf("%.3g H/s", h)
}

// span says about how long ms milliseconds are, in the largest fitting
// unit: "about 72.9 days".
func span(ms float64) string {
	const day = 24 * 3600 * 1000
	switch {
	case ms >= 2*365.25*day:
		return fmt.Sprintf("about %.3g years", ms/(365.25*day))
	case ms >= 2*day:
		return fmt.Sprintf("about %.3g days", ms/day)
	}
	return "about " + time.Duration(ms*float64(time.Millisecond)).Round(time.Second).String()
}
