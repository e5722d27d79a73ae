package consensus

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/blake2b"
	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

// The reference implementation below follows docs/PROTOCOL.md §12 word by
// word, sharing no code with lthash.go: the key is hashed from an explicit
// concatenation, CTR mode is built from the raw AES block (counter block
// i = i as a 128-bit big-endian integer, the zero IV), and lanes are
// plain uint16 values added in a loop.

type refLanes [LtHashLanes]uint16

func refElement(addr types.Address, balance, nonce uint64) refLanes {
	var out refLanes
	if balance == 0 && nonce == 0 {
		return out // absent
	}
	msg := []byte("cairn/acct/v1")
	msg = append(msg, addr[:]...)
	msg = binary.BigEndian.AppendUint64(msg, balance)
	msg = binary.BigEndian.AppendUint64(msg, nonce)
	key := blake2b.Sum256(msg)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	stream := make([]byte, 0, LtHashSize)
	for i := uint64(0); len(stream) < LtHashSize; i++ {
		var ctr, ks [16]byte
		binary.BigEndian.PutUint64(ctr[8:], i)
		block.Encrypt(ks[:], ctr[:])
		stream = append(stream, ks[:]...)
	}
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(stream[2*i:])
	}
	return out
}

func (r *refLanes) add(e refLanes) {
	for i := range r {
		r[i] += e[i]
	}
}

func (r *refLanes) sub(e refLanes) {
	for i := range r {
		r[i] -= e[i]
	}
}

func (r *refLanes) bytes() []byte {
	b := make([]byte, 0, LtHashSize)
	for _, l := range r {
		b = binary.LittleEndian.AppendUint16(b, l)
	}
	return b
}

func (r *refLanes) sum() types.Hash { return blake2b.Sum256(r.bytes()) }

type ltAccount struct {
	addr           types.Address
	balance, nonce uint64
}

func ltAddr(s string) types.Address {
	var a types.Address
	copy(a[:], s)
	return a
}

// TestLtHashKnownAnswer checks AccountElement, Add, Sub and Sum against the
// reference, and pins the results so that the commitment cannot change
// silently (it is consensus: a different root forks the chain).
func TestLtHashKnownAnswer(t *testing.T) {
	accounts := []ltAccount{
		{ltAddr("alice"), 100_000_000, 0},
		{ltAddr("bob"), 0, 1}, // present: nonce 1 with nothing left
		{ltAddr("carol"), ^uint64(0), ^uint64(0)},
		{types.Address{}, 1, 0},
		{ltAddr("alice"), 100_000_000, 0}, // the same element twice
	}
	var h LtHash
	var ref refLanes
	for _, a := range accounts {
		e := AccountElement(a.addr, a.balance, a.nonce)
		re := refElement(a.addr, a.balance, a.nonce)
		if !bytes.Equal(e.Bytes(), re.bytes()) {
			t.Fatalf("element of %+v differs from the reference", a)
		}
		h.AddAccount(a.addr, a.balance, a.nonce)
		ref.add(re)
		if !bytes.Equal(h.Bytes(), ref.bytes()) {
			t.Fatalf("after adding %+v: value differs from the reference", a)
		}
	}
	if h.Sum() != ref.sum() {
		t.Fatal("Sum differs from the reference")
	}
	// Pinned when the reference above first agreed; a change here is a
	// hard fork.
	const wantRoot = "4f2b4c92256381e91f19165b7f427c11c3b46c5f8c03ed0c2d1a4a795650b318"
	if got := h.Sum().String(); got != wantRoot {
		t.Fatalf("root = %s, want %s", got, wantRoot)
	}

	// Remove all but alice (once): the value is alice's element alone.
	for _, a := range accounts[1:] {
		h.SubAccount(a.addr, a.balance, a.nonce)
		ref.sub(refElement(a.addr, a.balance, a.nonce))
		if !bytes.Equal(h.Bytes(), ref.bytes()) {
			t.Fatalf("after removing %+v: value differs from the reference", a)
		}
	}
	if h != *AccountElement(ltAddr("alice"), 100_000_000, 0) {
		t.Fatal("removing all but one account did not leave its element")
	}
	h.SubAccount(ltAddr("alice"), 100_000_000, 0)
	if !h.IsZero() || h.Sum() != EmptyStateRoot() {
		t.Fatal("removing every account did not give the empty set")
	}
}

