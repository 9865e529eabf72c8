package rollout_test

import (
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

// inconclusivePre is a world whose pre-promotion run is Inconclusive and every other run
// succeeds.
func inconclusivePre(req rollout.AnalysisRequest, _ rollout.Status) rollout.AnalysisPhase {
	if req.Kind == rollout.AnalysisPrePromotion {
		return rollout.AnalysisInconclusive
	}
	return rollout.AnalysisSuccessful
}

// TestBlueGreenPromoteAfterInconclusivePrePromotion: promote (or resume) after an
// Inconclusive pre-promotion run goes on to the switch and still runs post-promotion
// analysis, as Argo does (issue 11.1: it paused again at once).
func TestBlueGreenPromoteAfterInconclusivePrePromotion(t *testing.T) {
	for _, kind := range []rollout.CommandKind{rollout.CommandPromote, rollout.CommandResume} {
		t.Run(string(kind), func(t *testing.T) {
			spec := bgSpec(rollout.BlueGreenStrategy{
				ActiveService: "active", PreviewService: "preview",
				PrePromotionAnalysis: analysis("smoke"), PostPromotionAnalysis: analysis("post"),
			})
			w := deployed(t, sim.Behaviour{AnalysisTakes: time.Minute, Verdict: inconclusivePre}, spec)
			spec.TemplateHash = "v2"
			res := drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhasePaused))
			if !hasPause(res.Status, rollout.PauseInconclusive) {
				t.Fatalf("want an inconclusive pause, got %+v", res.Status.PauseConditions)
			}
			w.Commands = append(w.Commands, cmd("go", kind))
			res = w.Step(spec)
			if hasPause(res.Status, rollout.PauseInconclusive) {
				t.Fatalf("%s after Inconclusive paused again: %+v", kind, res.Status.PauseConditions)
			}
			res = drive(t, w, spec, time.Minute, func(r rollout.Result) bool { return r.Status.BlueGreen.ActiveSelector == "v2" })
			res = drive(t, w, spec, 5*time.Minute, stableIs("v2"))
			if w.RunPhase("ro-v2-0-post") != rollout.AnalysisSuccessful {
				t.Fatalf("post-promotion analysis must still run: phase %q", w.RunPhase("ro-v2-0-post"))
			}
		})
	}
}

// TestCanaryResumeAfterInconclusiveStepAnalysis: resume after an Inconclusive step analysis
// completes the step instead of pausing again.
func TestCanaryResumeAfterInconclusiveStepAnalysis(t *testing.T) {
	spec := canarySpec("v1", 4, weight(25), rollout.CanaryStep{Analysis: analysis("a")}, weight(50))
	verdict := func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase {
		return rollout.AnalysisInconclusive
	}
	w := deployed(t, sim.Behaviour{Router: true, AnalysisTakes: time.Minute, Verdict: verdict}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, 5*time.Minute, phaseIs(rollout.PhasePaused))
	w.Commands = append(w.Commands, cmd("go", rollout.CommandResume))
	drive(t, w, spec, 5*time.Minute, stableIs("v2"))
}

// TestPromoteFullKeepsWeightUntilCanaryAvailable: promote --full never puts more traffic on
// the canary than its available replicas can serve; the weight shifts once it is fully
// available (issue 11.2: 100% with 1 of 10 ready). The step counter then reads 7/7 as after a
// first deploy (issue 11.3: 1/7).
func TestPromoteFullKeepsWeightUntilCanaryAvailable(t *testing.T) {
	spec := canarySpec("v1", 10, weight(5), pauseForever(), weight(20), pauseForever(), weight(50), pauseForever(), weight(100))
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: 5 * time.Second}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, time.Minute, stepIs(1))
	w.Commands = append(w.Commands, cmd("full", rollout.CommandPromoteFull))
	var res rollout.Result
	for range 120 {
		obs := w.Observe()
		res = rollout.Reconcile(spec, w.Status, obs, w.Now)
		var avail int32
		for _, rv := range obs.Revisions {
			if rv.Hash == "v2" {
				avail = rv.Available
			}
		}
		if got, most := weightOf(res.Plan, "v2"), avail*100/spec.Replicas; got > max(most, 5) {
			t.Fatalf("at %s: canary weight %d%% with %d/%d available (at most %d%%)", w.Now.Sub(t0), got, avail, spec.Replicas, max(most, 5))
		}
		w.Apply(res)
		if res.Status.StableRS == "v2" {
			break
		}
		w.Advance(time.Second)
	}
	if res.Status.StableRS != "v2" || weightOf(res.Plan, "v2") != 100 {
		t.Fatalf("promote --full did not complete: %+v", res.Status)
	}
	res = drive(t, w, spec, time.Minute, phaseIs(rollout.PhaseHealthy))
	if i := res.Status.CurrentStepIndex; i == nil || *i != 7 {
		t.Fatalf("step after promote --full = %v, want 7/7", i)
	}
}

// TestPromoteOneStepKeepsWeightUntilCanaryAvailable: promoting past a setWeight step the
// canary has not reached does not move traffic ahead of its replicas.
func TestPromoteOneStepKeepsWeightUntilCanaryAvailable(t *testing.T) {
	spec := canarySpec("v1", 10, weight(10), pauseForever(), weight(90), pauseForever())
	w := deployed(t, sim.Behaviour{Router: true, ReadyAfter: 30 * time.Second}, spec)
	spec.TemplateHash = "v2"
	drive(t, w, spec, 2*time.Minute, stepIs(1))
	w.Commands = append(w.Commands, cmd("p1", rollout.CommandPromote))
	res := w.Step(spec) // completes the pause
	w.Commands = append(w.Commands, cmd("p2", rollout.CommandPromote))
	res = w.Step(spec) // skips the setWeight 90 step before its replicas exist
	if got := weightOf(res.Plan, "v2"); got > 10 {
		t.Fatalf("canary weight %d%% with 1/10 available", got)
	}
}

func hasPause(st rollout.Status, reason string) bool {
	for _, p := range st.PauseConditions {
		if p.Reason == reason {
			return true
		}
	}
	return false
}
