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

// mergeMeasurements is the status to store: next (the caller's) with each metric's
// measurements made complete — the stored ones the caller no longer holds, then the caller's
// (marked retained), numbered — and the new measurements' data attached (or, when the
// caller's status lacks them, appended).
func mergeMeasurements(prev, next map[string]any, fresh []store.Measurement) (map[string]any, int) {
	out := maps.Clone(next)
	stored := map[string][]map[string]any{}
	var lastID int64
	for _, mr := range listOf(prev["metricResults"]) {
		name, _ := mr["name"].(string)
		for _, m := range listOf(mr["measurements"]) {
			stored[name] = append(stored[name], m)
			lastID = max(lastID, idOf(m))
		}
	}
	results := listOf(next["metricResults"])
	for _, mr := range results {
		for _, m := range listOf(mr["measurements"]) {
			lastID = max(lastID, idOf(m))
		}
	}
	byName := map[string]map[string]any{}
	for _, mr := range results {
		name, _ := mr["name"].(string)
		byName[name] = mr
	}
	for _, f := range fresh {
		if byName[f.Metric] == nil {
			mr := map[string]any{"name": f.Metric, "phase": f.Phase}
			results = append(results, mr)
			byName[f.Metric] = mr
		}
	}
	matched := map[*store.Measurement]bool{}
	for _, mr := range results {
		name, _ := mr["name"].(string)
		held := listOf(mr["measurements"])
		keep := map[int64]bool{}
		for _, m := range held {
			keep[idOf(m)] = true
		}
		var all []any
		for _, m := range stored[name] {
			if !keep[idOf(m)] {
				all = append(all, withMeta(m, measurementRetainedKey, ""))
			}
		}
		for _, m := range held {
			if idOf(m) == 0 {
				lastID++
				m = withMeta(m, measurementIDKey, strconv.FormatInt(lastID, 10))
				if f := matchFresh(fresh, matched, name, m); f != nil {
					m = withMeta(m, measurementDataKey, dataText(f.Data))
				}
			}
			all = append(all, withMeta(m, measurementRetainedKey, "true"))
		}
		for i := range fresh {
			if f := &fresh[i]; f.Metric == name && !matched[f] {
				matched[f] = true
				lastID++
				all = append(all, measurementOf(*f, lastID))
			}
		}
		mr["measurements"] = all
	}
	if len(results) > 0 {
		anyResults := make([]any, len(results))
		for i, r := range results {
			anyResults[i] = r
		}
		out["metricResults"] = anyResults
	}
	return out, bound(results)
}

// bound drops the oldest measurements not retained until the run's fit the budget — then,
// if the caller retains more than fits (measurementRetention unset keeps every one), the
// oldest retained too — and returns how many it dropped. Sizes are measured once: the JSON of a list is the sum of its
// entries plus a comma each.
func bound(results []map[string]any) int {
	all, _ := json.Marshal(results)
	total := len(all)
	if total <= maxRunMeasurementBytes {
		return 0
	}
	type entry struct {
		retained bool
		id       int64
		size     int
	}
	var old []entry
	for _, mr := range results {
		for _, m := range listOf(mr["measurements"]) {
			b, _ := json.Marshal(m)
			old = append(old, entry{metaOf(m)[measurementRetainedKey] == "true", idOf(m), len(b) + 1})
		}
	}
	sort.Slice(old, func(i, j int) bool {
		if old[i].retained != old[j].retained {
			return !old[i].retained
		}
		return old[i].id < old[j].id
	})
	drop := map[int64]bool{}
	for _, e := range old {
		if total <= maxRunMeasurementBytes {
			break
		}
		drop[e.id] = true
		total -= e.size
	}
	for _, mr := range results {
		var keep []any
		for _, m := range listOf(mr["measurements"]) {
			if !drop[idOf(m)] {
				keep = append(keep, m)
			}
		}
		mr["measurements"] = keep
	}
	return len(drop)
}

func matchFresh(fresh []store.Measurement, matched map[*store.Measurement]bool, metric string, m map[string]any) *store.Measurement {
	for i := range fresh {
		f := &fresh[i]
		if !matched[f] && f.Metric == metric && f.Phase == m["phase"] && (f.Value == "" || f.Value == m["value"]) {
			matched[f] = true
			return f
		}
	}
	return nil
}

func dataText(d json.RawMessage) string {
	if len(d) == 0 {
		return ""
	}
	s, err := compactJSON(d)
	if err != nil || len(s) > maxMeasurementData {
		return fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(d))
	}
	return s
}

func measurementOf(f store.Measurement, id int64) map[string]any {
	m := map[string]any{"phase": f.Phase}
	if f.Value != "" {
		m["value"] = f.Value
	}
	if f.Message != "" {
		m["message"] = f.Message
	}
	if !f.StartedAt.IsZero() {
		m["startedAt"] = f.StartedAt.UTC().Format(time.RFC3339)
	}
	if !f.FinishedAt.IsZero() {
		m["finishedAt"] = f.FinishedAt.UTC().Format(time.RFC3339)
	}
	meta := map[string]any{measurementIDKey: strconv.FormatInt(id, 10)}
	if d := dataText(f.Data); d != "" {
		meta[measurementDataKey] = d
	}
	m["metadata"] = meta
	return m
}

func listOf(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func metaOf(m map[string]any) map[string]any {
	meta, _ := m["metadata"].(map[string]any)
	return meta
}

func idOf(m map[string]any) int64 {
	s, _ := metaOf(m)[measurementIDKey].(string)
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

// withMeta is m with metadata[k] = v (removed when v is "").
func withMeta(m map[string]any, k, v string) map[string]any {
	out := maps.Clone(m)
	meta := maps.Clone(metaOf(m))
	if meta == nil {
		meta = map[string]any{}
	}
	if v == "" {
		delete(meta, k)
	} else {
		meta[k] = v
	}
	if len(meta) == 0 {
		delete(out, "metadata")
	} else {
		out["metadata"] = meta
	}
	return out
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
