// Package localproc holds what the programs that run cairnd processes on
// this machine (the testnet launcher, the load test) share: the genesis of
// a local network, free loopback ports and the tail of a node's log.
package localproc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// FreePorts returns n distinct free TCP ports on 127.0.0.1. It holds all
// the listeners until it has them all, so the ports are distinct; another
// program could still take one before cairnd binds it, which start-up
// then reports.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// LogTail returns the last n lines of the file at path (or a note saying
// why it cannot).
func LogTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	// Read at most the last 256 KiB: enough for n lines of any sane log.
	const maxRead = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxRead {
		f.Seek(st.Size()-maxRead, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 2*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(empty)"
	}
	return strings.Join(lines, "\n")
}
