package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func bgSpec(b rollout.BlueGreenStrategy) rollout.Spec {
	return rollout.Spec{Name: "ro", Replicas: 5, TemplateHash: "v1", BlueGreen: &b}
}

func TestBlueGreenManualPromotionWithAnalyses(t *testing.T) {
	no := false
	spec := bgSpec(rollout.BlueGreenStrategy{
		ActiveService: "active", PreviewService: "preview", PreviewReplicaCount: i32(2),
		AutoPromotionEnabled: &no, ScaleDownDelaySeconds: i32(30),
		PrePromotionAnalysis: analysis("golden-set"), PostPromotionAnalysis: analysis("error-rate"),
	})
	w := deployed(t, sim.Behaviour{ReadyAfter: 5 * time.Second, AnalysisTakes: time.Minute}, spec)
	spec.TemplateHash = "v2"

	res := w.Step(spec)
	if replicasOf(res.Plan, "v2") != 2 || replicasOf(res.Plan, "v1") != 5 || res.Plan.Traffic.Preview != "" {
		t.Fatalf("preview scaled to previewReplicaCount, not yet routed: %+v", res.Plan)
	}
	res = drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return len(r.Plan.StartAnalysis) > 0 })
	if res.Plan.StartAnalysis[0].Kind != rollout.AnalysisPrePromotion || res.Plan.Traffic.Preview != "v2" {
		t.Fatalf("pre-promotion analysis once the preview is available: %+v", res.Plan)
	}
	res = drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhasePaused))
	w.Advance(time.Hour)
	if res = w.Step(spec); res.Status.Phase != rollout.PhasePaused || weightOf(res.Plan, "v1") != 100 {
		t.Fatalf("autoPromotionEnabled false must wait for promote: %s %+v", res.Status.Phase, res.Plan.Traffic.Weights)
	}
	w.Commands = append(w.Commands, rollout.Command{ID: "go", Kind: rollout.CommandPromote})
	res = drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return r.Status.BlueGreen.ActiveSelector == "v2" })
	if weightOf(res.Plan, "v2") != 100 || w.Replicas("v2") != 5 {
		t.Fatalf("switch after full scale-up: %+v, %d replicas", res.Plan.Traffic.Weights, w.Replicas("v2"))
	}
	if res.Status.StableRS != "v1" || replicasOf(res.Plan, "v1") != 5 {
		t.Fatalf("old active kept at full scale during post-promotion analysis: %+v", res.Plan.Revisions)
	}
	res = drive(t, w, spec, 5*time.Minute, stableIs("v2"))
	if res.Plan.RequeueAfter != 30*time.Second || replicasOf(res.Plan, "v1") != 5 {
		t.Fatalf("scaleDownDelaySeconds 30: %+v requeue %s", res.Plan.Revisions, res.Plan.RequeueAfter)
	}
	w.Advance(29 * time.Second)
	if res = w.Step(spec); replicasOf(res.Plan, "v1") != 5 {
		t.Fatalf("scaled down before the delay: %+v", res.Plan.Revisions)
	}
	w.Advance(time.Second)
	if res = w.Step(spec); replicasOf(res.Plan, "v1") != 0 {
		t.Fatalf("not scaled down after the delay: %+v", res.Plan.Revisions)
	}
}

func TestBlueGreenPostPromotionFailureSwitchesBackInstantly(t *testing.T) {
	spec := bgSpec(rollout.BlueGreenStrategy{ActiveService: "a", PostPromotionAnalysis: analysis("error-rate"), AbortScaleDownDelaySeconds: i32(10)})
	w := deployed(t, sim.Behaviour{ReadyAfter: 2 * time.Second, AnalysisTakes: time.Minute,
		Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return rollout.AnalysisFailed }}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return r.Status.BlueGreen.ActiveSelector == "v2" })
	res := drive(t, w, spec, 2*time.Minute, phaseIs(rollout.PhaseDegraded))
	if res.Status.BlueGreen.ActiveSelector != "v1" || weightOf(res.Plan, "v1") != 100 || res.Status.StableRS != "v1" {
		t.Fatalf("switch back to v1 in the same reconcile: %+v active %s", res.Plan.Traffic.Weights, res.Status.BlueGreen.ActiveSelector)
	}
	if !strings.Contains(res.Status.Message, "post-promotion") || replicasOf(res.Plan, "v2") != 5 {
		t.Fatalf("message %q, v2 kept for abortScaleDownDelaySeconds: %+v", res.Status.Message, res.Plan.Revisions)
	}
	w.Advance(10 * time.Second)
	if res = w.Step(spec); replicasOf(res.Plan, "v2") != 0 {
		t.Fatalf("v2 should be scaled down after 10s: %+v", res.Plan.Revisions)
	}
}

func TestBlueGreenAutoPromotionSeconds(t *testing.T) {
	spec := bgSpec(rollout.BlueGreenStrategy{ActiveService: "a", AutoPromotionSeconds: 60})
	w := deployed(t, sim.Behaviour{ReadyAfter: 2 * time.Second}, spec)
	spec.TemplateHash = "v2"
	res := drive(t, w, spec, time.Minute, phaseIs(rollout.PhasePaused))
	pausedAt := w.Now
	if res.Plan.RequeueAfter != time.Minute {
		t.Fatalf("requeue at the auto promotion time: %s", res.Plan.RequeueAfter)
	}
	drive(t, w, spec, 2*time.Minute, func(r rollout.Result) bool { return r.Status.BlueGreen.ActiveSelector == "v2" })
	if el := w.Now.Sub(pausedAt); el != time.Minute {
		t.Fatalf("promoted %s after pausing, want 60s", el)
	}
}

func TestBlueGreenPrePromotionFailureAborts(t *testing.T) {
	spec := bgSpec(rollout.BlueGreenStrategy{ActiveService: "a", PrePromotionAnalysis: analysis("golden")})
	w := deployed(t, sim.Behaviour{AnalysisTakes: time.Minute,
		Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return rollout.AnalysisFailed }}, spec)
	spec.TemplateHash = "v2"
	res := drive(t, w, spec, 2*time.Minute, phaseIs(rollout.PhaseDegraded))
	if res.Status.BlueGreen.ActiveSelector != "v1" || weightOf(res.Plan, "v1") != 100 || !res.Status.Abort {
		t.Fatalf("pre-promotion failure never switches: %+v", res.Status.BlueGreen)
	}
	// retry runs a fresh pre-promotion analysis (new attempt number in the run name)
	w.B.Verdict = nil
	w.Commands = append(w.Commands, rollout.Command{ID: "r", Kind: rollout.CommandRetry})
	res = w.Step(spec)
	if res.Status.Abort || res.Status.Attempt != 1 {
		t.Fatalf("retry: abort %v attempt %d", res.Status.Abort, res.Status.Attempt)
	}
	drive(t, w, spec, 5*time.Minute, stableIs("v2"))
}
