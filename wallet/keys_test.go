package wallet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

// RFC 8032 section 7.1, test 1.
const (
	rfcSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfcPub  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyFromSeedRFC8032(t *testing.T) {
	k, err := KeyFromSeed(mustHex(t, rfcSeed))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PubKey()
	if got := hex.EncodeToString(pub[:]); got != rfcPub {
		t.Fatalf("public key %s, want %s", got, rfcPub)
	}
	if k.Address() != pub.Address() {
		t.Fatal("Address() is not PubKey().Address()")
	}
	if !bytes.Equal(k.Seed(), mustHex(t, rfcSeed)) {
		t.Fatal("Seed() does not return the seed")
	}
}

func TestKeyFromSeedRefusesWrongLength(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := KeyFromSeed(make([]byte, n)); !errors.Is(err, ErrBadSeed) {
			t.Errorf("%d-byte seed: got %v, want ErrBadSeed", n, err)
		}
	}
}

func TestKeySeedIsACopy(t *testing.T) {
	seed := mustHex(t, rfcSeed)
	k, err := KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	clear(seed) // the caller wiping its buffer must not change the key
	s := k.Seed()
	clear(s) // nor may the caller wiping what Seed returned
	if got := hex.EncodeToString(k.Seed()); got != rfcSeed {
		t.Fatalf("seed changed to %s", got)
	}
}

func TestGenerateKeyDistinct(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if a.PubKey() == b.PubKey() {
		t.Fatal("two generated keys are equal")
	}
}

func TestParseSeedHex(t *testing.T) {
	for _, in := range []string{rfcSeed, "  " + rfcSeed + "\n", "9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60"} {
		seed, err := ParseSeedHex([]byte(in))
		if err != nil || hex.EncodeToString(seed) != rfcSeed {
			t.Errorf("ParseSeedHex(%q) = %x, %v", in, seed, err)
		}
	}
	for _, in := range []string{"", rfcSeed[:62], rfcSeed + "00", "zz" + rfcSeed[2:], rfcSeed[:30] + " " + rfcSeed[31:]} {
		if _, err := ParseSeedHex([]byte(in)); !errors.Is(err, ErrBadSeed) {
			t.Errorf("ParseSeedHex(%q): got %v, want ErrBadSeed", in, err)
		}
	}
}

func TestSignSetsFromAndSig(t *testing.T) {
	k, err := KeyFromSeed(mustHex(t, rfcSeed))
	if err != nil {
		t.Fatal(err)
	}
	tx := &types.Tx{Version: types.TxVersion, Amount: 1}
	genesis := types.Sum([]byte("genesis"))
	k.Sign(tx, genesis)
	if tx.From != k.PubKey() {
		t.Fatal("Sign did not set From")
	}
	d := tx.SigningDigest(genesis)
	pub := k.PubKey()
	if !ed25519.Verify(pub[:], d[:], tx.Sig[:]) {
		t.Fatal("signature does not verify")
	}
}
