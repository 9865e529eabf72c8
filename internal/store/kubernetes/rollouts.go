package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/store"
)

// GetRollout implements store.Rollouts.
func (s *Store) GetRollout(ctx context.Context, name string) (store.Rollout, error) {
	u, err := s.dyn.Resource(rolloutsGVR).Namespace(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return store.Rollout{}, wrap(err, "get rollout %q", name)
	}
	return s.rolloutRow(u)
}

// ListRollouts implements store.Rollouts: the namespace's Rollouts, by name.
func (s *Store) ListRollouts(ctx context.Context) ([]store.Rollout, error) {
	list, err := s.dyn.Resource(rolloutsGVR).Namespace(s.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, wrap(err, "list rollouts in %s", s.ns)
	}
	out := make([]store.Rollout, 0, len(list.Items))
	for i := range list.Items {
		r, err := s.rolloutRow(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetTemplate implements store.Templates.
func (s *Store) GetTemplate(ctx context.Context, kind, name string) (store.Rollout, error) {
	if kind != store.KindAnalysisTemplate && kind != store.KindClusterAnalysisTemplate {
		return store.Rollout{}, fmt.Errorf("get template %q: kind %q: must be AnalysisTemplate or ClusterAnalysisTemplate", name, kind)
	}
	res, err := s.resource(kind)
	if err != nil {
		return store.Rollout{}, err
	}
	u, err := res.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return store.Rollout{}, wrap(err, "get %s %q", kind, name)
	}
	return row(u)
}

// rolloutRow is row plus, with Options.ArgoCommands, the plugin's edits turned into commands.
func (s *Store) rolloutRow(u *unstructured.Unstructured) (store.Rollout, error) {
	r, err := row(u)
	if err != nil || !s.argo {
		return r, err
	}
	rec, err := RecognizeCommands(u)
	if err != nil {
		s.log.Warn("argo commands not recognised", "rollout", u.GetName(), "err", err)
		return r, nil
	}
	if len(rec.Commands) > 0 {
		if r.Status, err = json.Marshal(rec.Status); err != nil {
			return store.Rollout{}, fmt.Errorf("rollout %q: encode status: %w", u.GetName(), err)
		}
		s.log.Debug("argo commands recognised", "rollout", u.GetName(), "commands", rec.Commands)
	}
	return r, nil
}

// row is the store's view of an object: Spec is the manifest (apiVersion, kind, metadata with
// name, namespace, uid, labels and annotations, spec), Status the status as stored.
func row(u *unstructured.Unstructured) (store.Rollout, error) {
	rv, err := parseVersion(u.GetResourceVersion())
	if err != nil {
		return store.Rollout{}, fmt.Errorf("%s %q: %w", u.GetKind(), u.GetName(), err)
	}
	meta := map[string]any{"name": u.GetName()}
	if ns := u.GetNamespace(); ns != "" {
		meta["namespace"] = ns
	}
	if uid := u.GetUID(); uid != "" {
		meta["uid"] = string(uid)
	}
	if l := u.GetLabels(); len(l) > 0 {
		meta["labels"] = l
	}
	if a := userAnnotations(u.GetAnnotations()); len(a) > 0 {
		meta["annotations"] = a
	}
	manifest := map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": meta, "spec": u.Object["spec"]}
	spec, err := json.Marshal(manifest)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("%s %q: encode spec: %w", u.GetKind(), u.GetName(), err)
	}
	r := store.Rollout{Name: u.GetName(), Spec: spec, Generation: u.GetGeneration(), ResourceVersion: rv,
		CreatedAt: u.GetCreationTimestamp().UTC(), UpdatedAt: updatedAt(u)}
	if st, ok := u.Object["status"]; ok && st != nil {
		if r.Status, err = json.Marshal(st); err != nil {
			return store.Rollout{}, fmt.Errorf("%s %q: encode status: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return r, nil
}

// userAnnotations leaves out the store's own bookkeeping.
func userAnnotations(a map[string]string) map[string]string {
	if _, ok := a[WrittenAnnotation]; !ok {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		if k != WrittenAnnotation {
			out[k] = v
		}
	}
	return out
}

// updatedAt is the latest write the managed fields record (the creation time without them).
func updatedAt(u *unstructured.Unstructured) time.Time {
	t := u.GetCreationTimestamp().Time
	for _, m := range u.GetManagedFields() {
		if m.Time != nil && m.Time.After(t) {
			t = m.Time.Time
		}
	}
	return t.UTC()
}

// toMap encodes any value encoding/json takes (or raw JSON) as an object.
func toMap(v any) (map[string]any, error) {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		b = x
	case []byte:
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("must be a JSON object: %w", err)
	}
	return m, nil
}

// desired is what a put asks for: the manifest's labels, annotations and spec. A value
// without a "spec" key is taken as the spec itself.
type desired struct {
	labels, annotations map[string]string
	spec                any
}

func desiredOf(m map[string]any) desired {
	spec, ok := m["spec"]
	if !ok {
		return desired{spec: m}
	}
	var d desired
	d.spec = spec
	if meta, ok := m["metadata"].(map[string]any); ok {
		d.labels, d.annotations = stringMap(meta["labels"]), stringMap(meta["annotations"])
	}
	return d
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// PutRollouts implements store.Rollouts. Not atomic (Capabilities): every put and audit
// entry is checked first, then the objects are written in order and the audit entries last,
// so a failure part way leaves the earlier objects stored and no audit entry; a crash after
// the objects loses the audit entries (the API server's own audit log still has the writes).
func (s *Store) PutRollouts(ctx context.Context, puts []store.RolloutPut, audits ...store.AuditEntry) ([]store.Rollout, error) {
	type prepared struct {
		d      desired
		status map[string]any
	}
	prep := make([]prepared, len(puts))
	for i, p := range puts {
		if p.Name == "" {
			return nil, errors.New("put rollout: name: must not be empty")
		}
		if _, err := store.ObjectKey(p.Kind, p.Name); err != nil {
			return nil, err
		}
		spec, err := toMap(p.Spec)
		if err != nil || spec == nil {
			return nil, fmt.Errorf("put %s %q: spec: must be a JSON object (%v)", kindOr(p.Kind), p.Name, err)
		}
		status, err := toMap(p.Status)
		if err != nil {
			return nil, fmt.Errorf("put %s %q: status: %w", kindOr(p.Kind), p.Name, err)
		}
		prep[i] = prepared{desiredOf(spec), status}
	}
	if err := checkAudits(audits); err != nil {
		return nil, err
	}
	out := make([]store.Rollout, len(puts))
	for i, p := range puts {
		u, err := s.putObject(ctx, kindOr(p.Kind), p.Name, prep[i].d, p.ExpectedVersion)
		if err != nil {
			return nil, err
		}
		if prep[i].status != nil && kindOr(p.Kind) == store.KindRollout {
			if u, err = s.writeStatus(ctx, p.Name, prep[i].status, u.GetResourceVersion()); err != nil {
				return nil, err
			}
		}
		if out[i], err = row(u); err != nil {
			return nil, err
		}
	}
	if _, err := s.appendAudits(ctx, audits); err != nil {
		return nil, fmt.Errorf("put rollouts: objects stored, audit not: %w", err)
	}
	return out, nil
}

func kindOr(kind string) string {
	if kind == "" {
		return store.KindRollout
	}
	return kind
}

// putObject creates or updates one object's labels, annotations and spec.
func (s *Store) putObject(ctx context.Context, kind, name string, d desired, expected int64) (*unstructured.Unstructured, error) {
	res, err := s.resource(kind)
	if err != nil {
		return nil, fmt.Errorf("put %q: %w", name, err)
	}
	if expected == 0 {
		u, err := res.Create(ctx, s.newObject(kind, name, d), metav1.CreateOptions{})
		if err != nil {
			return nil, wrap(err, "create %s %q", kind, name)
		}
		return u, nil
	}
	var out *unstructured.Unstructured
	err = retryConflicts(ctx, func() error {
		cur, err := res.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && expected == store.AnyVersion {
			out, err = res.Create(ctx, s.newObject(kind, name, d), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(rolloutsGVR.GroupResource(), name, err) // created meanwhile: again
			}
			return err
		}
		if err != nil {
			return err
		}
		if expected > 0 {
			if v, err := parseVersion(cur.GetResourceVersion()); err != nil || v != expected {
				return fmt.Errorf("resourceVersion is %s, expected %d: %w", cur.GetResourceVersion(), expected, store.ErrConflict)
			}
		}
		cur.SetLabels(d.labels)
		ann := d.annotations
		if w, ok := cur.GetAnnotations()[WrittenAnnotation]; ok {
			ann = withAnnotation(ann, WrittenAnnotation, w)
		}
		cur.SetAnnotations(ann)
		cur.Object["spec"] = d.spec
		out, err = res.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && expected > 0 {
			return fmt.Errorf("%w: %w", store.ErrConflict, err) // not retried: the caller's version is stale
		}
		return err
	})
	if err != nil {
		return nil, wrap(err, "update %s %q", kind, name)
	}
	return out, nil
}

func withAnnotation(a map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(a)+1)
	for x, y := range a {
		out[x] = y
	}
	out[k] = v
	return out
}

func (s *Store) newObject(kind, name string, d desired) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": d.spec}}
	u.SetAPIVersion(v1alpha1.ArgoGroupVersion)
	u.SetKind(kind)
	u.SetName(name)
	if kind != store.KindClusterAnalysisTemplate {
		u.SetNamespace(s.ns)
	}
	u.SetLabels(d.labels)
	u.SetAnnotations(d.annotations)
	return u
}

// UpdateStatus implements store.Rollouts: the status through the /status subresource (spec
// and generation untouched), then the Written annotation, then the events by name, then the
// audit entries. A crash after the status loses the rest; the repeated pass stores the events
// once (named) and RecognizeCommands treats a missing or older annotation as "nothing to
// recognise".
func (s *Store) UpdateStatus(ctx context.Context, w store.StatusWrite) (store.Rollout, error) {
	status, err := toMap(w.Status)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("update status of rollout %q: %w", w.Name, err)
	}
	if err := checkAudits(w.Audits); err != nil {
		return store.Rollout{}, err
	}
	if err := checkEvents(w.Events); err != nil {
		return store.Rollout{}, err
	}
	var u *unstructured.Unstructured
	if w.ExpectedVersion == store.AnyVersion {
		err = retryConflicts(ctx, func() error {
			cur, err := s.dyn.Resource(rolloutsGVR).Namespace(s.ns).Get(ctx, w.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			u, err = s.writeStatus(ctx, w.Name, status, cur.GetResourceVersion())
			return err
		})
	} else {
		u, err = s.writeStatus(ctx, w.Name, status, formatVersion(w.ExpectedVersion))
	}
	if err != nil {
		return store.Rollout{}, wrap(err, "update status of rollout %q", w.Name)
	}
	if _, err := s.AppendEvents(ctx, w.Events); err != nil {
		return store.Rollout{}, fmt.Errorf("update status of rollout %q: status stored, events not: %w", w.Name, err)
	}
	if _, err := s.appendAudits(ctx, w.Audits); err != nil {
		return store.Rollout{}, fmt.Errorf("update status of rollout %q: status stored, audit not: %w", w.Name, err)
	}
	return row(u)
}

// writeStatus replaces the status at resourceVersion rv, then records it in the Written
// annotation. The /status body needs no spec: the API server keeps everything but status.
func (s *Store) writeStatus(ctx context.Context, name string, status map[string]any, rv string) (*unstructured.Unstructured, error) {
	res := s.dyn.Resource(rolloutsGVR).Namespace(s.ns)
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(v1alpha1.ArgoGroupVersion)
	u.SetKind(v1alpha1.KindRollout)
	u.SetName(name)
	u.SetNamespace(s.ns)
	u.SetResourceVersion(rv)
	if status != nil {
		u.Object["status"] = status
	}
	out, err := res.UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return s.recordWritten(ctx, res, out)
}

// recordWritten stores Written for the status just written (a merge patch of one annotation:
// never conflicts, bumps the resourceVersion but not the generation).
func (s *Store) recordWritten(ctx context.Context, res dynamic.ResourceInterface, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	w, err := writtenOf(u)
	if err != nil {
		return nil, fmt.Errorf("rollout %q: %w", u.GetName(), err)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("rollout %q: encode %s: %w", u.GetName(), WrittenAnnotation, err)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{WrittenAnnotation: string(b)}}})
	if err != nil {
		return nil, fmt.Errorf("rollout %q: encode patch: %w", u.GetName(), err)
	}
	out, err := res.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("rollout %q: status stored, %s not: %w", u.GetName(), WrittenAnnotation, err)
	}
	return out, nil
}

// DeleteRollout implements store.Rollouts. Its AnalysisRuns go with it (the garbage
// collector follows their ownerReference, as with Argo); events (until the API server's
// event TTL), history and audit stay.
func (s *Store) DeleteRollout(ctx context.Context, name string, expectedVersion int64, audits ...store.AuditEntry) error {
	if err := checkAudits(audits); err != nil {
		return err
	}
	opts := metav1.DeleteOptions{}
	if expectedVersion != store.AnyVersion {
		rv := formatVersion(expectedVersion)
		opts.Preconditions = &metav1.Preconditions{ResourceVersion: &rv}
	}
	if err := s.dyn.Resource(rolloutsGVR).Namespace(s.ns).Delete(ctx, name, opts); err != nil {
		return wrap(err, "delete rollout %q", name)
	}
	if _, err := s.appendAudits(ctx, audits); err != nil {
		return fmt.Errorf("delete rollout %q: deleted, audit not: %w", name, err)
	}
	return nil
}
