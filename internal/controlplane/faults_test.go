package controlplane

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// canaryInFlight applies v1, lets it become stable, then applies v2 and runs passes until
// the canary pauses at 50%.
func canaryInFlight(t *testing.T) (*harness, rollout.Status) {
	t.Helper()
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 3)
	h.apply(rolloutYAML("det", "v2", canarySteps))
	h.passes("det", 3)
	st := h.engine("det")
	if st.Phase != rollout.PhasePaused {
		t.Fatalf("setup: phase %s, want Paused", st.Phase)
	}
	return h, st
}

func TestPassFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(h *harness)
		heal   func(h *harness)
		errHas string
	}{
		{"router fails", func(h *harness) { h.router.fail = errInjected }, func(h *harness) { h.router.fail = nil }, "set traffic"},
		{"platform observe fails", func(h *harness) { h.plat.failObs = errInjected }, func(h *harness) { h.plat.failObs = nil }, "observe"},
		{"platform apply fails", func(h *harness) { h.plat.failApply = errInjected }, func(h *harness) { h.plat.failApply = nil }, "apply replicas"},
		{"store write fails", func(h *harness) {
			h.store.Fail(func(op string) error {
				if op == "UpdateStatus" {
					return errInjected
				}
				return nil
			})
		}, func(h *harness) { h.store.Fail(nil) }, "persist status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, before := canaryInFlight(t)
			h.command("det", "promote")
			rv := h.loaded("det").row.ResourceVersion
			tc.inject(h)
			for range 3 {
				err := h.pass("det")
				if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("pass error %v: want the injected failure, wrapped with %q", err, tc.errHas)
				}
			}
			// A failed pass stores nothing: the command stays queued, the status unchanged.
			l := h.loaded("det")
			if l.row.ResourceVersion != rv || len(l.rec.Commands) != 1 || l.rec.Engine.Phase != before.Phase {
				t.Fatalf("a failed pass changed the stored rollout: rv %d→%d, commands %v, phase %s", rv, l.row.ResourceVersion, l.rec.Commands, l.rec.Engine.Phase)
			}
			tc.heal(h)
			h.passes("det", 3)
			if st := h.engine("det"); st.Phase != rollout.PhaseHealthy || st.StableRS != before.CurrentPodHash {
				t.Fatalf("after healing: %s stable %s, want Healthy on %s", st.Phase, st.StableRS, before.CurrentPodHash)
			}
			if n := count(h.reasons("det"), "CommandApplied"); n != 1 {
				t.Fatalf("the promote was applied %d times, want once", n)
			}
		})
	}
}

// TestLostWriteRepeatsThePassOnce: a concurrent write in the middle of a pass (a command
// stored while the pass observed) makes the pass's status write lose; the next pass decides
// again from what is stored, so every event is recorded once and the command is applied.
func TestLostWriteRepeatsThePassOnce(t *testing.T) {
	h, before := canaryInFlight(t)
	h.command("det", "promote")
	raced := false
	h.store.BeforeWrite(func(op string) {
		if op != "UpdateStatus" || raced {
			return
		}
		raced = true
		// Another writer (a command, an apply) stores the rollout first and wins.
		row, err := h.store.GetRollout(t.Context(), "det")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := h.store.UpdateStatus(t.Context(), store.StatusWrite{Name: "det", Status: row.Status, ExpectedVersion: row.ResourceVersion}); err != nil {
			t.Error(err)
		}
	})
	err := h.pass("det")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("pass: %v, want a lost write (conflict)", err)
	}
	h.store.BeforeWrite(nil)
	h.passes("det", 3)
	st := h.engine("det")
	if st.Phase != rollout.PhaseHealthy || st.StableRS != before.CurrentPodHash {
		t.Fatalf("after the lost write: %s on %s, want Healthy on %s", st.Phase, st.StableRS, before.CurrentPodHash)
	}
	reasons := h.reasons("det")
	for _, r := range reasons {
		if n := count(reasons, r); n > 1 && r != "CommandApplied" && r != "RolloutUpdated" && r != "ScalingReplicaSet" {
			t.Fatalf("event %s recorded %d times: %v", r, n, reasons)
		}
	}
	if n := count(reasons, "CommandApplied"); n != 1 {
		t.Fatalf("promote applied %d times: %v", n, reasons)
	}
}

