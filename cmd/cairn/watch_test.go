package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watcher is a running `cairn watch`: its stdout and stderr, a line at a
// time.
type watcher struct {
	t              *testing.T
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr chan string
}

func (c *runner) startWatch(t *testing.T, args ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	w := &watcher{t: t, cancel: cancel, stdout: make(chan string, 100), stderr: make(chan string, 100)}
	w.cmd = exec.CommandContext(ctx, cairnBin, append([]string{"watch"}, args...)...)
	w.cmd.Env = c.environ(nil)
	lines := func(r io.Reader, ch chan string) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}
	out, _ := w.cmd.StdoutPipe()
	errp, _ := w.cmd.StderrPipe()
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go lines(out, w.stdout)
	go lines(errp, w.stderr)
	t.Cleanup(func() { w.cmd.Process.Kill(); cancel() })
	return w
}

// until reads ch until a line satisfies ok, within 40 s.
func (w *watcher) until(ch <-chan string, what string, ok func(string) bool) string {
	w.t.Helper()
	deadline := time.After(40 * time.Second)
	for {
		select {
		case l, open := <-ch:
			if !open {
				w.t.Fatalf("cairn watch ended before %s", what)
			}
			if ok(l) {
				return l
			}
		case <-deadline:
			w.t.Fatalf("no %s within 40 s", what)
		}
	}
}

// stop sends SIGINT, as Ctrl-C does, and wants a clean exit.
func (w *watcher) stop() {
	w.t.Helper()
	w.cmd.Process.Signal(syscall.SIGINT)
	if err := w.cmd.Wait(); err != nil {
		w.t.Errorf("cairn watch ended with %v after SIGINT", err)
	}
	w.cancel()
}

// TestWatch: `cairn watch` prints each new block as it comes, and
// `cairn watch NAME` a payment to the wallet, pending then confirmed;
// Ctrl-C (SIGINT) ends it with status 0.
func TestWatch(t *testing.T) {
	t.Parallel()
	c := newRunner(t)
	alice, bob, n := aliceAndBob(t, c)

	w := c.startWatch(t)
	w.until(w.stderr, "the watching line", func(l string) bool { return l == "watching new blocks on "+n.rpcURL+" (Ctrl-C stops)" })
	isBlock := func(l string) bool {
		return strings.Contains(l, "  block    height ") && strings.Contains(l, "miner "+n.miner.String())
	}
	t.Logf("watch: %s", w.until(w.stdout, "a block line", isBlock))
	w.until(w.stdout, "a second block line", isBlock)
	w.stop()

	w = c.startWatch(t, "bob")
	w.until(w.stderr, "the watching line", func(l string) bool { return strings.HasPrefix(l, "watching the txs of "+bob) })
	id := field(t, c.ok("send", "--from", "alice", "--to", "bob", "--amount", "1"), "id")
	pending := w.until(w.stdout, "the pending line", func(l string) bool { return strings.Contains(l, "pending") })
	confirmed := w.until(w.stdout, "the confirmed line", func(l string) bool { return strings.Contains(l, "confirmed") })
	for _, l := range []string{pending, confirmed} {
		if !strings.Contains(l, id) || !strings.Contains(l, alice+" -> "+bob) || !strings.Contains(l, "1.00000000 CRN") {
			t.Errorf("watch bob: %q", l)
		}
	}
	w.stop()

	c.fails(c.run("watch", "bob", "txs"), "cairn: too many arguments (usage: cairn watch [heads|txs|ADDR|NAME])", "watch", "bob", "txs")
}
