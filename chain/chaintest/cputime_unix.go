//go:build unix

package chaintest

import (
	"syscall"
	"time"
)

// CPUTime returns the user and system CPU time this process has used, on
// all its threads.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
