package rollout_test

import (
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

// BenchmarkReconcileCanary measures one Reconcile of a 7-step canary at 20% with background
// analysis and a traffic router: the controller's per-pass engine cost.
func BenchmarkReconcileCanary(b *testing.B) {
	spec := canarySpec("v1", 10, weight(5), pauseFor(10*time.Minute), weight(20), pauseFor(30*time.Minute), weight(50),
		rollout.CanaryStep{Pause: &rollout.PauseStep{Analysis: &rollout.PauseAnalysis{SuccessCondition: "result >= 0.9", MetricName: "acc"}}}, weight(100))
	spec.Canary.Analysis = &rollout.BackgroundAnalysis{AnalysisSpec: *analysis("acc")}
	w := sim.New(sim.Behaviour{Router: true}, t0)
	for range 5 {
		w.Step(spec)
		w.Advance(time.Second)
	}
	spec.TemplateHash = "v2"
	for range 20 { // reach step 3 (paused at 20%)
		w.Step(spec)
		w.Advance(time.Second)
	}
	obs := w.Observe()
	b.ReportAllocs()
	for b.Loop() {
		rollout.Reconcile(spec, w.Status, obs, w.Now)
	}
}
