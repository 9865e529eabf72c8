package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/store"
)

// An AnalysisRun object holds every measurement in Argo's shape,
// status.metricResults[].measurements, each numbered in its metadata (IDs count per run, in
// the order stored). The caller's status keeps only the latest (measurementRetention); the
// ones it still holds are marked retained, and GetAnalysisRun returns just those, so the
// caller sees what it stored. Bound: the measurements of a run take at most
// maxRunMeasurementBytes of JSON (an object must stay below the API server's 1.5 MiB request
// limit); past it the oldest are dropped and counted in droppedAnnotation.
const (
	measurementIDKey       = "shipsafe.dev/id"
	measurementDataKey     = "shipsafe.dev/data"
	measurementRetainedKey = "shipsafe.dev/retained"
	revisionAnnotation     = "shipsafe.dev/revision"
	startedAnnotation      = "shipsafe.dev/started-at"
	finishedAnnotation     = "shipsafe.dev/finished-at"
	droppedAnnotation      = "shipsafe.dev/dropped-measurements"
	maxRunMeasurementBytes = 800 << 10
	maxMeasurementData     = 4 << 10
)

var runAnnotations = []string{RolloutAnnotation, revisionAnnotation, startedAnnotation, finishedAnnotation, droppedAnnotation}

// PutAnalysisRun implements store.AnalysisRuns: creates or replaces the AnalysisRun (owned by
// its Rollout when that exists) and adds the new measurements to it. Two writes (the object,
// then /status); a crash between them leaves the previous status, which the next put replaces.
func (s *Store) PutAnalysisRun(ctx context.Context, run store.AnalysisRun, newMeasurements ...store.Measurement) error {
	if run.Name == "" || run.Rollout == "" || run.Phase == "" {
		return fmt.Errorf("put analysis run %q: name, rollout and phase: must not be empty", run.Name)
	}
	for i, m := range newMeasurements {
		if m.Metric == "" || m.Phase == "" {
			return fmt.Errorf("measurement %d of run %q: metric and phase: must not be empty", i, run.Name)
		}
	}
	specDoc, err := toMap(run.Spec)
	if err != nil {
		return fmt.Errorf("put analysis run %q: spec: %w", run.Name, err)
	}
	d := desiredOf(specDoc)
	if d.spec == nil || len(specDoc) == 0 {
		d.spec = map[string]any{"metrics": []any{}}
	}
	status, err := toMap(run.Status)
	if err != nil {
		return fmt.Errorf("put analysis run %q: status: %w", run.Name, err)
	}
	if status == nil {
		status = map[string]any{}
	}
	status["phase"] = run.Phase
	res := s.dyn.Resource(analysisRunsGVR).Namespace(s.ns)
	err = retryConflicts(ctx, func() error {
		cur, err := res.Get(ctx, run.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if cur, err = res.Create(ctx, s.runObject(ctx, run, d, nil), metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(analysisRunsGVR.GroupResource(), run.Name, err)
			}
		}
		if err != nil {
			return err
		}
		prev, _ := cur.Object["status"].(map[string]any)
		merged, dropped := mergeMeasurements(prev, status, newMeasurements)
		want := s.runObject(ctx, run, d, cur)
		if dropped > 0 {
			s.log.Warn("analysis run over its measurement budget: oldest dropped", "run", run.Name, "dropped", dropped)
			before, _ := strconv.Atoi(cur.GetAnnotations()[droppedAnnotation])
			ann := want.GetAnnotations()
			ann[droppedAnnotation] = strconv.Itoa(before + dropped)
			want.SetAnnotations(ann)
		}
		if !reflect.DeepEqual(want.Object["spec"], cur.Object["spec"]) || !maps.Equal(want.GetLabels(), cur.GetLabels()) ||
			!maps.Equal(want.GetAnnotations(), cur.GetAnnotations()) {
			if cur, err = res.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		cur.Object["status"] = merged
		_, err = res.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return wrap(err, "put analysis run %q", run.Name)
	}
	return nil
}

// runObject is the AnalysisRun as the put wants it; cur (the stored one, or nil) gives its
// resourceVersion, owner and dropped count.
func (s *Store) runObject(ctx context.Context, run store.AnalysisRun, d desired, cur *unstructured.Unstructured) *unstructured.Unstructured {
	u := s.newObject(v1alpha1.KindAnalysisRun, run.Name, d)
	lbl := maps.Clone(d.labels)
	if lbl == nil {
		lbl = map[string]string{}
	}
	lbl[ManagedByLabel] = managedBy
	if v := labelValue(run.Rollout); v != "" {
		lbl[RolloutLabel] = v
	}
	if v := labelValue(run.Revision); v != "" {
		lbl[HashLabel] = v
	}
	u.SetLabels(lbl)
	ann := maps.Clone(d.annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[RolloutAnnotation] = run.Rollout
	setOrDelete(ann, revisionAnnotation, run.Revision)
	setOrDelete(ann, startedAnnotation, timeText(run.StartedAt))
	setOrDelete(ann, finishedAnnotation, timeText(run.FinishedAt))
	if cur == nil {
		if uid := s.rolloutUID(ctx, run.Rollout); uid != "" {
			yes := true
			u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: v1alpha1.ArgoGroupVersion, Kind: v1alpha1.KindRollout,
				Name: run.Rollout, UID: uid, Controller: &yes, BlockOwnerDeletion: &yes}})
		}
	} else {
		u.SetResourceVersion(cur.GetResourceVersion())
		u.SetOwnerReferences(cur.GetOwnerReferences())
		setOrDelete(ann, droppedAnnotation, cur.GetAnnotations()[droppedAnnotation])
	}
	u.SetAnnotations(ann)
	return u
}

