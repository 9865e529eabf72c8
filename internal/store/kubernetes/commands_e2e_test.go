package kubernetes_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
)

// patch is one JSON merge patch as Argo's kubectl plugin sends it: to /status or to the object.
type patch struct {
	status bool
	body   string
}

// TestArgoPluginEditsBecomeCommands makes, with client-go, exactly the patches Argo's kubectl
// plugin v1.10 makes for each command against a Rollout whose status shipsafe wrote, and
// checks RecognizeCommands turns them into the control plane's commands, with the edited
// fields put back as shipsafe wrote them.
func TestArgoPluginEditsBecomeCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	t0 := time.Now().UTC().Truncate(time.Second)
	hashA := adapter.TemplateHash(podTemplate("det", "m:1"))
	templateA, _ := json.Marshal(podTemplate("det", "m:1"))
	aborted := func(r *progress.Record) {
		r.Engine.Abort, r.Engine.AbortedAt, r.Engine.AbortMessage = true, &t0, "aborted by user"
		r.Engine.PauseConditions, r.Engine.ControllerPause = nil, false
	}
	for _, tc := range []struct {
		name       string
		specPaused bool
		record     func(*progress.Record)
		patches    []patch
		want       []rollout.CommandKind
		restored   func(st map[string]any) string // "" when the edited fields are back
		kept, undo string
		stale      bool
	}{
		{name: "promote", patches: []patch{{true, `{"status":{"pauseConditions":null}}`}}, want: []rollout.CommandKind{rollout.CommandPromote},
			restored: func(st map[string]any) string { return lenIs(st["pauseConditions"], 1) }},
		{name: "promote-spec-paused", specPaused: true,
			patches: []patch{{false, `{"spec":{"paused":false}}`}, {true, `{"status":{"pauseConditions":null}}`}},
			want:    []rollout.CommandKind{rollout.CommandPromote, rollout.CommandResume}},
		{name: "promote-full", patches: []patch{{true, `{"status":{"promoteFull":true}}`}}, want: []rollout.CommandKind{rollout.CommandPromoteFull},
			restored: func(st map[string]any) string { return absent(st, "promoteFull") }},
		{name: "skip-current-step", patches: []patch{{true, `{"status":{"currentStepIndex":2}}`}}, want: []rollout.CommandKind{rollout.CommandPromote},
			restored: func(st map[string]any) string { return equal(st["currentStepIndex"], int64(1)) }},
		{name: "set-step", patches: []patch{{true, `{"status":{"currentStepIndex":3}}`}}, kept: "currentStepIndex=3"},
		{name: "abort", patches: []patch{{true, `{"status":{"abort":true}}`}}, want: []rollout.CommandKind{rollout.CommandAbort},
			restored: func(st map[string]any) string { return absent(st, "abort") }},
		{name: "retry", record: aborted, patches: []patch{{true, `{"status":{"abort":false}}`}}, want: []rollout.CommandKind{rollout.CommandRetry},
			restored: func(st map[string]any) string { return equal(st["abort"], true) }},
		{name: "pause", patches: []patch{{false, `{"spec":{"paused":true}}`}}, want: []rollout.CommandKind{rollout.CommandPause}},
		{name: "undo", patches: []patch{{false, `{"spec":{"template":` + string(templateA) + `}}`}}, undo: hashA},
		{name: "no-edit"},
		{name: "other-writer", patches: []patch{{true, `{"status":{"message":"edited by hand"}}`}}, stale: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name
			ro := canaryRollout(name, "m:2")
			ro.Spec.Paused = tc.specPaused
			out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: name, Spec: ro}})
			if err != nil {
				t.Fatal(err)
			}
			rec := pausedRecord(t0)
			rec.Engine.StableRS = hashA
			if tc.record != nil {
				tc.record(&rec)
			}
			if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: name, Status: progress.Encode(rec, out[0].Generation), ExpectedVersion: out[0].ResourceVersion}); err != nil {
				t.Fatal(err)
			}
			written := f.get(name)
			for _, p := range tc.patches {
				f.patch(name, p)
			}
			live := f.get(name)
			got, err := kubernetes.RecognizeCommands(live)
			if err != nil {
				t.Fatal(err)
			}
			var typed v1alpha1.Rollout
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, &typed); err != nil {
				t.Fatal(err)
			}
			if viaTyped, err := kubernetes.RecognizeRollout(&typed); err != nil || jsonOf(t, viaTyped) != jsonOf(t, got) {
				t.Errorf("typed rollout recognised\n%s\nthe object\n%s (%v)", jsonOf(t, viaTyped), jsonOf(t, got), err)
			}
			if got.Stale != tc.stale {
				t.Fatalf("stale = %v, want %v", got.Stale, tc.stale)
			}
			var kinds []rollout.CommandKind
			for _, c := range got.Commands {
				kinds = append(kinds, rollout.CommandKind(c.Kind))
				var w kubernetes.Written
				_ = json.Unmarshal([]byte(written.GetAnnotations()[kubernetes.WrittenAnnotation]), &w)
				if want := fmt.Sprintf("argo-%s-%d", c.Kind, w.Version); c.ID != want {
					t.Errorf("command id %q, want %q", c.ID, want)
				}
			}
			if !slices.Equal(kinds, tc.want) {
				t.Errorf("commands %v, want %v", kinds, tc.want)
			}
			if tc.kept != "" && !slices.Contains(got.Kept, tc.kept) {
				t.Errorf("kept %v, want %s", got.Kept, tc.kept)
			}
			if got.Undo != tc.undo {
				t.Errorf("undo %q, want %q", got.Undo, tc.undo)
			}
			if tc.restored != nil {
				if msg := tc.restored(got.Status); msg != "" {
					t.Errorf("edited field not restored: %s", msg)
				}
			}
			if len(tc.want) > 0 {
				// Decoded as the control plane decodes a stored status: the commands are pending.
				b, _ := json.Marshal(got.Status)
				_, dec, err := progress.Decode(store.Rollout{Name: name, Spec: mustJSON(t, ro), Status: b})
				if err != nil {
					t.Fatal(err)
				}
				if len(dec.Commands) != len(tc.want) || dec.Commands[0].Kind != tc.want[0] {
					t.Errorf("decoded pending commands %+v, want %v", dec.Commands, tc.want)
				}
				again, _ := kubernetes.RecognizeCommands(f.get(name))
				if jsonOf(t, again.Commands) != jsonOf(t, got.Commands) {
					t.Errorf("a second read recognised %+v, first %+v: ids must be stable", again.Commands, got.Commands)
				}
			}
		})
	}
}

