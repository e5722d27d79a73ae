package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/wallet"
)

// The vectors file (docs/PROTOCOL.md §28 explains every field). Integers
// of 64 bits are decimal strings, so that no JSON reader loses precision;
// 256-bit numbers (targets, powLimit, work) are 64 lower-case hex digits;
// bytes are lower-case hex; bits are 8 hex digits.

// File is the whole vectors file.
type File struct {
	Comment      string        `json:"comment"`
	Genesis      []GenesisVec  `json:"genesis"`
	Headers      []HeaderVec   `json:"headers"`
	Transactions []TxVec       `json:"transactions"`
	Merkle       []MerkleVec   `json:"merkle"`
	Blocks       []BlockVec    `json:"blocks"`
	States       []StateVec    `json:"states"`
	Compact      []CompactVec  `json:"compact"`
	ASERT        []ASERTVec    `json:"asert"`
	NextBits     []NextBitsVec `json:"nextBits"`
}

// GenesisVec is a genesis file and what it commits to.
type GenesisVec struct {
	Name           string          `json:"name"`
	File           json.RawMessage `json:"file"`
	ParamsEncoding string          `json:"paramsEncoding"`
	Header         HeaderFields    `json:"header"`
	HeaderHex      string          `json:"headerHex"`
	BlockHex       string          `json:"blockHex"`
	Hash           string          `json:"hash"`
	NetID          string          `json:"netID"`
	Work           string          `json:"work"`
}

// HeaderFields are a header's fields.
type HeaderFields struct {
	Version   uint32 `json:"version"`
	Height    string `json:"height"`
	Parent    string `json:"parent"`
	TxRoot    string `json:"txRoot"`
	StateRoot string `json:"stateRoot"`
	Miner     string `json:"miner"`
	MinerText string `json:"minerText"`
	Time      string `json:"time"`
	Bits      string `json:"bits"`
	Nonce     string `json:"nonce"`
}

// HeaderVec is one header encoding.
type HeaderVec struct {
	Comment string       `json:"comment"`
	Fields  HeaderFields `json:"fields"`
	Hex     string       `json:"hex"`
	Hash    string       `json:"hash"`
}

// TxFields are a transaction's fields.
type TxFields struct {
	Version uint8  `json:"version"`
	From    string `json:"from"`
	To      string `json:"to"`
	ToText  string `json:"toText"`
	Amount  string `json:"amount"`
	Fee     string `json:"fee"`
	Nonce   string `json:"nonce"`
	Memo    string `json:"memo"`
	Sig     string `json:"sig"`
}

// TxVec is one signed transaction.
type TxVec struct {
	Comment         string   `json:"comment"`
	Seed            string   `json:"seed"`
	Genesis         string   `json:"genesis"`
	Fields          TxFields `json:"fields"`
	SigningPreimage string   `json:"signingPreimage"`
	SigningDigest   string   `json:"signingDigest"`
	Hex             string   `json:"hex"`
	ID              string   `json:"id"`
	Sender          string   `json:"sender"`
	SenderText      string   `json:"senderText"`
}

// MerkleVec is a list of ids and its Merkle root.
type MerkleVec struct {
	IDs  []string `json:"ids"`
	Root string   `json:"root"`
}

// BlockVec is a block with its txs.
type BlockVec struct {
	Comment     string       `json:"comment"`
	Genesis     string       `json:"genesis"`
	StateBefore string       `json:"stateBefore"`
	StateAfter  string       `json:"stateAfter"`
	Header      HeaderFields `json:"header"`
	TxIDs       []string     `json:"txIDs"`
	TxRoot      string       `json:"txRoot"`
	Size        int          `json:"size"`
	Hex         string       `json:"hex"`
	Hash        string       `json:"hash"`
}

// AccountVec is one account of a state.
type AccountVec struct {
	Address     string `json:"address"`
	AddressText string `json:"addressText"`
	Balance     string `json:"balance"`
	Nonce       string `json:"nonce"`
	Key         string `json:"key"`
	ElementHead string `json:"elementHead"`
}

