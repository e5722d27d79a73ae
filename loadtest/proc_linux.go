package main

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts cairnd in its own process group, so that the Ctrl-C of
// the terminal reaches only the load test, which then stops the nodes; and
// asks the kernel to SIGTERM it if the load test dies without doing so.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// terminate asks p to exit cleanly.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
