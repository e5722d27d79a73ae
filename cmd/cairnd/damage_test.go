package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
	"github.com/cairn-ledger/cairn/rpc"
)

// Issue 14, acceptance 1: a datadir of 3,000 blocks, damaged four ways —
// a byte flipped in a block body of its largest table, a byte flipped in
// the middle of that table, a damaged MANIFEST, a missing table. For each,
// `cairnd check` exits 1 saying corrupt and where; cairnd started on it
// (with a peer 50 blocks ahead) exits within seconds with status 3 and the
// reindex command line, never saying synced; `cairnd reindex` then
// `cairnd check` exit 0, the p2p key and the wallet directory untouched;
// and the node then reaches its peer's tip.

const (
	damagedHeight = 3000
	peerHeight    = 3050
)

// cairndRun runs cairnd with args and returns its output and exit status.
func cairndRun(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("cairnd %v: %v", args, err)
	return "", 0
}

func TestDamagedDatadir(t *testing.T) {
	root := t.TempDir()
	genesis := writeGenesis(t, root)
	g := chaintest.New(t)
	blocks := g.Payments("a", "genesis", peerHeight, 10)
	base := filepath.Join(root, "base")
	g.Store(filepath.Join(base, "chain"), blocks[:damagedHeight])
	src := filepath.Join(root, "src")
	g.Store(filepath.Join(src, "chain"), blocks)

	peer := startDaemon(t, src, genesis, freePort(t))
	peer.waitReady(t, 10*time.Second)
	info, err := rpc.NewClient(peer.url).NetInfo(context.Background())
	if err != nil || len(info.Addrs) == 0 {
		t.Fatalf("peer net_info: %v %+v", err, info)
	}
	bootnode := info.Addrs[0]

	for _, d := range []struct {
		name   string
		damage func(t *testing.T, chainDir string)
		where  string // in check's output
	}{
		{"flipped byte in a block body", func(t *testing.T, dir string) {
			chaintest.FlipInBody(t, dir, blocks[1499].Txs[0])
		}, ".ldb"},
		{"flipped byte mid-table", func(t *testing.T, dir string) {
			chaintest.FlipAt(t, chaintest.LargestTable(t, dir), 0.5)
		}, ".ldb"},
		{"damaged MANIFEST", func(t *testing.T, dir string) {
			m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
			if len(m) != 1 {
				t.Fatalf("manifests: %v", m)
			}
			chaintest.FlipAt(t, m[0], 0.5)
		}, "MANIFEST"},
		{"missing table", func(t *testing.T, dir string) {
			if err := os.Remove(chaintest.LargestTable(t, dir)); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
	} {
		t.Run(d.name, func(t *testing.T) {
			datadir := filepath.Join(t.TempDir(), "node")
			if err := os.CopyFS(datadir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			// A wallet, and the p2p key if the daemon gets far enough to
			// make one: reindex must leave both alone.
			key, wallet := filepath.Join(datadir, "p2p.key"), filepath.Join(datadir, "wallet", "w.json")
			if err := os.MkdirAll(filepath.Dir(wallet), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(wallet, []byte(`{"wallet":"untouched"}`), 0o600); err != nil {
				t.Fatal(err)
			}

			d.damage(t, filepath.Join(datadir, "chain"))
			out, code := cairndRun(t, "check", "--datadir", datadir, "--genesis", genesis)
			if code != 1 || !strings.Contains(out, "corrupt") || !strings.Contains(out, d.where) {
				t.Fatalf("check of the damaged datadir: status %d, want 1 saying corrupt and %q:\n%s", code, d.where, out)
			}
			t.Logf("check:\n%s", out)

			port := freePort(t)
			dmg := startDaemon(t, datadir, genesis, port, "--bootnodes", bootnode)
			var states []string
			var exitErr error
			deadline := time.After(20 * time.Second)
		watch:
			for {
				select {
				case exitErr = <-dmg.exited:
					break watch
				case <-deadline:
					t.Fatalf("cairnd still running 20 s after starting on a damaged datadir; states seen %q", states)
				case <-time.After(20 * time.Millisecond):
					ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
					if ni, err := rpc.NewClient(dmg.url).NodeInfo(ctx); err == nil {
						states = append(states, ni.Sync.State)
					}
					cancel()
				}
			}
			var ee *exec.ExitError
			if !errors.As(exitErr, &ee) || ee.ExitCode() != exitDamaged ||
				!strings.Contains(dmg.log.String(), "cairnd reindex") || !strings.Contains(dmg.log.String(), "--datadir "+datadir) {
				t.Fatalf("cairnd on the damaged datadir ended with %v, want status %d naming the reindex command:\n%s", exitErr, exitDamaged, dmg.log)
			}
			for _, s := range states {
				if s == rpc.SyncSynced {
					t.Fatalf("a damaged node said synced: %q", states)
				}
			}
			t.Logf("cairnd stopped %v after its start; sync states seen %q; last line: %s",
				time.Since(dmg.started).Round(time.Millisecond), states, lastLine(dmg.log.String()))

			keyBefore, _ := os.ReadFile(key)
			out, code = cairndRun(t, "reindex", "--datadir", datadir, "--genesis", genesis)
			if code != 0 {
				t.Fatalf("reindex: status %d:\n%s", code, out)
			}
			t.Logf("reindex:\n%s", out)
			if out, code := cairndRun(t, "--datadir", datadir, "--genesis", genesis, "check"); code != 0 || !strings.Contains(out, "ok: no damage found") {
				t.Fatalf("check after reindex: status %d:\n%s", code, out)
			}
			if k, _ := os.ReadFile(key); len(keyBefore) > 0 && !bytes.Equal(k, keyBefore) {
				t.Fatal("reindex changed the p2p key")
			}
			if w, _ := os.ReadFile(wallet); string(w) != `{"wallet":"untouched"}` {
				t.Fatalf("reindex changed the wallet: %q", w)
			}

			node := startDaemon(t, datadir, genesis, freePort(t), "--bootnodes", bootnode)
			node.waitReady(t, 10*time.Second)
			head := waitHeight(t, node.url, peerHeight, 60*time.Second)
			if head.Hash != blocks[peerHeight-1].Hash().String() {
				t.Fatalf("tip %s at %d, want the peer's %s", head.Hash, head.Height, blocks[peerHeight-1].Hash())
			}
			if _, err := node.signal(t, syscall.SIGTERM, 10*time.Second); err != nil {
				t.Fatalf("stop after the sync: %v\n%s", err, node.log)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestStoreCommandSettings: check and reindex take --datadir, --genesis and
// --config after the command or before it, like the daemon, and refuse a
// datadir of another network, a stray argument and a running node's
// datadir, each with one line.
func TestStoreCommandSettings(t *testing.T) {
	root := t.TempDir()
	genesis := writeGenesis(t, root)
	g := chaintest.New(t)
	datadir := filepath.Join(root, "node")
	g.Store(filepath.Join(datadir, "chain"), g.Chain("a", "genesis", 20))
	conf := filepath.Join(root, "cairnd.toml")
	if err := os.WriteFile(conf, []byte("datadir = \""+datadir+"\"\ngenesis = \""+genesis+"\"\n\"rpc.addr\" = \"127.0.0.1:1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "--config", conf},
		{"--config", conf, "check"},
		{"check", "--datadir", datadir, "--genesis", genesis},
		{"--datadir", datadir, "--genesis", genesis, "check"},
		{"reindex", "--config", conf},
		{"--datadir", datadir, "--genesis", genesis, "reindex"},
	} {
		out, code := cairndRun(t, args...)
		if code != 0 || !strings.Contains(out, filepath.Join(datadir, "chain")) {
			t.Fatalf("cairnd %q: status %d:\n%s", args, code, out)
		}
		if args[0] == "reindex" && !strings.Contains(out, "tip: height 20") {
			t.Fatalf("cairnd %q kept another tip:\n%s", args, out)
		}
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"check", "--datadir", datadir}, "another network"},
		{[]string{"reindex", "--datadir", datadir}, "another network"},
		{[]string{"check", "--config", conf, "now"}, `unexpected argument "now"`},
		{[]string{"check", "--datadir", filepath.Join(root, "none")}, "no chain database in"},
	} {
		out, code := cairndRun(t, c.args...)
		if code != 1 || !strings.Contains(out, c.says) || strings.Count(strings.TrimSpace(out), "\n") > 1 {
			t.Fatalf("cairnd %q: status %d, want 1 and one line saying %q:\n%s", c.args, code, c.says, out)
		}
	}
	d := startDaemon(t, datadir, genesis, freePort(t))
	d.waitReady(t, 10*time.Second)
	for _, cmd := range []string{"check", "reindex"} {
		if out, code := cairndRun(t, cmd, "--config", conf); code != 1 || !strings.Contains(out, "in use by a running node") {
			t.Fatalf("cairnd %s on a running node's datadir: status %d:\n%s", cmd, code, out)
		}
	}
}
