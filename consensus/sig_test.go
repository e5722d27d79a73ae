package consensus

import (
	stded25519 "crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/cairn-ledger/cairn/chain/types"
)

// stdSigner is a crypto/ed25519 key pair, the way wallets sign.
type stdSigner struct {
	priv stded25519.PrivateKey
	pub  types.PubKey
}

func newStdSigner(seed byte) stdSigner {
	var s [stded25519.SeedSize]byte
	s[0] = seed
	s[1] = 0xca
	priv := stded25519.NewKeyFromSeed(s[:])
	var k stdSigner
	k.priv = priv
	copy(k.pub[:], priv.Public().(stded25519.PublicKey))
	return k
}

func (k stdSigner) sign(digest types.Hash) types.Signature {
	var sig types.Signature
	copy(sig[:], stded25519.Sign(k.priv, digest[:]))
	return sig
}

func zip215Hex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVerifySignatureStdlibSigned(t *testing.T) {
	for i := range 16 {
		k := newStdSigner(byte(i))
		digest := types.Sum([]byte(fmt.Sprintf("tx %d", i)))
		sig := k.sign(digest)
		if !VerifySignature(k.pub, digest, sig) {
			t.Fatalf("key %d: crypto/ed25519 signature refused", i)
		}
		bad := sig
		bad[i] ^= 0x01
		if VerifySignature(k.pub, digest, bad) {
			t.Fatalf("key %d: corrupted R accepted", i)
		}
		other := digest
		other[31] ^= 0x80
		if VerifySignature(k.pub, other, sig) {
			t.Fatalf("key %d: signature accepted for another digest", i)
		}
		if VerifySignature(newStdSigner(byte(i+100)).pub, digest, sig) {
			t.Fatalf("key %d: signature accepted for another key", i)
		}
	}
}

// TestVerifySignatureNonCanonicalS checks that ZIP-215 keeps RFC 8032's
// S < ℓ rule: S + ℓ is the same scalar but a second encoding, and
// accepting it would make signatures (and so tx ids) malleable.
func TestVerifySignatureNonCanonicalS(t *testing.T) {
	k := newStdSigner(1)
	digest := types.Sum([]byte("malleability"))
	sig := k.sign(digest)

	ell, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) *big.Int { // little-endian bytes -> big.Int
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	s := new(big.Int).Add(le(sig[32:]), ell)
	if s.BitLen() > 256 {
		t.Skip("S + ℓ does not fit 32 bytes for this signature")
	}
	be := s.FillBytes(make([]byte, 32))
	mall := sig
	for i := range 32 {
		mall[32+i] = be[31-i]
	}
	if stded25519.Verify(k.priv.Public().(stded25519.PublicKey), digest[:], mall[:]) {
		t.Fatal("crypto/ed25519 accepted S + ℓ (test construction is wrong)")
	}
	if VerifySignature(k.pub, digest, mall) {
		t.Fatal("S + ℓ accepted")
	}
	b := NewBatchVerifier(2)
	b.Add(k.pub, digest, sig)
	b.Add(k.pub, digest, mall)
	if all, valid := b.Verify(); all || !valid[0] || valid[1] {
		t.Fatalf("batch: all=%v valid=%v, want false [true false]", all, valid)
	}
}

// zip215Vectors are taken from curve25519-voi's testdata/zip215.json.gz
// (Zcash's ZIP-215 vectors): small-order A and R with S = 0, so that
// [8](SB − kA − R) is the identity for every message k: valid under
// ZIP-215 for any digest. crypto/ed25519 refuses each of them for
// zip215Digest (the first two for any message: R is a non-canonical
// encoding, which a byte comparison never matches).
var zip215Vectors = []struct{ name, pub, sig string }{
	{
		"identity A, non-canonical R (y = p)", // vector 10
		"0100000000000000000000000000000000000000000000000000000000000000",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" +
			"0000000000000000000000000000000000000000000000000000000000000000",
	},
	{
		"non-canonical A (y = p+1), non-canonical R (x = -0)", // vector 190
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0100000000000000000000000000000000000000000000000000000000000080" +
			"0000000000000000000000000000000000000000000000000000000000000000",
	},
	{
		"non-canonical A (x = -0), identity R", // vector 126
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0100000000000000000000000000000000000000000000000000000000000000" +
			"0000000000000000000000000000000000000000000000000000000000000000",
	},
}

