package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/chaintest"
)

// nodeWebSocket returns how to run Node.js with its built-in WebSocket
// (Node 22 has it; Node 20 behind --experimental-websocket), or skips.
func nodeWebSocket(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node (Node.js) not installed: the second WebSocket client of this test is Node's built-in one")
	}
	for _, args := range [][]string{{"node"}, {"node", "--experimental-websocket"}} {
		out, err := exec.Command(args[0], append(args[1:], "-e", "process.stdout.write(typeof WebSocket)")...).Output()
		if err == nil && string(out) == "function" {
			return args
		}
	}
	t.Skip("this node has no built-in WebSocket (Node 22, or 20 with --experimental-websocket, has)")
	return nil
}

// TestWebSocketNodeClient (issue 16, acceptance 1): a client that is not
// cairn's own — Node's WebSocket — subscribes to newHeads on a mining
// cairnd, gets 20 heads in a row whose hashes are chain_getHeader's, and
// unsubscribes with true.
func TestWebSocketNodeClient(t *testing.T) {
	nodeArgs := nodeWebSocket(t)
	dir := t.TempDir()
	genesis := writeGenesis(t, dir)
	d := startDaemon(t, dir, genesis, freePort(t), "--mine", "--miner.address", chaintest.Key("miner").Address().String())
	d.waitReady(t, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeArgs[0], append(nodeArgs[1:], "testdata/newheads.mjs", d.url, "20")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var r struct {
		Unsubscribed bool     `json:"unsubscribed"`
		Heads        int      `json:"heads"`
		First        uint64   `json:"first"`
		Last         uint64   `json:"last"`
		Mismatches   []uint64 `json:"mismatches"`
		Gaps         []uint64 `json:"gaps"`
		Error        string   `json:"error"`
	}
	line := strings.TrimSpace(string(out))
	if err := json.Unmarshal([]byte(line[strings.LastIndex(line, "\n")+1:]), &r); err != nil {
		t.Fatalf("node printed %s", out)
	}
	if r.Error != "" || !r.Unsubscribed || r.Heads != 20 || len(r.Mismatches) != 0 || len(r.Gaps) != 0 {
		t.Fatalf("Node's WebSocket client: %+v", r)
	}
	t.Logf("Node's WebSocket client: %s", line)
}
