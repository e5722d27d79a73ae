//go:build race

package nodetest_test

// raceEnabled: the race detector slows every goroutine several times, so
// latency bounds of the attack tests are scaled by raceSlowdown.
const raceEnabled = true
