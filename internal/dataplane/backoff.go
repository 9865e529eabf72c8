package dataplane

import (
	"time"

	"github.com/shipsafe/shipsafe/internal/backoff"
)

// Backoff decides how long the supervisor waits before restarting a data plane that
// exited. The first crash after a stable run restarts at once (traffic is waiting in the
// listener's backlog); each further crash of a process that ran less than StableAfter
// doubles the wait, up to Max, so a data plane that cannot start does not spin.
type Backoff struct {
	// Base is the wait after the second quick crash in a row (default 100ms).
	Base time.Duration
	// Max caps the wait (default 10s).
	Max time.Duration
	// StableAfter is how long a process must have run for its crash to count as a first
	// one again (default 30s).
	StableAfter time.Duration

	quick int // crashes in a row of processes that ran less than StableAfter
}

func (b *Backoff) defaults() {
	if b.Base <= 0 {
		b.Base = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 10 * time.Second
	}
	if b.StableAfter <= 0 {
		b.StableAfter = 30 * time.Second
	}
}

// Next returns the wait before the next start, given how long the process that exited
// had run (0 for a start that failed).
func (b *Backoff) Next(ran time.Duration) time.Duration {
	b.defaults()
	if ran >= b.StableAfter {
		b.quick = 0
	}
	b.quick++
	if b.quick == 1 {
		return 0
	}
	return backoff.Doubling(b.Base, b.Max, b.quick-1)
}

// Crashes is the number of quick crashes in a row so far.
func (b *Backoff) Crashes() int { return b.quick }
