package local

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// fakeClock hands every After to the test, which decides when it fires.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters chan fakeWaiter
}

type fakeWaiter struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waiters: make(chan fakeWaiter, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waiters <- fakeWaiter{d, ch}
	return ch
}

// fire advances the clock by the waiter's duration and releases it.
func (c *fakeClock) fire(w fakeWaiter) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.ch <- now
}

// TestRestartBackoffRunsOnTheInjectedClock drives a crash-looping replica (a real process
// that exits at once, no probes) with a fake clock: each restart waits for exactly the
// backoff the policy gives, and nothing restarts until the test advances time.
func TestRestartBackoffRunsOnTheInjectedClock(t *testing.T) {
	clock := newFakeClock()
	p, _ := openTest(t, Options{Clock: clock, BackoffInitial: time.Second, BackoffMax: 4 * time.Second})
	tpl := helperTemplate("--crash-after", "0s")
	tpl.Spec.Containers[0].ReadinessProbe = nil
	if err := p.Apply(context.Background(), "svc", []platform.Revision{{Name: "v1", Template: tpl, Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		var w fakeWaiter
		select {
		case w = <-clock.waiters:
		case <-time.After(15 * time.Second):
			t.Fatalf("crash %d: no backoff wait requested", i+1)
		}
		if w.d != want {
			t.Fatalf("crash %d: backoff %s, want %s", i+1, w.d, want)
		}
		st := observeRev(t, p, "svc", "v1")
		if st.Restarts != i+1 || st.Failed != 1 || st.Pods[0].PID != 0 || st.Pods[0].Phase != platform.PhaseCrashLoopBackOff {
			t.Fatalf("crash %d, waiting: %+v", i+1, st)
		}
		clock.fire(w)
	}
}