// TestArgoCommandsThroughTheStore: with Options.ArgoCommands the store itself hands the
// plugin's abort to the control plane as a pending command; once the pass that carries it is
// written, the same edit is not recognised again.
func TestArgoCommandsThroughTheStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{ArgoCommands: true})
	ro := canaryRollout("det", "m:2")
	out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: ro}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: progress.Encode(pausedRecord(time.Now().UTC().Truncate(time.Second)), 1), ExpectedVersion: out[0].ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	f.patch("det", patch{true, `{"status":{"abort":true}}`})

	row, err := f.s.GetRollout(f.ctx, "det")
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := progress.Decode(row)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Commands) != 1 || rec.Commands[0].Kind != rollout.CommandAbort || rec.Engine.Abort {
		t.Fatalf("commands %+v, abort %v: want one pending abort and the status as shipsafe wrote it", rec.Commands, rec.Engine.Abort)
	}
	list, err := f.s.ListRollouts(f.ctx)
	if err != nil || len(list) != 1 || string(list[0].Status) != string(row.Status) {
		t.Fatalf("ListRollouts recognises the same: %v", err)
	}
	// The pass stores the command with the record (here: still pending) …
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: progress.Encode(rec, 1), ExpectedVersion: row.ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	// … and the next read finds it once, not a second time.
	row, err = f.s.GetRollout(f.ctx, "det")
	if err != nil {
		t.Fatal(err)
	}
	if _, rec, _ = progress.Decode(row); len(rec.Commands) != 1 {
		t.Fatalf("after the write: commands %+v, want the one abort", rec.Commands)
	}
}

func (f *fixture) get(name string) *unstructured.Unstructured {
	f.t.Helper()
	u, err := f.dyn.Resource(rolloutsGVR).Namespace(f.ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get rollout %s: %v", name, err)
	}
	return u
}

func (f *fixture) patch(name string, p patch) {
	f.t.Helper()
	var sub []string
	if p.status {
		sub = []string{"status"}
	}
	if _, err := f.dyn.Resource(rolloutsGVR).Namespace(f.ns).Patch(f.ctx, name, types.MergePatchType, []byte(p.body), metav1.PatchOptions{}, sub...); err != nil {
		f.t.Fatalf("patch %s %s: %v", name, p.body, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lenIs(v any, n int) string {
	if l, _ := v.([]any); len(l) != n {
		return fmt.Sprintf("%v: want %d entries", v, n)
	}
	return ""
}

func absent(st map[string]any, k string) string {
	if v, ok := st[k]; ok {
		return fmt.Sprintf("%s = %v, want unset", k, v)
	}
	return ""
}

func equal(got, want any) string {
	if got != want {
		return fmt.Sprintf("%v (%T), want %v", got, got, want)
	}
	return ""
}