// StateVec is a set of accounts and its commitment.
type StateVec struct {
	Name      string       `json:"name"`
	Accounts  []AccountVec `json:"accounts"`
	StateRoot string       `json:"stateRoot"`
}

// CompactVec is one bits value read against a powLimit.
type CompactVec struct {
	Bits      string `json:"bits"`
	PowLimit  string `json:"powLimit"`
	Negative  bool   `json:"negative"`
	Target    string `json:"target"`
	Canonical bool   `json:"canonical"`
	Valid     bool   `json:"valid"`
	Work      string `json:"work"`
}

// ASERTVec is one evaluation of ASERT.
type ASERTVec struct {
	Comment      string `json:"comment"`
	AnchorBits   string `json:"anchorBits"`
	AnchorTarget string `json:"anchorTarget"`
	TimeDelta    string `json:"timeDelta"`
	HeightDelta  string `json:"heightDelta"`
	Spacing      string `json:"spacing"`
	HalfLife     string `json:"halfLife"`
	PowLimit     string `json:"powLimit"`
	Target       string `json:"target"`
	Bits         string `json:"bits"`
}

// NextBitsVec is the bits required after a parent, ASERT anchored at a
// genesis of the file.
type NextBitsVec struct {
	Comment      string `json:"comment"`
	Genesis      string `json:"genesis"`
	ParentHeight string `json:"parentHeight"`
	ParentTime   string `json:"parentTime"`
	Bits         string `json:"bits"`
}

const comment = "cairn protocol test vectors, explained in docs/PROTOCOL.md §28. " +
	"Generated by `go run ./internal/protovectors -o docs/protocol-vectors.json` and pinned: " +
	"internal/protovectors' test fails when the implementation disagrees with any of them."

// Build computes every vector with the implementation. It is
// deterministic: the same code gives the same file.
func Build() (*File, error) {
	f := &File{Comment: comment}
	nets, err := genesisNetworks()
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		f.Genesis = append(f.Genesis, genesisVec(n))
	}
	f.Headers = headerVecs()
	vec := nets[1] // "vectors": the network with allocations
	if f.Transactions, err = txVecs(nets); err != nil {
		return nil, err
	}
	f.Merkle = merkleVecs()
	blk, before, after, err := exampleBlock(vec.params)
	if err != nil {
		return nil, err
	}
	f.Blocks = []BlockVec{blockVec(vec.name, blk, "vectors genesis", "vectors block 1")}
	f.States = []StateVec{
		stateVec("empty", nil),
		stateVec("vectors genesis", before),
		stateVec("vectors block 1", after),
		stateVec("edge values", []account{
			{addr: types.Address{}, balance: 1, nonce: 0},
			{addr: addrOf(0xff), balance: 0, nonce: 1},
			{addr: addrOf(0x80), balance: math.MaxUint64, nonce: math.MaxUint64},
		}),
	}
	f.Compact = compactVecs()
	f.ASERT = asertVecs()
	f.NextBits = nextBitsVecs(vec)
	return f, nil
}

// Encode returns the file as it is pinned: indented JSON and a newline.
func (f *File) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// network is a genesis file of the vectors and its parameters.
type network struct {
	name   string
	file   []byte
	params *consensus.Params
}

// Seeds of the keys that sign the vectors' transactions: H of a name.
var (
	aliceSeed = types.Sum([]byte("cairn vectors: alice"))
	bobSeed   = types.Sum([]byte("cairn vectors: bob"))
	carolSeed = types.Sum([]byte("cairn vectors: carol"))
)

func mustKey(seed types.Hash) *wallet.Key {
	k, err := wallet.KeyFromSeed(seed[:])
	if err != nil {
		panic(err) // a 32-byte seed always makes a key
	}
	return k
}

