package rollout_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func cmd(id string, k rollout.CommandKind) rollout.Command { return rollout.Command{ID: id, Kind: k} }

func hasEvent(r rollout.Result, reason string) bool {
	return slices.ContainsFunc(r.Events, func(e rollout.Event) bool { return e.Reason == reason })
}

func TestPromoteFullSkipsStepsAndAnalysis(t *testing.T) {
	spec := canarySpec("v1", 4, weight(10), pauseForever(), rollout.CanaryStep{Analysis: analysis("slow")}, weight(50))
	w := deployed(t, sim.Behaviour{Router: true, AnalysisTakes: time.Hour}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))
	w.Commands = append(w.Commands, cmd("full", rollout.CommandPromoteFull))
	res := drive(t, w, spec, time.Minute, stableIs("v2"))
	if weightOf(res.Plan, "v2") != 100 || w.RunPhase("ro-v2-0-step2") != "" {
		t.Fatalf("promote --full: weights %+v, step analysis should never start", res.Plan.Traffic.Weights)
	}
}

func TestAbortRetryAndIdempotentCommands(t *testing.T) {
	spec := canarySpec("v1", 4, weight(50), pauseForever())
	spec.Canary.AbortScaleDownDelaySeconds = i32(5)
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))

	abort := cmd("a1", rollout.CommandAbort)
	obs := w.Observe()
	obs.Commands = []rollout.Command{abort}
	once := rollout.Reconcile(spec, w.Status, obs, w.Now)
	twice := rollout.Reconcile(spec, once.Status, obs, w.Now) // the same command replayed
	if !once.Status.Abort || weightOf(once.Plan, "v1") != 100 || !slices.Contains(once.Acknowledged, "a1") {
		t.Fatalf("abort: %+v ack %v", once.Plan.Traffic.Weights, once.Acknowledged)
	}
	if hasEvent(twice, "CommandApplied") || twice.Status.AbortedAt.Compare(*once.Status.AbortedAt) != 0 || !slices.Contains(twice.Acknowledged, "a1") {
		t.Fatalf("replayed abort must be a no-op that is still acknowledged: %+v", twice.Events)
	}
	w.Apply(twice)
	drive(t, w, spec, time.Minute, func(rollout.Result) bool { return w.Replicas("v2") == 0 })

	w.Commands = append(w.Commands, cmd("r1", rollout.CommandRetry))
	res := drive(t, w, spec, time.Minute, stepIs(1))
	if res.Status.Abort || weightOf(res.Plan, "v2") != 50 {
		t.Fatalf("retry restarts from step 0: %+v", res.Plan.Traffic.Weights)
	}
}

func TestPauseResume(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), pauseFor(time.Minute), weight(75))
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash = "v2"
	w.Commands = append(w.Commands, cmd("p", rollout.CommandPause))
	w.Step(spec)
	w.Advance(time.Hour)
	res := w.Step(spec)
	if res.Status.Phase != rollout.PhasePaused || *res.Status.CurrentStepIndex != 0 {
		t.Fatalf("paused rollout advanced: step %d %s", *res.Status.CurrentStepIndex, res.Status.Phase)
	}
	w.Commands = append(w.Commands, cmd("r", rollout.CommandResume))
	drive(t, w, spec, 3*time.Minute, stableIs("v2"))
}

func TestUndoToPreviousAndNamedRevision(t *testing.T) {
	spec := canarySpec("v1", 2)
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	for _, h := range []string{"v2", "v3"} {
		spec.TemplateHash = h
		drive(t, w, spec, time.Minute, stableIs(h))
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "u1", Kind: rollout.CommandUndo})
	res := w.Step(spec)
	if res.Plan.SetTemplate != "v2" {
		t.Fatalf("undo goes to the previous revision v2: %q (history %v)", res.Plan.SetTemplate, res.Status.History)
	}
	if res = w.Step(spec); res.Plan.SetTemplate != "v2" {
		t.Fatal("undo is repeated until the caller rewrites the template")
	}
	spec.TemplateHash = "v2" // what the caller does with SetTemplate
	res = drive(t, w, spec, time.Minute, stableIs("v2"))
	if res.Plan.SetTemplate != "" {
		t.Fatalf("undo done: %q", res.Plan.SetTemplate)
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "u2", Kind: rollout.CommandUndo, Revision: "v1"})
	if res = w.Step(spec); res.Plan.SetTemplate != "v1" {
		t.Fatalf("undo to named v1: %q", res.Plan.SetTemplate)
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "u3", Kind: rollout.CommandUndo, Revision: "nope"})
	if res = w.Step(spec); !hasEvent(res, "CommandRejected") {
		t.Fatalf("undo to an unknown revision is rejected: %+v", res.Events)
	}
}

func TestUndoDuringCanaryGoesBackToStableAtOnce(t *testing.T) {
	spec := canarySpec("v1", 4, weight(50), pauseForever())
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))
	w.Commands = append(w.Commands, rollout.Command{ID: "u", Kind: rollout.CommandUndo})
	res := w.Step(spec)
	spec.TemplateHash = res.Plan.SetTemplate
	res = w.Step(spec)
	if res.Status.StableRS != "v1" || res.Status.CurrentPodHash != "v1" || weightOf(res.Plan, "v1") != 100 {
		t.Fatalf("undo to stable: %+v", res.Status)
	}
}

func TestSpecPausedHoldsAndProgressDeadlineAbort(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), pauseFor(time.Minute), weight(100))
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash, spec.Paused = "v2", true
	w.Step(spec)
	w.Advance(time.Hour)
	if res := w.Step(spec); res.Status.Phase != rollout.PhasePaused || *res.Status.CurrentStepIndex != 0 {
		t.Fatalf("spec.paused must hold: %s step %d", res.Status.Phase, *res.Status.CurrentStepIndex)
	}
	spec.Paused = false
	drive(t, w, spec, 3*time.Minute, stableIs("v2"))

	// progressDeadlineAbort: a canary that never becomes ready is aborted, not just Degraded
	spec.TemplateHash, spec.ProgressDeadlineSeconds, spec.ProgressDeadlineAbort = "v3", 60, true
	w.B.NeverReady = map[string]bool{"v3": true}
	res := drive(t, w, spec, 3*time.Minute, func(r rollout.Result) bool { return r.Status.Abort })
	if weightOf(res.Plan, "v2") != 100 {
		t.Fatalf("aborted to stable v2: %+v", res.Plan.Traffic.Weights)
	}
}
