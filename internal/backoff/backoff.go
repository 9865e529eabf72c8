// Package backoff is the one doubling schedule shipsafe waits by: replica restarts
// (CrashLoopBackOff), data-plane restarts and idle control-plane workers.
package backoff

import "time"

// Doubling returns base doubled n-1 times, capped at max: base for n = 1, 2×base for n = 2,
// and so on. n below 1 counts as 1.
func Doubling(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
