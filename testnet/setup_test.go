package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/internal/localproc"
	"github.com/cairn-ledger/cairn/p2p"
	"github.com/cairn-ledger/cairn/wallet"
)

// TestSetupGenesis: a new testnet's genesis is the local-network
// genesis (localproc.GenesisSpec) of its block time and miners, with
// alice and bob funded.
func TestSetupGenesis(t *testing.T) {
	tn, err := Setup(Options{Dir: t.TempDir(), Nodes: 2, Miners: 1, BlockTime: 1500 * time.Millisecond, HashRate: 3e6})
	if err != nil {
		t.Fatal(err)
	}
	want, err := localproc.GenesisSpec(NetworkName, time.UnixMilli(tn.Params.GenesisTime), 1500*time.Millisecond, 3e6, tn.Params.Alloc).Params()
	if err != nil {
		t.Fatal(err)
	}
	if tn.Genesis != want.GenesisHash() {
		t.Errorf("genesis %s, want %s", tn.Params.Encode(), want.Encode())
	}
	if len(tn.Params.Alloc) != len(Funded) {
		t.Errorf("%d allocations, want %d", len(tn.Params.Alloc), len(Funded))
	}
}

func TestSetupCreateAndReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	tn, err := Setup(Options{Dir: dir, Nodes: 4, Miners: 3, BlockTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Reused || len(tn.Nodes) != 4 || tn.Miners != 3 || tn.BlockTime != time.Second {
		t.Fatalf("new testnet: reused %v, %d nodes, %d miners, %s", tn.Reused, len(tn.Nodes), tn.Miners, tn.BlockTime)
	}
	for _, name := range []string{"alice", "bob", "miner1", "miner2", "miner3"} {
		if tn.Wallets[name].IsZero() {
			t.Errorf("wallet %s missing", name)
		}
	}
	for _, al := range tn.Params.Alloc {
		if al.Amount != GenesisFunds {
			t.Errorf("alloc %s: %d", al.Address, al.Amount)
		}
	}
	for i, nd := range tn.Nodes {
		if nd.Mining != (i < 3) || (nd.Mining && nd.MinerAddr != tn.Wallets[nd.MinerWallet]) {
			t.Errorf("%s: mining %v to %s", nd.Name, nd.Mining, nd.MinerAddr)
		}
		if nd.PeerID == "" {
			t.Errorf("%s: no peer ID", nd.Name)
		}
	}
	// The CLI opens the cheap-KDF keystores with the printed passphrase.
	store, _ := wallet.NewStore(filepath.Join(tn.WalletHome(), "wallet"))
	if k, err := store.Load("alice", []byte(Passphrase)); err != nil || k.Address() != tn.Wallets["alice"] {
		t.Fatalf("load alice: %v", err)
	}

	// A second run with no flags continues the same testnet.
	tn2, err := Setup(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !tn2.Reused || tn2.Genesis != tn.Genesis || len(tn2.Nodes) != 4 || tn2.Miners != 3 || tn2.BlockTime != time.Second {
		t.Fatalf("reuse: reused %v, genesis %s/%s, %d nodes, %d miners, %s", tn2.Reused, tn2.Genesis, tn.Genesis, len(tn2.Nodes), tn2.Miners, tn2.BlockTime)
	}
	for i, nd := range tn2.Nodes {
		if nd.PeerID != tn.Nodes[i].PeerID || nd.MinerAddr != tn.Nodes[i].MinerAddr {
			t.Errorf("%s: identity or miner address changed", nd.Name)
		}
	}
	// Matching flags are fine; -miners may change.
	if tn3, err := Setup(Options{Dir: dir, Nodes: 4, Miners: 4, BlockTime: time.Second}); err != nil {
		t.Fatal(err)
	} else if !tn3.Nodes[3].Mining || tn3.Wallets["miner4"].IsZero() {
		t.Error("-miners 4 did not make node4 a miner")
	}
	if tn4, err := Setup(Options{Dir: dir}); err != nil || tn4.Miners != 4 {
		t.Errorf("the new miner count is not saved: %v", err)
	}

	// Flags that contradict the saved testnet are refused with advice.
	for _, o := range []Options{{Nodes: 3}, {BlockTime: 2 * time.Second}, {Nodes: 5, BlockTime: 3 * time.Second}} {
		o.Dir = dir
		_, err := Setup(o)
		var me *MismatchError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "-fresh") {
			t.Errorf("Setup(%+v) = %v, want a MismatchError suggesting -fresh", o, err)
		}
	}
	if _, err := Setup(Options{Dir: dir, Miners: 5}); err == nil {
		t.Error("-miners 5 of 4 nodes accepted")
	}

	// -fresh makes a new chain with new keys.
	tn5, err := Setup(Options{Dir: dir, Fresh: true, Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if tn5.Reused || tn5.Genesis == tn.Genesis || len(tn5.Nodes) != 2 || tn5.Nodes[0].PeerID == tn.Nodes[0].PeerID {
		t.Error("-fresh did not start over")
	}
	if _, err := os.Stat(filepath.Join(dir, "node3")); err == nil {
		t.Error("-fresh left node3 behind")
	}
}

func TestSetupEditedGenesis(t *testing.T) {
	dir := t.TempDir()
	if _, err := Setup(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	// Another valid genesis in place of the saved one.
	p, err := localproc.GenesisSpec(NetworkName, time.Now(), time.Second, 10, nil).Params()
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := p.MarshalGenesis()
	if err := os.WriteFile(filepath.Join(dir, genesisFile), gj, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "-fresh") {
		t.Errorf("edited genesis: %v", err)
	}
}

func TestSetupRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(precious, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(Options{Dir: dir}); err == nil {
		t.Error("set up a testnet in a non-empty foreign directory")
	}
	if _, err := Setup(Options{Dir: dir, Fresh: true}); err == nil {
		t.Error("-fresh wiped a foreign directory")
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("foreign file gone: %v", err)
	}
}

func TestSetupInterrupted(t *testing.T) {
	dir := t.TempDir()
	if _, err := Setup(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	// As if the first run stopped before it wrote testnet.json.
	if err := os.Remove(filepath.Join(dir, configFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "-fresh") {
		t.Errorf("incomplete testnet: %v, want advice to use -fresh", err)
	}
	if _, err := Setup(Options{Dir: dir, Fresh: true}); err != nil {
		t.Errorf("-fresh on an incomplete testnet: %v", err)
	}
}

func TestTestnetEntry(t *testing.T) {
	for name, want := range map[string]bool{
		"testnet.json": true, "genesis.json": true, "wallets": true, "testnet.lock": true, "node1": true, "node12": true,
		"genesis.json.tmp123": true, "node": false, "nodes": false, "node1x": false, ".bashrc": false, "Documents": false,
	} {
		if got := testnetEntry(name); got != want {
			t.Errorf("testnetEntry(%q) = %v", name, got)
		}
	}
}

func TestLoadOrCreateKeyStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), keyFile)
	a, err := p2p.KeyFilePeerID(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p2p.KeyFilePeerID(path)
	if err != nil || a != b {
		t.Fatalf("peer ID changed: %s, %s (%v)", a, b, err)
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p2p.KeyFilePeerID(path); err == nil {
		t.Error("corrupt key accepted")
	}
}
