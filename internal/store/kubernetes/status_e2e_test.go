package kubernetes_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
)

var rolloutsGVR = v1alpha1.SchemeGroupVersion.WithResource("rollouts")

func ptr[T any](v T) *T { return &v }

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canaryRollout is a Rollout manifest with a two-step canary (setWeight, pause).
func canaryRollout(name, image string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.ArgoGroupVersion, Kind: v1alpha1.KindRollout},
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"shipsafe.dev/request-timeout": "10s"}},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr(int32(4)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, image),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				CanaryService: name + "-canary", StableService: name + "-stable",
				Steps: []v1alpha1.CanaryStep{{SetWeight: ptr(int32(25))}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr(int32(50))}},
			}},
		},
	}
}

func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: image}}},
	}
}

// pausedRecord is a canary paused at step 1 (after setWeight 25), with shipsafe's own state.
func pausedRecord(t0 time.Time) progress.Record {
	return progress.Record{
		Engine: rollout.Status{
			Phase: rollout.PhasePaused, Message: "CanaryPauseStep", CurrentPodHash: "new", StableRS: "old",
			CurrentStepIndex: ptr(int32(1)), CurrentStepHash: "steps", ControllerPause: true,
			Replicas: 5, UpdatedReplicas: 1, ReadyReplicas: 5, AvailableReplicas: 5,
			PauseConditions: []rollout.PauseCondition{{Reason: rollout.PauseCanaryStep, StartTime: t0}},
			Conditions:      []rollout.Condition{{Type: "Progressing", Status: "True", Reason: "RolloutPaused", Message: "paused", LastTransitionTime: t0}},
			Canary:          rollout.CanaryStatus{Weights: []rollout.RevisionWeight{{Hash: "old", Weight: 75}, {Hash: "new", Weight: 25}}},
			History:         []string{"older"}, ProcessedCommands: []string{"c0"}, Attempt: 1,
		},
		Templates: map[string]corev1.PodTemplateSpec{"new": podTemplate("det", "m:2")},
		Runs:      []progress.RunRef{{Name: "det-new-bg", Kind: rollout.AnalysisBackground, Revision: "new", Stable: "old", Phase: "Running"}},
		Traffic:   rollout.Traffic{Weights: []rollout.RevisionWeight{{Hash: "old", Weight: 75}, {Hash: "new", Weight: 25}}},
		Revisions: []progress.RevisionView{{Hash: "new", Role: "canary", Desired: 1, Replicas: 1, Ready: 1, Available: 1, Weight: 25}},
		HistoryID: 3, HistoryRevision: "new", HistoryStartedAt: t0,
		Triggers: json.RawMessage(`{"errors":{"fired":false}}`),
	}
}

// TestStatusIsArgosFieldsThroughTheSubresource: UpdateStatus stores progress.Encode's status
// through /status with Argo's fields as Argo's tools read them (observedGeneration a string
// equal to metadata.generation), leaves spec and generation alone, and the stored status
// decodes back to the same record; versions are the object's resourceVersion and generation.
func TestStatusIsArgosFieldsThroughTheSubresource(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	ro := canaryRollout("det", "m:2")
	out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: ro}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	want := progress.Encode(pausedRecord(t0), out[0].Generation)
	r, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: want, ExpectedVersion: out[0].ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}

	u, err := f.dyn.Resource(rolloutsGVR).Namespace(f.ns).Get(f.ctx, "det", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strconv.FormatInt(r.ResourceVersion, 10) != u.GetResourceVersion() || r.Generation != u.GetGeneration() || u.GetGeneration() != 1 {
		t.Errorf("store versions %d/%d, object resourceVersion %s generation %d", r.ResourceVersion, r.Generation, u.GetResourceVersion(), u.GetGeneration())
	}
	str := func(path ...string) string { v, _, _ := unstructured.NestedString(u.Object, path...); return v }
	if og := str("status", "observedGeneration"); og != strconv.FormatInt(u.GetGeneration(), 10) {
		t.Errorf("status.observedGeneration %q (a string), want metadata.generation %d", og, u.GetGeneration())
	}
	for path, wantV := range map[string]string{"phase": "Paused", "currentPodHash": "new", "stableRS": "old", "message": "CanaryPauseStep"} {
		if got := str("status", path); got != wantV {
			t.Errorf("status.%s = %q, want %q", path, got, wantV)
		}
	}
	if i, _, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex"); i != 1 {
		t.Errorf("status.currentStepIndex = %d, want 1", i)
	}
	if w, _, _ := unstructured.NestedInt64(u.Object, "status", "canary", "weights", "canary", "weight"); w != 25 {
		t.Errorf("status.canary.weights.canary.weight = %d, want 25", w)
	}
	if pc, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions"); len(pc) != 1 {
		t.Errorf("status.pauseConditions = %v, want the canary pause", pc)
	}
	if _, ok, _ := unstructured.NestedMap(u.Object, "status", "shipsafe", "templates", "new"); !ok {
		t.Errorf("status.shipsafe.templates.new pruned")
	}
	if img, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers"); len(img) != 1 {
		t.Errorf("spec.template changed by a status write: %v", img)
	}

	// Every field survives the API server: the stored status is what was written.
	var got v1alpha1.RolloutStatus
	b, _ := json.Marshal(u.Object["status"])
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Compared as JSON: times decode in UTC and raw extensions re-encoded, same values.
	if gb, wb := jsonOf(t, got), jsonOf(t, want); gb != wb {
		t.Errorf("stored status differs:\n got %s\nwant %s", gb, wb)
	}
	row, err := f.s.GetRollout(f.ctx, "det")
	if err != nil {
		t.Fatal(err)
	}
	dro, rec, err := progress.Decode(row)
	if err != nil {
		t.Fatal(err)
	}
	if dro.Name != "det" || dro.Annotations["shipsafe.dev/request-timeout"] != "10s" || len(dro.Spec.Strategy.Canary.Steps) != 3 {
		t.Errorf("decoded manifest %+v", dro.ObjectMeta)
	}
	if _, ok := dro.Annotations[kubernetes.WrittenAnnotation]; ok {
		t.Errorf("the store's own annotation leaks into the manifest")
	}
	if again := progress.Encode(rec, rec.ObservedGeneration()); jsonOf(t, again) != jsonOf(t, want) {
		t.Errorf("decode(encode) is not a fixed point")
	}

	// A status write never bumps the generation; a spec change does, keeping the status.
	ro.Spec.Template = podTemplate("det", "m:3")
	up, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: ro, ExpectedVersion: r.ResourceVersion}})
	if err != nil || up[0].Generation != 2 || string(up[0].Status) != string(row.Status) {
		t.Fatalf("spec change: gen %d, status kept %v, err %v", up[0].Generation, string(up[0].Status) == string(row.Status), err)
	}
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: want, ExpectedVersion: r.ResourceVersion}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("status write at a stale version: %v, want ErrConflict", err)
	}
	if err := f.s.DeleteRollout(f.ctx, "det", r.ResourceVersion); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete at a stale version: %v, want ErrConflict", err)
	}
	if err := f.s.DeleteRollout(f.ctx, "det", up[0].ResourceVersion); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: want, ExpectedVersion: store.AnyVersion}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status of a deleted rollout: %v, want ErrNotFound", err)
	}
}
