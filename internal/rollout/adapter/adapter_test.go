package adapter_test

import (
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
)

func load(t *testing.T, path string) *v1alpha1.Rollout {
	t.Helper()
	res, err := manifest.LoadPath(path, nil)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	for i := range res.Objects {
		if res.Objects[i].Rollout != nil {
			manifest.SetDefaults(&res.Objects[i])
			return res.Objects[i].Rollout
		}
	}
	t.Fatalf("no rollout in %s", path)
	return nil
}

func TestSeedCanaryConverts(t *testing.T) {
	ro := load(t, "../../../examples/canary/rollout.yaml")
	spec, err := adapter.Spec(ro)
	if err != nil {
		t.Fatal(err)
	}
	c := spec.Canary
	if spec.Replicas != 10 || c == nil || len(c.Steps) != 7 {
		t.Fatalf("spec %+v", spec)
	}
	if d := c.Steps[1].Pause.Duration; d == nil || *d != 10*time.Minute {
		t.Fatalf("pause {duration: 10m}: %v", d)
	}
	if d := c.Steps[3].Pause.Duration; d == nil || *d != 30*time.Minute {
		t.Fatalf("pause {duration: 1800} (integer seconds): %v", d)
	}
	if pa := c.Steps[5].Pause.Analysis; pa == nil || pa.SuccessCondition != "result >= 0.9" || pa.MetricName != "model-accuracy" {
		t.Fatalf("pause {analysis}: %+v", pa)
	}
	if c.Analysis == nil || len(c.Analysis.Templates) != 3 || c.Analysis.Args[1].PodTemplateHashValue != "Latest" {
		t.Fatalf("background analysis: %+v", c.Analysis)
	}
	if c.MaxSurge == nil || !c.MaxSurge.Percent || c.MaxSurge.Value != 25 {
		t.Fatalf("maxSurge 25%%: %+v", c.MaxSurge)
	}
	// the converted spec is one the engine acts on (not InvalidSpec)
	res := rollout.Reconcile(spec, rollout.Status{}, rollout.Observation{HasTrafficRouter: true}, time.Unix(0, 0))
	if res.Status.Blocked != "" || res.Status.StableRS != spec.TemplateHash {
		t.Fatalf("first reconcile: %+v", res.Status)
	}
}

func TestTemplateHashIdentifiesTheTemplate(t *testing.T) {
	ro := load(t, "../../../examples/canary/rollout.yaml")
	a := adapter.TemplateHash(ro.Spec.Template)
	if b := adapter.TemplateHash(ro.Spec.Template); a != b || a == "" {
		t.Fatalf("hash not stable: %q %q", a, b)
	}
	ro.Spec.Template.Spec.Containers[0].Image = "shipsafe/shipsafe:v3"
	if c := adapter.TemplateHash(ro.Spec.Template); c == a {
		t.Fatalf("a new image must be a new revision")
	}
}

func TestBlueGreenAndRollingConvert(t *testing.T) {
	bg, err := adapter.Spec(load(t, "../../../examples/blue-green/rollout.yaml"))
	if err != nil || bg.BlueGreen == nil || bg.BlueGreen.AutoPromotionEnabled == nil || *bg.BlueGreen.AutoPromotionEnabled ||
		bg.BlueGreen.PrePromotionAnalysis == nil || bg.BlueGreen.PostPromotionAnalysis == nil {
		t.Fatalf("blue-green: %+v %v", bg.BlueGreen, err)
	}
	rl, err := adapter.Spec(load(t, "../../../examples/rolling/rollout.yaml"))
	if err != nil || rl.Rolling == nil || rl.Rolling.MaxSurge.Value != 2 || rl.Rolling.MaxUnavailable.Value != 1 {
		t.Fatalf("rolling: %+v %v", rl.Rolling, err)
	}
}
