package local

import (
	"time"

	"github.com/shipsafe/shipsafe/internal/backoff"
)

// Clock is the time source of the supervisors; tests substitute a fake.
type Clock interface {
	Now() time.Time
	// After waits for d; like time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// backoffPolicy is the CrashLoopBackOff schedule: the delay before restart n of a crash
// streak doubles from Initial up to Max; a process that ran for at least Reset before
// exiting starts a new streak.
type backoffPolicy struct {
	Initial time.Duration
	Max     time.Duration
	Reset   time.Duration
}

// next returns the new crash streak and the delay before the next start, given the
// streak so far and how long the process that just exited had run.
func (b backoffPolicy) next(streak int, ran time.Duration) (int, time.Duration) {
	if ran >= b.Reset {
		streak = 0
	}
	streak++
	return streak, backoff.Doubling(b.Initial, b.Max, streak)
}
