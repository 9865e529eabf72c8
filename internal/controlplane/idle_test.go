package controlplane

import (
	"testing"
	"time"
)

// An idle rollout's passes come ever further apart (doubling from the tick up to the
// resync), so 1,000 idle rollouts cost about what 10 did; a rollout with work to do keeps
// the tick or what the engine asked for.
func TestWaitAfterBacksOffWhileIdle(t *testing.T) {
	tick, resync := 500*time.Millisecond, 30*time.Second
	for _, c := range []struct {
		next time.Duration
		idle int
		want time.Duration
	}{
		{0, 0, tick},
		{time.Minute, 0, tick},
		{100 * time.Millisecond, 0, 100 * time.Millisecond},
		{0, 1, tick},
		{0, 2, time.Second},
		{0, 4, 4 * time.Second},
		{0, 7, 30 * time.Second},
		{0, 1000, 30 * time.Second},
	} {
		if got := waitAfter(c.next, c.idle, tick, resync); got != c.want {
			t.Errorf("waitAfter(%s, idle %d) = %s, want %s", c.next, c.idle, got, c.want)
		}
	}
}

// Only a pass that changed nothing, on a rollout with nothing scheduled and no rollback
// triggers, counts as quiet; the first pass after a command is not.
func TestPassIsQuietOnlyAtRest(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 4)
	quiet := func() passResult {
		t.Helper()
		h.clock.Advance(time.Second)
		p, err := h.cp.reconcile(t.Context(), "det", false)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := quiet(); !p.quiet || p.next > 0 {
		t.Fatalf("Healthy at rest: %+v, want quiet with nothing scheduled", p)
	}
	h.command("det", "pause")
	if p := quiet(); p.quiet {
		t.Fatalf("the pass applying a command is quiet: %+v", p)
	}
	h.apply(rolloutYAML("det", "v2", canarySteps))
	if p := quiet(); p.quiet {
		t.Fatalf("the pass starting an update is quiet: %+v", p)
	}
}
