package types

import (
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

func TestAddressString(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	addrs := []Address{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 10000 {
		var a Address
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		want, err := bech32.EncodeFromBase256(AddressHRP, a[:])
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != want {
			t.Fatalf("Address(%x).String() = %s, want %s", a[:], got, want)
		}
	}
}

func BenchmarkAddressString(b *testing.B) {
	a := Address{1, 2, 3}
	for b.Loop() {
		_ = a.String()
	}
}
