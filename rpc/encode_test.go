package rpc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// reflectJSON encodes v with encoding/json the way encodeJSON did before
// the hand-written encoders: no HTML escaping, no newline.
func reflectJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// plainTx is Tx without its MarshalJSON method.
type plainTx Tx

func TestAppendJSONMatches(t *testing.T) {
	odd := "quote\" back\\ ctl\x01 tab\t <html> & unicode é 日本 bad\xff"
	tx := &Tx{ID: "ab", Version: 1, From: odd, PubKey: "cd", To: "x", Amount: "1", Fee: "2", Nonce: 3,
		Memo: "", Sig: "ef", Size: 142}
	located := *tx
	located.Status, located.BlockHash, located.Height, located.Index, located.Confirmations, located.Raw =
		StatusConfirmed, "00", 7, 2, 3, "0102"
	pending := *tx
	pending.Status = StatusPending

	for _, tx := range []*Tx{tx, &located, &pending} {
		if got, want := string(tx.appendJSON(nil)), reflectJSON(t, (*plainTx)(tx)); got != want {
			t.Errorf("Tx:\ngot  %s\nwant %s", got, want)
		}
	}
	first := located
	first.Index = 0
	if got := string(first.appendJSON(nil)); !strings.Contains(got, `"height":7,"index":0,"confirmations":3`) {
		t.Errorf("a confirmed tx at index 0 lacks its index: %s", got)
	}

	head := &Head{Hash: "h", Height: 1 << 60, Work: "123", Time: -5, Bits: "207fffff", StateRoot: odd}
	if got, want := string(head.appendJSON(nil)), reflectJSON(t, *head); got != want {
		t.Errorf("Head:\ngot  %s\nwant %s", got, want)
	}
	hdr := Header{Hash: "h", Version: 1, Height: 2, Parent: "p", TxRoot: "t", StateRoot: "s", Miner: odd,
		Time: 1700000000000, Bits: "1d00ffff", Nonce: "18446744073709551615", Work: "9", MainChain: true, Confirmations: 4}
	if got, want := string(hdr.appendJSON(nil)), reflectJSON(t, hdr); got != want {
		t.Errorf("Header:\ngot  %s\nwant %s", got, want)
	}
	for _, blk := range []*Block{
		{Header: hdr, Size: 149},
		{Header: hdr, Size: 300, TxCount: 2, TxIDs: []string{"a", odd}},
		{Header: hdr, Size: 300, TxCount: 3, Txs: []*Tx{tx, &located, nil}},
	} {
		if got, want := string(blk.appendJSON(nil)), reflectJSON(t, blk); got != want {
			t.Errorf("Block:\ngot  %s\nwant %s", got, want)
		}
	}

	// The real results of the test chain, full and not.
	b := newTestBackend(t)
	for _, full := range []bool{false, true} {
		for _, name := range []string{"genesis", "b1", "b2", "s2"} {
			info, err := b.Header(b.g.Hash(name))
			if err != nil {
				t.Fatal(err)
			}
			blk, err := b.Block(info.Hash)
			if err != nil {
				t.Fatal(err)
			}
			v := NewBlock(info, blk, b.Tip().Height, full)
			type plainBlock struct {
				Header
				Size    int        `json:"size"`
				TxCount int        `json:"txCount"`
				TxIDs   []string   `json:"txIds,omitempty"`
				Txs     []*plainTx `json:"txs,omitempty"`
			}
			pb := plainBlock{Header: v.Header, Size: v.Size, TxCount: v.TxCount, TxIDs: v.TxIDs}
			for _, tx := range v.Txs {
				if tx.Index == 0 {
					tx.Index = 99 // plainTx would omit a 0 index
				}
				pb.Txs = append(pb.Txs, (*plainTx)(tx))
			}
			if got, want := string(v.appendJSON(nil)), reflectJSON(t, pb); got != want {
				t.Errorf("block %s full=%v:\ngot  %s\nwant %s", name, full, got, want)
			}
		}
	}
}
