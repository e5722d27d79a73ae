package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/chain/types"
	"github.com/cairn-ledger/cairn/consensus"
	"github.com/cairn-ledger/cairn/rpc"
	"github.com/cairn-ledger/cairn/txpool"
)

// within polls cond every 100 ms until it holds, and fails the test with
// what cond last said if it does not hold within d.
func within(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, d, last)
		}
		time.Sleep(100 * time.Millisecond) // polling under the deadline above
	}
}

// pool returns the ids in the node's pool.
func (n *testNode) pool(t *testing.T) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	content, err := rpc.NewClient(n.rpcURL).PoolContent(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range content.Senders {
		for _, tx := range slices.Concat(s.Pending, s.Queued) {
			ids = append(ids, tx.ID)
		}
	}
	return ids, nil
}

// waitPool waits until the pool of every node holds the ids in has and
// none in gone.
func waitPool(t *testing.T, nodes []*testNode, has, gone []string) {
	t.Helper()
	for i, n := range nodes {
		within(t, 60*time.Second, fmt.Sprintf("node %d's pool holds %.8s and lacks %.8s", i, has, gone), func() (bool, string) {
			ids, err := n.pool(t)
			if err != nil {
				return false, err.Error()
			}
			for _, id := range has {
				if !slices.Contains(ids, id) {
					return false, fmt.Sprintf("pool %.8s", ids)
				}
			}
			for _, id := range gone {
				if slices.Contains(ids, id) {
					return false, fmt.Sprintf("pool %.8s", ids)
				}
			}
			return true, ""
		})
	}
}

// waitConfirmed waits until the node has the tx id on its main chain and
// returns it.
func (n *testNode) waitConfirmed(t *testing.T, id string) *rpc.Tx {
	t.Helper()
	var tx *rpc.Tx
	within(t, 60*time.Second, "tx "+id[:8]+" confirmed", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := rpc.NewClient(n.rpcURL).Transaction(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		tx = got
		return got.Status == rpc.StatusConfirmed, got.Status
	})
	return tx
}

