package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/wallet"
)

const pinnedPath = "../../docs/protocol-vectors.json"

const regenerate = "if, and only if, the protocol is meant to change: " +
	"go run ./internal/protovectors -o docs/protocol-vectors.json, and update docs/PROTOCOL.md"

// pinned reads the pinned vectors file.
func pinned(t *testing.T) ([]byte, *File) {
	t.Helper()
	b, err := os.ReadFile(pinnedPath)
	if err != nil {
		t.Fatalf("read the pinned vectors: %v", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode %s: %v", pinnedPath, err)
	}
	return b, &f
}

// TestPinnedVectors recomputes every vector with the implementation and
// compares it with the pinned file, naming each value that differs.
func TestPinnedVectors(t *testing.T) {
	want, _ := pinned(t)
	f, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	diffJSON("", w, g, &diffs)
	if len(diffs) == 0 {
		diffs = append(diffs, "same values, different formatting")
	}
	if len(diffs) > 40 {
		diffs = append(diffs[:40], fmt.Sprintf("… and %d more", len(diffs)-40))
	}
	msg := ""
	for _, d := range diffs {
		msg += "\n  " + d
	}
	t.Fatalf("THE PROTOCOL CHANGED: the implementation no longer produces the pinned vectors of %s:%s\nRegenerate %s",
		pinnedPath, msg, regenerate)
}

// diffJSON appends to out the paths at which the JSON values want and got
// differ.
func diffJSON(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: pinned an object, now %v", path, got))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			diffJSON(path+"."+k, w[k], g[k], out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: pinned a list, now %v", path, got))
			return
		}
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: pinned %d entries, now %d", path, len(w), len(g)))
		}
		for i := 0; i < min(len(w), len(g)); i++ {
			diffJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*out = append(*out, fmt.Sprintf("%s: pinned %v, now %v", path, want, got))
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func parseU64(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parseI64(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parseBits(t *testing.T, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		t.Fatalf("bad bits %q", s)
	}
	return uint32(v)
}

func parse256(t *testing.T, s string) *big.Int {
	t.Helper()
	if len(s) != 64 {
		t.Fatalf("want 64 hex digits, got %q", s)
	}
	return new(big.Int).SetBytes(unhex(t, s))
}

// checkHeader decodes hexText and compares it with fields and hash.
func checkHeader(t *testing.T, what string, fields HeaderFields, hexText, hash string) types.Header {
	t.Helper()
	h, err := types.DecodeHeader(unhex(t, hexText))
	if err != nil {
		t.Fatalf("%s: decode: %v", what, err)
	}
	if got := headerFields(&h); got != fields {
		t.Errorf("%s: decoded fields %+v, pinned %+v", what, got, fields)
	}
	if got := h.Hash().String(); got != hash {
		t.Errorf("%s: hash %s, pinned %s", what, got, hash)
	}
	if got := types.Sum(unhex(t, hexText)).String(); got != hash {
		t.Errorf("%s: H(hex) = %s, pinned hash %s", what, got, hash)
	}
	addr, err := types.ParseAddress(fields.MinerText)
	if err != nil || hex.EncodeToString(addr[:]) != fields.Miner {
		t.Errorf("%s: minerText %s does not parse to miner %s (%v)", what, fields.MinerText, fields.Miner, err)
	}
	return h
}

// TestDecodeVectors reads the pinned vectors the other way round: every
// encoding decodes to its fields, hashes to its hash, and every signature
// verifies.
func TestDecodeVectors(t *testing.T) {
	_, f := pinned(t)
	nets := map[string]*consensus.Params{}
	for _, g := range f.Genesis {
		p, err := consensus.ParseGenesis(g.File)
		if err != nil {
			t.Fatalf("genesis %s: %v", g.Name, err)
		}
		nets[g.Name] = p
		enc := unhex(t, g.ParamsEncoding)
		if !bytes.Equal(p.Encode(), enc) {
			t.Errorf("genesis %s: parameters encode to %x, pinned %s", g.Name, p.Encode(), g.ParamsEncoding)
		}
		if types.Sum(enc).String() != g.Header.Parent {
			t.Errorf("genesis %s: parent is not H(paramsEncoding)", g.Name)
		}
		h := checkHeader(t, "genesis "+g.Name, g.Header, g.HeaderHex, g.Hash)
		if h.Height != 0 || h.TxRoot != types.Sum(nil) || !h.Miner.IsZero() || h.Nonce != 0 {
			t.Errorf("genesis %s: header %+v", g.Name, h)
		}
		if g.BlockHex != g.HeaderHex+"00" {
			t.Errorf("genesis %s: block is not header ‖ 0x00", g.Name)
		}
		if g.NetID != g.Hash[:8] || p.NetID() != g.NetID {
			t.Errorf("genesis %s: netID %s", g.Name, g.NetID)
		}
		if got := hex256(consensus.CalcWork(h.Bits)); got != g.Work {
			t.Errorf("genesis %s: work %s, pinned %s", g.Name, got, g.Work)
		}
	}
	for i, v := range f.Headers {
		checkHeader(t, fmt.Sprintf("headers[%d]", i), v.Fields, v.Hex, v.Hash)
	}
	for i, v := range f.Transactions {
		checkTx(t, fmt.Sprintf("transactions[%d]", i), v)
	}
	for i, v := range f.Merkle {
		var ids []types.Hash
		for _, s := range v.IDs {
			h, err := types.ParseHash(s)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, h)
		}
		if got := types.MerkleRoot(ids).String(); got != v.Root {
			t.Errorf("merkle[%d]: root %s, pinned %s", i, got, v.Root)
		}
	}
	for i, v := range f.Blocks {
		p := nets[v.Genesis]
		b, err := types.DecodeBlock(unhex(t, v.Hex), p.MaxBlockSize)
		if err != nil {
			t.Fatalf("blocks[%d]: %v", i, err)
		}
		checkHeader(t, fmt.Sprintf("blocks[%d]", i), v.Header, v.Hex[:2*types.HeaderSize], v.Hash)
		var ids []string
		for _, id := range b.TxIDs() {
			ids = append(ids, id.String())
		}
		if !reflect.DeepEqual(ids, v.TxIDs) || types.MerkleRoot(b.TxIDs()).String() != v.TxRoot || v.Header.TxRoot != v.TxRoot {
			t.Errorf("blocks[%d]: tx ids %v and txRoot %s do not match", i, ids, v.TxRoot)
		}
		if len(v.Hex) != 2*v.Size {
			t.Errorf("blocks[%d]: size %d, hex of %d bytes", i, v.Size, len(v.Hex)/2)
		}
	}
	for _, v := range f.States {
		var lt consensus.LtHash
		for _, a := range v.Accounts {
			addr, err := types.ParseAddress(a.AddressText)
			if err != nil || hex.EncodeToString(addr[:]) != a.Address {
				t.Fatalf("state %q: address %s (%v)", v.Name, a.AddressText, err)
			}
			bal, nonce := parseU64(t, a.Balance), parseU64(t, a.Nonce)
			// The key, built from its definition.
			pre := append([]byte("cairn/acct/v1"), addr[:]...)
			pre = append(pre, unhex(t, fmt.Sprintf("%016x%016x", bal, nonce))...)
			if got := types.Sum(pre).String(); got != a.Key {
				t.Errorf("state %q: key of %s is %s, pinned %s", v.Name, a.AddressText, got, a.Key)
			}
			if e := consensus.AccountElement(addr, bal, nonce).Bytes(); hex.EncodeToString(e[:32]) != a.ElementHead {
				t.Errorf("state %q: element of %s starts %x, pinned %s", v.Name, a.AddressText, e[:32], a.ElementHead)
			}
			lt.AddAccount(addr, bal, nonce)
		}
		if got := lt.Sum().String(); got != v.StateRoot {
			t.Errorf("state %q: root %s, pinned %s", v.Name, got, v.StateRoot)
		}
	}
	for _, v := range f.Compact {
		bits, limit := parseBits(t, v.Bits), parse256(t, v.PowLimit)
		n := consensus.CompactToBig(bits)
		if (n.Sign() < 0) != v.Negative || (v.Target != "" && new(big.Int).Abs(n).Cmp(parse256(t, v.Target)) != 0) {
			t.Errorf("compact %s: target %x, pinned %s (negative %v)", v.Bits, n, v.Target, v.Negative)
		}
		if (consensus.BigToCompact(n) == bits) != v.Canonical || (consensus.CheckTarget(bits, limit) == nil) != v.Valid {
			t.Errorf("compact %s: canonical or valid differs from the pinned %v, %v", v.Bits, v.Canonical, v.Valid)
		}
		if v.Valid && hex256(consensus.CalcWork(bits)) != v.Work {
			t.Errorf("compact %s: work %x, pinned %s", v.Bits, consensus.CalcWork(bits), v.Work)
		}
	}
	for _, v := range f.ASERT {
		got := consensus.ASERT(parse256(t, v.AnchorTarget), parseI64(t, v.TimeDelta), parseI64(t, v.HeightDelta),
			parseI64(t, v.Spacing), parseI64(t, v.HalfLife), parse256(t, v.PowLimit))
		if hex256(got) != v.Target || fmt.Sprintf("%08x", consensus.BigToCompact(got)) != v.Bits {
			t.Errorf("asert %q: %x, pinned %s (bits %s)", v.Comment, got, v.Target, v.Bits)
		}
	}
	for _, v := range f.NextBits {
		p := nets[v.Genesis]
		if got := fmt.Sprintf("%08x", p.NextBits(parseU64(t, v.ParentHeight), parseI64(t, v.ParentTime))); got != v.Bits {
			t.Errorf("nextBits %q: %s, pinned %s", v.Comment, got, v.Bits)
		}
	}
}

func checkTx(t *testing.T, what string, v TxVec) {
	t.Helper()
	raw := unhex(t, v.Hex)
	tx, err := types.DecodeTx(raw)
	if err != nil {
		t.Fatalf("%s: decode: %v", what, err)
	}
	fields := TxFields{
		Version: tx.Version, From: hex.EncodeToString(tx.From[:]), To: hex.EncodeToString(tx.To[:]),
		ToText: tx.To.String(), Amount: strconv.FormatUint(tx.Amount, 10), Fee: strconv.FormatUint(tx.Fee, 10),
		Nonce: strconv.FormatUint(tx.Nonce, 10), Memo: hex.EncodeToString(tx.Memo), Sig: hex.EncodeToString(tx.Sig[:]),
	}
	if fields != v.Fields {
		t.Errorf("%s: decoded %+v, pinned %+v", what, fields, v.Fields)
	}
	genesis, err := types.ParseHash(v.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	pre := unhex(t, v.SigningPreimage)
	want := append(append([]byte(types.SigningDomain), genesis[:]...), raw[:len(raw)-types.SigSize]...)
	if !bytes.Equal(pre, want) {
		t.Errorf("%s: signing preimage is not domain ‖ genesis ‖ encoding without sig", what)
	}
	digest := tx.SigningDigest(genesis)
	if digest.String() != v.SigningDigest || types.Sum(pre) != digest {
		t.Errorf("%s: signing digest %s, pinned %s", what, digest, v.SigningDigest)
	}
	if id := tx.ID().String(); id != v.ID || types.Sum(raw).String() != v.ID {
		t.Errorf("%s: id %s, pinned %s", what, id, v.ID)
	}
	if !consensus.VerifySignature(tx.From, digest, tx.Sig) {
		t.Errorf("%s: signature does not verify", what)
	}
	if err := consensus.CheckTx(tx); err != nil {
		t.Errorf("%s: %v", what, err)
	}
	k, err := wallet.KeyFromSeed(unhex(t, v.Seed))
	if err != nil {
		t.Fatal(err)
	}
	if k.PubKey() != tx.From {
		t.Errorf("%s: the seed's key is not from", what)
	}
	if got := tx.Sender(); hex.EncodeToString(got[:]) != v.Sender || got.String() != v.SenderText {
		t.Errorf("%s: sender %s, pinned %s", what, got, v.SenderText)
	}
}

// TestExampleBlockIsValid connects the pinned example block to its
// genesis with the chain package and checks the state it leaves against
// the pinned one.
func TestExampleBlockIsValid(t *testing.T) {
	_, f := pinned(t)
	states := map[string]StateVec{}
	for _, s := range f.States {
		states[s.Name] = s
	}
	for _, v := range f.Blocks {
		var p *consensus.Params
		for _, g := range f.Genesis {
			if g.Name == v.Genesis {
				var err error
				if p, err = consensus.ParseGenesis(g.File); err != nil {
					t.Fatal(err)
				}
			}
		}
		blk, err := types.DecodeBlock(unhex(t, v.Hex), p.MaxBlockSize)
		if err != nil {
			t.Fatal(err)
		}
		now := time.UnixMilli(blk.Header.Time)
		c, err := chain.OpenMemory(chain.Config{Params: p, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkState(t, c, states[v.StateBefore])
		res, err := c.ProcessBlock(blk)
		if err != nil || res.Status != chain.StatusConnected {
			t.Fatalf("block %s: %v, %v", v.Hash, res.Status, err)
		}
		checkState(t, c, states[v.StateAfter])
		if err := c.Verify(); err != nil {
			t.Fatal(err)
		}
	}
}

func checkState(t *testing.T, c *chain.Chain, s StateVec) {
	t.Helper()
	if len(s.Accounts) == 0 {
		t.Fatalf("state %q is missing or empty", s.Name)
	}
	for _, a := range s.Accounts {
		addr, err := types.ParseAddress(a.AddressText)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Account(addr)
		if err != nil {
			t.Fatal(err)
		}
		if got.Balance != parseU64(t, a.Balance) || got.Nonce != parseU64(t, a.Nonce) {
			t.Errorf("state %q: account %s is %+v, pinned balance %s nonce %s", s.Name, a.AddressText, got, a.Balance, a.Nonce)
		}
	}
	if got := c.Tip(); got.Header.StateRoot.String() != s.StateRoot {
		t.Errorf("state %q: the tip's stateRoot is %s, pinned %s", s.Name, got.Header.StateRoot, s.StateRoot)
	}
}
