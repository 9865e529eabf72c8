package sim_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func i32(v int32) *int32 { return &v }

func seedCanary() rollout.Spec {
	d10, d30 := 10*time.Minute, 30*time.Minute
	return rollout.Spec{Name: "detector", Replicas: 10, TemplateHash: "x", Canary: &rollout.CanaryStrategy{
		Analysis: &rollout.BackgroundAnalysis{AnalysisSpec: rollout.AnalysisSpec{Templates: []rollout.TemplateRef{{TemplateName: "accuracy"}}}},
		Steps: []rollout.CanaryStep{{SetWeight: i32(5)}, {Pause: &rollout.PauseStep{Duration: &d10}}, {SetWeight: i32(20)},
			{Pause: &rollout.PauseStep{Duration: &d30}}, {SetWeight: i32(50)},
			{Pause: &rollout.PauseStep{Analysis: &rollout.PauseAnalysis{SuccessCondition: "result >= 0.9", MetricName: "model-accuracy"}}},
			{SetWeight: i32(100)}},
	}}
}

func opts(scenario string, t *testing.T) sim.Options {
	sc, err := sim.ParseScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	return sim.Options{Scenario: sc, Router: true, ReadyAfter: 5 * time.Second, AnalysisTakes: time.Minute, PromoteAfter: time.Minute}
}

func TestTimelineScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		phase    rollout.Phase
		stable   string
		min, max time.Duration
		contains string
	}{
		{"healthy", rollout.PhaseHealthy, "v2", 40 * time.Minute, 42 * time.Minute, "step 6/7 completed"},
		{"analysis-fails-at-step=3", rollout.PhaseDegraded, "v1", 10 * time.Minute, 11 * time.Minute, "aborted: background analysis"},
		{"analysis-fails", rollout.PhaseDegraded, "v1", time.Minute, 2 * time.Minute, "aborted"},
		{"canary-never-ready", rollout.PhaseDegraded, "v1", 20 * time.Minute, 21 * time.Minute, "made no progress"},
		{"abort-at=5m", rollout.PhaseDegraded, "v1", 5 * time.Minute, 6 * time.Minute, "operator: abort"},
		{"rollback=immediate@12m", rollout.PhaseDegraded, "v1", 12 * time.Minute, 13 * time.Minute, "all traffic to stable"},
		{"new-revision-at=15m", rollout.PhaseHealthy, "v3", 55 * time.Minute, 57 * time.Minute, "ships v3"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			var out bytes.Buffer
			o := sim.Timeline(&out, seedCanary(), opts(tc.scenario, t))
			if o.Phase != tc.phase || o.Stable != tc.stable || o.Elapsed < tc.min || o.Elapsed > tc.max || !strings.Contains(out.String(), tc.contains) {
				t.Fatalf("outcome %+v, want %s/%s in [%s,%s] mentioning %q:\n%s", o, tc.phase, tc.stable, tc.min, tc.max, tc.contains, out.String())
			}
		})
	}
}

func TestTimelineBlueGreenWaitsForOperator(t *testing.T) {
	no := false
	spec := rollout.Spec{Name: "bg", Replicas: 5, TemplateHash: "x", BlueGreen: &rollout.BlueGreenStrategy{ActiveService: "a", AutoPromotionEnabled: &no,
		PrePromotionAnalysis: &rollout.AnalysisSpec{Templates: []rollout.TemplateRef{{TemplateName: "smoke"}}}}}
	var out bytes.Buffer
	o := sim.Timeline(&out, spec, opts("healthy", t))
	if o.Stable != "v2" || !strings.Contains(out.String(), "operator: promote") || !strings.Contains(out.String(), "paused until promoted") {
		t.Fatalf("%+v\n%s", o, out.String())
	}
}

func TestParseScenarioRejects(t *testing.T) {
	for _, s := range []string{"nope", "analysis-fails-at-step=x", "rollback=sideways", "abort-at=soon", "analysis-fails-at-step=-1"} {
		if _, err := sim.ParseScenario(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