// genesisNetworks returns the genesis files of the vectors: the built-in
// network cairn-dev (node/genesis.json), a small network with allocations
// whose block 1 is the example block, and one at the edges of every
// parameter's range.
func genesisNetworks() ([]network, error) {
	alice, bob := mustKey(aliceSeed), mustKey(bobSeed)
	files := []struct{ name, file string }{
		{"cairn-dev", `{
  "network": "cairn-dev",
  "time": 1795478400000,
  "bits": "1d2fb8cb",
  "powLimit": "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "targetSpacing": 30000,
  "halfLife": 7200000,
  "initialSubsidy": "5000000000",
  "halvingInterval": 210000,
  "maxBlockSize": 1048576,
  "maxFutureDrift": 60000,
  "alloc": {}
}`},
		{"vectors", `{
  "network": "vectors",
  "time": 1700000000000,
  "bits": "207fffff",
  "powLimit": "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "targetSpacing": 10000,
  "halfLife": 3600000,
  "initialSubsidy": "5000000000",
  "halvingInterval": 100,
  "maxBlockSize": 65536,
  "maxFutureDrift": 60000,
  "alloc": {
    "` + alice.Address().String() + `": "1000000000000",
    "` + bob.Address().String() + `": "250000000"
  }
}`},
		{"edges", `{
  "network": "0-edge-case-network-name-32-char",
  "time": 0,
  "bits": "0x2100ffff",
  "powLimit": "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "targetSpacing": 1,
  "halfLife": 1,
  "initialSubsidy": "18446744073709551615",
  "halvingInterval": 1,
  "maxBlockSize": 33554432,
  "maxFutureDrift": 0,
  "alloc": {
    "` + addrOf(0xff).String() + `": "18446744073709551614",
    "` + types.Address{}.String() + `": "1"
  }
}`},
	}
	var out []network
	for _, f := range files {
		p, err := consensus.ParseGenesis([]byte(f.file))
		if err != nil {
			return nil, fmt.Errorf("genesis %s: %w", f.name, err)
		}
		out = append(out, network{name: f.name, file: []byte(f.file), params: p})
	}
	return out, nil
}

func addrOf(b byte) types.Address {
	var a types.Address
	for i := range a {
		a[i] = b
	}
	return a
}

func genesisVec(n network) GenesisVec {
	g := n.params.Genesis()
	return GenesisVec{
		Name:           n.name,
		File:           json.RawMessage(n.file),
		ParamsEncoding: hex.EncodeToString(n.params.Encode()),
		Header:         headerFields(&g.Header),
		HeaderHex:      hex.EncodeToString(g.Header.Encode()),
		BlockHex:       hex.EncodeToString(g.Encode()),
		Hash:           n.params.GenesisHash().String(),
		NetID:          n.params.NetID(),
		Work:           hex256(consensus.CalcWork(g.Header.Bits)),
	}
}