var zip215Digest = types.Sum([]byte("cairn zip215 test digest"))

func zip215Vector(i int) (types.PubKey, types.Signature) {
	var pub types.PubKey
	var sig types.Signature
	copy(pub[:], zip215Hex(zip215Vectors[i].pub))
	copy(sig[:], zip215Hex(zip215Vectors[i].sig))
	return pub, sig
}

func TestVerifySignatureZIP215Vectors(t *testing.T) {
	for i, v := range zip215Vectors {
		t.Run(v.name, func(t *testing.T) {
			pub, sig := zip215Vector(i)
			if !VerifySignature(pub, zip215Digest, sig) {
				t.Fatal("ZIP-215 vector refused")
			}
			if stded25519.Verify(pub[:], zip215Digest[:], sig[:]) {
				t.Fatal("crypto/ed25519 accepts it: not a ZIP-215-specific case")
			}
			// Message-independent, and the same answer in a batch, alone
			// or beside ordinary signatures.
			k := newStdSigner(7)
			good := types.Sum([]byte("ordinary"))
			b := NewBatchVerifier(0)
			for j := range 3 {
				d := types.Sum([]byte{byte(j)})
				b.Add(pub, d, sig)
				b.Add(k.pub, good, k.sign(good))
			}
			if all, valid := b.Verify(); !all {
				t.Fatalf("batch refused: %v", valid)
			}
		})
	}
}

func TestBatchVerifierEmpty(t *testing.T) {
	b := NewBatchVerifier(0)
	all, valid := b.Verify()
	if !all || valid == nil || len(valid) != 0 || b.Len() != 0 {
		t.Fatalf("empty batch: all=%v valid=%v len=%d", all, valid, b.Len())
	}
}

// TestBatchVerifierLarge runs batches of several sizes, with capacity hints
// too small and exact, each with at most one bad signature that must be
// named; every verifier is used twice to check Reset.
func TestBatchVerifierLarge(t *testing.T) {
	keys := make([]stdSigner, 8)
	for i := range keys {
		keys[i] = newStdSigner(byte(i))
	}
	for _, tc := range []struct{ capacity, n, bad int }{
		{0, 1, 0},
		{0, 50, 17},
		{0, 114, 3},
		{200, 200, 199},
		{200, 200, -1},
	} {
		t.Run(fmt.Sprintf("cap%d_n%d_bad%d", tc.capacity, tc.n, tc.bad), func(t *testing.T) {
			b := NewBatchVerifier(tc.capacity)
			for round := range 2 { // the second round checks Reset
				for i := range tc.n {
					k := keys[i%len(keys)]
					d := types.Sum([]byte(fmt.Sprintf("%d/%d", round, i)))
					sig := k.sign(d)
					if i == tc.bad {
						sig[40] ^= 0x04
					}
					b.Add(k.pub, d, sig)
				}
				if b.Len() != tc.n {
					t.Fatalf("Len = %d, want %d", b.Len(), tc.n)
				}
				all, valid := b.Verify()
				if all != (tc.bad < 0) || len(valid) != tc.n {
					t.Fatalf("all=%v len=%d", all, len(valid))
				}
				for i, ok := range valid {
					if ok != (i != tc.bad) {
						t.Fatalf("valid[%d] = %v", i, ok)
					}
				}
				b.Reset()
			}
		})
	}
}

