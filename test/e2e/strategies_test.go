package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/loadgen"
)

// TestEveryStrategyServesWithoutFailures drives a canary with promotion, a blue-green switch,
// a rolling update and an automatic rollback (the bad release v3, caught by the judge in
// shadow) under ≥300 req/s of real traffic through the gateway with late labels, and
// requires that not one client request fails.
func TestEveryStrategyServesWithoutFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	c.apply(detectorRollout("canary", 3, "v1", "", canaryStrategy))
	c.apply(detectorRollout("bluegreen", 2, "v1", "", blueGreenStrategy))
	c.apply(detectorRollout("rolling", 3, "v1", "", rollingStrategy))
	for _, n := range []string{"canary", "bluegreen", "rolling"} {
		c.waitFor(ctx, n, "healthy on v1", healthyOn("v1"))
	}

	// 300 req/s in all: 150 to the canary service, 75 to each of the others.
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopTraffic := func() { stopOnce.Do(func() { close(stop) }) }
	defer stopTraffic()
	var wg sync.WaitGroup
	reports := map[string]*loadgen.Report{}
	var mu sync.Mutex
	for svc, rate := range map[string]float64{"canary": 150, "bluegreen": 75, "rolling": 75} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := loadgen.Run(ctx, loadgen.Config{URL: "http://" + c.gateway + "/svc/" + svc, Rate: rate, Concurrency: 16,
				Duration: 3 * time.Minute, Stop: stop, FeedbackURL: "http://" + c.gateway + "/v1/feedback", FeedbackDelay: 500 * time.Millisecond,
				FeedbackToken: gateway.FeedbackToken(c.token, svc)})
			if err != nil {
				t.Errorf("loadgen %s: %v", svc, err)
				return
			}
			mu.Lock()
			reports[svc] = r
			mu.Unlock()
		}()
	}
	time.Sleep(2 * time.Second)
	// A new revision of each: same model, a different (harmless) serve flag.
	want := map[string]string{}
	for name, strategy := range map[string]string{"canary": canaryStrategy, "bluegreen": blueGreenStrategy, "rolling": rollingStrategy} {
		replicas := 3
		if name == "bluegreen" {
			replicas = 2
		}
		m := detectorRollout(name, replicas, "v1", "--max-batch 512", strategy)
		want[name] = hashOf(t, m)
		c.apply(m)
	}
	for name, hash := range want {
		c.waitFor(ctx, name, "promoted to "+hash, stableIs(hash))
	}
	// An automatic rollback: v3 (the bad release) in shadow, judged by sequential McNemar on
	// labelled shadow pairs; it must be taken back on its own.
	c.apply(judgeTemplate)
	bad := detectorRollout("canary", 3, "v3", "", shadowCanaryStrategy)
	c.apply(bad)
	v := c.waitFor(ctx, "canary", "rolled back automatically", func(v controlplaneView) bool {
		return v.Status.Abort && v.Status.CurrentPodHash == hashOf(t, bad)
	})
	t.Logf("automatic rollback: %s", v.RollbackCause)
	if v.Status.StableRS != want["canary"] {
		t.Errorf("after the rollback the stable is %s, want %s", v.Status.StableRS, want["canary"])
	}
	time.Sleep(2 * time.Second)
	stopTraffic()
	wg.Wait()
	total, failed := 0, 0
	rate := 0.0
	for svc, r := range reports {
		total += r.Requests
		failed += r.Errors
		rate += r.Throughput
		t.Logf("%s: %d requests, %d errors, %.0f req/s", svc, r.Requests, r.Errors, r.Throughput)
	}
	if rate < 290 {
		t.Errorf("the clients sent %.0f req/s in all; the test needs ≥300", rate)
	}
	if failed != 0 {
		t.Fatalf("%d of %d client requests failed through canary, blue-green and rolling updates", failed, total)
	}
}
