package rollout_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func i32(v int32) *int32 { return &v }

func dur(d time.Duration) *time.Duration { return &d }

func weight(w int32) rollout.CanaryStep { return rollout.CanaryStep{SetWeight: i32(w)} }

func pauseFor(d time.Duration) rollout.CanaryStep {
	return rollout.CanaryStep{Pause: &rollout.PauseStep{Duration: dur(d)}}
}

func pauseForever() rollout.CanaryStep { return rollout.CanaryStep{Pause: &rollout.PauseStep{}} }

func analysis(tmpl string) *rollout.AnalysisSpec {
	return &rollout.AnalysisSpec{Templates: []rollout.TemplateRef{{TemplateName: tmpl}}}
}

func canarySpec(hash string, replicas int32, steps ...rollout.CanaryStep) rollout.Spec {
	return rollout.Spec{Name: "ro", Replicas: replicas, TemplateHash: hash, Canary: &rollout.CanaryStrategy{Steps: steps}}
}

// deployed returns a world where revision v1 of spec is deployed and fully available.
func deployed(t *testing.T, b sim.Behaviour, spec rollout.Spec) *sim.World {
	t.Helper()
	w := sim.New(b, t0)
	spec.TemplateHash = "v1"
	drive(t, w, spec, time.Hour, func(r rollout.Result) bool { return r.Status.Phase == rollout.PhaseHealthy })
	return w
}

// drive steps the world second by second until done returns true or limit passes; it checks
// the engine's invariants at every step and returns the last result.
func drive(t *testing.T, w *sim.World, spec rollout.Spec, limit time.Duration, done func(rollout.Result) bool) rollout.Result {
	t.Helper()
	end := w.Now.Add(limit)
	for {
		obs := w.Observe()
		res := rollout.Reconcile(spec, w.Status, obs, w.Now)
		if err := checkInvariants(spec, obs, res); err != nil {
			t.Fatalf("at %s: %v\nstatus: %+v\nplan: %+v", w.Now.Sub(t0), err, res.Status, res.Plan)
		}
		w.Apply(res)
		if done(res) {
			return res
		}
		if !w.Now.Before(end) {
			t.Fatalf("not done after %s: phase %s %q, plan %+v", limit, res.Status.Phase, res.Status.Message, res.Plan)
		}
		w.Advance(time.Second)
	}
}

// weightOf returns a revision's planned weight.
func weightOf(p rollout.Plan, hash string) int32 {
	for _, w := range p.Traffic.Weights {
		if w.Hash == hash {
			return w.Weight
		}
	}
	return 0
}

// replicasOf returns a revision's planned replicas.
func replicasOf(p rollout.Plan, hash string) int32 {
	for _, d := range p.Revisions {
		if d.Hash == hash {
			return d.Replicas
		}
	}
	return 0
}

// checkInvariants are the safety properties every plan must have.
func checkInvariants(spec rollout.Spec, obs rollout.Observation, res rollout.Result) error {
	ready := map[string]int32{}
	anyReady := false
	for _, r := range obs.Revisions {
		ready[r.Hash] += r.Ready
		anyReady = anyReady || r.Ready > 0
	}
	sum := int32(0)
	for _, w := range res.Plan.Traffic.Weights {
		if w.Weight < 0 || w.Weight > 100 {
			return fmt.Errorf("weight %d of %s out of 0..100", w.Weight, w.Hash)
		}
		sum += w.Weight
		if anyReady && w.Weight > 0 && ready[w.Hash] == 0 {
			return fmt.Errorf("traffic %d%% to %s which has no ready replica (ready %v)", w.Weight, w.Hash, ready)
		}
	}
	if len(res.Plan.Traffic.Weights) > 0 && sum != 100 {
		return fmt.Errorf("weights sum to %d: %+v", sum, res.Plan.Traffic.Weights)
	}
	for _, h := range res.Plan.Traffic.HeaderRoutes {
		if ready[h.Revision] == 0 {
			return fmt.Errorf("header route %s to unready %s", h.Name, h.Revision)
		}
	}
	if p := res.Plan.Traffic.Preview; p != "" && ready[p] == 0 {
		return fmt.Errorf("preview to unready %s", p)
	}
	return nil
}