// TestBatchVerifyEqualsSingle: whatever mix of good and bad entries, the
// batch's per-entry answers are VerifySignature's, and allValid is their
// conjunction (docs/PROTOCOL.md §7: single and batch verification agree).
func TestBatchVerifyEqualsSingle(t *testing.T) {
	keys := make([]stdSigner, 6)
	for i := range keys {
		keys[i] = newStdSigner(byte(i))
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 24).Draw(t, "n")
		b := NewBatchVerifier(rapid.IntRange(0, 200).Draw(t, "capacity"))
		want := make([]bool, n)
		for i := range n {
			ki := rapid.IntRange(0, len(keys)-1).Draw(t, "key")
			k := keys[ki]
			digest := types.Hash(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "digest"))
			pub, sig := k.pub, k.sign(digest)
			switch kind := rapid.IntRange(0, 6).Draw(t, "kind"); kind {
			case 0, 1: // valid
			case 2: // corrupted signature (R or S)
				sig[rapid.IntRange(0, 63).Draw(t, "sigByte")] ^= byte(rapid.IntRange(1, 255).Draw(t, "sigMask"))
			case 3: // corrupted message
				digest[rapid.IntRange(0, 31).Draw(t, "digestByte")] ^= byte(rapid.IntRange(1, 255).Draw(t, "digestMask"))
			case 4: // wrong key
				pub = keys[(ki+rapid.IntRange(1, len(keys)-1).Draw(t, "other"))%len(keys)].pub
			case 5: // arbitrary bytes: mostly undecodable points or S ≥ ℓ
				pub = types.PubKey(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "pub"))
				sig = types.Signature(rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, "sig"))
			case 6: // a ZIP-215 edge case (valid for any digest)
				pub, sig = zip215Vector(rapid.IntRange(0, len(zip215Vectors)-1).Draw(t, "vector"))
			}
			want[i] = VerifySignature(pub, digest, sig)
			b.Add(pub, digest, sig)
		}
		all, valid := b.Verify()
		wantAll := true
		for i := range n {
			wantAll = wantAll && want[i]
			if valid[i] != want[i] {
				t.Fatalf("entry %d: batch says %v, single says %v", i, valid[i], want[i])
			}
		}
		if all != wantAll {
			t.Fatalf("allValid = %v, want %v", all, wantAll)
		}
	})
}

type benchSig struct {
	pub    types.PubKey
	digest types.Hash
	sig    types.Signature
}

func benchSigs(b *testing.B, n int) []benchSig {
	b.Helper()
	out := make([]benchSig, n)
	for i := range out {
		pub, priv, err := stded25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		copy(out[i].pub[:], pub)
		out[i].digest = types.Sum([]byte(fmt.Sprintf("bench %d", i)))
		copy(out[i].sig[:], stded25519.Sign(priv, out[i].digest[:]))
	}
	return out
}

func reportSigRate(b *testing.B, sigsPerOp int) {
	sigs := float64(b.N) * float64(sigsPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/sigs, "ns/sig")
	b.ReportMetric(sigs/b.Elapsed().Seconds(), "sig/s")
}

func BenchmarkVerifySingle(b *testing.B) {
	s := benchSigs(b, 64)
	for i := 0; b.Loop(); i++ {
		e := &s[i%len(s)]
		if !VerifySignature(e.pub, e.digest, e.sig) {
			b.Fatal("refused")
		}
	}
	reportSigRate(b, 1)
}

func BenchmarkVerifySingleStdlib(b *testing.B) {
	s := benchSigs(b, 64)
	for i := 0; b.Loop(); i++ {
		e := &s[i%len(s)]
		if !stded25519.Verify(e.pub[:], e.digest[:], e.sig[:]) {
			b.Fatal("refused")
		}
	}
	reportSigRate(b, 1)
}

// BenchmarkVerifyBatch1024 times Add and Verify of 1024 signatures by
// distinct keys, as for a full block of unseen transactions.
func BenchmarkVerifyBatch1024(b *testing.B) {
	const n = 1024
	s := benchSigs(b, n)
	v := NewBatchVerifier(n)
	for b.Loop() {
		v.Reset()
		for i := range s {
			v.Add(s[i].pub, s[i].digest, s[i].sig)
		}
		if all, _ := v.Verify(); !all {
			b.Fatal("refused")
		}
	}
	reportSigRate(b, n)
}

// BenchmarkVerifyBatch1024Parallel is batch verification on every core at
// once (one batch of 1024 per goroutine per op). It was the ceiling for
// importing blocks of unseen txs until the overlap bound replaced it
// (chain's BenchmarkOverlapImport1000): importing also applies the state.
func BenchmarkVerifyBatch1024Parallel(b *testing.B) {
	const n = 1024
	s := benchSigs(b, n)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		v := NewBatchVerifier(n)
		for pb.Next() {
			v.Reset()
			for i := range s {
				v.Add(s[i].pub, s[i].digest, s[i].sig)
			}
			if all, _ := v.Verify(); !all {
				b.Error("refused")
				return
			}
		}
	})
	reportSigRate(b, n)
}
