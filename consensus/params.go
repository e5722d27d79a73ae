package consensus

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-ledger/cairn/chain/types"
)

// Alloc is one genesis allocation.
type Alloc struct {
	Address types.Address
	Amount  uint64
}

// Params are a network's consensus parameters, as described by its
// genesis.json. Times and durations are in milliseconds. The genesis header
// commits to every field through Hash, so two nodes with different Params
// never share a genesis hash.
type Params struct {
	Network         string
	GenesisTime     int64
	GenesisBits     uint32
	PowLimit        *big.Int
	TargetSpacing   int64
	HalfLife        int64
	InitialSubsidy  uint64
	HalvingInterval uint64
	MaxBlockSize    int
	MaxFutureDrift  int64
	Alloc           []Alloc // sorted by address, no duplicates

	genesis     *types.Block // built once by Validate
	genesisHash types.Hash
}

// GenesisError is a problem with one field of a genesis file.
type GenesisError struct {
	Field  string
	Reason string
}

func (e *GenesisError) Error() string { return "genesis: " + e.Field + ": " + e.Reason }

func genesisErr(field, format string, args ...any) error {
	return &GenesisError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// genesisJSON is the file format. Every field is required; amounts and
// big numbers are strings so that no JSON number loses precision.
type genesisJSON struct {
	Network         *string           `json:"network"`
	Time            *int64            `json:"time"`
	Bits            *string           `json:"bits"`
	PowLimit        *string           `json:"powLimit"`
	TargetSpacing   *int64            `json:"targetSpacing"`
	HalfLife        *int64            `json:"halfLife"`
	InitialSubsidy  *string           `json:"initialSubsidy"`
	HalvingInterval *uint64           `json:"halvingInterval"`
	MaxBlockSize    *int              `json:"maxBlockSize"`
	MaxFutureDrift  *int64            `json:"maxFutureDrift"`
	Alloc           map[string]string `json:"alloc"`
}

var networkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ParseGenesis parses and validates a genesis.json document. Each bad or
// missing field gives a *GenesisError naming it.
func ParseGenesis(data []byte) (*Params, error) {
	var g genesisJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		// A value of the wrong JSON type is a problem with that field.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field, _, _ := strings.Cut(te.Field, ".")
			return nil, genesisErr(field, "got JSON %s, want %s", te.Value, te.Type)
		}
		return nil, fmt.Errorf("genesis: invalid JSON: %w", err)
	}
	// Only the end of input may follow (dec.More misses a stray ']' or '}').
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("genesis: invalid JSON: trailing data after the object")
	}
	required := []struct {
		name    string
		present bool
	}{
		{"network", g.Network != nil}, {"time", g.Time != nil}, {"bits", g.Bits != nil},
		{"powLimit", g.PowLimit != nil}, {"targetSpacing", g.TargetSpacing != nil},
		{"halfLife", g.HalfLife != nil}, {"initialSubsidy", g.InitialSubsidy != nil},
		{"halvingInterval", g.HalvingInterval != nil}, {"maxBlockSize", g.MaxBlockSize != nil},
		{"maxFutureDrift", g.MaxFutureDrift != nil},
	}
	for _, r := range required {
		if !r.present {
			return nil, genesisErr(r.name, "missing")
		}
	}
	p := &Params{
		Network:         *g.Network,
		GenesisTime:     *g.Time,
		TargetSpacing:   *g.TargetSpacing,
		HalfLife:        *g.HalfLife,
		HalvingInterval: *g.HalvingInterval,
		MaxBlockSize:    *g.MaxBlockSize,
		MaxFutureDrift:  *g.MaxFutureDrift,
	}
	bits, err := strconv.ParseUint(strings.TrimPrefix(*g.Bits, "0x"), 16, 32)
	if err != nil {
		return nil, genesisErr("bits", "want 8 hex digits of compact target, got %q", *g.Bits)
	}
	p.GenesisBits = uint32(bits)
	pl, err := hex.DecodeString(strings.TrimPrefix(*g.PowLimit, "0x"))
	if err != nil || len(pl) != 32 {
		return nil, genesisErr("powLimit", "want 64 hex digits, got %q", *g.PowLimit)
	}
	p.PowLimit = new(big.Int).SetBytes(pl)
	if p.InitialSubsidy, err = strconv.ParseUint(*g.InitialSubsidy, 10, 64); err != nil {
		return nil, genesisErr("initialSubsidy", "want a decimal string of base units below 2^64, got %q", *g.InitialSubsidy)
	}
	var total uint64
	for text, amount := range g.Alloc {
		addr, err := types.ParseAddress(text)
		if err != nil {
			return nil, genesisErr("alloc", "%v", err)
		}
		v, err := strconv.ParseUint(amount, 10, 64)
		if err != nil || v == 0 {
			return nil, genesisErr("alloc", "amount for %s must be a positive decimal string of base units below 2^64, got %q", text, amount)
		}
		if total+v < total {
			return nil, genesisErr("alloc", "allocations sum past 2^64 base units")
		}
		total += v
		p.Alloc = append(p.Alloc, Alloc{Address: addr, Amount: v})
	}
	slices.SortFunc(p.Alloc, func(a, b Alloc) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkNetworkName refuses a name that is not 1-32 characters of a-z, 0-9
// and '-', starting with a letter or digit.
func checkNetworkName(name string) error {
	if !networkNameRE.MatchString(name) {
		return genesisErr("network", "%q must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit", name)
	}
	return nil
}

// Validate checks every parameter and builds the genesis block. Params
// built by hand (tests, the built-in network) must be validated before use.
func (p *Params) Validate() error {
	if err := checkNetworkName(p.Network); err != nil {
		return err
	}
	switch {
	case p.GenesisTime < 0:
		return genesisErr("time", "must be unix milliseconds >= 0, got %d", p.GenesisTime)
	case p.PowLimit == nil || p.PowLimit.Sign() <= 0 || p.PowLimit.BitLen() > 256:
		return genesisErr("powLimit", "must be a positive 256-bit number")
	case p.TargetSpacing <= 0:
		return genesisErr("targetSpacing", "must be positive milliseconds, got %d", p.TargetSpacing)
	case p.HalfLife <= 0:
		return genesisErr("halfLife", "must be positive milliseconds, got %d", p.HalfLife)
	case p.HalvingInterval == 0:
		return genesisErr("halvingInterval", "must be positive")
	case p.MaxBlockSize < types.HeaderSize+1+types.MaxTxSize || p.MaxBlockSize > types.MaxBlockSizeLimit:
		return genesisErr("maxBlockSize", "must be between %d and %d bytes, got %d",
			types.HeaderSize+1+types.MaxTxSize, types.MaxBlockSizeLimit, p.MaxBlockSize)
	case p.MaxFutureDrift < 0:
		return genesisErr("maxFutureDrift", "must be milliseconds >= 0, got %d", p.MaxFutureDrift)
	}
	if err := CheckTarget(p.GenesisBits, p.PowLimit); err != nil {
		return genesisErr("bits", "%08x: %v", p.GenesisBits, err)
	}
	var total uint64
	for i, a := range p.Alloc {
		if i > 0 && bytes.Compare(p.Alloc[i-1].Address[:], a.Address[:]) >= 0 {
			return genesisErr("alloc", "addresses must be sorted and unique (%s)", a.Address)
		}
		if a.Amount == 0 {
			return genesisErr("alloc", "amount for %s must be positive", a.Address)
		}
		if total+a.Amount < total {
			return genesisErr("alloc", "allocations sum past 2^64 base units")
		}
		total += a.Amount
	}
	p.genesis = p.buildGenesis()
	p.genesisHash = p.genesis.Hash()
	return nil
}

// Encode returns the canonical encoding of the parameters, whose hash is the
// genesis header's parent field (docs/PROTOCOL.md §10):
//
//	uvarint len ‖ network ‖ time i64 ‖ bits u32 ‖ powLimit [32] ‖
//	targetSpacing i64 ‖ halfLife i64 ‖ initialSubsidy u64 ‖
//	halvingInterval u64 ‖ maxBlockSize u32 ‖ maxFutureDrift i64 ‖
//	uvarint n ‖ n × (address [20] ‖ amount u64), sorted by address
func (p *Params) Encode() []byte {
	b := binary.AppendUvarint(nil, uint64(len(p.Network)))
	b = append(b, p.Network...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.GenesisTime))
	b = binary.BigEndian.AppendUint32(b, p.GenesisBits)
	var pl [32]byte
	p.PowLimit.FillBytes(pl[:])
	b = append(b, pl[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.TargetSpacing))
	b = binary.BigEndian.AppendUint64(b, uint64(p.HalfLife))
	b = binary.BigEndian.AppendUint64(b, p.InitialSubsidy)
	b = binary.BigEndian.AppendUint64(b, p.HalvingInterval)
	b = binary.BigEndian.AppendUint32(b, uint32(p.MaxBlockSize))
	b = binary.BigEndian.AppendUint64(b, uint64(p.MaxFutureDrift))
	b = binary.AppendUvarint(b, uint64(len(p.Alloc)))
	for _, a := range p.Alloc {
		b = append(b, a.Address[:]...)
		b = binary.BigEndian.AppendUint64(b, a.Amount)
	}
	return b
}

