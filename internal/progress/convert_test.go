package progress

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
)

func ptr[T any](v T) *T { return &v }

// fullRecord sets every field a record can carry (times on whole seconds: the stored form
// keeps seconds, as Kubernetes does).
func fullRecord() Record {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	return Record{
		Engine: rollout.Status{
			Phase: rollout.PhasePaused, Message: "paused", CurrentPodHash: "new", StableRS: "old",
			CurrentStepIndex: ptr(int32(2)), CurrentStepHash: "steps", ControllerPause: true, Abort: true, AbortedAt: ptr(at(1)),
			AbortMessage: "why", PromoteFull: true, Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3,
			PauseConditions: []rollout.PauseCondition{{Reason: "CanaryPauseStep", StartTime: at(2)}},
			Conditions:      []rollout.Condition{{Type: "Progressing", Status: "True", Reason: "r", Message: "m", LastTransitionTime: at(3)}},
			Canary: rollout.CanaryStatus{
				CurrentStepAnalysisRunStatus:       &rollout.AnalysisRunStatus{Name: "step", Status: "Running", Message: "x"},
				CurrentBackgroundAnalysisRunStatus: &rollout.AnalysisRunStatus{Name: "bg", Status: "Successful"},
				Weights:                            []rollout.RevisionWeight{{Hash: "old", Weight: 70}, {Hash: "mid", Weight: 10}, {Hash: "new", Weight: 20}},
			},
			BlueGreen: rollout.BlueGreenStatus{ActiveSelector: "old", PreviewSelector: "new", ScaleUpPreviewCheckPoint: true,
				PrePromotionAnalysisRunStatus:  &rollout.AnalysisRunStatus{Name: "pre", Status: "Inconclusive"},
				PostPromotionAnalysisRunStatus: &rollout.AnalysisRunStatus{Name: "post", Status: "Failed"},
				PreviewAvailableAt:             ptr(at(4)), Promoted: true},
			Attempt: 3, ScaleDowns: []rollout.ScaleDown{{Hash: "older", At: at(5)}},
			Rollback: &rollout.RollbackStatus{Action: "staged", Trigger: "errors", Reason: "5xx", StartedAt: at(6), Until: at(7), RestoreWeight: 20, CutWeight: 5, Done: true},
			Undo:     &rollout.UndoStatus{CommandID: "c1", From: "new", Target: "older"},
			History:  []string{"older", "old"}, ProcessedCommands: []string{"c0"},
			LastProgressAt: ptr(at(8)), ProgressMark: "mark", DeadlineExceeded: true, Blocked: "blocked",
		},
		Templates: map[string]corev1.PodTemplateSpec{"new": {Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "d", Image: "i"}}}}},
		Commands:  []rollout.Command{{ID: "c2", Kind: rollout.CommandPromote, Revision: "r"}},
		Runs:      []RunRef{{Name: "run", Kind: rollout.AnalysisStep, Revision: "new", Stable: "old", Done: true, Phase: "Successful", Latest: map[string]string{"m": "0.1"}}},
		Traffic: rollout.Traffic{
			Weights: []rollout.RevisionWeight{{Hash: "old", Weight: 80}, {Hash: "new", Weight: 20}},
			HeaderRoutes: []rollout.HeaderRouteTarget{{Revision: "new", HeaderRoute: rollout.HeaderRoute{Name: "h",
				Match: []rollout.HeaderMatch{{HeaderName: "x-canary", HeaderValue: rollout.StringMatch{Exact: "yes"}}}}}},
			Mirrors: []rollout.MirrorTarget{{Revision: "new", MirrorRoute: rollout.MirrorRoute{Name: "m", Percentage: 25,
				Match: []rollout.RouteMatch{{Method: &rollout.StringMatch{Exact: "POST"}, Path: &rollout.StringMatch{Prefix: "/v2"}, Headers: map[string]rollout.StringMatch{"a": {Regex: "b.*"}}}}}}},
			Preview: "new",
		},
		Revisions: []RevisionView{{Hash: "new", Role: "canary", Desired: 2, Replicas: 2, Ready: 1, Available: 1, Failed: 1, Weight: 20, Model: "v2"}},
		HistoryID: 7, HistoryRevision: "new", HistoryStartedAt: at(9), HistoryModel: "v2@sha256:ab",
		RollbackCause: "cause", Triggers: json.RawMessage(`{"errors":{"fired":true}}`), CompletedAt: ptr(at(10)),
	}
}

func TestStoredFormRoundTrips(t *testing.T) {
	rec := fullRecord()
	b, err := json.Marshal(Encode(rec, 5))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"engine"`) {
		t.Fatal("the stored form must not keep a second copy of the engine's status")
	}
	_, got, err := Decode(store.Rollout{Name: "det", Spec: []byte(`{"metadata":{"name":"det"}}`), Status: b})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.ObservedGeneration != "5" || got.Status.Shipsafe == nil {
		t.Fatalf("decoded status %+v", got.Status)
	}
	again, _ := json.Marshal(Encode(got, got.ObservedGeneration()))
	if string(again) != string(b) {
		t.Fatalf("encoding is not a fixed point:\n%s\n%s", again, b)
	}
	got.Status = rec.Status
	if !reflect.DeepEqual(got, rec) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(rec)
		t.Fatalf("round trip changed the record:\n got %s\nwant %s", gj, wj)
	}
}

func TestLegacyRecordsStillDecode(t *testing.T) {
	legacy := `{"status":{"phase":"Healthy","stableRS":"old","observedGeneration":"2"},"engine":{"phase":"Healthy","stableRS":"old","currentPodHash":"old","replicas":2},"commands":[{"id":"c","kind":"promote"}],"historyID":3}`
	_, rec, err := Decode(store.Rollout{Name: "det", Spec: []byte(`{}`), Status: []byte(legacy)})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Engine.StableRS != "old" || rec.Engine.Replicas != 2 || len(rec.Commands) != 1 || rec.HistoryID != 3 || rec.ObservedGeneration() != 2 {
		t.Fatalf("legacy record %+v", rec)
	}
}

func TestEmptyStatusDecodes(t *testing.T) {
	_, rec, err := Decode(store.Rollout{Name: "det", Spec: []byte(`{}`)})
	if err != nil || rec.Templates == nil || rec.Engine.Phase != "" {
		t.Fatalf("%+v %v", rec, err)
	}
	if _, _, err := Decode(store.Rollout{Name: "det", Spec: []byte(`{`)}); err == nil {
		t.Fatal("a broken spec must be an error")
	}
}
