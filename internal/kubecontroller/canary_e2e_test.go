package kubecontroller_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCanaryOnCluster runs the controller against the real API server: a canary Rollout
// without traffic routing gets a stable ReplicaSet labelled with Argo's hash and goes Healthy
// with observedGeneration (a string) equal to the generation; a template change creates a
// canary ReplicaSet scaled to the first step's weight of the replicas, which pauses; the
// kubectl plugin's promote patch makes it proceed to Healthy with the new revision stable and
// the old ReplicaSet scaled down.
func TestCanaryOnCluster(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 150*time.Second)
	ctl, _ := f.startController("solo", 3*time.Second)
	f.createRollout("web", "example.invalid/web:v1")

	var stable string
	f.waitFor("first revision Healthy", func() string {
		s := f.status("web")
		if msg := s.observed(); msg != "" {
			return msg
		}
		if s.Phase != "Healthy" || s.StableRS == "" || s.StableRS != s.CurrentPodHash {
			return fmt.Sprintf("phase %q stableRS %q currentPodHash %q (%s)", s.Phase, s.StableRS, s.CurrentPodHash, s.Message)
		}
		rss := f.replicaSets("web")
		rs, ok := rss[s.StableRS]
		if !ok || len(rss) != 1 {
			return fmt.Sprintf("replicasets by hash %v, want one with hash %s", keys(rss), s.StableRS)
		}
		if rs.Spec.Template.Labels["rollouts-pod-template-hash"] != s.StableRS || *rs.Spec.Replicas != 4 || rs.Status.ReadyReplicas != 4 {
			return fmt.Sprintf("stable %s: replicas %d ready %d", rs.Name, *rs.Spec.Replicas, rs.Status.ReadyReplicas)
		}
		stable = s.StableRS
		return ""
	})
	if r := f.readyz(ctl); !r.Ready || r.Role != "leader" || r.Leader != "solo" {
		t.Errorf("readyz %+v, want ready leader solo", r)
	}

	// The API serves the cluster's rollout, and its mutating routes want the token.
	resp, err := http.Get("http://" + ctl.APIAddr() + "/api/v1/rollouts/web")
	if err != nil {
		t.Fatalf("API get: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), stable) {
		t.Errorf("API get web: %d %s, want 200 naming %s", resp.StatusCode, body, stable)
	}
	resp, err = http.Post("http://"+ctl.APIAddr()+"/api/v1/rollouts/web/abort", "application/json", nil)
	if err != nil {
		t.Fatalf("API abort: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("abort without the token: %d, want 401", resp.StatusCode)
	}

	f.setImage("web", "example.invalid/web:v2")
	var canary string
	f.waitFor("canary at 25% and paused", func() string {
		s := f.status("web")
		if msg := s.observed(); msg != "" {
			return msg
		}
		if s.CurrentPodHash == stable || s.CurrentPodHash == "" {
			return "no new revision yet"
		}
		canary = s.CurrentPodHash
		rss := f.replicaSets("web")
		c, ok := rss[canary]
		if !ok {
			return fmt.Sprintf("no replicaset for %s in %v", canary, keys(rss))
		}
		if *c.Spec.Replicas != 1 || c.Status.ReadyReplicas != 1 {
			return fmt.Sprintf("canary replicas %d ready %d, want 1 (25%% of 4)", *c.Spec.Replicas, c.Status.ReadyReplicas)
		}
		if st := rss[stable]; *st.Spec.Replicas < 3 {
			return fmt.Sprintf("stable scaled to %d while the canary has 1", *st.Spec.Replicas)
		}
		if s.Phase != "Paused" || len(s.PauseConditions) == 0 || s.CurrentStepIndex == nil || *s.CurrentStepIndex != 1 {
			return fmt.Sprintf("phase %q pauseConditions %v step %v", s.Phase, s.PauseConditions, s.CurrentStepIndex)
		}
		return ""
	})
	// Paused means paused: nothing moves while nobody promotes.
	time.Sleep(time.Second)
	if s := f.status("web"); s.Phase != "Paused" || *f.replicaSets("web")[canary].Spec.Replicas != 1 {
		t.Fatalf("did not stay paused: phase %q", s.Phase)
	}

	f.promote("web")
	f.waitFor("new revision Healthy and stable", func() string {
		s := f.status("web")
		if msg := s.observed(); msg != "" {
			return msg
		}
		if s.Phase != "Healthy" || s.StableRS != canary || s.CurrentPodHash != canary {
			return fmt.Sprintf("phase %q stableRS %q currentPodHash %q (%s)", s.Phase, s.StableRS, s.CurrentPodHash, s.Message)
		}
		rss := f.replicaSets("web")
		if c := rss[canary]; *c.Spec.Replicas != 4 || c.Status.ReadyReplicas != 4 {
			return fmt.Sprintf("new stable replicas %d ready %d, want 4", *c.Spec.Replicas, c.Status.ReadyReplicas)
		}
		if old := rss[stable]; *old.Spec.Replicas != 0 {
			return fmt.Sprintf("old revision still has %d replicas", *old.Spec.Replicas)
		}
		return ""
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