func headerFields(h *types.Header) HeaderFields {
	return HeaderFields{
		Version:   h.Version,
		Height:    u64(h.Height),
		Parent:    h.Parent.String(),
		TxRoot:    h.TxRoot.String(),
		StateRoot: h.StateRoot.String(),
		Miner:     hex.EncodeToString(h.Miner[:]),
		MinerText: h.Miner.String(),
		Time:      strconv.FormatInt(h.Time, 10),
		Bits:      fmt.Sprintf("%08x", h.Bits),
		Nonce:     u64(h.Nonce),
	}
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

func hex256(n *big.Int) string {
	var b [32]byte
	n.FillBytes(b[:])
	return hex.EncodeToString(b[:])
}

// counting returns n bytes start, start+1, … (mod 256).
func counting(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func headerVecs() []HeaderVec {
	var parent, txRoot, stateRoot types.Hash
	var miner types.Address
	copy(parent[:], counting(0x10, 32))
	copy(txRoot[:], counting(0x40, 32))
	copy(stateRoot[:], counting(0x70, 32))
	copy(miner[:], counting(0xa0, 20))
	hs := []struct {
		comment string
		h       types.Header
	}{
		{"every field distinct, so that a misplaced field shows", types.Header{
			Version: 1, Height: 0x0102030405060708, Parent: parent, TxRoot: txRoot, StateRoot: stateRoot,
			Miner: miner, Time: 0x1112131415161718, Bits: 0x1d2fb8cb, Nonce: 0x2122232425262728}},
		{"a negative time is two's complement; the largest height and nonce", types.Header{
			Version: 1, Height: math.MaxUint64, Parent: stateRoot, TxRoot: parent, StateRoot: txRoot,
			Time: -1, Bits: 0x207fffff, Nonce: math.MaxUint64}},
		{"zero fields but the version", types.Header{Version: 1}},
	}
	out := make([]HeaderVec, len(hs))
	for i, x := range hs {
		out[i] = HeaderVec{Comment: x.comment, Fields: headerFields(&x.h), Hex: hex.EncodeToString(x.h.Encode()), Hash: x.h.Hash().String()}
	}
	return out
}

// txVec signs tx with the key of seed for the network genesis and returns
// its vector.
func txVec(comment string, seed types.Hash, genesis types.Hash, tx *types.Tx) TxVec {
	k := mustKey(seed)
	k.Sign(tx, genesis)
	unsigned := tx.Encode()
	unsigned = unsigned[:len(unsigned)-types.SigSize]
	pre := append([]byte(types.SigningDomain), genesis[:]...)
	pre = append(pre, unsigned...)
	return TxVec{
		Comment: comment,
		Seed:    hex.EncodeToString(seed[:]),
		Genesis: genesis.String(),
		Fields: TxFields{
			Version: tx.Version,
			From:    hex.EncodeToString(tx.From[:]),
			To:      hex.EncodeToString(tx.To[:]),
			ToText:  tx.To.String(),
			Amount:  u64(tx.Amount),
			Fee:     u64(tx.Fee),
			Nonce:   u64(tx.Nonce),
			Memo:    hex.EncodeToString(tx.Memo),
			Sig:     hex.EncodeToString(tx.Sig[:]),
		},
		SigningPreimage: hex.EncodeToString(pre),
		SigningDigest:   tx.SigningDigest(genesis).String(),
		Hex:             hex.EncodeToString(tx.Encode()),
		ID:              tx.ID().String(),
		Sender:          hex.EncodeToString(addrBytes(tx.Sender())),
		SenderText:      tx.Sender().String(),
	}
}

func addrBytes(a types.Address) []byte { return a[:] }

// txVecs returns transactions on cairn-dev and on the edge network; the
// example block's transactions are added by exampleBlock's caller.
func txVecs(nets []network) ([]TxVec, error) {
	dev, vec, edges := nets[0].params.GenesisHash(), nets[1].params.GenesisHash(), nets[2].params.GenesisHash()
	bob := mustKey(bobSeed)
	out := []TxVec{
		txVec("cairn-dev: 1.5 CRN, fee 1000, no memo (length byte 0x00)", aliceSeed, dev,
			&types.Tx{Version: 1, To: bob.Address(), Amount: 150_000_000, Fee: 1000, Nonce: 0}),
		txVec("cairn-dev: the same transfer on another network has another digest, signature and id", aliceSeed, vec,
			&types.Tx{Version: 1, To: bob.Address(), Amount: 150_000_000, Fee: 1000, Nonce: 0}),
		txVec("the longest memo (64 bytes), the largest amount and nonce: a 206-byte tx", carolSeed, edges,
			&types.Tx{Version: 1, To: addrOf(0xff), Amount: math.MaxUint64, Fee: 0, Nonce: math.MaxUint64, Memo: counting(0, types.MaxMemoSize)}),
		txVec("a one-byte memo; a transfer to the sender's own address", bobSeed, dev,
			&types.Tx{Version: 1, To: bob.Address(), Amount: 1, Fee: 0, Nonce: 7, Memo: []byte("x")}),
	}
	blk, _, _, err := exampleBlock(nets[1].params)
	if err != nil {
		return nil, err
	}
	seeds := []types.Hash{aliceSeed, aliceSeed, bobSeed, aliceSeed}
	for i, tx := range blk.Txs {
		cp := *tx
		out = append(out, txVec(fmt.Sprintf("vectors block 1, tx %d", i), seeds[i], vec, &cp))
	}
	return out, nil
}

func merkleVecs() []MerkleVec {
	var out []MerkleVec
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7} {
		ids := make([]types.Hash, n)
		v := MerkleVec{IDs: []string{}}
		for i := range ids {
			ids[i] = types.Sum([]byte{byte(i)})
			v.IDs = append(v.IDs, ids[i].String())
		}
		v.Root = types.MerkleRoot(ids).String()
		out = append(out, v)
	}
	return out
}

// account is one entry of a state.
type account struct {
	addr           types.Address
	balance, nonce uint64
}

// exampleBlock builds block 1 of the network "vectors": four txs whose
// order matters (bob spends what the first tx pays him), a fee of 0, a
// transfer to the sender's own address, a valid proof of work. It
// returns the block and the states before and after it.
func exampleBlock(p *consensus.Params) (*types.Block, []account, []account, error) {
	alice, bob, carol := mustKey(aliceSeed), mustKey(bobSeed), mustKey(carolSeed)
	g := p.GenesisHash()
	txs := []*types.Tx{
		{Version: 1, To: bob.Address(), Amount: 100_000_000, Fee: 1000, Nonce: 0, Memo: []byte("first")},
		{Version: 1, To: carol.Address(), Amount: 5, Fee: 0, Nonce: 1},
		{Version: 1, To: alice.Address(), Amount: 300_000_000, Fee: 2000, Nonce: 0},
		{Version: 1, To: alice.Address(), Amount: 7, Fee: 3, Nonce: 2},
	}
	signers := []*wallet.Key{alice, alice, bob, alice}
	for i, tx := range txs {
		signers[i].Sign(tx, g)
	}
	// The state transition, spelled out (the test checks it against the
	// chain package's): accounts in the order first touched.
	var before []account
	for _, a := range p.Alloc {
		before = append(before, account{addr: a.Address, balance: a.Amount})
	}
	after := append([]account(nil), before...)
	find := func(a types.Address) *account {
		for i := range after {
			if after[i].addr == a {
				return &after[i]
			}
		}
		after = append(after, account{addr: a})
		return &after[len(after)-1]
	}
	var fees uint64
	for _, tx := range txs {
		s := find(tx.Sender())
		s.balance -= tx.Amount + tx.Fee
		s.nonce++
		find(tx.To).balance += tx.Amount
		fees += tx.Fee
	}
	find(carol.Address()).balance += p.Subsidy(1) + fees

	var lt consensus.LtHash
	for _, a := range after {
		lt.AddAccount(a.addr, a.balance, a.nonce)
	}
	blk := &types.Block{Txs: txs}
	blk.Header = types.Header{
		Version:   1,
		Height:    1,
		Parent:    g,
		TxRoot:    types.MerkleRoot(blk.TxIDs()),
		StateRoot: lt.Sum(),
		Miner:     carol.Address(),
		Time:      p.GenesisTime + p.TargetSpacing,
		Bits:      p.NextBits(0, p.GenesisTime),
	}
	for ; ; blk.Header.Nonce++ {
		if consensus.CheckProofOfWork(blk.Hash(), blk.Header.Bits, p.PowLimit) == nil {
			break
		}
		if blk.Header.Nonce == 1<<20 {
			return nil, nil, nil, fmt.Errorf("no proof of work for the example block")
		}
	}
	return blk, before, after, nil
}

func blockVec(genesis string, b *types.Block, before, after string) BlockVec {
	v := BlockVec{
		Comment:     "block 1 of the network \"vectors\": valid, with four txs whose order matters",
		Genesis:     genesis,
		StateBefore: before,
		StateAfter:  after,
		Header:      headerFields(&b.Header),
		TxRoot:      b.Header.TxRoot.String(),
		Size:        b.EncodedSize(),
		Hex:         hex.EncodeToString(b.Encode()),
		Hash:        b.Hash().String(),
	}
	for _, id := range b.TxIDs() {
		v.TxIDs = append(v.TxIDs, id.String())
	}
	return v
}

func stateVec(name string, accts []account) StateVec {
	v := StateVec{Name: name, Accounts: []AccountVec{}}
	var lt consensus.LtHash
	for _, a := range accts {
		key := types.SumConcat([]byte("cairn/acct/v1"), a.addr[:],
			[]byte(u64be(a.balance)), []byte(u64be(a.nonce)))
		e := consensus.AccountElement(a.addr, a.balance, a.nonce).Bytes()
		v.Accounts = append(v.Accounts, AccountVec{
			Address:     hex.EncodeToString(a.addr[:]),
			AddressText: a.addr.String(),
			Balance:     u64(a.balance),
			Nonce:       u64(a.nonce),
			Key:         key.String(),
			ElementHead: hex.EncodeToString(e[:32]),
		})
		lt.AddAccount(a.addr, a.balance, a.nonce)
	}
	v.StateRoot = lt.Sum().String()
	return v
}

func u64be(v uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return string(b[:])
}

func compactVecs() []CompactVec {
	pl7f, _ := new(big.Int).SetString("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 16)
	plMax := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	rows := []struct {
		bits     uint32
		powLimit *big.Int
	}{
		{0x1d00ffff, pl7f},  // Bitcoin's genesis target
		{0x1d2fb8cb, pl7f},  // cairn-dev's genesis bits
		{0x207fffff, pl7f},  // the easiest target under this powLimit
		{0x2100ffff, plMax}, // above 2^255: only under the largest powLimit
		{0x2100ffff, pl7f},  // the same bits above a smaller powLimit
		{0x01010000, pl7f},  // target 1, the hardest
		{0x03000001, pl7f},  // target 1 written another way: not canonical
		{0x1e0000ff, pl7f},  // leading zero bytes in the mantissa: not canonical
		{0x1d008000, pl7f},  // a mantissa whose top bit is in its second byte
		{0x1c800000, pl7f},  // the sign bit: negative
		{0x04800000, pl7f},  // the sign bit on a zero mantissa: zero
		{0x00000000, pl7f},  // zero
		{0x01003456, pl7f},  // exponent 1 drops the mantissa's low bytes: zero
		{0x02123456, pl7f},  // exponent 2 drops one byte: not canonical
		{0x1d7fffff, pl7f},  // the largest mantissa
	}
	var out []CompactVec
	for _, r := range rows {
		n := consensus.CompactToBig(r.bits)
		v := CompactVec{
			Bits:      fmt.Sprintf("%08x", r.bits),
			PowLimit:  hex256(r.powLimit),
			Negative:  n.Sign() < 0,
			Canonical: consensus.BigToCompact(n) == r.bits,
			Valid:     consensus.CheckTarget(r.bits, r.powLimit) == nil,
		}
		abs := new(big.Int).Abs(n)
		if abs.BitLen() <= 256 {
			v.Target = hex256(abs)
		}
		if v.Valid {
			v.Work = hex256(consensus.CalcWork(r.bits))
		}
		out = append(out, v)
	}
	return out
}

// asertVecs are rows of the official aserti3-2d test vectors (seconds,
// spacing 600, half-life 2 days, powLimit the target of 0x1d00ffff; the
// runs' names say what each exercises), and rows at cairn's scale
// (milliseconds) with values past what 64-bit products hold.
func asertVecs() []ASERTVec {
	spec := consensus.CompactToBig(0x1d00ffff)
	pl7f, _ := new(big.Int).SetString("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 16)
	type row struct {
		comment       string
		anchorBits    uint32
		td, hd        int64
		spacing, half int64
		powLimit      *big.Int
	}
	const s, hl = 600, 2 * 24 * 3600
	rows := []row{
		{"run01: on schedule at the powLimit target", 0x1d00ffff, 1200, 1, s, hl, spec},
		{"run02: on schedule, another target", 0x1a2b3c4d, 6600, 10, s, hl, spec},
		{"run04: one half-life behind doubles the target", 0x01010000, 174000, 1, s, hl, spec},
		{"run04: clamped to powLimit", 0x01010000, 39015600, 225, s, hl, spec},
		{"run05: heights ahead of time halve the target", 0x1d00ffff, 0, 289, s, hl, spec},
		{"run05: clamped to 1", 0x1d00ffff, 0, 64513, s, hl, spec},
		{"run06: random solve times", 0x1802aee8, 1310, 2, s, hl, spec},
		{"run06: a negative schedule lead, truncating division", 0x1802aee8, 1327, 3, s, hl, spec},
		{"run09: heights across 2^31 (300 s blocks against a 600 s schedule)", 0x1802aee8, 1234569990 - 1234567290, 2147483649 - 2147483642, s, hl, spec},
		{"milliseconds: cairn-dev's parameters, 1 s behind after 1000 blocks", 0x1d2fb8cb, 1001*30000 + 1000, 1000, 30000, 7200000, pl7f},
		{"milliseconds: products beyond 64 bits, far behind: powLimit", 0x1d2fb8cb, math.MaxInt64, 0, 30000, 1, pl7f},
		{"milliseconds: products beyond 64 bits, far ahead: 1", 0x1d2fb8cb, math.MinInt64, math.MaxInt64, 30000, 7200000, pl7f},
	}
	var out []ASERTVec
	for _, r := range rows {
		anchor := consensus.CompactToBig(r.anchorBits)
		t := consensus.ASERT(anchor, r.td, r.hd, r.spacing, r.half, r.powLimit)
		out = append(out, ASERTVec{
			Comment:      r.comment,
			AnchorBits:   fmt.Sprintf("%08x", r.anchorBits),
			AnchorTarget: hex256(anchor),
			TimeDelta:    strconv.FormatInt(r.td, 10),
			HeightDelta:  strconv.FormatInt(r.hd, 10),
			Spacing:      strconv.FormatInt(r.spacing, 10),
			HalfLife:     strconv.FormatInt(r.half, 10),
			PowLimit:     hex256(r.powLimit),
			Target:       hex256(t),
			Bits:         fmt.Sprintf("%08x", consensus.BigToCompact(t)),
		})
	}
	return out
}

// nextBitsVecs are the bits required after parents of the network n.
func nextBitsVecs(n network) []NextBitsVec {
	p := n.params
	g, sp := p.GenesisTime, p.TargetSpacing
	rows := []struct {
		comment string
		height  uint64
		time    int64
	}{
		{"after genesis: the genesis bits", 0, g},
		{"parent on schedule (height h at genesis time + h·spacing)", 1000, g + 1000*sp},
		{"parent one half-life behind schedule: twice the target (clamped to powLimit here)", 1000, g + 1000*sp + p.HalfLife},
		{"parent one half-life ahead of schedule: half the target", 1000, g + 1000*sp - p.HalfLife},
		{"parent ten half-lives ahead: 1/1024 of the target", 5000, g + 5000*sp - 10*p.HalfLife},
		{"parent time before genesis time", 3, g - 1},
		{"the largest height: the target is 1", math.MaxUint64, g},
		{"the largest time: the target is powLimit", 1, math.MaxInt64},
	}
	var out []NextBitsVec
	for _, r := range rows {
		out = append(out, NextBitsVec{
			Comment:      r.comment,
			Genesis:      n.name,
			ParentHeight: u64(r.height),
			ParentTime:   strconv.FormatInt(r.time, 10),
			Bits:         fmt.Sprintf("%08x", p.NextBits(r.height, r.time)),
		})
	}
	return out
}
