//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeTestnetCtrlC: `make testnet` stopped with Ctrl-C (SIGINT to its
// process group, as a terminal sends it) stops the nodes cleanly, with no
// "make: *** … Error 1" line (which go run caused: it exits 1 when
// interrupted).
func TestMakeTestnetCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts cairnd processes; skipped with -short")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "testnet",
		"ARGS=-dir "+t.TempDir()+" -nodes 2 -miners 1 -mdns=false")
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var all []string
	interrupted := false
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				text := strings.Join(all, "\n")
				if !interrupted {
					t.Fatalf("make testnet ended before the table (%v):\n%s", err, text)
				}
				// make itself dies of the SIGINT, as in a terminal, or exits
				// 0; what it must not do is report the recipe as failed.
				var exit *exec.ExitError
				if err != nil && !(errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT) {
					t.Fatalf("make testnet after Ctrl-C: %v, want exit 0 or the interrupt:\n%s", err, text)
				}
				if strings.Contains(text, "make: ***") || !strings.Contains(text, "all nodes stopped") {
					t.Fatalf("output after Ctrl-C:\n%s", text)
				}
				return
			}
			all = append(all, l)
			if !interrupted && strings.Contains(l, "Ctrl-C stops the testnet") {
				interrupted = true
				if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
			}
		case <-ctx.Done():
			t.Fatalf("make testnet did not finish in time:\n%s", strings.Join(all, "\n"))
		}
	}
}
