package consensus_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
)

// paramsAddr returns a deterministic address for tests.
func paramsAddr(i byte) types.Address {
	h := types.Sum([]byte{'p', i})
	var a types.Address
	copy(a[:], h[:])
	return a
}

// paramsDoc returns a valid genesis.json as a map that cases can edit.
func paramsDoc() map[string]any {
	return map[string]any{
		"network":         "cairn-test",
		"time":            1_700_000_000_000,
		"bits":            "207fffff",
		"powLimit":        "7fffff0000000000000000000000000000000000000000000000000000000000",
		"targetSpacing":   1000,
		"halfLife":        3_600_000,
		"initialSubsidy":  "5000000000",
		"halvingInterval": 100,
		"maxBlockSize":    1 << 20,
		"maxFutureDrift":  15_000,
		"alloc": map[string]any{
			paramsAddr(1).String(): "100000000000000",
			paramsAddr(2).String(): "1",
		},
	}
}

func paramsJSON(t testing.TB, doc map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseGenesis(t testing.TB, data []byte) *consensus.Params {
	t.Helper()
	p, err := consensus.ParseGenesis(data)
	if err != nil {
		t.Fatalf("ParseGenesis: %v\n%s", err, data)
	}
	return p
}

func TestParseGenesisValid(t *testing.T) {
	p := mustParseGenesis(t, paramsJSON(t, paramsDoc()))
	want := consensus.Params{
		Network: "cairn-test", GenesisTime: 1_700_000_000_000, GenesisBits: 0x207fffff,
		PowLimit:      consensus.CompactToBig(0x207fffff),
		TargetSpacing: 1000, HalfLife: 3_600_000, InitialSubsidy: 5_000_000_000,
		HalvingInterval: 100, MaxBlockSize: 1 << 20, MaxFutureDrift: 15_000,
	}
	got := *p
	if got.Network != want.Network || got.GenesisTime != want.GenesisTime || got.GenesisBits != want.GenesisBits ||
		got.PowLimit.Cmp(want.PowLimit) != 0 || got.TargetSpacing != want.TargetSpacing ||
		got.HalfLife != want.HalfLife || got.InitialSubsidy != want.InitialSubsidy ||
		got.HalvingInterval != want.HalvingInterval || got.MaxBlockSize != want.MaxBlockSize ||
		got.MaxFutureDrift != want.MaxFutureDrift {
		t.Fatalf("parsed %+v\nwant   %+v", got, want)
	}
	// Allocations come out sorted by address.
	wantAlloc := []consensus.Alloc{{paramsAddr(1), 100_000_000_000_000}, {paramsAddr(2), 1}}
	slices.SortFunc(wantAlloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if !slices.Equal(p.Alloc, wantAlloc) {
		t.Fatalf("alloc %v, want %v", p.Alloc, wantAlloc)
	}
}

// TestParseGenesisAccepts lists valid variants, boundaries included.
func TestParseGenesisAccepts(t *testing.T) {
	cases := []struct {
		name string
		edit func(d map[string]any)
	}{
		{"0x prefixes", func(d map[string]any) {
			d["bits"] = "0x207fffff"
			d["powLimit"] = "0x" + d["powLimit"].(string)
		}},
		{"upper-case hex", func(d map[string]any) {
			d["bits"] = "207FFFFF"
			d["powLimit"] = strings.ToUpper(d["powLimit"].(string))
		}},
		{"network of 32 characters", func(d map[string]any) { d["network"] = strings.Repeat("a", 32) }},
		{"network of 1 digit", func(d map[string]any) { d["network"] = "7" }},
		{"time 0", func(d map[string]any) { d["time"] = 0 }},
		{"subsidy 0", func(d map[string]any) { d["initialSubsidy"] = "0" }},
		{"max subsidy", func(d map[string]any) { d["initialSubsidy"] = "18446744073709551615" }},
		{"smallest block size", func(d map[string]any) { d["maxBlockSize"] = types.HeaderSize + 1 + types.MaxTxSize }},
		{"largest block size", func(d map[string]any) { d["maxBlockSize"] = types.MaxBlockSizeLimit }},
		{"no drift", func(d map[string]any) { d["maxFutureDrift"] = 0 }},
		{"no alloc", func(d map[string]any) { delete(d, "alloc") }},
		{"empty alloc", func(d map[string]any) { d["alloc"] = map[string]any{} }},
		{"alloc summing to 2^64-1", func(d map[string]any) {
			d["alloc"] = map[string]any{
				paramsAddr(1).String(): "9223372036854775808",
				paramsAddr(2).String(): "9223372036854775807",
			}
		}},
		{"upper-case address", func(d map[string]any) {
			d["alloc"] = map[string]any{strings.ToUpper(paramsAddr(1).String()): "5"}
		}},
		{"harder bits", func(d map[string]any) { d["bits"] = "1d00ffff" }},
		{"bits equal to a full powLimit", func(d map[string]any) {
			d["powLimit"] = strings.Repeat("f", 64)
			d["bits"] = "2100ffff"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := paramsDoc()
			tc.edit(d)
			mustParseGenesis(t, paramsJSON(t, d))
		})
	}
	// Trailing white space is not trailing data.
	mustParseGenesis(t, append(paramsJSON(t, paramsDoc()), " \n\t\r\n"...))
}

// TestParseGenesisFieldErrors: each bad or missing field is refused with a
// *GenesisError naming that field.
func TestParseGenesisFieldErrors(t *testing.T) {
	set := func(k string, v any) func(d map[string]any) { return func(d map[string]any) { d[k] = v } }
	alloc := func(kv ...string) func(d map[string]any) {
		return func(d map[string]any) {
			m := map[string]any{}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			d["alloc"] = m
		}
	}
	a1, a2 := paramsAddr(1).String(), paramsAddr(2).String()
	// An address with a checksum error (one character changed: bech32
	// always detects it), and one with another prefix.
	last := "q"
	if a1[len(a1)-1] == 'q' {
		last = "p"
	}
	mistyped := a1[:len(a1)-1] + last
	btc := "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"

	cases := []struct {
		name  string
		edit  func(d map[string]any)
		field string
	}{
		{"network empty", set("network", ""), "network"},
		{"network upper case", set("network", "Cairn"), "network"},
		{"network underscore", set("network", "cairn_test"), "network"},
		{"network space", set("network", "cairn test"), "network"},
		{"network leading dash", set("network", "-cairn"), "network"},
		{"network non-ASCII", set("network", "cairné"), "network"},
		{"network newline", set("network", "cairn\n"), "network"},
		{"network too long", set("network", strings.Repeat("a", 33)), "network"},
		{"network not a string", set("network", 5), "network"},
		{"time negative", set("time", -1), "time"},
		{"time fractional", set("time", 1.5), "time"},
		{"time a string", set("time", "1700000000000"), "time"},
		{"bits not hex", set("bits", "zz"), "bits"},
		{"bits empty", set("bits", ""), "bits"},
		{"bits too long", set("bits", "1207fffff"), "bits"},
		{"bits signed", set("bits", "+207fffff"), "bits"},
		{"bits a number", set("bits", 0x207fffff), "bits"},
		{"bits above powLimit", set("bits", "2100ffff"), "bits"},
		{"bits just above powLimit", set("bits", "21008000"), "bits"},
		{"bits sign bit, zero mantissa", set("bits", "20800000"), "bits"},
		{"bits non-canonical", set("bits", "2000007f"), "bits"},
		{"bits negative", set("bits", "1d80ffff"), "bits"},
		{"bits zero", set("bits", "00000000"), "bits"},
		{"powLimit not hex", set("powLimit", strings.Repeat("g", 64)), "powLimit"},
		{"powLimit odd length", set("powLimit", strings.Repeat("f", 63)), "powLimit"},
		{"powLimit too short", set("powLimit", strings.Repeat("f", 62)), "powLimit"},
		{"powLimit too long", set("powLimit", strings.Repeat("0", 66)), "powLimit"},
		{"powLimit zero", set("powLimit", strings.Repeat("0", 64)), "powLimit"},
		{"powLimit empty", set("powLimit", ""), "powLimit"},
		{"targetSpacing zero", set("targetSpacing", 0), "targetSpacing"},
		{"targetSpacing negative", set("targetSpacing", -1000), "targetSpacing"},
		{"halfLife zero", set("halfLife", 0), "halfLife"},
		{"halfLife negative", set("halfLife", -1), "halfLife"},
		{"initialSubsidy not a number", set("initialSubsidy", "fifty"), "initialSubsidy"},
		{"initialSubsidy negative", set("initialSubsidy", "-1"), "initialSubsidy"},
		{"initialSubsidy above 2^64", set("initialSubsidy", "18446744073709551616"), "initialSubsidy"},
		{"initialSubsidy decimal point", set("initialSubsidy", "50.0"), "initialSubsidy"},
		{"initialSubsidy empty", set("initialSubsidy", ""), "initialSubsidy"},
		{"initialSubsidy a JSON number", set("initialSubsidy", 5000000000), "initialSubsidy"},
		{"halvingInterval zero", set("halvingInterval", 0), "halvingInterval"},
		{"halvingInterval negative", set("halvingInterval", -1), "halvingInterval"},
		{"maxBlockSize too small", set("maxBlockSize", types.HeaderSize+types.MaxTxSize), "maxBlockSize"},
		{"maxBlockSize zero", set("maxBlockSize", 0), "maxBlockSize"},
		{"maxBlockSize negative", set("maxBlockSize", -1), "maxBlockSize"},
		{"maxBlockSize too large", set("maxBlockSize", types.MaxBlockSizeLimit+1), "maxBlockSize"},
		{"maxBlockSize 2^40", set("maxBlockSize", int64(1)<<40), "maxBlockSize"},
		{"maxFutureDrift negative", set("maxFutureDrift", -1), "maxFutureDrift"},
		{"alloc bad address", alloc("cairn1notanaddress", "5"), "alloc"},
		{"alloc mistyped address", alloc(mistyped, "5"), "alloc"},
		{"alloc other prefix", alloc(btc, "5"), "alloc"},
		{"alloc empty address", alloc("", "5"), "alloc"},
		{"alloc zero amount", alloc(a1, "0"), "alloc"},
		{"alloc non-numeric amount", alloc(a1, "lots"), "alloc"},
		{"alloc negative amount", alloc(a1, "-5"), "alloc"},
		{"alloc amount above 2^64", alloc(a1, "18446744073709551616"), "alloc"},
		{"alloc amount a JSON number", set("alloc", map[string]any{a1: 5}), "alloc"},
		{"alloc not an object", set("alloc", []string{a1}), "alloc"},
		{"alloc sum overflow", alloc(a1, "9223372036854775808", a2, "9223372036854775808"), "alloc"},
		{"alloc same address twice", alloc(a1, "5", strings.ToUpper(a1), "6"), "alloc"},
	}
	for _, f := range []string{"network", "time", "bits", "powLimit", "targetSpacing", "halfLife",
		"initialSubsidy", "halvingInterval", "maxBlockSize", "maxFutureDrift"} {
		cases = append(cases, struct {
			name  string
			edit  func(d map[string]any)
			field string
		}{f + " missing", func(d map[string]any) { delete(d, f) }, f})
		cases = append(cases, struct {
			name  string
			edit  func(d map[string]any)
			field string
		}{f + " null", func(d map[string]any) { d[f] = nil }, f})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := paramsDoc()
			tc.edit(d)
			data := paramsJSON(t, d)
			p, err := consensus.ParseGenesis(data)
			if err == nil {
				t.Fatalf("accepted: %s (genesis %s)", data, p.GenesisHash())
			}
			var ge *consensus.GenesisError
			if !errors.As(err, &ge) {
				t.Fatalf("error %v (%T) is not a *GenesisError", err, err)
			}
			if ge.Field != tc.field {
				t.Fatalf("error names field %q, want %q: %v", ge.Field, tc.field, err)
			}
			if ge.Reason == "" || !strings.HasPrefix(err.Error(), "genesis: "+tc.field+": ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

// TestParseGenesisDocumentErrors: malformed documents are refused (these
// are not about one field).
func TestParseGenesisDocumentErrors(t *testing.T) {
	valid := paramsJSON(t, paramsDoc())
	withField := func(k, v string) []byte {
		return append([]byte(`{"`+k+`": `+v+`, `), valid[1:]...)
	}
	cases := []struct {
		name    string
		data    []byte
		mention string
	}{
		{"empty", nil, ""},
		{"white space", []byte("  \n"), ""},
		{"not JSON", []byte("network = cairn"), ""},
		{"array", []byte("[" + string(valid) + "]"), ""},
		{"string", []byte(`"cairn"`), ""},
		{"truncated", valid[:len(valid)-1], ""},
		{"unknown field", withField("foo", "1"), "foo"},
		{"unknown field near a real one", withField("networks", `"x"`), "networks"},
		{"trailing object", append(slices.Clone(valid), "{}"...), "trailing"},
		{"trailing brace", append(slices.Clone(valid), "}"...), "trailing"},
		{"trailing bracket", append(slices.Clone(valid), "]"...), "trailing"},
		{"trailing number", append(slices.Clone(valid), " 1"...), "trailing"},
		{"trailing garbage", append(slices.Clone(valid), "x"...), "trailing"},
		{"second document", append(slices.Clone(valid), valid...), "trailing"},
		{"trailing NUL", append(slices.Clone(valid), 0), "trailing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := consensus.ParseGenesis(tc.data)
			if err == nil {
				t.Fatalf("accepted %q (genesis %s)", tc.data, p.GenesisHash())
			}
			if !strings.HasPrefix(err.Error(), "genesis: ") {
				t.Errorf("error %q does not start with \"genesis: \"", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestMarshalGenesisRoundTrip(t *testing.T) {
	docs := []map[string]any{paramsDoc()}
	d := paramsDoc()
	delete(d, "alloc")
	d["network"] = "x"
	d["time"] = 0
	d["maxFutureDrift"] = 0
	d["initialSubsidy"] = "18446744073709551615"
	d["powLimit"] = strings.Repeat("f", 64)
	d["bits"] = "1d00ffff"
	docs = append(docs, d)
	for i, doc := range docs {
		p := mustParseGenesis(t, paramsJSON(t, doc))
		out, err := p.MarshalGenesis()
		if err != nil {
			t.Fatal(err)
		}
		q := mustParseGenesis(t, out)
		if q.GenesisHash() != p.GenesisHash() || !bytes.Equal(q.Encode(), p.Encode()) {
			t.Fatalf("doc %d: round trip changed the parameters:\n%s", i, out)
		}
		again, err := q.MarshalGenesis()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("doc %d: MarshalGenesis is not deterministic:\n%s\n%s", i, out, again)
		}
	}
}

// paramsBase returns validated hand-built parameters.
func paramsBase(t testing.TB) *consensus.Params {
	t.Helper()
	p := &consensus.Params{
		Network: "cairn-test", GenesisTime: 1_700_000_000_000, GenesisBits: 0x207fffff,
		PowLimit:      consensus.CompactToBig(0x207fffff),
		TargetSpacing: 1000, HalfLife: 3_600_000, InitialSubsidy: 5_000_000_000,
		HalvingInterval: 100, MaxBlockSize: 1 << 20, MaxFutureDrift: 15_000,
	}
	for i := byte(1); i <= 3; i++ {
		p.Alloc = append(p.Alloc, consensus.Alloc{Address: paramsAddr(i), Amount: uint64(i) * 1000})
	}
	slices.SortFunc(p.Alloc, func(a, b consensus.Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGenesisHashCommitsToEveryParameter: changing any one parameter
// changes the genesis hash, so two networks never share one by accident.
func TestGenesisHashCommitsToEveryParameter(t *testing.T) {
	cases := []struct {
		field string
		edit  func(p *consensus.Params)
	}{
		{"network", func(p *consensus.Params) { p.Network = "cairn-tesu" }},
		{"time", func(p *consensus.Params) { p.GenesisTime++ }},
		{"bits", func(p *consensus.Params) { p.GenesisBits = 0x207ffffe }},
		{"powLimit", func(p *consensus.Params) { p.PowLimit = new(big.Int).Add(p.PowLimit, big.NewInt(1)) }},
		{"targetSpacing", func(p *consensus.Params) { p.TargetSpacing++ }},
		{"halfLife", func(p *consensus.Params) { p.HalfLife++ }},
		{"initialSubsidy", func(p *consensus.Params) { p.InitialSubsidy++ }},
		{"halvingInterval", func(p *consensus.Params) { p.HalvingInterval++ }},
		{"maxBlockSize", func(p *consensus.Params) { p.MaxBlockSize++ }},
		{"maxFutureDrift", func(p *consensus.Params) { p.MaxFutureDrift++ }},
		{"alloc amount", func(p *consensus.Params) { p.Alloc[1].Amount++ }},
		{"alloc address", func(p *consensus.Params) { p.Alloc[1].Address[19] ^= 1 }},
		{"alloc removed", func(p *consensus.Params) { p.Alloc = p.Alloc[:2] }},
		{"alloc added", func(p *consensus.Params) {
			p.Alloc = append(p.Alloc, consensus.Alloc{Address: types.Address{0xff}, Amount: 1})
		}},
		{"alloc moved", func(p *consensus.Params) {
			p.Alloc[0].Amount++
			p.Alloc[1].Amount--
		}},
		{"no alloc", func(p *consensus.Params) { p.Alloc = nil }},
	}
	base := paramsBase(t)
	seen := map[types.Hash]string{base.GenesisHash(): "base"}
	for _, tc := range cases {
		p := paramsBase(t)
		p.Alloc = slices.Clone(p.Alloc)
		tc.edit(p)
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.field, err)
		}
		h := p.GenesisHash()
		if other, dup := seen[h]; dup {
			t.Errorf("changing %s gives the genesis hash of %s", tc.field, other)
		}
		seen[h] = tc.field
		if p.NetID() == base.NetID() {
			t.Errorf("changing %s keeps the netID %s", tc.field, p.NetID())
		}
	}
	// And the same parameters always give the same hash.
	if paramsBase(t).GenesisHash() != base.GenesisHash() {
		t.Fatal("genesis hash is not deterministic")
	}
}

func TestGenesisBlock(t *testing.T) {
	for _, p := range []*consensus.Params{paramsBase(t), mustParseGenesis(t, paramsJSON(t, paramsDoc()))} {
		g := p.Genesis()
		if g == nil || g.Hash() != p.GenesisHash() {
			t.Fatalf("Genesis() = %v, GenesisHash %s", g, p.GenesisHash())
		}
		var lt consensus.LtHash
		for _, a := range p.Alloc {
			lt.Add(consensus.AccountElement(a.Address, a.Amount, 0))
		}
		want := types.Header{
			Version:   types.HeaderVersion,
			Height:    0,
			Parent:    types.Sum(p.Encode()),
			TxRoot:    types.MerkleRoot(nil),
			StateRoot: lt.Sum(),
			Time:      p.GenesisTime,
			Bits:      p.GenesisBits,
		}
		if g.Header != want {
			t.Fatalf("genesis header %+v\nwant %+v", g.Header, want)
		}
		if want.TxRoot != types.Sum(nil) {
			t.Fatal("txRoot of no txs is not H(\"\")")
		}
		if len(g.Txs) != 0 {
			t.Fatalf("genesis has %d txs", len(g.Txs))
		}
		h := g.Hash()
		if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(p.NetID()) || p.NetID() != hex.EncodeToString(h[:4]) {
			t.Fatalf("NetID %q, genesis %s", p.NetID(), g.Hash())
		}
	}
	p := paramsBase(t)
	p.Alloc = nil
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Genesis().Header.StateRoot != consensus.EmptyStateRoot() {
		t.Fatal("genesis without allocations does not commit to the empty state")
	}
}

// TestParamsEncodeLayout pins the canonical parameter encoding (the genesis
// parent field) of docs/PROTOCOL.md §10.
func TestParamsEncodeLayout(t *testing.T) {
	p := paramsBase(t)
	var want []byte
	want = append(want, byte(len(p.Network)))
	want = append(want, p.Network...)
	be := func(v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			want = append(want, byte(v>>(8*i)))
		}
	}
	be(uint64(p.GenesisTime), 8)
	be(uint64(p.GenesisBits), 4)
	var pl [32]byte
	p.PowLimit.FillBytes(pl[:])
	want = append(want, pl[:]...)
	be(uint64(p.TargetSpacing), 8)
	be(uint64(p.HalfLife), 8)
	be(p.InitialSubsidy, 8)
	be(p.HalvingInterval, 8)
	be(uint64(p.MaxBlockSize), 4)
	be(uint64(p.MaxFutureDrift), 8)
	want = append(want, byte(len(p.Alloc)))
	for _, a := range p.Alloc {
		want = append(want, a.Address[:]...)
		be(a.Amount, 8)
	}
	if got := p.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("Encode\n got %x\nwant %x", got, want)
	}
}

// TestValidateHandBuilt: Validate refuses what ParseGenesis cannot produce
// but a caller building Params by hand can.
func TestValidateHandBuilt(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(p *consensus.Params)
		field string
	}{
		{"nil powLimit", func(p *consensus.Params) { p.PowLimit = nil }, "powLimit"},
		{"negative powLimit", func(p *consensus.Params) { p.PowLimit = big.NewInt(-1) }, "powLimit"},
		{"powLimit of 257 bits", func(p *consensus.Params) { p.PowLimit = new(big.Int).Lsh(big.NewInt(1), 256) }, "powLimit"},
		{"unsorted alloc", func(p *consensus.Params) { p.Alloc[0], p.Alloc[1] = p.Alloc[1], p.Alloc[0] }, "alloc"},
		{"duplicate alloc", func(p *consensus.Params) { p.Alloc[1].Address = p.Alloc[0].Address }, "alloc"},
		{"zero alloc", func(p *consensus.Params) { p.Alloc[2].Amount = 0 }, "alloc"},
		{"alloc overflow", func(p *consensus.Params) { p.Alloc[2].Amount = math.MaxUint64 }, "alloc"},
		{"bits above powLimit", func(p *consensus.Params) { p.PowLimit = consensus.CompactToBig(0x1d00ffff) }, "bits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := paramsBase(t)
			tc.edit(p)
			err := p.Validate()
			var ge *consensus.GenesisError
			if !errors.As(err, &ge) || ge.Field != tc.field {
				t.Fatalf("Validate: %v, want a GenesisError on %q", err, tc.field)
			}
		})
	}
}

// FuzzParseGenesis: no input panics, and whatever parses survives a round
// trip through MarshalGenesis with the same genesis hash.
func FuzzParseGenesis(f *testing.F) {
	f.Add(paramsJSON(f, paramsDoc()))
	f.Add([]byte(`{"network":"x","time":0,"bits":"1d00ffff","powLimit":"` + strings.Repeat("f", 64) +
		`","targetSpacing":1,"halfLife":1,"initialSubsidy":"0","halvingInterval":1,"maxBlockSize":355,"maxFutureDrift":0}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := consensus.ParseGenesis(data)
		if err != nil {
			if p != nil {
				t.Fatal("params returned with an error")
			}
			return
		}
		out, err := p.MarshalGenesis()
		if err != nil {
			t.Fatalf("MarshalGenesis: %v", err)
		}
		q, err := consensus.ParseGenesis(out)
		if err != nil {
			t.Fatalf("ParseGenesis(MarshalGenesis(p)): %v\n%s", err, out)
		}
		if q.GenesisHash() != p.GenesisHash() || !bytes.Equal(q.Encode(), p.Encode()) {
			t.Fatalf("round trip changed the genesis hash: %s -> %s", p.GenesisHash(), q.GenesisHash())
		}
	})
}
