package rollout

import "testing"

// Argo lets setCanaryScale, setHeaderRoute and setMirrorRoute share one step; all three
// take effect, and the step is valid.
func TestCombinedRoutingStep(t *testing.T) {
	one := int32(1)
	step := CanaryStep{
		SetCanaryScale: &SetCanaryScale{Replicas: &one},
		SetHeaderRoute: &HeaderRoute{Name: "beta", Match: []HeaderMatch{{HeaderName: "x-beta", HeaderValue: StringMatch{Exact: "1"}}}},
		SetMirrorRoute: &MirrorRoute{Name: "shadow", Percentage: 100, Match: []RouteMatch{{Method: &StringMatch{Exact: "POST"}}}},
	}
	if err := checkStep(0, step); err != nil {
		t.Fatalf("combined routing step refused: %v", err)
	}
	s := replay([]CanaryStep{step}, 1)
	if s.scale == nil || *s.scale.Replicas != 1 || len(s.headers) != 1 || len(s.mirrors) != 1 {
		t.Fatalf("combined step state: %+v", s)
	}
	if got := describeStep(step); got != "setCanaryScale + setHeaderRoute beta + setMirrorRoute shadow" {
		t.Errorf("describe: %q", got)
	}
	w := int32(10)
	if err := checkStep(0, CanaryStep{SetWeight: &w, SetMirrorRoute: step.SetMirrorRoute}); err == nil {
		t.Error("setWeight combined with setMirrorRoute was accepted")
	}
}