func TestEmptyStateRoot(t *testing.T) {
	want := blake2b.Sum256(make([]byte, LtHashSize))
	if got := EmptyStateRoot(); got != want {
		t.Fatalf("EmptyStateRoot = %s, want H(2048 zero bytes) = %x", got, want)
	}
	const pinned = "200823e5158b3774c11b5c61850ada762f8264144a9bebec3ebac5a2adde67b8"
	if got := EmptyStateRoot().String(); got != pinned {
		t.Fatalf("EmptyStateRoot = %s, want %s", got, pinned)
	}
	var h LtHash
	if h.Sum() != EmptyStateRoot() {
		t.Fatal("zero LtHash does not sum to EmptyStateRoot")
	}
}

func TestLtHashAbsentAccount(t *testing.T) {
	a := ltAddr("nobody")
	if e := AccountElement(a, 0, 0); !e.IsZero() {
		t.Fatal("the element of an absent account is not zero")
	}
	h := *AccountElement(ltAddr("x"), 5, 2)
	before := h
	h.AddAccount(a, 0, 0)
	h.SubAccount(a, 0, 0)
	if h != before {
		t.Fatal("AddAccount/SubAccount of (0, 0) changed the value")
	}
	// An account holding (0, n) or (b, 0) is present.
	for _, bn := range [][2]uint64{{0, 1}, {1, 0}} {
		if AccountElement(a, bn[0], bn[1]).IsZero() {
			t.Fatalf("account %v treated as absent", bn)
		}
	}
}

// drawLtHash draws an arbitrary value, biased towards the lane values where
// SWAR carries and borrows go wrong (0, 0x7fff, 0x8000, 0xffff, ...).
func drawLtHash(t *rapid.T, label string) (LtHash, refLanes) {
	edge := rapid.SampledFrom([]uint16{0, 1, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff})
	lane := rapid.OneOf(edge, rapid.Uint16())
	var r refLanes
	pattern := rapid.SliceOfN(lane, 1, 64).Draw(t, label)
	for i := range r {
		r[i] = pattern[i%len(pattern)] ^ uint16(i*0x9e37) // vary lanes cheaply
		if i < len(pattern) {
			r[i] = pattern[i] // keep the drawn edge values exact
		}
	}
	h, err := LtHashFromBytes(r.bytes())
	if err != nil {
		t.Fatal(err)
	}
	return h, r
}

func TestLtHashSWARMatchesLanes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x, rx := drawLtHash(t, "x")
		y, ry := drawLtHash(t, "y")
		s, rs := x, rx
		s.Add(&y)
		rs.add(ry)
		if !bytes.Equal(s.Bytes(), rs.bytes()) {
			t.Fatal("Add differs from lane-wise addition mod 2^16")
		}
		d, rd := x, rx
		d.Sub(&y)
		rd.sub(ry)
		if !bytes.Equal(d.Bytes(), rd.bytes()) {
			t.Fatal("Sub differs from lane-wise subtraction mod 2^16")
		}
	})
}

func drawLtAccount(t *rapid.T, label string) ltAccount {
	// Few addresses and small numbers, so that collisions and repeats occur.
	return ltAccount{
		addr:    types.Address{rapid.Byte().Draw(t, label+".addr")},
		balance: rapid.OneOf(rapid.Uint64Range(0, 3), rapid.Uint64()).Draw(t, label+".balance"),
		nonce:   rapid.Uint64Range(0, 3).Draw(t, label+".nonce"),
	}
}

func TestLtHashAddSubInverse(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, _ := drawLtHash(t, "h")
		orig := h
		a := drawLtAccount(t, "a")
		h.AddAccount(a.addr, a.balance, a.nonce)
		h.SubAccount(a.addr, a.balance, a.nonce)
		if h != orig {
			t.Fatal("AddAccount then SubAccount did not restore the value")
		}
		e, _ := drawLtHash(t, "e")
		h.Sub(&e)
		h.Add(&e)
		if h != orig {
			t.Fatal("Sub then Add did not restore the value")
		}
	})
}

func TestLtHashOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		set := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ltAccount {
			return drawLtAccount(t, "acct")
		}), 0, 12).Draw(t, "set")
		perm := rapid.Permutation(set).Draw(t, "perm")
		var h1, h2 LtHash
		var ref refLanes
		for _, a := range set {
			h1.AddAccount(a.addr, a.balance, a.nonce)
			ref.add(refElement(a.addr, a.balance, a.nonce))
		}
		for _, a := range perm {
			h2.AddAccount(a.addr, a.balance, a.nonce)
		}
		if h1.Sum() != h2.Sum() {
			t.Fatal("the order of additions changed the root")
		}
		if h1.Sum() != ref.sum() {
			t.Fatal("root differs from the reference")
		}
	})
}