// TestTxReplace runs bump, cancel, send --nonce and the cold-signing
// commands against two connected nodes that do not mine: a replaced tx
// leaves both pools and its replacement enters both; once a block is
// mined the replacements and the tx signed without a node confirm, and a
// confirmed tx cannot be replaced.
func TestTxReplace(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	c.ok("wallet", "new", "alice")
	c.ok("wallet", "new", "bob")
	alice, bob := c.showJSON("alice").Address, c.showJSON("bob").Address
	aliceAddr, _ := types.ParseAddress(alice)
	p := testParams(t, []consensus.Alloc{{Address: aliceAddr, Amount: aliceFunds}})
	a := launchNode(t, c, p, nodeOptions{})
	info, err := rpc.NewClient(a.rpcURL).NetInfo(context.Background())
	if err != nil || len(info.Addrs) == 0 {
		t.Fatalf("node a's net_info: %+v, %v", info, err)
	}
	b := launchNode(t, c, p, nodeOptions{bootnodes: info.Addrs[:1]})
	nodes := []*testNode{a, b}
	for i, n := range nodes {
		within(t, 30*time.Second, fmt.Sprintf("node %d in the tx mesh of the other", i), func() (bool, string) {
			ni, err := rpc.NewClient(n.rpcURL).NetInfo(context.Background())
			if err != nil {
				return false, err.Error()
			}
			return ni.TxMesh > 0, fmt.Sprintf("%d peers, %d in the tx mesh", ni.Peers, ni.TxMesh)
		})
	}
	c.env = append(c.env, "CAIRN_RPC="+a.rpcURL, "CAIRN_DATADIR="+a.datadir)

	// Nonce 0: a transfer, then its bump.
	id1 := jsonOut[rpc.SendResult](t, c.ok("--json", "send", "--from", "alice", "--to", "bob", "--amount", "1", "--memo", "rent")).ID
	waitPool(t, nodes, []string{id1}, nil)

	t.Run("refused", func(t *testing.T) {
		c := *c
		c.t = t
		args := []string{"tx", "bump", id1, "--fee", "0.0001"}
		c.fails(c.run(args...), `cairn: --fee "0.0001": below the least replacement fee, 0.00011000 CRN: the pooled transaction pays 0.00010000 CRN, and a replacement must pay 10 % more, and at least 0.00001000 CRN more`, args...)
		unknown := strings.Repeat("cd", 32)
		args = []string{"tx", "cancel", unknown}
		c.fails(c.run(args...), "cairn: no transaction "+unknown+" in the node's pool or on its main chain: there is nothing to replace", args...)
		// Another home, whose wallets did not send it.
		other := newRunner(t)
		other.env = append(other.env, "CAIRN_RPC="+a.rpcURL)
		other.ok("wallet", "new", "carol")
		args = []string{"tx", "bump", id1}
		other.fails(other.run(args...), fmt.Sprintf("cairn: transaction %s is not yours: its sender %s is none of the wallets in %s/wallet (see cairn wallet list)", id1, alice, other.home), args...)
		// The same nonce by hand, at the same fee: the pool's rule.
		args = []string{"send", "--from", "alice", "--to", "bob", "--amount", "2", "--nonce", "0"}
		c.fails(c.run(args...), "cairn: transaction rejected: replacement-underpriced: …", args...)
	})
	// None of that changed the pools.
	waitPool(t, nodes, []string{id1}, nil)

	out := c.ok("tx", "bump", id1)
	id2 := field(t, out, "id")
	for k, want := range map[string]string{"from": alice, "to": bob, "amount": "1.00000000 CRN", "fee": "0.00011000 CRN", "nonce": "0", "replaces": id1, "status": "pending"} {
		if got := field(t, out, k); got != want {
			t.Errorf("tx bump %s: %q, want %q", k, got, want)
		}
	}
	waitPool(t, nodes, []string{id2}, []string{id1})
	if tx := jsonOut[rpc.Tx](t, c.ok("tx", id2, "--json")); tx.Memo != fmt.Sprintf("%x", "rent") || tx.Fee != "11000" {
		t.Errorf("the bumped tx: %+v, want the memo kept and a fee of 11000", tx)
	}
	args := []string{"tx", id1}
	c.fails(c.run(args...), "cairn: no transaction "+id1+" (neither pending nor on the main chain)", args...)

	// Nonce 1 given by hand, then cancelled at a fee of our choosing.
	out = c.ok("send", "--from", "alice", "--to", "bob", "--amount", "3", "--nonce", "1")
	id3 := field(t, out, "id")
	if got := field(t, out, "nonce"); got != "1" {
		t.Errorf("send --nonce 1: nonce %s", got)
	}
	id4 := jsonOut[rpc.SendResult](t, c.ok("tx", "cancel", id3, "--fee", "0.0005", "--json")).ID
	if tx := jsonOut[rpc.Tx](t, c.ok("tx", id4, "--json")); tx.To != alice || tx.Amount != strconv.Itoa(txpool.DefaultMinAmount) || tx.Fee != "50000" || tx.Nonce != 1 {
		t.Errorf("the cancelling tx: %+v, want %d base unit to alice at a fee of 50000", tx, txpool.DefaultMinAmount)
	}
	waitPool(t, nodes, []string{id2, id4}, []string{id1, id3})

	// Nonce 2, signed with no node reachable, checked and broadcast.
	down := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	signed := strings.Split(c.ok("--rpc", down, "tx", "sign", "--from", "alice", "--to", bob, "--amount", "0.5",
		"--fee", "0.0002", "--nonce", "2", "--genesis", a.genesis), "\n")
	raw, id5 := signed[0], signed[1]
	if got := field(t, c.ok("tx", "decode", raw), "verifies"); got != "yes" {
		t.Errorf("tx decode with the node's genesis: verifies %q", got)
	}
	other := writeGenesis(t, otherNetwork(t, p), t.TempDir())
	if got := field(t, c.ok("tx", "decode", raw, "--genesis", other), "verifies"); !strings.HasPrefix(got, "NO: it was signed for another network") {
		t.Errorf("tx decode with another genesis: verifies %q", got)
	}
	out = c.ok("tx", "broadcast", raw)
	if field(t, out, "id") != id5 || field(t, out, "nonce") != "2" || field(t, out, "status") != "pending" {
		t.Errorf("tx broadcast:\n%s", out)
	}
	waitPool(t, nodes, []string{id5}, nil)

	// A block: the replacements and the broadcast tx confirm, on both
	// nodes.
	c.ok("miner", "start", "--threads", "1")
	var tx2 *rpc.Tx
	for _, n := range nodes {
		tx2 = n.waitConfirmed(t, id2)
		n.waitConfirmed(t, id4)
		n.waitConfirmed(t, id5)
	}
	c.ok("miner", "stop")
	acct := jsonOut[rpc.Account](t, c.ok("--json", "balance", "alice"))
	if want := strconv.FormatUint(aliceFunds-100_000_000-11_000-1-50_000+1-50_000_000-20_000, 10); acct.Balance != want || acct.Nonce != 3 {
		t.Errorf("alice after the block: %+v, want balance %s, nonce 3", acct, want)
	}

	for _, cmd := range []string{"bump", "cancel"} {
		args := []string{"tx", cmd, id2}
		c.fails(c.run(args...), fmt.Sprintf("cairn: transaction %s is already confirmed at height %d: it cannot be replaced", id2, tx2.Height), args...)
	}
	args = []string{"tx", "bump", id1}
	c.fails(c.run(args...), "cairn: no transaction "+id1+" in the node's pool or on its main chain: there is nothing to replace", args...)
}
