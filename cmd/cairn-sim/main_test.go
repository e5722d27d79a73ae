package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nodes", "0"}, "-nodes 0"},
		{[]string{"-latency", "5ms-1ms"}, "-latency"},
		{[]string{"-latency", "fast"}, "-latency"},
		{[]string{"-partition", "150:10s"}, "-partition"},
		{[]string{"-partition", "40"}, "-partition"},
		{[]string{"-partition", "40:10m"}, "-partition"},
		{[]string{"-bandwidth", "20"}, "-bandwidth"},
		{[]string{"-miners", "101"}, "-miners"},
		{[]string{"-bogus"}, "bogus"},
		{[]string{"-duration", "0s"}, "-duration"},
		{[]string{"-scale", "16,x"}, "-scale"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		msg := errb.String()
		if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line naming %q", tc.args, code, msg, out.String(), tc.want)
		}
	}
}

func TestFlags(t *testing.T) {
	o, err := parse([]string{"-nodes", "30", "-latency", "10ms-40ms", "-bandwidth", "8Mbit", "-partition", "40:60s",
		"-block-time", "3s", "-miners", "5", "-seed", "9"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Nodes != 30 || c.LatencyLo != 10*time.Millisecond || c.LatencyHi != 40*time.Millisecond || c.Bandwidth != 1e6 ||
		c.PartitionPct != 40 || c.PartitionFor != time.Minute || c.BlockTime != 3*time.Second || c.Miners != 5 || c.Seed != 9 {
		t.Errorf("parsed %+v", c)
	}
	o, err = parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.Nodes != 100 || c.Peers != 8 || c.LatencyLo != 25*time.Millisecond || c.LatencyHi != 150*time.Millisecond ||
		c.Bandwidth != 20e6/8 || c.TxRate != 20 || c.Duration != 5*time.Minute || c.Seed != 1 || c.PartitionPct != 0 {
		t.Errorf("defaults %+v", c)
	}
}
