package main

import (
	"testing"

	"github.com/cairn-ledger/cairn/rpc"
)

func TestSyncText(t *testing.T) {
	for _, tc := range []struct {
		in   rpc.SyncInfo
		want string
	}{
		{rpc.SyncInfo{State: rpc.SyncSynced, Height: 9, TargetHeight: 9, Progress: 1}, "synced"},
		{rpc.SyncInfo{State: rpc.SyncNoPeers}, "no peers"},
		{rpc.SyncInfo{State: rpc.SyncSyncing, Height: 20, TargetHeight: 80, Progress: 0.25}, "syncing 25.0% (height 20 of 80)"},
		{rpc.SyncInfo{State: rpc.SyncSyncing, Height: 20, TargetHeight: 80, Progress: 0.25, EtaS: 130.4}, "syncing 25.0% (height 20 of 80, about 2m10s left)"},
		{rpc.SyncInfo{State: rpc.SyncStalled, Reason: "no new block for 1m5s"}, "stalled: no new block for 1m5s"},
	} {
		if got := syncText(tc.in); got != tc.want {
			t.Errorf("syncText(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