func TestLtHashSumDiffers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		set := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ltAccount {
			return drawLtAccount(t, "acct")
		}), 1, 8).Draw(t, "set")
		i := rapid.IntRange(0, len(set)-1).Draw(t, "i")
		other := slices.Clone(set)
		switch rapid.IntRange(0, 2).Draw(t, "field") {
		case 0:
			other[i].addr[19] ^= 1
		case 1:
			other[i].balance += rapid.Uint64Range(1, 1<<40).Draw(t, "delta")
		case 2:
			other[i].nonce ^= 1 << rapid.IntRange(0, 63).Draw(t, "bit")
		}
		var h1, h2 LtHash
		for j := range set {
			h1.AddAccount(set[j].addr, set[j].balance, set[j].nonce)
			h2.AddAccount(other[j].addr, other[j].balance, other[j].nonce)
		}
		present := func(a ltAccount) bool { return a.balance != 0 || a.nonce != 0 }
		if !present(set[i]) && !present(other[i]) {
			t.Skip("both versions of the account are absent")
		}
		if h1.Sum() == h2.Sum() {
			t.Fatalf("changing %+v to %+v kept the root", set[i], other[i])
		}
	})
}

func TestLtHashBytesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, _ := drawLtHash(t, "h")
		b := h.Bytes()
		if len(b) != LtHashSize {
			t.Fatalf("Bytes has %d bytes", len(b))
		}
		got, err := LtHashFromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		if got != h {
			t.Fatal("round trip changed the value")
		}
		b[0] ^= 1 // Bytes returns a copy
		if got != h {
			t.Fatal("Bytes aliases the value")
		}
	})
}

func TestLtHashFromBytesWrongLength(t *testing.T) {
	for _, n := range []int{0, 1, LtHashSize - 1, LtHashSize + 1, 2 * LtHashSize} {
		if _, err := LtHashFromBytes(make([]byte, n)); !errors.Is(err, ErrLtHashLength) {
			t.Errorf("%d bytes: err = %v, want ErrLtHashLength", n, err)
		}
	}
	if _, err := LtHashFromBytes(nil); !errors.Is(err, ErrLtHashLength) {
		t.Errorf("nil: err = %v, want ErrLtHashLength", err)
	}
}

func TestLtHashAllocs(t *testing.T) {
	var h, e LtHash
	e.SetAccount(ltAddr("a"), 1, 1)
	if n := testing.AllocsPerRun(100, func() { h.Add(&e); h.Sub(&e); _ = h.Sum() }); n != 0 {
		t.Errorf("Add+Sub+Sum allocate %v times", n)
	}
	n := testing.AllocsPerRun(100, func() { h.AddAccount(ltAddr("a"), 1, 1) })
	t.Logf("AddAccount: %v allocations (aes.NewCipher, cipher.NewCTR)", n)
}

func BenchmarkLtHashAccount(b *testing.B) {
	var h LtHash
	var addr types.Address
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(addr[:], uint64(i))
		h.AddAccount(addr, uint64(i)+1, uint64(i))
	}
}

func BenchmarkLtHashAdd(b *testing.B) {
	var h LtHash
	e := AccountElement(ltAddr("a"), 1, 1)
	b.SetBytes(LtHashSize)
	for b.Loop() {
		h.Add(e)
	}
}

// BenchmarkAESCTR2048 is the bare cost the LtHash element definition
// imposes per account value: the key hash, the AES-256 key schedule and
// 2048 bytes of CTR keystream. It is the ceiling BenchmarkLtHashAccount is
// printed beside.
func BenchmarkAESCTR2048(b *testing.B) {
	var buf [LtHashSize]byte
	var iv [aes.BlockSize]byte
	var in [13 + 20 + 16]byte
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(in[13:], uint64(i))
		key := types.Sum(in[:])
		blk, err := aes.NewCipher(key[:])
		if err != nil {
			b.Fatal(err)
		}
		clear(buf[:])
		cipher.NewCTR(blk, iv[:]).XORKeyStream(buf[:], buf[:])
	}
}
