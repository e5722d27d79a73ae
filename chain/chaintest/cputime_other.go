//go:build !unix

package chaintest

import "time"

var start = time.Now()

// CPUTime returns the wall-clock time since the process started: without
// getrusage, a measurement on one goroutine of an otherwise idle process
// is the nearest stand-in for its CPU time.
func CPUTime() time.Duration { return time.Since(start) }
