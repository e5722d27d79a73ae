package rpc

import (
	"math/rand/v2"
	"testing"

	"github.com/cairn-ledger/cairn/chain/types"
)

func TestAddressString(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	addrs := []types.Address{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 10000 {
		var a types.Address
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		if got, want := addressString(a), a.String(); got != want {
			t.Fatalf("addressString(%x) = %s, want %s", a[:], got, want)
		}
	}
}

func BenchmarkAddressString(b *testing.B) {
	a := types.Address{1, 2, 3}
	for b.Loop() {
		addressString(a)
	}
}
