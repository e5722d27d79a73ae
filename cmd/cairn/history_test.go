package main

import (
	"strings"
	"testing"

	"github.com/cairn-ledger/cairn/rpc"
)

// TestHistoryCommand: after a send, `cairn history` shows it on both
// sides — sent with the amount taken, received with it added — above the
// genesis allocation, the miner's rewards as mined; --json gives the RPC's
// object, pages follow --cursor, and a bad limit is a usage error.
func TestHistoryCommand(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	alice, bob, n := aliceAndBob(t, c)
	id := field(t, c.ok("send", "--from", "alice", "--to", "bob", "--amount", "2", "--wait", "--timeout", "40s"), "id")

	out := c.ok("history", "alice")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "HEIGHT") ||
		!strings.Contains(lines[1], "sent") || !strings.Contains(lines[1], "-2.00000000 CRN") ||
		!strings.Contains(lines[1], bob) || !strings.Contains(lines[1], id) ||
		!strings.Contains(lines[2], "genesis") || !strings.Contains(lines[2], "+1000.00000000 CRN") {
		t.Fatalf("cairn history alice:\n%s", out)
	}
	h := jsonOut[rpc.History](t, c.ok("--json", "history", "bob"))
	if h.Address != bob || len(h.Entries) != 1 || h.Entries[0].Direction != "received" || h.Entries[0].ID != id ||
		h.Entries[0].Counterparty != alice || h.Entries[0].Amount != "200000000" || h.Entries[0].Confirmations < 1 || h.Entries[0].Pending {
		t.Fatalf("cairn --json history bob: %+v", h)
	}

	// The miner's rewards, a page at a time.
	n.waitHeight(t, 3)
	page := c.ok("history", n.miner.String(), "--limit", "2")
	if strings.Count(page, "mined") != 2 || !strings.Contains(page, "more: cairn history "+n.miner.String()+" --cursor ") {
		t.Fatalf("first page of the miner's history:\n%s", page)
	}
	first := jsonOut[rpc.History](t, c.ok("--json", "history", n.miner.String(), "--limit", "2"))
	next := jsonOut[rpc.History](t, c.ok("--json", "history", n.miner.String(), "--limit", "2", "--cursor", first.Next))
	if first.Next == "" || len(first.Entries) != 2 || len(next.Entries) == 0 || next.Entries[0].Direction != "mined" ||
		next.Entries[0].Height >= first.Entries[1].Height {
		t.Fatalf("pages of the miner's history: %+v then %+v", first, next)
	}

	c.fails(c.run("history", "alice", "--limit", "0"), "cairn: --limit 0: want 1 to 1000", "history", "alice", "--limit", "0")
	c.fails(c.run("history", "alice", "--cursor", "x"), `cairn: cairnd: invalid params: options: cursor "x": not one state_getHistory returned`, "history", "alice", "--cursor", "x")
}
