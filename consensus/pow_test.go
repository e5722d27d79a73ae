package consensus

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// bigHex parses a hex integer with an optional leading '-'.
func bigHex(t testing.TB, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return n
}

// compactVectors come from Bitcoin Core's src/test/bignum_tests.cpp
// (bignum_SetCompact, v0.9, when CBigNum still kept the sign as btcd does)
// and btcd's blockchain/internal/workmath/difficulty_test.go (10000000 and
// -1). want is CompactToBig(bits) in hex; canonical is BigToCompact of it.
var compactVectors = []struct {
	bits      uint32
	want      string
	canonical uint32
}{
	{0x00000000, "0", 0},
	{0x00123456, "0", 0},
	{0x01003456, "0", 0},
	{0x02000056, "0", 0},
	{0x03000000, "0", 0},
	{0x04000000, "0", 0},
	{0x00923456, "0", 0},
	{0x01803456, "0", 0},
	{0x02800056, "0", 0},
	{0x03800000, "0", 0},
	{0x04800000, "0", 0},
	{10000000, "0", 0}, // btcd
	{0x01123456, "12", 0x01120000},
	{0x01fedcba, "-7e", 0x01fe0000},
	{0x02123456, "1234", 0x02123400},
	{0x03123456, "123456", 0x03123456},
	{0x04123456, "12345600", 0x04123456},
	{0x04923456, "-12345600", 0x04923456},
	{0x05009234, "92340000", 0x05009234},
	{0x20123456, "123456" + strings.Repeat("00", 29), 0x20123456},
	{0xff123456, "123456" + strings.Repeat("00", 252), 0xff123456},
	// Bitcoin's powLimit bits and the smallest target.
	{0x1d00ffff, "ffff" + strings.Repeat("00", 26), 0x1d00ffff},
	{0x01010000, "1", 0x01010000},
	{0x207fffff, "7fffff" + strings.Repeat("00", 29), 0x207fffff},
}

func TestCompactToBig(t *testing.T) {
	for _, v := range compactVectors {
		got := CompactToBig(v.bits)
		if want := bigHex(t, v.want); got.Cmp(want) != 0 {
			t.Errorf("CompactToBig(0x%08x) = %x, want %x", v.bits, got, want)
		}
		if c := BigToCompact(got); c != v.canonical {
			t.Errorf("BigToCompact(CompactToBig(0x%08x)) = 0x%08x, want 0x%08x", v.bits, c, v.canonical)
		}
	}
}

func TestBigToCompact(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
	}{
		{"0", 0},
		{"-1", 25231360}, // btcd
		{"1", 0x01010000},
		{"80", 0x02008000}, // Bitcoin Core: no compact with 0x00800000 set
		{"12", 0x01120000},
		{"-7e", 0x01fe0000},
		{"ff", 0x0200ff00},
		{"1234", 0x02123400},
		{"123456", 0x03123456},
		{"800000", 0x04008000},
		{"12345600", 0x04123456},
		{"-12345600", 0x04923456},
		{"92340000", 0x05009234},
		// Truncation: the low bits beyond 23 of mantissa are dropped...
		{"123456ff", 0x04123456},
		// ...and for a negative number btcd shifts the negative value, which
		// rounds its magnitude up: -0x12345601 >> 8 = -0x123457.
		{"-12345601", 0x04923457},
		// Bitcoin's powLimit, 2^224 - 1, encodes as 0x1d00ffff.
		{strings.Repeat("ff", 28), 0x1d00ffff},
		{"1" + strings.Repeat("0", 64), 0x21010000}, // 2^256
	}
	for _, tt := range tests {
		n := bigHex(t, tt.in)
		orig := new(big.Int).Set(n)
		if got := BigToCompact(n); got != tt.want {
			t.Errorf("BigToCompact(%s) = 0x%08x, want 0x%08x", tt.in, got, tt.want)
		}
		if n.Cmp(orig) != 0 {
			t.Errorf("BigToCompact(%s) modified its argument", tt.in)
		}
	}
}

// TestCompactRoundTrip checks, for random positive integers up to 2^256,
// that the compact form keeps the top bits: CompactToBig(BigToCompact(n))
// is n with everything below its top 23 or so bits cleared, never above n,
// and that re-encoding is idempotent.
func TestCompactRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		var buf [32]byte
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		n := new(big.Int).SetBytes(buf[:])
		n.Rsh(n, uint(rng.IntN(256)))
		if n.Sign() == 0 {
			continue
		}
		c := BigToCompact(n)
		back := CompactToBig(c)
		if back.Sign() <= 0 || back.Cmp(n) > 0 {
			t.Fatalf("n %x: 0x%08x decodes to %x", n, c, back)
		}
		// The dropped part is below 2^(bitlen-16): at least 16 bits survive.
		diff := new(big.Int).Sub(n, back)
		if n.BitLen() > 24 && diff.BitLen() > n.BitLen()-16 {
			t.Fatalf("n %x: 0x%08x decodes to %x, lost too much", n, c, back)
		}
		if BigToCompact(back) != c {
			t.Fatalf("n %x: re-encoding 0x%08x is not stable", n, c)
		}
		if !compactIsCanonical(c) {
			t.Fatalf("BigToCompact output 0x%08x judged non-canonical", c)
		}
	}
}