func (p *Params) buildGenesis() *types.Block {
	var lt LtHash
	for _, a := range p.Alloc {
		lt.AddAccount(a.Address, a.Amount, 0)
	}
	return &types.Block{Header: types.Header{
		Version:   types.HeaderVersion,
		Height:    0,
		Parent:    types.Sum(p.Encode()),
		TxRoot:    types.MerkleRoot(nil),
		StateRoot: lt.Sum(),
		Time:      p.GenesisTime,
		Bits:      p.GenesisBits,
	}}
}

// Genesis returns the genesis block. Validate must have succeeded.
func (p *Params) Genesis() *types.Block { return p.genesis }

// GenesisHash returns the hash of the genesis block.
func (p *Params) GenesisHash() types.Hash { return p.genesisHash }

// NetID returns the first 8 hex digits of the genesis hash.
func (p *Params) NetID() string { return p.genesisHash.String()[:8] }

// Subsidy returns the block reward at height h.
func (p *Params) Subsidy(h uint64) uint64 { return Subsidy(h, p.InitialSubsidy, p.HalvingInterval) }

// NextBits returns the bits required of the child of a block at
// parentHeight with parentTime (ASERT anchored at genesis, docs/PROTOCOL.md
// §14).
func (p *Params) NextBits(parentHeight uint64, parentTime int64) uint32 {
	return NextBits(p.GenesisBits, p.GenesisTime, parentHeight, parentTime, p.TargetSpacing, p.HalfLife, p.PowLimit)
}

// MarshalGenesis returns the genesis.json form of p, which ParseGenesis
// reads back to equal parameters.
func (p *Params) MarshalGenesis() ([]byte, error) {
	var pl [32]byte
	p.PowLimit.FillBytes(pl[:])
	bits := fmt.Sprintf("%08x", p.GenesisBits)
	powLimit := hex.EncodeToString(pl[:])
	subsidy := strconv.FormatUint(p.InitialSubsidy, 10)
	alloc := make(map[string]string, len(p.Alloc))
	for _, a := range p.Alloc {
		alloc[a.Address.String()] = strconv.FormatUint(a.Amount, 10)
	}
	return json.MarshalIndent(genesisJSON{
		Network: &p.Network, Time: &p.GenesisTime, Bits: &bits, PowLimit: &powLimit,
		TargetSpacing: &p.TargetSpacing, HalfLife: &p.HalfLife, InitialSubsidy: &subsidy,
		HalvingInterval: &p.HalvingInterval, MaxBlockSize: &p.MaxBlockSize,
		MaxFutureDrift: &p.MaxFutureDrift, Alloc: alloc,
	}, "", "  ")
}
