package controlplane

import (
	"reflect"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

func roWith(annotations map[string]string, strategy v1alpha1.RolloutStrategy) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Name, ro.Annotations, ro.Spec.Strategy = "det", annotations, strategy
	return ro
}

func TestSettingsFromAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want traffic.Settings
	}{
		{"defaults are today's values", nil, traffic.Settings{Idempotent: true, Timeout: 30 * time.Second}},
		{"not idempotent", map[string]string{AnnotationIdempotent: "false"}, traffic.Settings{Idempotent: false, Timeout: 30 * time.Second}},
		{"timeout", map[string]string{AnnotationRequestTimeout: "2m"}, traffic.Settings{Idempotent: true, Timeout: 2 * time.Minute}},
		{"a bad timeout keeps the default", map[string]string{AnnotationRequestTimeout: "soon"}, traffic.Settings{Idempotent: true, Timeout: 30 * time.Second}},
		{"a negative timeout keeps the default", map[string]string{AnnotationRequestTimeout: "-1s"}, traffic.Settings{Idempotent: true, Timeout: 30 * time.Second}},
	} {
		if got := settingsOf(roWith(tc.ann, v1alpha1.RolloutStrategy{})); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestServiceNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		strategy      v1alpha1.RolloutStrategy
		main, preview string
	}{
		{"rolling: the rollout's name", v1alpha1.RolloutStrategy{}, "det", ""},
		{"canary with stableService", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{StableService: "det-stable"}}, "det-stable", ""},
		{"blue-green defaults", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{}}, "det", "det--preview"},
		{"blue-green named", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "a", PreviewService: "p"}}, "a", "p"},
	} {
		ro := roWith(nil, tc.strategy)
		if m, p := mainService(ro), previewService(ro); m != tc.main || p != tc.preview {
			t.Errorf("%s: main %q preview %q, want %q %q", tc.name, m, p, tc.main, tc.preview)
		}
	}
}

func TestDesiredTraffic(t *testing.T) {
	l := &loaded{rollout: roWith(map[string]string{AnnotationStickyHeader: "x-study"}, v1alpha1.RolloutStrategy{
		Canary: &v1alpha1.CanaryStrategy{StableService: "det-stable", CanaryService: "det-canary"},
	})}
	l.rec = progress.Record{Engine: rollout.Status{CurrentPodHash: "new", StableRS: "old"}}
	plan := rollout.Traffic{Weights: []rollout.RevisionWeight{{Hash: "old", Weight: 80}, {Hash: "new", Weight: 20}}}
	states := []platform.RevisionState{
		{Name: "old", Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{Name: "new", Endpoints: []string{"127.0.0.1:3"}},
		{Name: "starting"}, // no ready replica: no backends
	}
	d := desiredTraffic(l, plan, states)
	want := traffic.Desired{
		Services:       traffic.Services{Main: "det-stable", Canary: "det-canary"},
		Traffic:        plan,
		CanaryRevision: "new",
		Backends:       map[string][]string{"old": {"127.0.0.1:1", "127.0.0.1:2"}, "new": {"127.0.0.1:3"}},
		StickyHeader:   "x-study",
		Settings:       traffic.Settings{Idempotent: true, Timeout: DefaultRequestTimeout},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("desired\n%+v\nwant\n%+v", d, want)
	}
	// Once the canary is promoted the canary service has no revision of its own.
	l.rec.Engine.StableRS = "new"
	if d := desiredTraffic(l, plan, states); d.CanaryRevision != "" {
		t.Fatalf("canary revision %q after promotion, want none", d.CanaryRevision)
	}
}

func TestFlagSelection(t *testing.T) {
	l := &loaded{rollout: roWith(map[string]string{AnnotationSelectFlag: "model"}, v1alpha1.RolloutStrategy{})}
	l.rec.Engine = rollout.Status{CurrentPodHash: "c", StableRS: "s", History: []string{"p0", "p"}}
	got := selectionOf(l)
	want := &traffic.Selection{Flag: "model", TargetingKeyHeader: DefaultTargetingHeader,
		Variants: map[string]string{"canary": "c", "experimental": "c", "stable": "s", "fallback": "p"}, Fallback: []string{"s", "p"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("selection %+v, want %+v", got, want)
	}
	l.rollout.Annotations[AnnotationSelectHeader] = "x-patient"
	l.rec.Engine = rollout.Status{CurrentPodHash: "s", StableRS: "s"}
	got = selectionOf(l)
	if got.TargetingKeyHeader != "x-patient" || got.Variants["fallback"] != "" || !reflect.DeepEqual(got.Fallback, []string{"s"}) {
		t.Fatalf("first revision: %+v", got)
	}
	delete(l.rollout.Annotations, AnnotationSelectFlag)
	if selectionOf(l) != nil {
		t.Fatal("no flag annotation: no selection")
	}
}

func TestEndpointsShrank(t *testing.T) {
	a := []platform.RevisionState{{Name: "r", Endpoints: []string{"e1", "e2"}}}
	if endpointsShrank(a, []platform.RevisionState{{Name: "r", Endpoints: []string{"e1", "e2", "e3"}}}) {
		t.Fatal("growth is not a shrink")
	}
	if !endpointsShrank(a, []platform.RevisionState{{Name: "r", Endpoints: []string{"e2"}}}) {
		t.Fatal("a lost endpoint is a shrink")
	}
}
