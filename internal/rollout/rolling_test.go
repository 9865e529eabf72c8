package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

func rollingSpec() rollout.Spec {
	return rollout.Spec{Name: "ro", Replicas: 6, TemplateHash: "v1", Rolling: &rollout.RollingStrategy{
		MaxSurge: &rollout.IntOrPercent{Value: 2}, MaxUnavailable: &rollout.IntOrPercent{Value: 1}}}
}

func TestRollingRespectsSurgeUnavailableAndMinReady(t *testing.T) {
	spec := rollingSpec()
	w := deployed(t, sim.Behaviour{ReadyAfter: 5 * time.Second, MinReady: 10 * time.Second}, spec)
	spec.TemplateHash = "v2"
	start := w.Now
	drive(t, w, spec, 10*time.Minute, func(r rollout.Result) bool {
		if total := w.Replicas("v1") + w.Replicas("v2"); total > 8 {
			t.Fatalf("maxSurge 2 of 6: %d replicas exist", total)
		}
		avail := int32(0)
		for _, rv := range w.Observe().Revisions {
			avail += rv.Available
		}
		if avail < 5 {
			t.Fatalf("maxUnavailable 1 of 6: only %d available", avail)
		}
		return r.Status.StableRS == "v2" && w.Replicas("v1") == 0
	})
	// 6 replicas, at most 3 moving at once (surge 2 + unavailable 1): at least two waves, each
	// needing ready (5s) + minReadySeconds (10s) before old replicas may go.
	if el := w.Now.Sub(start); el < 30*time.Second {
		t.Fatalf("rolled 6 replicas in %s: minReadySeconds not honoured", el)
	}
}

func TestRollingFailingReplicasHaltAndRollBack(t *testing.T) {
	spec := rollingSpec()
	w := deployed(t, sim.Behaviour{ReadyAfter: 5 * time.Second}, spec)
	spec.TemplateHash = "v2"
	w.B.Failing = map[string]bool{"v2": true}
	res := drive(t, w, spec, time.Minute, phaseIs(rollout.PhaseDegraded))
	if !res.Status.Abort || !strings.Contains(res.Status.Message, "fail readiness or liveness") {
		t.Fatalf("message %q", res.Status.Message)
	}
	drive(t, w, spec, time.Minute, func(rollout.Result) bool { return w.Replicas("v2") == 0 && w.Replicas("v1") == 6 })
}
