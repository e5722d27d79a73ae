//go:build !linux

package main

import (
	"os"
	"os/exec"
)

// setProcAttr leaves cairnd in the load test's process group: a Ctrl-C
// of the terminal reaches the nodes too.
func setProcAttr(*exec.Cmd) {}

// terminate asks p to exit cleanly where the system can (an interrupt);
// where it cannot, the caller kills it.
func terminate(p *os.Process) error { return p.Signal(os.Interrupt) }