func setOrDelete(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// GetAnalysisRun implements store.AnalysisRuns: the status holds the measurements the caller
// last stored in it (the retained ones); ListMeasurements has every one.
func (s *Store) GetAnalysisRun(ctx context.Context, name string) (store.AnalysisRun, error) {
	u, err := s.dyn.Resource(analysisRunsGVR).Namespace(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return store.AnalysisRun{}, wrap(err, "get analysis run %q", name)
	}
	return runRow(u)
}

func runRow(u *unstructured.Unstructured) (store.AnalysisRun, error) {
	ann := u.GetAnnotations()
	r := store.AnalysisRun{Name: u.GetName(), Rollout: ann[RolloutAnnotation], Revision: ann[revisionAnnotation], UpdatedAt: updatedAt(u)}
	r.StartedAt, _ = time.Parse(time.RFC3339Nano, ann[startedAnnotation])
	r.FinishedAt, _ = time.Parse(time.RFC3339Nano, ann[finishedAnnotation])
	user := maps.Clone(ann)
	for _, k := range runAnnotations {
		delete(user, k)
	}
	meta := map[string]any{"name": u.GetName(), "namespace": u.GetNamespace()}
	if l := u.GetLabels(); len(l) > 0 {
		meta["labels"] = l
	}
	if len(user) > 0 {
		meta["annotations"] = user
	}
	spec, err := json.Marshal(map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": meta, "spec": u.Object["spec"]})
	if err != nil {
		return store.AnalysisRun{}, fmt.Errorf("analysis run %q: encode spec: %w", u.GetName(), err)
	}
	r.Spec = spec
	if st, ok := u.Object["status"].(map[string]any); ok {
		r.Phase, _ = st["phase"].(string)
		view := maps.Clone(st)
		var results []any
		for _, mr := range listOf(st["metricResults"]) {
			mr = maps.Clone(mr)
			var held []any
			for _, m := range listOf(mr["measurements"]) {
				if metaOf(m)[measurementRetainedKey] == "true" {
					held = append(held, withMeta(m, measurementRetainedKey, ""))
				}
			}
			if len(held) > 0 {
				mr["measurements"] = held
			} else {
				delete(mr, "measurements")
			}
			results = append(results, mr)
		}
		if results != nil {
			view["metricResults"] = results
		}
		if r.Status, err = json.Marshal(view); err != nil {
			return store.AnalysisRun{}, fmt.Errorf("analysis run %q: encode status: %w", u.GetName(), err)
		}
	}
	return r, nil
}

// ListAnalysisRuns implements store.AnalysisRuns: the rollout's runs (all when empty),
// oldest first.
func (s *Store) ListAnalysisRuns(ctx context.Context, rollout string) ([]store.AnalysisRun, error) {
	list, err := s.dyn.Resource(analysisRunsGVR).Namespace(s.ns).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + managedBy})
	if err != nil {
		return nil, fmt.Errorf("list analysis runs in %s: %w", s.ns, err)
	}
	var out []store.AnalysisRun
	for i := range list.Items {
		r, err := runRow(&list.Items[i])
		if err != nil {
			return nil, err
		}
		if rollout == "" || r.Rollout == rollout {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].StartedAt, out[j].StartedAt
		if a.IsZero() {
			a = out[i].UpdatedAt
		}
		if b.IsZero() {
			b = out[j].UpdatedAt
		}
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ListMeasurements implements store.AnalysisRuns: every finished measurement of the run, in
// the order stored.
func (s *Store) ListMeasurements(ctx context.Context, run string) ([]store.Measurement, error) {
	u, err := s.dyn.Resource(analysisRunsGVR).Namespace(s.ns).Get(ctx, run, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list measurements of run %q: %w", run, err)
	}
	st, _ := u.Object["status"].(map[string]any)
	var out []store.Measurement
	for _, mr := range listOf(st["metricResults"]) {
		name, _ := mr["name"].(string)
		for _, m := range listOf(mr["measurements"]) {
			if _, done := m["finishedAt"]; !done {
				continue
			}
			sm := store.Measurement{ID: idOf(m), Run: run, Metric: name}
			sm.Phase, _ = m["phase"].(string)
			sm.Value, _ = m["value"].(string)
			sm.Message, _ = m["message"].(string)
			sm.StartedAt = parseTime(m["startedAt"])
			sm.FinishedAt = parseTime(m["finishedAt"])
			if d, _ := metaOf(m)[measurementDataKey].(string); d != "" {
				sm.Data = json.RawMessage(d)
			}
			out = append(out, sm)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
