package flags

import (
	"fmt"
	"testing"
)

func seedDoc(pct float64) string {
	return fmt.Sprintf(`{
	  "user_segments": {
	    "radiologists": {"ends_with": [{"var": "email"}, "@radiology.example.org"]},
	    "qa-team": {"in": [{"var": "team"}, ["qa", "release"]]}
	  },
	  "flags": {
	    "model-selection": {
	      "enabled": true,
	      "variants": {"experimental": "experimental", "stable": "stable"},
	      "defaultVariant": "stable",
	      "rollout_variant": "experimental",
	      "rollout_percentage": %g,
	      "user_segments": ["radiologists"],
	      "override_conditions": [
	        {"segment": "qa-team", "variant": "experimental"},
	        {"when": {"==": [{"var": "site"}, "icu"]}, "variant": "stable"}
	      ]
	    },
	    "simple": {"enabled": true, "rollout_percentage": %g},
	    "off": {"enabled": false, "rollout_percentage": 100}
	  }}`, pct, pct)
}

func radiologist(i int) *Context {
	return &Context{TargetingKey: fmt.Sprintf("patient-%05d", i),
		Attrs: []Attr{{Name: "email", Value: String(fmt.Sprintf("dr%d@radiology.example.org", i))}}}
}

// A patient in the rollout must stay in it as the percentage grows: the seed's
// random.randint per request would flip studies between models; this must not.
func TestSeedRolloutIsStickyAsPercentageGrows(t *testing.T) {
	const n = 5000
	prev := map[int]bool{}
	for _, pct := range []float64{0, 1, 5, 10, 25, 50, 75, 99.5, 100} {
		set := mustCompile(t, seedDoc(pct))
		in := 0
		for i := 0; i < n; i++ {
			r := set.Evaluate("model-selection", radiologist(i))
			if r.ErrorCode != "" {
				t.Fatalf("pct %g: %+v", pct, r)
			}
			got := r.Variant == "experimental"
			if prev[i] && !got {
				t.Fatalf("pct %g: patient %d left the rollout it was in at a lower percentage", pct, i)
			}
			// Same answer on every request (deterministic).
			if again := set.Evaluate("model-selection", radiologist(i)); again.Variant != r.Variant {
				t.Fatalf("pct %g: patient %d flipped between requests", pct, i)
			}
			prev[i] = got
			if got {
				in++
			}
		}
		share := float64(in) / n * 100
		if share < pct-2 || share > pct+2 {
			t.Errorf("pct %g: %.1f%% of patients in the rollout", pct, share)
		}
	}
}

func TestSeedSegmentsOverridesAndDisabled(t *testing.T) {
	set := mustCompile(t, seedDoc(100))
	check := func(name string, flag string, c *Context, variant string, reason Reason) {
		t.Helper()
		r := set.Evaluate(flag, c)
		if r.Variant != variant || r.Reason != reason {
			t.Errorf("%s: got %q/%s (%s), want %q/%s", name, r.Variant, r.Reason, r.ErrorDetails, variant, reason)
		}
	}
	check("radiologist in rollout", "model-selection", radiologist(1), "experimental", ReasonSplit)
	outside := &Context{TargetingKey: "p-1", Attrs: []Attr{{Name: "email", Value: String("gp@clinic.example.org")}}}
	check("outside the segment", "model-selection", outside, "stable", ReasonDefault)
	qa := &Context{TargetingKey: "p-2", Attrs: []Attr{{Name: "team", Value: String("qa")}}}
	check("override by segment", "model-selection", qa, "experimental", ReasonTargetingMatch)
	icu := &Context{TargetingKey: "p-3", Attrs: []Attr{
		{Name: "email", Value: String("dr@radiology.example.org")}, {Name: "site", Value: String("icu")}}}
	check("override by condition beats rollout", "model-selection", icu, "stable", ReasonTargetingMatch)
	check("default on/off variants", "simple", &Context{TargetingKey: "x"}, "on", ReasonSplit)
	check("disabled", "off", &Context{TargetingKey: "x"}, "", ReasonDisabled)
	if r := set.Evaluate("simple", &Context{}); r.ErrorCode != ErrTargetingKeyMissing {
		t.Errorf("rollout without a targeting key: %+v, want TARGETING_KEY_MISSING", r)
	}
	zero := mustCompile(t, seedDoc(0))
	if r := zero.Evaluate("simple", &Context{TargetingKey: "x"}); r.Variant != "off" {
		t.Errorf("0%% rollout: %+v", r)
	}
}
