package kubecontroller_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/internal/kubecontroller"
)

// TestLeaderElectionTakeover runs two controllers on one namespace: one holds the Lease and
// acts, the other says standby on /readyz and its leader gauge stays 0 while the first takes a
// canary to its pause; the leader is then stopped (context cancelled), the other takes the
// Lease within the lease duration and finishes the rollout after the plugin's promote patch.
func TestLeaderElectionTakeover(t *testing.T) {
	t.Parallel()
	const lease = 3 * time.Second
	f := newFixture(t, 150*time.Second)
	a, stopA := f.startController("ctl-a", lease)
	b, stopB := f.startController("ctl-b", lease)
	ctls := map[string]*kubecontroller.Controller{"ctl-a": a, "ctl-b": b}
	stops := map[string]func(){"ctl-a": stopA, "ctl-b": stopB}

	var leader, standby string
	f.waitFor("one leader, one standby", func() string {
		ra, rb := f.readyz(a), f.readyz(b)
		switch {
		case ra.Role == kubecontroller.RoleLeader && rb.Role == kubecontroller.RoleStandby && rb.Leader == "ctl-a" && rb.Ready:
			leader, standby = "ctl-a", "ctl-b"
		case rb.Role == kubecontroller.RoleLeader && ra.Role == kubecontroller.RoleStandby && ra.Leader == "ctl-b" && ra.Ready:
			leader, standby = "ctl-b", "ctl-a"
		default:
			return fmt.Sprintf("a %+v, b %+v", ra, rb)
		}
		return ""
	})
	t.Logf("leader %s, standby %s", leader, standby)

	f.createRollout("web", "example.invalid/web:v1")
	var stable string
	f.waitFor("first revision Healthy", func() string {
		s := f.status("web")
		if s.observed() != "" || s.Phase != "Healthy" || s.StableRS == "" {
			return fmt.Sprintf("%+v", s)
		}
		stable = s.StableRS
		return ""
	})
	f.setImage("web", "example.invalid/web:v2")
	var canary string
	f.waitFor("canary paused at 25%", func() string {
		s := f.status("web")
		if s.observed() != "" || s.Phase != "Paused" || s.CurrentPodHash == stable {
			return fmt.Sprintf("%+v", s)
		}
		canary = s.CurrentPodHash
		if rs, ok := f.replicaSets("web")[canary]; !ok || *rs.Spec.Replicas != 1 {
			return "canary replicaset not at 1"
		}
		return ""
	})
	if ctls[standby].Leading() || f.readyz(ctls[standby]).Role != kubecontroller.RoleStandby {
		t.Fatalf("%s leads while %s holds the lease", standby, leader)
	}
	if m := metricsOf(t, ctls[standby]); !strings.Contains(m, "shipsafe_controller_leader 0") || !strings.Contains(m, "shipsafe_controller_leader_terms_total 0") {
		t.Errorf("standby metrics say it led:\n%s", grep(m, "shipsafe_controller_leader"))
	}
	if m := metricsOf(t, ctls[leader]); !strings.Contains(m, "shipsafe_controller_leader 1") {
		t.Errorf("leader metrics:\n%s", grep(m, "shipsafe_controller_leader"))
	}

	stopped := time.Now()
	stops[leader]()
	f.waitFor("standby takes over", func() string {
		if !ctls[standby].Leading() {
			return "not leading yet"
		}
		return ""
	})
	if took := time.Since(stopped); took > lease+time.Second {
		t.Errorf("takeover took %v, want within the lease duration %v", took, lease)
	}
	l, err := f.c.Client.CoordinationV1().Leases(f.ns).Get(f.ctx, "shipsafe-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != standby {
		t.Errorf("lease holder %v, want %s", l.Spec.HolderIdentity, standby)
	}

	// The new leader resumes from the stored status: still paused, then finishes on promote.
	if s := f.status("web"); s.Phase != "Paused" || s.CurrentPodHash != canary {
		t.Fatalf("after takeover: %+v, want still paused on %s", s, canary)
	}
	f.promote("web")
	f.waitFor("new revision Healthy and stable", func() string {
		s := f.status("web")
		if s.observed() != "" || s.Phase != "Healthy" || s.StableRS != canary {
			return fmt.Sprintf("%+v", s)
		}
		rss := f.replicaSets("web")
		if len(rss) != 2 || *rss[canary].Spec.Replicas != 4 || *rss[stable].Spec.Replicas != 0 {
			return fmt.Sprintf("replicasets %v", keys(rss))
		}
		return ""
	})
}

func metricsOf(t *testing.T, ctl *kubecontroller.Controller) string {
	t.Helper()
	resp, err := http.Get("http://" + ctl.ProbeAddr() + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
