package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/store"
)

const statusSpec = `{"spec":{"strategy":{"canary":{"steps":[{"setWeight":20},{"pause":{"duration":"5m"}},{"setWeight":50},{"pause":{}}]}}}}`

func statusView(step int32, pauses ...v1alpha1.PauseCondition) apiservice.RolloutView {
	return apiservice.RolloutView{
		Name: "web", Strategy: "canary", Steps: 4, Spec: json.RawMessage(statusSpec),
		Status: v1alpha1.RolloutStatus{Phase: "Paused", CurrentStepIndex: &step, PauseConditions: pauses},
		Analysis: []progress.RunRef{{Name: "web-5d8f-1", Kind: "background", Phase: "Running",
			Latest: map[string]string{"error-rate": "", "accuracy": "0.44886363636363635", "p99": "[0.123456,2]", "count": "524"}}},
	}
}

// Issue 11.9: a measurement without a value showed "error-rate=", and floats all their digits.
func TestStatusSaysWhyAMetricHasNoDataAndRoundsFloats(t *testing.T) {
	runs := []apiservice.AnalysisRunView{{AnalysisRun: store.AnalysisRun{Name: "web-5d8f-1"}, Measurements: []store.Measurement{
		{Run: "web-5d8f-1", Metric: "error-rate", Phase: "Successful", Value: "0.01"},
		{Run: "web-5d8f-1", Metric: "error-rate", Phase: "Inconclusive", Message: "no requests reached the canary in the last 30s"},
	}}}
	var paths []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/analysisruns") {
			_ = json.NewEncoder(w).Encode(runs)
			return
		}
		_ = json.NewEncoder(w).Encode(statusView(2))
	}))
	t.Cleanup(ts.Close)
	out, err := runCLI(t, "", "status", "web", "--server", ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"error-rate=no data (Inconclusive: no requests reached the canary in the last 30s)",
		"accuracy=0.4489", "p99=[0.1235,2]", "count=524",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "error-rate= ") || strings.Contains(out, "0.44886") {
		t.Errorf("status shows a blank or unrounded value:\n%s", out)
	}
	if len(paths) != 2 || paths[1] != "/api/v1/rollouts/web/analysisruns" {
		t.Errorf("requests %q", paths)
	}
}

// Issue 11.9: a timed pause did not say how long was left.
func TestStatusShowsTimeLeftOnATimedPause(t *testing.T) {
	now := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	started := metav1.NewTime(now.Add(-2*time.Minute - 15*time.Second))
	out := renderStatus(statusInput{view: statusView(1, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: started}), now: now})
	if want := "paused (CanaryPauseStep) for 2m15s; resumes in 2m45s (pause of 5m0s)"; !strings.Contains(out, want) {
		t.Errorf("status lacks %q:\n%s", want, out)
	}
	out = renderStatus(statusInput{view: statusView(3, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: started}), now: now})
	if want := "paused (CanaryPauseStep) for 2m15s; waiting for promote"; !strings.Contains(out, want) {
		t.Errorf("indefinite pause: status lacks %q:\n%s", want, out)
	}
	if !strings.Contains(out, "error-rate=no data (the measurement returned no value)") {
		t.Errorf("no runs: %s", out)
	}
}
