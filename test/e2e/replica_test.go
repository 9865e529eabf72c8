package e2e

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestKilledReplicaIsReplacedWithoutClientErrors SIGKILLs serving replicas, one after the
// other, under steady traffic through the gateway: each is replaced by a new process, the
// revision is back to its desired ready count, and not one client request fails.
func TestKilledReplicaIsReplacedWithoutClientErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const name, replicas = "steady", 3
	m := detectorRollout(name, replicas, "v1", "", canaryStrategy)
	hash := hashOf(t, m)
	c.apply(m)
	c.waitFor(ctx, name, "healthy on v1", stableIs(hash))

	tr := startTraffic(ctx, t, c.gateway, name, 150)
	time.Sleep(2 * time.Second)

	killed, replaced := map[int]bool{}, map[int]bool{}
	for round := 1; round <= 2; round++ {
		before := c.replicaPIDs(hash)
		if len(before) != replicas {
			t.Fatalf("round %d: %d recorded replica pids %v, want %d", round, len(before), before, replicas)
		}
		// A replica not killed before (round 2 kills one of the original ones).
		var victim int
		for _, pid := range slices.Sorted(slices.Values(before)) {
			if !killed[pid] && !replaced[pid] {
				victim = pid
				break
			}
		}
		killed[victim] = true
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			t.Fatalf("kill replica %d: %v", victim, err)
		}
		killedAt := time.Now()
		// Replaced: the revision is back to the desired count of ready replicas, none of
		// them the killed pid, every recorded pid alive, and no other replica process.
		var after []int
		c.waitFor(ctx, name, "back to its desired ready replicas", func(v controlplaneView) bool {
			after = c.replicaPIDs(hash)
			if len(after) != replicas || slices.Contains(after, victim) {
				return false
			}
			for _, pid := range after {
				if !alive(pid) {
					return false
				}
			}
			for _, r := range v.Revisions {
				if r.Hash == hash {
					return r.Ready == replicas && r.Desired == replicas
				}
			}
			return false
		})
		for _, pid := range after {
			if !slices.Contains(before, pid) {
				replaced[pid] = true
			}
		}
		if live := c.liveReplicaProcs(); len(live) != replicas {
			t.Errorf("round %d: %d live replica processes %v, want %d", round, len(live), live, replicas)
		}
		t.Logf("round %d: killed replica pid %d; replaced in %v (pids %v -> %v)", round, victim, time.Since(killedAt).Round(10*time.Millisecond), before, after)
		time.Sleep(2 * time.Second)
	}

	s := tr.stop()
	t.Logf("traffic: %d requests, %d errors over %v; longest gap between answers %v; worst p99 %v", s.Requests, s.Errors, s.Elapsed.Round(time.Second), s.MaxGap.Round(time.Millisecond), s.MaxP99.Round(time.Millisecond))
	// The rate is a target; a loaded machine sends fewer, but traffic must have flowed.
	if s.Requests < 50*int(s.Elapsed.Seconds()) {
		t.Errorf("only %d requests in %v: the test needs steady traffic", s.Requests, s.Elapsed)
	}
	if s.Errors != 0 {
		t.Fatalf("%d of %d client requests failed while replicas were killed and replaced", s.Errors, s.Requests)
	}
}
