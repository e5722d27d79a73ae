package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	rows := []NodeStatus{
		{Name: "node1", Mining: true, Height: 1234, Tip: "00000a1b2c3d4e5f60718293a4b5c6d7", Peers: 2, Pool: 3, HashRate: 2_140_000},
		{Name: "node2", Height: 1233, Tip: "00000f00", Peers: 1},
		{Name: "node3", Err: errors.New("not running")},
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"node   height  tip               peers  txpool  hash rate  \n" +
		"node1  1234    00000a1b2c3d4e5f  2      3       2.14 MH/s  \n" +
		"node2  1233    00000f00          1      0       -          \n" +
		"node3  -       not running       -      -       -          \n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestFormatHashRate(t *testing.T) {
	for h, want := range map[float64]string{0: "0 H/s", 999: "999 H/s", 1500: "1.50 kH/s", 2_345_678: "2.35 MH/s", 3e9: "3.00 GH/s"} {
		if got := FormatHashRate(h); got != want {
			t.Errorf("FormatHashRate(%g) = %q, want %q", h, got, want)
		}
	}
}

func TestTableViewRedrawsInPlace(t *testing.T) {
	var b strings.Builder
	v := &tableView{w: &b, tty: true}
	rows := []NodeStatus{{Name: "node1"}, {Name: "node2"}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v.draw(now, rows)
	if strings.Contains(b.String(), "\x1b[4A") {
		t.Error("first drawing moves the cursor up")
	}
	b.Reset()
	v.draw(now, rows)
	// time line + header + 2 rows = 4 lines to go back over.
	if !strings.HasPrefix(b.String(), "\x1b[4A\x1b[2K03:04:05") {
		t.Errorf("second drawing starts %q", b.String()[:min(30, b.Len())])
	}
}

func TestArgs(t *testing.T) {
	tn, err := Setup(Options{Dir: t.TempDir(), Nodes: 3, Miners: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(tn, Binaries{Cairnd: "cairnd", Cairn: "cairn"})
	for i, nd := range tn.Nodes {
		nd.RPCPort, nd.P2PPort = 10000+2*i, 10001+2*i
	}
	join := func(nd *Node) string { return strings.Join(n.args(nd), " ") }
	a1, a2, a3 := join(tn.Nodes[0]), join(tn.Nodes[1]), join(tn.Nodes[2])
	if !strings.Contains(a1, "--bootnodes "+tn.Nodes[1].P2PAddr()+","+tn.Nodes[2].P2PAddr()) || strings.Contains(a1, tn.Nodes[0].P2PAddr()) {
		t.Errorf("node1 bootnodes: %s", a1)
	}
	if !strings.Contains(a3, "--bootnodes "+tn.Nodes[0].P2PAddr()+","+tn.Nodes[1].P2PAddr()) {
		t.Errorf("node3 bootnodes: %s", a3)
	}
	if !strings.Contains(a1, "--mine --miner.address "+tn.Wallets["miner1"].String()+" --miner.threads 1") || strings.Contains(a2, "--mine") {
		t.Errorf("mining flags: %s | %s", a1, a2)
	}
	if !strings.Contains(a2, "--rpc.addr 127.0.0.1:10002") || !strings.Contains(a2, "--p2p.listen /ip4/127.0.0.1/tcp/10003") {
		t.Errorf("addresses: %s", a2)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"./bin/cairn": "./bin/cairn", "/a b/c": "'/a b/c'", "it's": `'it'\''s'`} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as cairnd")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "cairnd")
	runs := filepath.Join(dir, "runs")
	script := "#!/bin/sh\necho run >> " + runs + "\necho \"fatal: listen tcp: address already in use\" >&2\nexit 3\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tn, err := Setup(Options{Dir: filepath.Join(dir, "tn"), Nodes: 2, Miners: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(tn, Binaries{Cairnd: fake})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = n.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start = %v, want the exit and the end of the log", err)
	}
	for _, nd := range tn.Nodes {
		if nd.Running() {
			t.Errorf("%s still running", nd.Name)
		}
	}
	// A port taken under it is worth two more tries on new ports.
	if b, err := os.ReadFile(runs); err != nil || strings.Count(string(b), "run") != 3*len(tn.Nodes) {
		t.Errorf("cairnd ran %q times (%v), want 3 tries of %d nodes", b, err, len(tn.Nodes))
	}
	// The launcher stopped them itself: no crash is reported afterwards.
	select {
	case e := <-n.Exits():
		t.Errorf("exit of %s reported as unexpected after a failed start", e.Node.Name)
	default:
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nodes", "0"}, {"-miners", "0"}, {"-block-time", "-1s"}, {"extra"}, {"-no-such-flag"}} {
		var out, errOut strings.Builder
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errOut.String())
		}
		if errOut.Len() == 0 {
			t.Errorf("run(%q) said nothing", args)
		}
	}
	var out, errOut strings.Builder
	if code := run([]string{"-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "-fresh") {
		t.Errorf("-h: %d %q", code, errOut.String())
	}
}
