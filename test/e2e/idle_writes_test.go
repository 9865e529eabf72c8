package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // reads the control plane's database directly
)

const idleCanary = `    canary:
      stableService: s
      steps:
      - setWeight: 50
      - pause: {duration: 1s}
`

// TestIdleRolloutsWriteNothing: 10 Healthy rollouts cost no store writes. The figure (writes
// per second over a 10 s window) is logged for docs/embedded.md.
func TestIdleRolloutsWriteNothing(t *testing.T) {
	c := startCluster(t)
	const n = 10
	for i := range n {
		c.apply(detectorRollout(fmt.Sprintf("idle-%d", i), 1, "v1", "", idleCanary))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range n {
		c.waitFor(ctx, fmt.Sprintf("idle-%d", i), "healthy", healthyOn("v1"))
	}
	// Let the last passes after Healthy (views of replicas, scale-down bookkeeping) settle.
	time.Sleep(3 * time.Second)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.dir, "shipsafe.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every write bumps a rollout's resource version or adds a row somewhere.
	writes := func() int64 {
		var total int64
		for _, q := range []string{
			`SELECT COALESCE(SUM(resource_version), 0) FROM rollouts`,
			`SELECT COUNT(*) FROM events`, `SELECT COUNT(*) FROM analysis_runs`, `SELECT COUNT(*) FROM measurements`,
			`SELECT COUNT(*) FROM history`, `SELECT COUNT(*) FROM audit`,
		} {
			var v int64
			if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			total += v
		}
		return total
	}
	const window = 10 * time.Second
	before := writes()
	time.Sleep(window)
	delta := writes() - before
	t.Logf("idle writes: %d rollouts, %d writes in %s = %.1f writes/s", n, delta, window, float64(delta)/window.Seconds())
	if delta != 0 {
		t.Fatalf("%d Healthy rollouts made %d writes in %s, want 0", n, delta, window)
	}
}
