//go:build unix && !linux

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts cairnd in its own process group, so that the Ctrl-C
// of the terminal reaches only the launcher, which then stops the nodes in
// order.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks p to exit cleanly.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