func TestConcurrentCommandsAreAllApplied(t *testing.T) {
	h, _ := canaryInFlight(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.command("det", "pause")
	}()
	// Passes run while the command is being queued; whichever write loses retries.
	for range 5 {
		_ = h.pass("det")
	}
	<-done
	h.passes("det", 2)
	l := h.loaded("det")
	if len(l.rec.Commands) != 0 || count(h.reasons("det"), "CommandApplied") != 1 {
		t.Fatalf("queued %v, events %v: want the pause applied once", l.rec.Commands, h.reasons("det"))
	}
}

func TestIdlePassesWriteNothing(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 4)
	if st := h.engine("det"); st.Phase != rollout.PhaseHealthy {
		t.Fatalf("setup: %s", st.Phase)
	}
	writes, pushes := h.store.Writes(), h.router.pushCount()
	h.passes("det", 50)
	if w := h.store.Writes() - writes; w != 0 {
		t.Fatalf("50 idle passes made %d store writes, want 0", w)
	}
	if p := h.router.pushCount() - pushes; p != 0 {
		t.Fatalf("50 idle passes pushed traffic %d times, want 0", p)
	}
	// A change is written at once.
	h.command("det", "pause")
	h.passes("det", 1)
	if h.store.Writes() < writes+2 {
		t.Fatal("the pause command's pass wrote nothing")
	}
}

func TestFirstPassVerifiesTheDataPlane(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.router.verifyAns = false
	if _, err := h.cp.reconcile(t.Context(), "det", true); err != nil {
		t.Fatal(err)
	}
	if h.router.verified != 1 {
		t.Fatalf("verified %d times, want once on the first pass", h.router.verified)
	}
	h.passes("det", 3)
	if h.router.verified != 1 {
		t.Fatalf("later passes verified again (%d)", h.router.verified)
	}
}

func TestDeletedRolloutIsTornDown(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 3)
	if err := h.api.Delete(t.Context(), "test", "det"); err != nil {
		t.Fatal(err)
	}
	p, err := h.cp.reconcile(t.Context(), "det", false)
	gone := p.gone
	if err != nil || !gone {
		t.Fatalf("pass after delete: gone=%v err=%v", gone, err)
	}
	if !slices.Contains(h.router.removed, traffic.Ref{Rollout: "det"}) || len(h.plat.replicas("det")) != 0 {
		t.Fatalf("teardown: removed %v, replicas %v", h.router.removed, h.plat.replicas("det"))
	}
	audit, _ := h.store.ListAudit(t.Context(), store.AuditQuery{Target: "rollout/det"})
	if len(audit) != 2 || audit[1].Action != "delete" {
		t.Fatalf("audit %+v: want apply then delete", audit)
	}
}

func TestEventsAreNamedByPass(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 3)
	evs, err := h.store.ListEvents(t.Context(), store.EventQuery{Rollout: "det"})
	if err != nil || len(evs) == 0 {
		t.Fatalf("events %v %v", evs, err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if !strings.HasPrefix(e.Name, "det.") || seen[e.Name] {
			t.Fatalf("event %+v: want a unique name det.<version>.<index>", e)
		}
		seen[e.Name] = true
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// A template the platform cannot run (Argo's own example: no command, a demo image) shows
// the rollout Degraded with the platform's reason and one event; passes after that are
// quiet instead of failing (and logging) every 500 ms. A runnable template clears it.
func TestUnrunnableTemplateIsDegradedOnce(t *testing.T) {
	h := newHarness(t)
	h.plat.unrunnable = map[string]string{"shipsafe/detector:blue": "containers[0].command: required by the local platform"}
	h.apply(rolloutYAML("det", "blue", canarySteps))
	h.passes("det", 3)
	st := h.engine("det")
	if st.Phase != rollout.PhaseDegraded || !strings.Contains(st.Message, "containers[0].command: required") {
		t.Fatalf("phase %s %q, want Degraded with the platform's reason", st.Phase, st.Message)
	}
	if n := strings.Count(strings.Join(h.reasons("det"), ","), "Unrunnable"); n != 1 {
		t.Fatalf("%d Unrunnable events, want 1: %v", n, h.reasons("det"))
	}
	p, err := h.cp.reconcile(t.Context(), "det", false)
	if err != nil || !p.quiet {
		t.Fatalf("a pass on the unrunnable rollout: %+v, %v; want quiet and no error", p, err)
	}
	// The runnable revision rolls out as a canary; once promoted the unrunnable one is
	// no longer asked to run and the rollout is Healthy.
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 3)
	h.command("det", "promote")
	h.passes("det", 6)
	if st := h.engine("det"); st.Phase != rollout.PhaseHealthy {
		t.Fatalf("after a runnable template: %s %q", st.Phase, st.Message)
	}
}
