package rollout_test

import (
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func atFifty(t *testing.T) (*sim.World, rollout.Spec) {
	spec := canarySpec("v1", 4, weight(50), pauseForever())
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))
	return w, spec
}

func TestRollbackImmediate(t *testing.T) {
	w, spec := atFifty(t)
	w.Rollback = &rollout.RollbackRequest{Action: rollout.RollbackImmediate, Trigger: "error-rate", Reason: "5% > 1%"}
	res := w.Step(spec)
	if !res.Status.Abort || weightOf(res.Plan, "v1") != 100 || replicasOf(res.Plan, "v2") != 0 {
		t.Fatalf("immediate: all traffic to stable and canary gone in one plan: %+v %+v", res.Plan.Traffic.Weights, res.Plan.Revisions)
	}
}

func TestRollbackStagedRestoresWhenTriggerStops(t *testing.T) {
	w, spec := atFifty(t)
	w.Rollback = &rollout.RollbackRequest{Action: rollout.RollbackStaged, Trigger: "latency", ObserveFor: 2 * time.Minute}
	res := w.Step(spec)
	if weightOf(res.Plan, "v2") != 25 || res.Plan.RequeueAfter != 2*time.Minute {
		t.Fatalf("staged: new cut to half (25%%), observed 2m: %+v requeue %s", res.Plan.Traffic.Weights, res.Plan.RequeueAfter)
	}
	w.Rollback = nil // the trigger stopped firing
	w.Advance(2 * time.Minute)
	res = w.Step(spec)
	if res.Status.Abort || weightOf(res.Plan, "v2") != 50 || res.Status.Rollback != nil {
		t.Fatalf("restored to 50%%: %+v", res.Plan.Traffic.Weights)
	}
}

func TestRollbackStagedCompletesWhenTriggerKeepsFiring(t *testing.T) {
	w, spec := atFifty(t)
	w.Rollback = &rollout.RollbackRequest{Action: rollout.RollbackStaged, Trigger: "latency", ObserveFor: time.Minute}
	w.Step(spec)
	w.Advance(30 * time.Second)
	if res := w.Step(spec); weightOf(res.Plan, "v2") != 25 {
		t.Fatalf("still observing at 25%%: %+v", res.Plan.Traffic.Weights)
	}
	w.Advance(30 * time.Second)
	res := w.Step(spec)
	if !res.Status.Abort || weightOf(res.Plan, "v1") != 100 {
		t.Fatalf("rollback completed: %+v", res.Plan.Traffic.Weights)
	}
}

func TestRollbackCanaryStopsCanaryUntilResumed(t *testing.T) {
	w, spec := atFifty(t)
	w.Rollback = &rollout.RollbackRequest{Action: rollout.RollbackCanary, Trigger: "drift"}
	res := w.Step(spec)
	if res.Status.Abort || res.Status.Phase != rollout.PhasePaused || weightOf(res.Plan, "v1") != 100 || replicasOf(res.Plan, "v2") != 0 {
		t.Fatalf("canary action: no canary traffic, no canary replicas, paused: %s %+v %+v", res.Status.Phase, res.Plan.Traffic.Weights, res.Plan.Revisions)
	}
	w.Rollback = nil
	w.Commands = append(w.Commands, cmd("res", rollout.CommandResume))
	res = drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return weightOf(r.Plan, "v2") == 50 })
	if res.Status.Rollback != nil {
		t.Fatalf("resume clears the rollback: %+v", res.Status.Rollback)
	}
}
