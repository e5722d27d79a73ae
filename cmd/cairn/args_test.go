package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestIntersperse(t *testing.T) {
	app := newApp(io.Discard, io.Discard, strings.NewReader(""))
	for _, tc := range []struct{ in, want string }{
		{"cairn status", "cairn status"},
		{"cairn --json status", "cairn --json status"},
		{"cairn balance bob --json", "cairn balance --json bob"},
		{"cairn block 5 --txs", "cairn block --txs 5"},
		{"cairn block 5 --txs --rpc http://x:1", "cairn --rpc http://x:1 block --txs 5"},
		{"cairn block 5 --rpc=http://x:1", "cairn --rpc=http://x:1 block 5"},
		{"cairn send --from alice --to bob --amount 1 --password-file f --wait", "cairn --password-file f send --from alice --to bob --amount 1 --wait"},
		{"cairn wallet list --home h", "cairn --home h wallet list"},
		{"cairn miner start --threads 2 --datadir d", "cairn --datadir d miner start --threads 2"},
		{"cairn --rpc u tx abc --json", "cairn --rpc u tx --json abc"},
		{"cairn tx abc --rpc u", "cairn --rpc u tx abc"},
		{"cairn tx sign --from a --json --nonce 2", "cairn tx sign --from a --json --nonce 2"},
		{"cairn tx bump abc --fee 1 --json", "cairn tx bump --fee 1 --json abc"},
		{"cairn tx decode abc --genesis g --rpc u", "cairn --rpc u tx decode --genesis g abc"},
		{"cairn tx broadcast abc --password-file f", "cairn --password-file f tx broadcast abc"},
		{"cairn send --from a --nonce -1", "cairn send --from a --nonce -1"},
		{"cairn block -1", "cairn block -- -1"}, // a number is an argument
		{"cairn block -1 --txs", "cairn block --txs -- -1"},
		{"cairn block 5 --frobnicate", "cairn block --frobnicate 5"}, // unknown: cli refuses it by name
		{"cairn block -- --txs", "cairn block -- --txs"},
		{"cairn balance bob --help", "cairn balance --help bob"},
		{"cairn wallet", "cairn wallet"},
		{"cairn nosuch --json", "cairn nosuch --json"},
	} {
		got := strings.Join(intersperse(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q -> %q, want %q", tc.in, got, tc.want)
		}
	}
	in := []string{"cairn", "balance", "bob"}
	orig := slices.Clone(in)
	intersperse(app, in)
	if !slices.Equal(in, orig) {
		t.Fatal("intersperse changed its input")
	}
}
