// Package storetest is the contract every store.Store implementation passes: versions and
// conflicts, templates apart from rollouts, named events stored once, and a change stored
// with its audit entry or not at all. Each implementation's tests call Run.
package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
)

// Run runs the contract against fresh stores from open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Versions", func(t *testing.T) { versions(t, open(t)) })
	t.Run("TemplatesAreNotRollouts", func(t *testing.T) { templates(t, open(t)) })
	t.Run("NamedEventsAreStoredOnce", func(t *testing.T) { namedEvents(t, open(t)) })
	t.Run("ChangeAndAuditTogether", func(t *testing.T) { audited(t, open(t)) })
}

// The specs are manifests a Kubernetes API server accepts (a store on one serves them through
// a CRD schema, which prunes unknown fields and requires strategy and template), so the
// contract asks nothing of a store that only SQLite and memory could give: checks read the
// fields back rather than comparing the stored bytes.

// rolloutSpec is a minimal Rollout of r replicas.
func rolloutSpec(name string, r int) map[string]any {
	return map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"replicas": r, "strategy": map[string]any{}, "template": map[string]any{
			"spec": map[string]any{"containers": []any{map[string]any{"name": "model", "image": "example.invalid/model:1"}}}}}}
}

// templateSpec is a minimal analysis template of kind whose one metric is named metric.
func templateSpec(kind, name, metric string) map[string]any {
	return map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": map[string]any{"name": name},
		"spec": map[string]any{"metrics": []any{map[string]any{"name": metric, "provider": map[string]any{"web": map[string]any{"url": "http://example.invalid"}}}}}}
}

