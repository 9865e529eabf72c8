package controlplane

import (
	"slices"
	"testing"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

const canarySteps = `    canary:
      steps:
      - setWeight: 50
      - pause: {}
`

const blueGreenManual = `    blueGreen:
      activeService: det-active
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 5
`

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: det
spec:
  replicas: 2
  selector:
    matchLabels: {app: det}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: det}
    spec:
      containers:
      - name: detector
        image: shipsafe/detector:MODEL
        command: ["shipsafe", "detector", "serve", "--model", "MODEL"]
`

// step is one expectation after some passes (and an optional command before them).
type step struct {
	command string
	passes  int
	phase   rollout.Phase
	// weights of the current and stable revisions on the main service (-1: not checked).
	canaryWeight int32
	// stableIsNew: the new revision is the stable one.
	stableIsNew bool
}

func TestStrategyPassSequences(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest func(model string) string
		steps    []step
	}{
		{
			name:     "canary: weight 50, pause until promoted, then all traffic on the new revision",
			manifest: func(m string) string { return rolloutYAML("det", m, canarySteps) },
			steps: []step{
				{passes: 3, phase: rollout.PhasePaused, canaryWeight: 50},
				{passes: 3, phase: rollout.PhasePaused, canaryWeight: 50},
				{command: "promote", passes: 3, phase: rollout.PhaseHealthy, canaryWeight: 100, stableIsNew: true},
			},
		},
		{
			name:     "canary: promote-full skips the pause",
			manifest: func(m string) string { return rolloutYAML("det", m, canarySteps) },
			steps: []step{
				{passes: 3, phase: rollout.PhasePaused, canaryWeight: 50},
				{command: "promote-full", passes: 3, phase: rollout.PhaseHealthy, canaryWeight: 100, stableIsNew: true},
			},
		},
		{
			name:     "canary: abort returns all traffic to the stable revision",
			manifest: func(m string) string { return rolloutYAML("det", m, canarySteps) },
			steps: []step{
				{passes: 3, phase: rollout.PhasePaused, canaryWeight: 50},
				{command: "abort", passes: 3, phase: rollout.PhaseDegraded, canaryWeight: 0},
			},
		},
		{
			name:     "blue-green: preview until promoted, then the switch",
			manifest: func(m string) string { return rolloutYAML("det", m, blueGreenManual) },
			steps: []step{
				{passes: 3, phase: rollout.PhasePaused, canaryWeight: 0},
				{command: "promote", passes: 3, phase: rollout.PhaseHealthy, canaryWeight: 100, stableIsNew: true},
			},
		},
		{
			name:     "rolling: a Deployment rolls to the new revision on its own",
			manifest: func(m string) string { return replaceModel(deploymentYAML, m) },
			steps: []step{
				{passes: 8, phase: rollout.PhaseHealthy, canaryWeight: 100, stableIsNew: true},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			parsed(t, tc.manifest("v1"))
			h.apply(tc.manifest("v1"))
			h.passes("det", 3)
			first := h.engine("det")
			if first.Phase != rollout.PhaseHealthy || first.StableRS == "" {
				t.Fatalf("first deploy: %s stable %q, want Healthy", first.Phase, first.StableRS)
			}
			if w := h.router.weights("det"); w[first.StableRS] != 100 {
				t.Fatalf("first deploy weights %v: want 100 on %s", w, first.StableRS)
			}
			h.apply(tc.manifest("v2"))
			for i, s := range tc.steps {
				if s.command != "" {
					h.command("det", s.command)
				}
				h.passes("det", s.passes)
				st := h.engine("det")
				newRev := st.CurrentPodHash
				if newRev == first.StableRS && !s.stableIsNew && s.canaryWeight > 0 {
					t.Fatalf("step %d: no new revision in flight: %+v", i, st)
				}
				if st.Phase != s.phase {
					t.Fatalf("step %d: phase %s (%s), want %s", i, st.Phase, st.Message, s.phase)
				}
				if s.stableIsNew != (st.StableRS != first.StableRS) {
					t.Fatalf("step %d: stable %s (first %s), want new=%v", i, st.StableRS, first.StableRS, s.stableIsNew)
				}
				w := h.router.weights("det")
				if s.stableIsNew {
					if w[st.StableRS] != 100 {
						t.Fatalf("step %d: weights %v, want 100 on the new stable %s", i, w, st.StableRS)
					}
				} else if w[newRev] != s.canaryWeight || w[first.StableRS] != 100-s.canaryWeight {
					t.Fatalf("step %d: weights %v, want %d on %s and %d on %s", i, w, s.canaryWeight, newRev, 100-s.canaryWeight, first.StableRS)
				}
			}
		})
	}
}

func TestBlueGreenPreviewServiceAndScaleDown(t *testing.T) {
	h := newHarness(t)
	h.apply(rolloutYAML("det", "v1", blueGreenManual))
	h.passes("det", 3)
	old := h.engine("det").StableRS
	h.apply(rolloutYAML("det", "v2", blueGreenManual))
	h.passes("det", 3)
	st := h.engine("det")
	d := h.router.last[traffic.Ref{Rollout: "det"}]
	if d.Services.Main != "det-active" || d.Services.Preview != "det--preview" || d.Traffic.Preview != st.CurrentPodHash {
		t.Fatalf("preview: services %+v, preview revision %q, want det-active / det--preview on %s", d.Services, d.Traffic.Preview, st.CurrentPodHash)
	}
	if len(d.Backends[st.CurrentPodHash]) != 2 {
		t.Fatalf("the preview's ready endpoints are the router's backends: %v", d.Backends)
	}
	h.command("det", "promote")
	h.passes("det", 3)
	if got := h.plat.replicas("det"); got[old] != 2 {
		t.Fatalf("old active kept during scaleDownDelaySeconds: %v", got)
	}
	h.clock.Advance(6e9)
	h.passes("det", 2)
	if got := h.plat.replicas("det"); got[old] != 0 || len(got) != 1 {
		t.Fatalf("old active scaled down after the delay: %v", got)
	}
	if !slices.Contains(h.reasons("det"), "CommandApplied") {
		t.Fatalf("events %v: want CommandApplied", h.reasons("det"))
	}
}

func TestWithoutTrafficRoutingWeightsFollowReplicas(t *testing.T) {
	h := newHarness(t)
	h.router.routing = false
	h.apply(rolloutYAML("det", "v1", canarySteps))
	h.passes("det", 3)
	stable := h.engine("det").StableRS
	h.apply(rolloutYAML("det", "v2", canarySteps))
	h.passes("det", 4)
	st := h.engine("det")
	got := h.plat.replicas("det")
	// Without a router a 50% weight is one replica of two on each side.
	if st.Phase != rollout.PhasePaused || got[st.CurrentPodHash] != 1 || got[stable] != 1 {
		t.Fatalf("phase %s replicas %v: want Paused with 1 canary and 1 stable replica", st.Phase, got)
	}
}

func replaceModel(s, model string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if i+5 <= len(s) && s[i:i+5] == "MODEL" {
			out = append(out, model...)
			i += 4
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
