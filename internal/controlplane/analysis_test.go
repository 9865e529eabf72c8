package controlplane

import (
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
)

const canaryWithAnalysis = `    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates:
          - templateName: error-rate
      - pause: {}
`

const errorRateTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
spec:
  metrics:
  - name: error-rate
    interval: 10s
    count: 1
    successCondition: result < 0.05
    provider:
      web:
        url: http://127.0.0.1:1/never-called
`

// TestMissingTemplateMakesAnErrorRun: a step analysis whose template was never applied is
// an Error run (with the reason in an event), and the engine treats it like any analysis
// that could not measure — it does not promote.
func TestMissingTemplateMakesAnErrorRun(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", canaryWithAnalysis))
	h.passes("det", 3)
	h.apply(rolloutYAML("det", "v2", canaryWithAnalysis))
	h.passes("det", 6)
	runs, err := h.store.ListAnalysisRuns(t.Context(), "det")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v %v: want the one step run", runs, err)
	}
	if runs[0].Phase != "Error" || !strings.Contains(string(runs[0].Status), "AnalysisTemplate/error-rate not found") {
		t.Fatalf("run %s %s: want Error naming the missing template", runs[0].Phase, runs[0].Status)
	}
	if count(h.reasons("det"), "AnalysisRunError") != 1 {
		t.Fatalf("events %v: want one AnalysisRunError", h.reasons("det"))
	}
	if st := h.engine("det"); st.StableRS == st.CurrentPodHash {
		t.Fatalf("the revision was promoted past a failed analysis: %+v", st)
	}
}

// TestStepAnalysisRunsFromTheStoredTemplate: with the template applied, the run is built
// from it (its metric and provider), stored with the rollout's labels, and driven by the
// control plane.
func TestStepAnalysisRunsFromTheStoredTemplate(t *testing.T) {
	h := newHarness(t)
	h.apply(errorRateTemplate)
	h.apply(rolloutYAML("det", "v1", canaryWithAnalysis))
	h.passes("det", 3)
	h.apply(rolloutYAML("det", "v2", canaryWithAnalysis))
	h.passes("det", 3)
	runs, err := h.store.ListAnalysisRuns(t.Context(), "det")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	r := runs[0]
	if r.Revision != h.engine("det").CurrentPodHash || !strings.Contains(string(r.Spec), `"error-rate"`) || !strings.Contains(string(r.Spec), "never-called") {
		t.Fatalf("run %+v: want the template's metric for the canary revision", r)
	}
	l := h.loaded("det")
	if len(l.rec.Runs) != 1 || l.rec.Runs[0].Name != r.Name {
		t.Fatalf("the record tracks %+v, want %s", l.rec.Runs, r.Name)
	}
	// The template is not a rollout: no worker would be started for it.
	ros, _ := h.store.ListRollouts(t.Context())
	if len(ros) != 1 {
		t.Fatalf("rollouts %d, want 1 (templates are stored apart)", len(ros))
	}
	if _, err := h.store.GetTemplate(t.Context(), store.KindAnalysisTemplate, "error-rate"); err != nil {
		t.Fatal(err)
	}
}