// TestCompactIsCanonicalMatchesDefinition checks the allocation-free
// canonical test against its definition, BigToCompact(CompactToBig(b)) == b,
// on every exponent with edge mantissas and on random bits.
func TestCompactIsCanonicalMatchesDefinition(t *testing.T) {
	check := func(bits uint32) {
		want := BigToCompact(CompactToBig(bits)) == bits
		if got := compactIsCanonical(bits); got != want {
			t.Fatalf("compactIsCanonical(0x%08x) = %v, want %v", bits, got, want)
		}
	}
	mantissas := []uint32{0, 1, 0x12, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0x7fff, 0x8000, 0xffff,
		0x10000, 0x123456, 0x7fffff, 0x120000, 0x123400, 0x008000, 0x00ff00, 0x7f0000, 0x800000 - 1}
	for e := uint32(0); e < 256; e++ {
		for _, m := range mantissas {
			check(e<<24 | m)
			check(e<<24 | 0x00800000 | m)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 200000; i++ {
		check(rng.Uint32())
	}
}

func TestCalcWork(t *testing.T) {
	tests := []struct {
		bits uint32
		want string
	}{
		{0x1d00ffff, "100010001"},                   // Bitcoin's genesis: 4295032833
		{0x207fffff, "2"},                           // regtest: 2^256 / (0x7fffff*2^232 + 1)
		{0x01010000, "8" + strings.Repeat("0", 63)}, // target 1: 2^255
		{0x1b0404cb, "3fb3ab764c00"},                // Bitcoin block 100000's bits
		{0x04923456, "0"},                           // negative target
		{0x00000000, "0"},                           // zero target
		{0x01003456, "0"},                           // zero target
		{10000000, "0"},                             // btcd
	}
	for _, tt := range tests {
		got := CalcWork(tt.bits)
		if want := bigHex(t, tt.want); got.Cmp(want) != 0 {
			t.Errorf("CalcWork(0x%08x) = %x, want %x", tt.bits, got, want)
		}
	}
	// The package constant must survive a caller modifying the result.
	CalcWork(0x1d00ffff).SetInt64(0)
	if got := CalcWork(0x1d00ffff); got.Cmp(bigHex(t, "100010001")) != 0 {
		t.Fatalf("CalcWork changed after a caller modified its result: %x", got)
	}
}

func TestHashToBig(t *testing.T) {
	var h types.Hash
	for i := range h {
		h[i] = byte(i)
	}
	want := bigHex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if got := HashToBig(h); got.Cmp(want) != 0 {
		t.Fatalf("HashToBig = %x, want %x", got, want)
	}
}

func TestCheckTarget(t *testing.T) {
	bitcoinLimit := CompactToBig(0x1d00ffff)
	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	tests := []struct {
		name     string
		bits     uint32
		powLimit *big.Int
		ok       bool
	}{
		{"at powLimit", 0x1d00ffff, bitcoinLimit, true},
		{"below powLimit", 0x1b0404cb, bitcoinLimit, true},
		{"target 1", 0x01010000, bitcoinLimit, true},
		{"small canonical", 0x0200ff00, bitcoinLimit, true},
		{"zero", 0x00000000, bitcoinLimit, false},
		{"zero mantissa, big exponent", 0x1d000000, bitcoinLimit, false},
		{"shifted to zero", 0x01003456, bitcoinLimit, false},
		{"negative zero", 0x1d800000, bitcoinLimit, false},
		{"negative", 0x04923456, bitcoinLimit, false},
		{"negative at powLimit magnitude", 0x1d80ffff, bitcoinLimit, false},
		{"just above powLimit", 0x1d010000, bitcoinLimit, false},
		{"far above powLimit", 0x207fffff, bitcoinLimit, false},
		{"above 2^256", 0x21010000, bitcoinLimit, false},
		{"max exponent", 0xff123456, bitcoinLimit, false},
		{"non-canonical: leading zero byte", 0x1d007fff, bitcoinLimit, false},       // want 0x1c7fff00
		{"non-canonical: dropped low byte", 0x02123456, bitcoinLimit, false},        // want 0x02123400
		{"non-canonical: one byte, dropped bytes", 0x01123456, bitcoinLimit, false}, // want 0x01120000
		{"non-canonical: tiny mantissa", 0x1d000001, bitcoinLimit, false},           // want 0x1b010000
		{"zero powLimit", 0x01010000, new(big.Int), false},
		{"negative powLimit", 0x01010000, big.NewInt(-1), false},
		{"powLimit beyond 2^256", 0x21010000, huge, true},
		{"powLimit beyond 2^256, target below", 0x1d00ffff, huge, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTarget(tt.bits, tt.powLimit)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckTarget(0x%08x) = %v, want nil", tt.bits, err)
				}
				return
			}
			if !errors.Is(err, &RuleError{Code: ErrBadTarget}) {
				t.Fatalf("CheckTarget(0x%08x) = %v, want ErrBadTarget", tt.bits, err)
			}
			if !strings.Contains(err.Error(), "0x") {
				t.Errorf("reason %q does not name the bits", err)
			}
		})
	}
}

