package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func phaseIs(p rollout.Phase) func(rollout.Result) bool {
	return func(r rollout.Result) bool { return r.Status.Phase == p }
}

func stableIs(h string) func(rollout.Result) bool {
	return func(r rollout.Result) bool { return r.Status.StableRS == h && r.Status.Phase == rollout.PhaseHealthy }
}

func stepIs(i int32) func(rollout.Result) bool {
	return func(r rollout.Result) bool {
		return r.Status.CurrentStepIndex != nil && *r.Status.CurrentStepIndex == i
	}
}

func TestCanaryWithRouterWalksStepsAndPauses(t *testing.T) {
	spec := canarySpec("v1", 10, weight(20), pauseFor(10*time.Minute), weight(50), pauseForever(), weight(80))
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: 5 * time.Second}, spec)
	spec.TemplateHash = "v2"

	start := w.Now
	res := drive(t, w, spec, time.Minute, stepIs(1))
	if got := weightOf(res.Plan, "v2"); got != 20 {
		t.Fatalf("after setWeight 20: canary weight %d", got)
	}
	if replicasOf(res.Plan, "v1") != 10 || replicasOf(res.Plan, "v2") != 2 {
		t.Fatalf("with a router stable keeps 10 and canary gets ceil(20%% of 10)=2: %+v", res.Plan.Revisions)
	}
	if res.Plan.RequeueAfter != 10*time.Minute {
		t.Fatalf("pause 10m should requeue after 10m, got %s", res.Plan.RequeueAfter)
	}
	res = drive(t, w, spec, 11*time.Minute, stepIs(2))
	if el := w.Now.Sub(start); el < 10*time.Minute {
		t.Fatalf("pause 10m ended after %s", el)
	}
	res = drive(t, w, spec, time.Minute, stepIs(3))
	if res.Status.Phase != rollout.PhasePaused || weightOf(res.Plan, "v2") != 50 {
		t.Fatalf("indefinite pause at 50%%: phase %s weights %+v", res.Status.Phase, res.Plan.Traffic.Weights)
	}
	// an indefinite pause holds for as long as nobody promotes
	w.Advance(5 * time.Hour)
	if res = w.Step(spec); *res.Status.CurrentStepIndex != 3 {
		t.Fatalf("indefinite pause advanced by itself")
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "c1", Kind: rollout.CommandPromote})
	res = drive(t, w, spec, time.Minute, stepIs(5))
	res = drive(t, w, spec, time.Minute, stableIs("v2"))
	if weightOf(res.Plan, "v2") != 100 {
		t.Fatalf("promoted canary should get 100%%: %+v", res.Plan.Traffic.Weights)
	}
	if replicasOf(res.Plan, "v1") != 10 || res.Plan.RequeueAfter != 30*time.Second {
		t.Fatalf("old stable kept for scaleDownDelaySeconds (30s): %+v requeue %s", res.Plan.Revisions, res.Plan.RequeueAfter)
	}
	drive(t, w, spec, time.Minute, func(rollout.Result) bool { return w.Replicas("v1") == 0 })
}

func TestCanaryWithoutRouterUsesReplicaMath(t *testing.T) {
	spec := canarySpec("v1", 10, weight(20), pauseForever())
	spec.Canary.MaxSurge = &rollout.IntOrPercent{Value: 1}
	spec.Canary.MaxUnavailable = &rollout.IntOrPercent{Value: 0}
	w := deployed(t, sim.Behaviour{ReadyAfter: 3 * time.Second}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, 5*time.Minute, func(r rollout.Result) bool {
		total := w.Replicas("v1") + w.Replicas("v2")
		if total > 11 {
			t.Fatalf("maxSurge 1: %d replicas exist", total)
		}
		obs := w.Observe()
		avail := int32(0)
		for _, rv := range obs.Revisions {
			avail += rv.Available
		}
		if avail < 10 {
			t.Fatalf("maxUnavailable 0: only %d available", avail)
		}
		return r.Status.Phase == rollout.PhasePaused
	})
	if w.Replicas("v1") != 8 || w.Replicas("v2") != 2 {
		t.Fatalf("20%% of 10 without a router: want 8 stable + 2 canary, got %d + %d", w.Replicas("v1"), w.Replicas("v2"))
	}
	res := w.Step(spec)
	if weightOf(res.Plan, "v2") != 20 {
		t.Fatalf("effective weight follows ready replicas: %+v", res.Plan.Traffic.Weights)
	}
}

