package kubernetes_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
)

var analysisRunsGVR = v1alpha1.SchemeGroupVersion.WithResource("analysisruns")

// TestAnalysisRunKeepsEveryMeasurement stores a run the way the control plane does — its
// status keeps the latest 3 measurements (measurementRetention), each put adds the new one —
// and finds all of them on the AnalysisRun object (Argo's shape), owned by the Rollout, while
// GetAnalysisRun gives back the status as the caller stored it.
func TestAnalysisRunKeepsEveryMeasurement(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: canaryRollout("det", "m:2")}})
	if err != nil {
		t.Fatal(err)
	}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "det-new-bg", Labels: map[string]string{"shipsafe.dev/role": "canary"}},
		Spec:       v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "errors", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://example.invalid"}}}}},
		Status:     v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{{Name: "errors", Phase: v1alpha1.AnalysisPhaseRunning}}},
	}
	t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	run.Status.StartedAt = &metav1.Time{Time: t0}
	const n, retention = 12, 3
	for i := 1; i <= n; i++ {
		at := metav1.NewTime(t0.Add(time.Duration(i) * time.Minute))
		m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: fmt.Sprint(i), StartedAt: &at, FinishedAt: &at}
		if i > 1 { // as the executor does: the stored status, plus one, trimmed
			got, err := f.s.GetAnalysisRun(f.ctx, run.Name)
			if err != nil {
				t.Fatal(err)
			}
			var st v1alpha1.AnalysisRunStatus
			if err := json.Unmarshal(got.Status, &st); err != nil {
				t.Fatal(err)
			}
			if l := len(st.MetricResults[0].Measurements); l != min(i-1, retention) {
				t.Fatalf("put %d: GetAnalysisRun holds %d measurements, want the %d the caller kept", i, l, min(i-1, retention))
			}
			run.Status = st
		}
		mr := &run.Status.MetricResults[0]
		mr.Measurements = append(mr.Measurements, m)
		if len(mr.Measurements) > retention {
			mr.Measurements = mr.Measurements[len(mr.Measurements)-retention:]
		}
		mr.Count++
		if i == n {
			run.Status.Phase, mr.Phase = v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseSuccessful
		}
		spec, _ := json.Marshal(v1alpha1.AnalysisRun{ObjectMeta: run.ObjectMeta, Spec: run.Spec})
		status, _ := json.Marshal(run.Status)
		rec := store.AnalysisRun{Name: run.Name, Rollout: "det", Revision: "new", Phase: string(run.Status.Phase), Spec: spec, Status: status, StartedAt: t0}
		if i == n {
			rec.FinishedAt = at.Time
		}
		fresh := store.Measurement{Run: run.Name, Metric: "errors", Phase: string(m.Phase), Value: m.Value, StartedAt: at.Time, FinishedAt: at.Time,
			Data: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}
		if err := f.s.PutAnalysisRun(f.ctx, rec, fresh); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}

	ms, err := f.s.ListMeasurements(f.ctx, run.Name)
	if err != nil || len(ms) != n {
		t.Fatalf("ListMeasurements: %d, %v; want %d", len(ms), err, n)
	}
	for i, m := range ms {
		if m.ID != int64(i+1) || m.Value != fmt.Sprint(i+1) || m.Metric != "errors" || string(m.Data) != fmt.Sprintf(`{"i":%d}`, i+1) || m.FinishedAt.IsZero() {
			t.Errorf("measurement %d: %+v", i, m)
		}
	}
	u, err := f.dyn.Resource(analysisRunsGVR).Namespace(f.ns).Get(f.ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	results, _, _ := unstructured.NestedSlice(u.Object, "status", "metricResults")
	if len(results) != 1 || len(results[0].(map[string]any)["measurements"].([]any)) != n {
		t.Errorf("object status.metricResults: want one metric with all %d measurements: %v", n, results)
	}
	owner := metav1.GetControllerOf(u)
	if owner == nil || owner.Kind != "Rollout" || owner.Name != "det" || owner.UID == "" {
		t.Errorf("owner %+v, want the Rollout det", owner)
	}
	if u.GetLabels()[kubernetes.HashLabel] != "new" || u.GetLabels()["shipsafe.dev/role"] != "canary" {
		t.Errorf("labels %v", u.GetLabels())
	}
	got, err := f.s.GetAnalysisRun(f.ctx, run.Name)
	if err != nil || got.Phase != "Successful" || got.Rollout != "det" || got.Revision != "new" || !got.StartedAt.Equal(t0) || got.FinishedAt.IsZero() {
		t.Fatalf("GetAnalysisRun %+v %v", got, err)
	}
	if !strings.Contains(string(got.Spec), `"shipsafe.dev/role":"canary"`) {
		t.Errorf("spec %s: the run's labels are kept", got.Spec)
	}
	runs, err := f.s.ListAnalysisRuns(f.ctx, "det")
	if err != nil || len(runs) != 1 || runs[0].Name != run.Name {
		t.Errorf("ListAnalysisRuns %+v %v", runs, err)
	}
	if other, _ := f.s.ListAnalysisRuns(f.ctx, "other"); len(other) != 0 {
		t.Errorf("runs of another rollout: %+v", other)
	}
	if _, err := f.s.GetAnalysisRun(f.ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	_ = out
}

// TestAnalysisRunMeasurementsAreBounded: a run whose measurements outgrow the budget keeps
// the newest and counts what it dropped; the object stays storable.
func TestAnalysisRunMeasurementsAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	big := strings.Repeat("x", 2000)
	var fresh []store.Measurement
	for i := range 600 { // ~1.3 MB of messages: over the 800 KiB budget
		fresh = append(fresh, store.Measurement{Metric: "m", Phase: "Successful", Value: fmt.Sprint(i), Message: big, FinishedAt: time.Now()})
	}
	rec := store.AnalysisRun{Name: "det-big", Rollout: "det", Phase: "Running", Spec: json.RawMessage(`{"spec":{"metrics":[]}}`)}
	if err := f.s.PutAnalysisRun(f.ctx, rec, fresh...); err != nil {
		t.Fatal(err)
	}
	ms, err := f.s.ListMeasurements(f.ctx, "det-big")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || len(ms) >= 600 || ms[len(ms)-1].Value != "599" {
		t.Fatalf("kept %d measurements (last %+v): want the newest ones, fewer than 600", len(ms), ms[len(ms)-1].Value)
	}
	u, err := f.dyn.Resource(analysisRunsGVR).Namespace(f.ns).Get(f.ctx, "det-big", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.GetAnnotations()["shipsafe.dev/dropped-measurements"]; got != fmt.Sprint(600-len(ms)) {
		t.Errorf("dropped-measurements annotation %q, want %d", got, 600-len(ms))
	}
	t.Logf("kept the newest %d of 600 measurements of %d bytes", len(ms), len(big))
}

// TestEventsAreCoreEventsWithDeterministicNames: each event is a core/v1 Event about the
// Rollout, named after the store's event name (made DNS-safe), stored once; IDs increase and
// a reader resumes after one.
func TestEventsAreCoreEventsWithDeterministicNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: canaryRollout("det", "m:2")}})
	if err != nil {
		t.Fatal(err)
	}
	evs := []store.Event{
		{Name: "det.41.0", Rollout: "det", Reason: "StepCompleted", Message: "step 1 done", Revision: "new", Data: json.RawMessage(`{"step": 1}`)},
		{Name: "det.41.1_Weird/Name", Rollout: "det", Type: "Warning", Reason: "AnalysisFailed", Message: "errors 0.2 > 0.1"},
	}
	stored, err := f.s.AppendEvents(f.ctx, evs)
	if err != nil || len(stored) != 2 || stored[1].ID <= stored[0].ID {
		t.Fatalf("append: %+v %v", stored, err)
	}
	if again, err := f.s.AppendEvents(f.ctx, evs); err != nil || len(again) != 0 {
		t.Fatalf("append again: %+v %v: named events are stored once", again, err)
	}
	ev, err := f.client.CoreV1().Events(f.ns).Get(f.ctx, "det.41.0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.InvolvedObject.Kind != "Rollout" || ev.InvolvedObject.Name != "det" || ev.InvolvedObject.APIVersion != "argoproj.io/v1alpha1" ||
		ev.InvolvedObject.UID == "" || ev.Reason != "StepCompleted" || ev.Type != "Normal" || ev.Source.Component != "shipsafe" || ev.Count != 1 {
		t.Errorf("event %+v", ev)
	}
	if _, err := f.client.CoreV1().Events(f.ns).Get(f.ctx, kubernetes.DNSName("det.41.1_Weird/Name"), metav1.GetOptions{}); err != nil {
		t.Errorf("the DNS-safe name: %v", err)
	}
	if n := kubernetes.DNSName("det.41.1_Weird/Name"); n == kubernetes.DNSName("det.41.1-weird-name") || !strings.HasPrefix(n, "det.41.1-weird-name-") {
		t.Errorf("DNSName = %q: mapped, and apart from the valid name it resembles", n)
	}

	// A status write's events go the same way; a rollout's list is in ID order.
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: map[string]any{"phase": "Progressing"}, ExpectedVersion: out[0].ResourceVersion,
		Events: []store.Event{{Name: "det.42.0", Rollout: "det", Reason: "Progressing"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AppendEvents(f.ctx, []store.Event{{Rollout: "other", Reason: "Elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.ListEvents(f.ctx, store.EventQuery{Rollout: "det"})
	if err != nil || len(got) != 3 || got[2].Reason != "Progressing" || got[0].Revision != "new" || string(got[0].Data) != `{"step":1}` || got[0].Name != "det.41.0" {
		t.Fatalf("ListEvents: %+v %v", got, err)
	}
	after, err := f.s.ListEvents(f.ctx, store.EventQuery{Rollout: "det", SinceID: got[0].ID, Limit: 1})
	if err != nil || len(after) != 1 || after[0].ID != got[1].ID {
		t.Fatalf("resume after %d: %+v %v", got[0].ID, after, err)
	}
	if all, _ := f.s.ListEvents(f.ctx, store.EventQuery{}); len(all) != 4 {
		t.Errorf("all events: %d, want 4", len(all))
	}
}

// TestHistoryAndAuditAreBoundedConfigMaps: the history keeps HistoryLimit entries per rollout
// and updates entries by ID; the audit log keeps AuditSegments segments of 100 entries, with
// IDs increasing and its filters working.
func TestHistoryAndAuditAreBoundedConfigMaps(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{HistoryLimit: 3, AuditSegments: 2})
	t0 := time.Now().UTC().Truncate(time.Second)
	var ids []int64
	for i := range 5 {
		h, err := f.s.RecordHistory(f.ctx, store.HistoryEntry{Rollout: "det", Revision: fmt.Sprint("r", i), StartedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID)
	}
	if _, err := f.s.RecordHistory(f.ctx, store.HistoryEntry{Rollout: "other", Revision: "x"}); err != nil {
		t.Fatal(err)
	}
	last := store.HistoryEntry{ID: ids[4], Rollout: "det", Revision: "r4", StartedAt: t0.Add(4 * time.Minute), EndedAt: t0.Add(5 * time.Minute),
		Outcome: "Promoted", RequestsServed: 10, Detail: json.RawMessage(`{"why": "ok"}`)}
	if _, err := f.s.RecordHistory(f.ctx, last); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RecordHistory(f.ctx, store.HistoryEntry{ID: ids[0], Rollout: "det", Revision: "r0"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a pruned entry: %v, want ErrNotFound", err)
	}
	hist, err := f.s.ListHistory(f.ctx, "det", 0)
	if err != nil || len(hist) != 3 || hist[0].Revision != "r4" || hist[0].Outcome != "Promoted" || string(hist[0].Detail) != `{"why":"ok"}` || hist[2].Revision != "r2" {
		t.Fatalf("history %+v %v: want r4, r3, r2", hist, err)
	}
	if two, _ := f.s.ListHistory(f.ctx, "det", 2); len(two) != 2 {
		t.Errorf("limit 2: %d", len(two))
	}
	if all, _ := f.s.ListHistory(f.ctx, "", 0); len(all) != 4 {
		t.Errorf("all rollouts: %d entries, want 4", len(all))
	}
	cm, err := f.client.CoreV1().ConfigMaps(f.ns).Get(f.ctx, "shipsafe-history.det", metav1.GetOptions{})
	if err != nil || len(cm.Data) != 3 || cm.Labels[kubernetes.RecordLabel] != "history" {
		t.Errorf("history configmap %+v %v", cm, err)
	}

	// 250 entries: segments 0, 1, 2; with a budget of 2 segment 0 goes.
	var entries []store.AuditEntry
	for i := range 250 {
		entries = append(entries, store.AuditEntry{Actor: []string{"alice", "bob"}[i%2], Action: "promote", Target: fmt.Sprintf("rollout/r%d", i%5)})
	}
	for i := 0; i < len(entries); i += 50 { // as 5 applies of 50 objects
		if err := f.s.DeleteRollout(f.ctx, "missing", store.AnyVersion, entries[i:i+50]...); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete of a missing rollout: %v", err)
		}
		if _, err := f.s.PutRollouts(f.ctx, nil, entries[i:i+50]...); err != nil {
			t.Fatal(err)
		}
	}
	one, err := f.s.Audit(f.ctx, store.AuditEntry{Actor: "carol", Action: "flag.set", Target: "flag/x", Detail: json.RawMessage(`{"on": true}`)})
	if err != nil || one.ID != 251 || string(one.Detail) != `{"on":true}` {
		t.Fatalf("audit: %+v %v", one, err)
	}
	all, err := f.s.ListAudit(f.ctx, store.AuditQuery{})
	if err != nil || len(all) != 151 || all[0].ID != 101 || all[150].ID != 251 {
		t.Fatalf("audit kept %d entries (%v), want 101..251", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("audit IDs not increasing at %d", i)
		}
	}
	bob, err := f.s.ListAudit(f.ctx, store.AuditQuery{Actor: "bob", Target: "rollout/r1", SinceID: 200, Limit: 3})
	if err != nil || len(bob) != 3 || bob[0].ID <= 200 || bob[0].Actor != "bob" || bob[0].Target != "rollout/r1" {
		t.Errorf("filtered audit %+v %v", bob, err)
	}
	if _, err := f.s.Audit(f.ctx, store.AuditEntry{Actor: "x"}); err == nil {
		t.Errorf("an entry without action and target must be refused")
	}
}