// hashFromBig writes n (0 <= n < 2^256) as a 32-byte big-endian hash.
func hashFromBig(n *big.Int) types.Hash {
	var h types.Hash
	n.FillBytes(h[:])
	return h
}

func TestCheckProofOfWork(t *testing.T) {
	powLimit := CompactToBig(0x207fffff)
	const bits = 0x1d00ffff
	target := CompactToBig(bits)
	one := big.NewInt(1)
	var allFF types.Hash
	for i := range allFF {
		allFF[i] = 0xff
	}

	tests := []struct {
		name string
		hash types.Hash
		bits uint32
		code ErrorCode // 0 = valid
	}{
		{"hash zero", types.Hash{}, bits, 0},
		{"hash target-1", hashFromBig(new(big.Int).Sub(target, one)), bits, 0},
		{"hash == target", hashFromBig(target), bits, 0},
		{"hash target+1", hashFromBig(new(big.Int).Add(target, one)), bits, ErrBadPoW},
		{"hash all ff", allFF, bits, ErrBadPoW},
		{"target 1, hash 1", hashFromBig(one), 0x01010000, 0},
		{"target 1, hash 2", hashFromBig(big.NewInt(2)), 0x01010000, ErrBadPoW},
		{"at powLimit, hash == powLimit", hashFromBig(powLimit), 0x207fffff, 0},
		{"at powLimit, hash above", hashFromBig(new(big.Int).Add(powLimit, one)), 0x207fffff, ErrBadPoW},
		{"bad bits first", types.Hash{}, 0x1d007fff, ErrBadTarget},
		{"bits above powLimit", types.Hash{}, 0x21010000, ErrBadTarget},
		{"negative bits", types.Hash{}, 0x04923456, ErrBadTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckProofOfWork(tt.hash, tt.bits, powLimit)
			if CodeOf(err) != tt.code || (tt.code == 0) != (err == nil) {
				t.Fatalf("CheckProofOfWork = %v, want code %v", err, tt.code)
			}
			if tt.code == ErrBadPoW {
				want := CompactToBig(tt.bits)
				var wantHex [32]byte
				want.FillBytes(wantHex[:])
				msg := err.Error()
				if !strings.Contains(msg, tt.hash.String()) || !strings.Contains(msg, types.Hash(wantHex).String()) {
					t.Errorf("reason %q lacks the hash or the target in hex", msg)
				}
			}
		})
	}
}

// TestCheckProofOfWorkMatchesBigCompare checks the byte comparison against
// HashToBig(h) <= CompactToBig(bits) on random hashes near random targets.
func TestCheckProofOfWorkMatchesBigCompare(t *testing.T) {
	powLimit := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 20000; i++ {
		// A random canonical target from a random 1..256-bit number.
		n := randBelow(rng, powLimit)
		n.Rsh(n, uint(rng.IntN(256)))
		if n.Sign() == 0 {
			continue
		}
		bits := BigToCompact(n)
		target := CompactToBig(bits)
		// A hash within a small distance of the target, or anywhere.
		var h *big.Int
		if rng.IntN(2) == 0 {
			h = new(big.Int).Add(target, big.NewInt(rng.Int64N(5)-2))
			if h.Sign() < 0 {
				h.SetInt64(0)
			}
			if h.BitLen() > 256 {
				h.Set(powLimit)
			}
		} else {
			h = randBelow(rng, powLimit)
		}
		wantOK := h.Cmp(target) <= 0
		err := CheckProofOfWork(hashFromBig(h), bits, powLimit)
		if (err == nil) != wantOK {
			t.Fatalf("hash %x bits 0x%08x target %x: err %v, want ok=%v", h, bits, target, err, wantOK)
		}
	}
}

func TestCheckProofOfWorkDoesNotAllocate(t *testing.T) {
	powLimit := CompactToBig(0x207fffff)
	var h types.Hash // zero hash: always meets the target
	allocs := testing.AllocsPerRun(1000, func() {
		if err := CheckProofOfWork(h, 0x1f00ffff, powLimit); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("CheckProofOfWork allocates %v times per call", allocs)
	}
}

func BenchmarkCheckProofOfWork(b *testing.B) {
	powLimit := CompactToBig(0x207fffff)
	h := types.Sum([]byte("cairn"))
	h[0], h[1] = 0, 0 // below the target of 0x1f00ffff
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckProofOfWork(h, 0x1f00ffff, powLimit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCalcWork(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CalcWork(0x1f00ffff)
	}
}