func TestCanaryBackgroundAnalysisFailureAborts(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), pauseFor(time.Hour), weight(50), pauseFor(time.Hour))
	spec.Canary.Analysis = &rollout.BackgroundAnalysis{AnalysisSpec: *analysis("error-rate"), StartingStep: 1}
	b := sim.Behaviour{Router: true, ReadyAfter: 2 * time.Second, AnalysisTakes: 90 * time.Second,
		Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return rollout.AnalysisFailed }}
	w := deployed(t, b, spec)
	spec.TemplateHash = "v2"

	res := drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return len(r.Plan.StartAnalysis) > 0 })
	req := res.Plan.StartAnalysis[0]
	if req.Kind != rollout.AnalysisBackground || *res.Status.CurrentStepIndex < 1 || req.Revision != "v2" || req.Stable != "v1" {
		t.Fatalf("background analysis should start at startingStep 1: %+v at step %d", req, *res.Status.CurrentStepIndex)
	}
	res = drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhaseDegraded))
	if !res.Status.Abort || weightOf(res.Plan, "v1") != 100 || !strings.Contains(res.Status.Message, "background analysis") {
		t.Fatalf("failed background analysis must abort to stable: %+v %q", res.Plan.Traffic.Weights, res.Status.Message)
	}
	drive(t, w, spec, time.Minute, func(rollout.Result) bool { return w.Replicas("v2") == 0 })
}

func TestCanaryInlineAnalysisStep(t *testing.T) {
	for _, tc := range []struct {
		verdict rollout.AnalysisPhase
		want    func(rollout.Result) bool
	}{
		{rollout.AnalysisSuccessful, stableIs("v2")},
		{rollout.AnalysisFailed, phaseIs(rollout.PhaseDegraded)},
		{rollout.AnalysisInconclusive, phaseIs(rollout.PhasePaused)},
	} {
		t.Run(string(tc.verdict), func(t *testing.T) {
			spec := canarySpec("v1", 2, weight(50), rollout.CanaryStep{Analysis: analysis("accuracy")})
			b := sim.Behaviour{Router: true, AnalysisTakes: time.Minute,
				Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return tc.verdict }}
			w := deployed(t, b, spec)
			spec.TemplateHash = "v2"
			res := drive(t, w, spec, 5*time.Minute, tc.want)
			if tc.verdict == rollout.AnalysisFailed && !res.Status.Abort {
				t.Fatal("failed step analysis must abort")
			}
		})
	}
}

func TestPauseUntilAnalysisCondition(t *testing.T) {
	cond := rollout.CanaryStep{Pause: &rollout.PauseStep{Analysis: &rollout.PauseAnalysis{SuccessCondition: "result >= 0.9", MetricName: "accuracy"}}}
	spec := canarySpec("v1", 2, weight(50), cond, weight(100))
	spec.Canary.Analysis = &rollout.BackgroundAnalysis{AnalysisSpec: *analysis("accuracy")}
	b := sim.Behaviour{Router: true, AnalysisTakes: 10 * time.Minute, Metrics: map[string]any{"accuracy": 0.7}}
	w := deployed(t, b, spec)
	spec.TemplateHash = "v2"
	res := drive(t, w, spec, time.Minute, stepIs(1))
	w.Advance(30 * time.Minute)
	if res = w.Step(spec); *res.Status.CurrentStepIndex != 1 || res.Status.Phase != rollout.PhasePaused {
		t.Fatalf("accuracy 0.7 must hold the pause: step %d phase %s %q", *res.Status.CurrentStepIndex, res.Status.Phase, res.Status.Message)
	}
	w.B.Metrics = map[string]any{"accuracy": 0.95}
	drive(t, w, spec, time.Minute, stableIs("v2"))

	// the same pause aborts when the analysis fails
	w2 := deployed(t, sim.Behaviour{Router: true, AnalysisTakes: time.Minute, Metrics: map[string]any{"accuracy": 0.5},
		Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return rollout.AnalysisFailed }}, spec)
	res = drive(t, w2, spec, 5*time.Minute, phaseIs(rollout.PhaseDegraded))
	if !res.Status.Abort {
		t.Fatalf("a failed run while paused on its condition must abort: %q", res.Status.Message)
	}
}

