//go:build !unix

package main

import (
	"os"
	"os/exec"
)

func setProcAttr(*exec.Cmd) {}

// terminate stops p; without signals it can only kill it.
func terminate(p *os.Process) error { return p.Kill() }