// specField reads one field of a stored manifest's spec.
func specField(t *testing.T, raw json.RawMessage, get func(spec map[string]any) any) any {
	t.Helper()
	var m struct {
		Spec map[string]any `json:"spec"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("stored spec %s: %v", raw, err)
	}
	return get(m.Spec)
}

func versions(t *testing.T, s store.Store) {
	ctx := t.Context()
	out, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 1)}})
	if err != nil || out[0].Generation != 1 || out[0].ResourceVersion == 0 {
		t.Fatalf("create: %+v %v", out, err)
	}
	if _, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 1)}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create of an existing name: %v, want ErrConflict", err)
	}
	r, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]string{"phase": "Healthy"}, ExpectedVersion: out[0].ResourceVersion})
	if err != nil || r.Generation != 1 || r.ResourceVersion == out[0].ResourceVersion {
		t.Fatalf("status update: %+v %v", r, err)
	}
	if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]string{}, ExpectedVersion: out[0].ResourceVersion}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale status update: %v, want ErrConflict", err)
	}
	up, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 2), ExpectedVersion: store.AnyVersion}})
	if err != nil || up[0].Generation != 2 || up[0].ResourceVersion <= r.ResourceVersion {
		t.Fatalf("spec change: %+v %v, want generation 2 and a larger resource version", up, err)
	}
	if _, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 3), ExpectedVersion: r.ResourceVersion}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale spec update: %v, want ErrConflict", err)
	}
	got, err := s.GetRollout(ctx, "det")
	if err != nil || string(got.Status) != `{"phase":"Healthy"}` {
		t.Fatalf("a spec put without status keeps the status: %s %v", got.Status, err)
	}
	if n := specField(t, got.Spec, func(s map[string]any) any { return s["replicas"] }); n != float64(2) {
		t.Fatalf("stored spec.replicas = %v, want 2", n)
	}
	if _, err := s.GetRollout(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing rollout: %v", err)
	}
}

func templates(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.PutRollouts(ctx, []store.RolloutPut{
		{Kind: store.KindAnalysisTemplate, Name: "error-rate", Spec: templateSpec(store.KindAnalysisTemplate, "error-rate", "t1"), ExpectedVersion: store.AnyVersion},
		{Kind: store.KindClusterAnalysisTemplate, Name: "error-rate", Spec: templateSpec(store.KindClusterAnalysisTemplate, "error-rate", "t2"), ExpectedVersion: store.AnyVersion},
		{Name: "det", Spec: rolloutSpec("det", 1), ExpectedVersion: store.AnyVersion},
	})
	if err != nil {
		t.Fatal(err)
	}
	ros, err := s.ListRollouts(ctx)
	if err != nil || len(ros) != 1 || ros[0].Name != "det" {
		t.Fatalf("ListRollouts = %+v, %v: want only det", ros, err)
	}
	tp, err := s.GetTemplate(ctx, store.KindClusterAnalysisTemplate, "error-rate")
	if err != nil || tp.Name != "error-rate" {
		t.Fatalf("GetTemplate = %+v, %v", tp, err)
	}
	metric := func(s map[string]any) any { m, _ := s["metrics"].([]any); return m[0].(map[string]any)["name"] }
	if got := specField(t, tp.Spec, metric); got != "t2" {
		t.Fatalf("ClusterAnalysisTemplate error-rate: metric %v, want t2 (not the AnalysisTemplate's)", got)
	}
	if _, err := s.GetTemplate(ctx, store.KindAnalysisTemplate, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing template: %v", err)
	}
	if _, err := s.PutRollouts(ctx, []store.RolloutPut{{Kind: "Service", Name: "x", Spec: rolloutSpec("x", 1), ExpectedVersion: store.AnyVersion}}); err == nil || !strings.Contains(err.Error(), `kind "Service"`) {
		t.Fatalf("unknown kind: %v", err)
	}
}

func namedEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 1)}}); err != nil {
		t.Fatal(err)
	}
	ev := []store.Event{{Name: "det.1.0", Rollout: "det", Reason: "Step"}, {Rollout: "det", Reason: "Unnamed"}}
	for range 2 {
		if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]int{"s": 1}, ExpectedVersion: store.AnyVersion, Events: ev}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendEvents(ctx, ev[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListEvents(ctx, store.EventQuery{Rollout: "det"})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range got {
		reasons = append(reasons, e.Reason)
	}
	if strings.Join(reasons, ",") != "Step,Unnamed,Unnamed" {
		t.Fatalf("events %v: the named one must be stored once, the unnamed each time", reasons)
	}
	if got[0].Name != "det.1.0" || got[1].ID <= got[0].ID {
		t.Fatalf("names and increasing IDs: %+v", got)
	}
	after, err := s.ListEvents(ctx, store.EventQuery{Rollout: "det", SinceID: got[0].ID, Limit: 1})
	if err != nil || len(after) != 1 || after[0].ID != got[1].ID {
		t.Fatalf("resume after %d: %+v %v", got[0].ID, after, err)
	}
}

func audited(t *testing.T, s store.Store) {
	ctx := t.Context()
	bad := store.AuditEntry{Actor: "alice", Action: "apply"} // no target: refused
	put := []store.RolloutPut{{Name: "det", Spec: rolloutSpec("det", 1), ExpectedVersion: store.AnyVersion}}
	if !s.Capabilities().AtomicApply {
		t.Skip("the store does not claim atomic apply")
	}
	if _, err := s.PutRollouts(ctx, put, bad); err == nil {
		t.Fatal("an apply whose audit entry cannot be written must fail")
	}
	if _, err := s.GetRollout(ctx, "det"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rollout was stored without its audit entry: %v", err)
	}
	good := store.AuditEntry{Actor: "alice", Action: "apply", Target: "rollout/det"}
	r, err := s.PutRollouts(ctx, put, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]int{}, ExpectedVersion: r[0].ResourceVersion, Audits: []store.AuditEntry{bad}}); err == nil {
		t.Fatal("a status write whose audit entry cannot be written must fail")
	}
	if err := s.DeleteRollout(ctx, "det", store.AnyVersion, bad); err == nil {
		t.Fatal("a delete whose audit entry cannot be written must fail")
	}
	if got, err := s.GetRollout(ctx, "det"); err != nil || got.ResourceVersion != r[0].ResourceVersion {
		t.Fatalf("the rollout changed without its audit entry: %+v %v", got, err)
	}
	entries, err := s.ListAudit(ctx, store.AuditQuery{Target: "rollout/det"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit %+v %v: want the one apply", entries, err)
	}
}