func TestCanaryScaleHeaderAndMirrorRoutes(t *testing.T) {
	spec := canarySpec("v1", 10,
		rollout.CanaryStep{SetCanaryScale: &rollout.SetCanaryScale{Replicas: i32(3)}},
		rollout.CanaryStep{SetHeaderRoute: &rollout.HeaderRoute{Name: "beta", Match: []rollout.HeaderMatch{{HeaderName: "x-beta", HeaderValue: rollout.StringMatch{Exact: "1"}}}}},
		rollout.CanaryStep{SetMirrorRoute: &rollout.MirrorRoute{Name: "shadow", Percentage: 50, Match: []rollout.RouteMatch{{Path: &rollout.StringMatch{Prefix: "/v1/predict"}}}}},
		pauseForever(),
		rollout.CanaryStep{SetHeaderRoute: &rollout.HeaderRoute{Name: "beta"}},
		pauseForever(),
	)
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: 5 * time.Second}, spec)
	spec.TemplateHash = "v2"
	res := drive(t, w, spec, time.Minute, stepIs(3))
	if replicasOf(res.Plan, "v2") != 3 || weightOf(res.Plan, "v2") != 0 {
		t.Fatalf("setCanaryScale 3 with weight 0: %+v %+v", res.Plan.Revisions, res.Plan.Traffic.Weights)
	}
	if len(res.Plan.Traffic.HeaderRoutes) != 0 {
		t.Fatalf("routes must wait for a ready canary: %+v", res.Plan.Traffic.HeaderRoutes)
	}
	drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return len(r.Plan.Traffic.HeaderRoutes) == 1 })
	res = w.Step(spec)
	if h := res.Plan.Traffic.HeaderRoutes[0]; h.Name != "beta" || h.Revision != "v2" || len(res.Plan.Traffic.Mirrors) != 1 || res.Plan.Traffic.Mirrors[0].Percentage != 50 {
		t.Fatalf("header + mirror routes to canary: %+v", res.Plan.Traffic)
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "p", Kind: rollout.CommandPromote})
	res = drive(t, w, spec, time.Minute, stepIs(5))
	if len(res.Plan.Traffic.HeaderRoutes) != 0 || len(res.Plan.Traffic.Mirrors) != 1 {
		t.Fatalf("setHeaderRoute without match removes the route: %+v", res.Plan.Traffic)
	}
}

func TestExperimentStepIsDegradedUntilPromotedPast(t *testing.T) {
	spec := canarySpec("v1", 2, weight(50), rollout.CanaryStep{Experiment: true}, weight(100))
	w := deployed(t, sim.Behaviour{Router: true}, spec)
	spec.TemplateHash = "v2"
	res := drive(t, w, spec, time.Minute, phaseIs(rollout.PhaseDegraded))
	if !strings.Contains(res.Status.Message, "steps[1].experiment: experiment steps are not supported yet") {
		t.Fatalf("message: %q", res.Status.Message)
	}
	if weightOf(res.Plan, "v2") != 50 {
		t.Fatalf("a blocked rollout keeps its traffic: %+v", res.Plan.Traffic.Weights)
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "skip", Kind: rollout.CommandPromote})
	drive(t, w, spec, time.Minute, stableIs("v2"))
}

