package node

import (
	"strings"
	"testing"
	"time"

	"github.com/cairn-ledger/cairn/rpc"
)

func TestSyncProgress(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	syncing := rpc.SyncInfo{State: rpc.SyncSyncing, Height: 20, TargetHeight: 50}

	p := &progress{since: t0}
	p.tip(10, at(0))
	p.tip(15, at(5))
	p.tip(20, at(10))
	// 10 blocks in 10 s, 30 to go: 30 s.
	if got := p.judge(syncing, at(10)); got.State != rpc.SyncSyncing || got.EtaS != 30 {
		t.Errorf("climbing: %+v, want syncing with 30 s left", got)
	}
	// The rate is over the last minute up to now: 30 s after the last
	// block, 10 blocks in 40 s, 30 to go: 120 s.
	if got := p.judge(syncing, at(40)); got.State != rpc.SyncSyncing || got.EtaS != 120 {
		t.Errorf("30 s after the last block: %+v, want syncing, 120 s left", got)
	}
	// No new tip for over a minute while behind: stalled, saying why.
	got := p.judge(syncing, at(71))
	if got.State != rpc.SyncStalled || !strings.Contains(got.Reason, "no new block for 1m1s, 30 below the best height peers claim (50)") {
		t.Errorf("a minute without a block: %+v", got)
	}
	// Synced, or no peers, is not judged.
	for _, st := range []string{rpc.SyncSynced, rpc.SyncNoPeers} {
		in := rpc.SyncInfo{State: st, Height: 20, TargetHeight: 50}
		if got := p.judge(in, at(500)); got != in {
			t.Errorf("%s judged into %+v", st, got)
		}
	}
	// A node that has not moved since it started counts from its start.
	q := &progress{since: t0}
	if got := q.judge(syncing, at(30)); got.State != rpc.SyncSyncing || got.EtaS != 0 {
		t.Errorf("30 s after start, no block yet: %+v, want syncing without ETA", got)
	}
	if got := q.judge(syncing, at(61)); got.State != rpc.SyncStalled {
		t.Errorf("61 s after start, no block: %+v, want stalled", got)
	}
	// Samples older than the window are dropped but one.
	r := &progress{since: t0}
	for i := range 200 {
		r.tip(uint64(i), at(float64(i)))
	}
	if n := len(r.samples); n > 62 {
		t.Errorf("%d samples kept for a 60 s window of one a second", n)
	}
}
