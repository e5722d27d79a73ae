package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// NodeStatus is one row of the live table.
type NodeStatus struct {
	Name     string
	Mining   bool
	Err      error // the node did not answer; the other fields are zero
	Height   uint64
	Tip      string // tip hash, hex
	Peers    int
	Pool     int     // pending + queued txs
	HashRate float64 // hashes/s; 0 when not mining
}

// Status asks every node for its row, at most timeout per node, all at
// once.
func (n *Network) Status(ctx context.Context, timeout time.Duration) []NodeStatus {
	rows := make([]NodeStatus, len(n.Nodes))
	var wg sync.WaitGroup
	for i, nd := range n.Nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			rows[i] = nodeStatus(ctx, nd)
		})
	}
	wg.Wait()
	return rows
}

func nodeStatus(ctx context.Context, nd *Node) NodeStatus {
	s := NodeStatus{Name: nd.Name, Mining: nd.Mining}
	if !nd.Running() {
		s.Err = fmt.Errorf("not running")
		return s
	}
	c := nd.Client()
	info, err := c.NodeInfo(ctx)
	if err != nil {
		s.Err = err
		return s
	}
	s.Height, s.Tip, s.Peers = info.Height, info.Tip, info.Peers
	if pool, err := c.PoolStatus(ctx); err == nil {
		s.Pool = pool.Pending + pool.Queued
	}
	if m, err := c.MinerStatus(ctx); err == nil {
		s.Mining = m.Running
		s.HashRate = m.HashRate
	}
	return s
}

// tipPrefix is how much of the tip hash the table shows.
const tipPrefix = 16

// WriteTable writes rows as an aligned table with a header line.
func WriteTable(w io.Writer, rows []NodeStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\theight\ttip\tpeers\ttxpool\thash rate\t")
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t%s\t-\t-\t-\t\n", r.Name, clip(r.Err.Error(), 40))
			continue
		}
		rate := "-"
		if r.Mining {
			rate = FormatHashRate(r.HashRate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t\n", r.Name, r.Height, clip(r.Tip, tipPrefix), r.Peers, r.Pool, rate)
	}
	return tw.Flush()
}

// FormatHashRate writes hashes/s with an SI prefix: "2.14 MH/s".
func FormatHashRate(h float64) string {
	switch {
	case h >= 1e9:
		return fmt.Sprintf("%.2f GH/s", h/1e9)
	case h >= 1e6:
		return fmt.Sprintf("%.2f MH/s", h/1e6)
	case h >= 1e3:
		return fmt.Sprintf("%.2f kH/s", h/1e3)
	default:
		return fmt.Sprintf("%.0f H/s", h)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// tableView draws the table again every refresh: in place on a terminal
// (moving the cursor back over the previous drawing), as successive
// blocks otherwise.
type tableView struct {
	w     io.Writer
	tty   bool
	lines int // lines of the previous drawing, to move back over
}

func (v *tableView) draw(now time.Time, rows []NodeStatus) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  (Ctrl-C stops the testnet)\n", now.Format("15:04:05"))
	WriteTable(&b, rows)
	text := b.String()
	if v.tty {
		var out strings.Builder
		if v.lines > 0 {
			fmt.Fprintf(&out, "\x1b[%dA", v.lines) // cursor up
		}
		for _, line := range strings.SplitAfter(text, "\n") {
			if line != "" {
				out.WriteString("\x1b[2K" + line) // clear the old line first
			}
		}
		text = out.String()
	}
	io.WriteString(v.w, text)
	v.lines = strings.Count(b.String(), "\n")
}