func TestNewRevisionMidRolloutRestartsAtStepZero(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), pauseForever(), weight(50), pauseForever())
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: 2 * time.Second}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))
	w.Commands = append(w.Commands, rollout.Command{ID: "p", Kind: rollout.CommandPromote})
	drive(t, w, spec, time.Minute, stepIs(3))
	spec.TemplateHash = "v3"
	res := w.Step(spec)
	if *res.Status.CurrentStepIndex != 0 || res.Status.CurrentPodHash != "v3" || res.Status.StableRS != "v1" {
		t.Fatalf("v3 mid-rollout: step %d current %s stable %s", *res.Status.CurrentStepIndex, res.Status.CurrentPodHash, res.Status.StableRS)
	}
	if weightOf(res.Plan, "v2") != 0 || weightOf(res.Plan, "v1") != 100 {
		t.Fatalf("the replaced canary loses its traffic at once: %+v", res.Plan.Traffic.Weights)
	}
	res = drive(t, w, spec, time.Minute, stepIs(1))
	if weightOf(res.Plan, "v3") != 25 {
		t.Fatalf("v3 at 25%%: %+v", res.Plan.Traffic.Weights)
	}
	drive(t, w, spec, time.Minute, func(rollout.Result) bool { return w.Replicas("v2") == 0 })
}

func TestProgressDeadlineDegradesWhenCanaryNeverReady(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), pauseForever())
	spec.ProgressDeadlineSeconds = 120
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: time.Second}, spec)
	spec.TemplateHash = "v2"
	w.B.NeverReady = map[string]bool{"v2": true}
	start := w.Now
	res := drive(t, w, spec, 10*time.Minute, phaseIs(rollout.PhaseDegraded))
	if el := w.Now.Sub(start); el < 120*time.Second || el > 125*time.Second {
		t.Fatalf("deadline 120s hit after %s", el)
	}
	if !strings.Contains(res.Status.Message, "ProgressDeadlineExceeded") || weightOf(res.Plan, "v1") != 100 {
		t.Fatalf("message %q weights %+v", res.Status.Message, res.Plan.Traffic.Weights)
	}
}

// A first deploy whose replicas never become ready goes Degraded at the progress deadline,
// with an event, as Argo and Kubernetes Deployments do; before, it stayed Progressing.
func TestProgressDeadlineAppliesToTheFirstDeploy(t *testing.T) {
	for name, spec := range map[string]rollout.Spec{
		"canary":     canarySpec("v1", 3, weight(25), pauseForever()),
		"blue-green": {Name: "ro", Replicas: 3, TemplateHash: "v1", BlueGreen: &rollout.BlueGreenStrategy{}},
		"rolling":    {Name: "ro", Replicas: 3, TemplateHash: "v1", Rolling: &rollout.RollingStrategy{}},
	} {
		t.Run(name, func(t *testing.T) {
			spec.ProgressDeadlineSeconds = 90
			w := sim.New(sim.Behaviour{NeverReady: map[string]bool{"v1": true}}, t0)
			res := drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhaseDegraded))
			if el := w.Now.Sub(t0); el < 90*time.Second || el > 95*time.Second {
				t.Fatalf("Degraded after %s, want at the 90s deadline", el)
			}
			if !strings.Contains(res.Status.Message, "ProgressDeadlineExceeded") {
				t.Fatalf("message %q", res.Status.Message)
			}
			found := false
			for _, e := range res.Events {
				found = found || e.Reason == "ProgressDeadlineExceeded"
			}
			if !found {
				t.Fatalf("no ProgressDeadlineExceeded event: %+v", res.Events)
			}
			// Replicas that become ready after all end it.
			w.B.NeverReady = nil
			drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhaseHealthy))
		})
	}
}
