package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readExample returns every manifest of an examples/ folder, joined as one multi-document
// file, with the detector's model version replaced.
func readExample(t *testing.T, dir, model string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("examples/%s: %v", dir, err)
	}
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, strings.ReplaceAll(string(b), `"--model", "v2"`, `"--model", "`+model+`"`))
	}
	return strings.Join(docs, "\n---\n")
}

// TestSeedExamplesRunUnderUp applies the seed's manifests as written (canary with 10- and
// 30-minute pauses, blue-green with manual promotion and analysis, rolling update as a
// Rollout and as an apps/v1 Deployment) to a real `shipsafe up`, then ships a new model
// version with each and checks it behaves as the manifest says.
func TestSeedExamplesRunUnderUp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, dir := range []string{"canary", "blue-green", "rolling"} {
		c.apply(readExample(t, dir, "v2"))
	}
	for _, name := range []string{"detector-canary", "detector-bluegreen", "detector-rolling", "detector-deployment"} {
		c.waitFor(ctx, name, "healthy on v2", healthyOn("v2"))
	}

	// Canary: 5% then the 10-minute pause holds it; promote --full finishes it.
	c.apply(readExample(t, "canary", "v1"))
	v := c.waitFor(ctx, "detector-canary", "paused at 5%", func(v controlplaneView) bool {
		return v.Status.Phase == "Paused" && v.Status.CurrentStepIndex != nil && *v.Status.CurrentStepIndex == 1 &&
			v.Status.Canary.Weights != nil && v.Status.Canary.Weights.Canary.Weight == 5
	})
	t.Logf("canary: %s", v.Status.Message)
	if _, err := c.call("POST", "/api/v1/rollouts/detector-canary/promote?full=true", nil, nil); err != nil {
		t.Fatal(err)
	}
	c.waitFor(ctx, "detector-canary", "promoted to v1", healthyOn("v1"))

	// Blue-green: the preview comes up beside the active service, which keeps serving v2,
	// and pre-promotion analysis starts (autoPromotionEnabled: false then waits for promote).
	c.apply(readExample(t, "blue-green", "v1"))
	c.waitFor(ctx, "detector-bluegreen", "preview up with pre-promotion analysis", func(v controlplaneView) bool {
		ok := false
		for _, r := range v.Revisions {
			if r.Model == "v1" && r.Ready == 5 {
				ok = true
			}
		}
		return ok && v.Status.BlueGreen.PrePromotionAnalysisRunStatus != nil && v.Status.StableRS != v.Status.CurrentPodHash
	})
	if got := inferVersionAt(t, c, "detector-active"); got != "v2" {
		t.Errorf("active service answered with %s during the preview, want v2", got)
	}
	if got := inferVersionAt(t, c, "detector-preview"); got != "v1" {
		t.Errorf("preview service answered with %s, want v1", got)
	}
	// Followed literally (examples/README.md: traffic to the preview service), the
	// pre-promotion run succeeds; before, it went Inconclusive in 0.5 s.
	previewBody := `{"inputs": [{"name": "image", "shape": [1, 784], "datatype": "UINT8", "data": [` + strings.TrimSuffix(strings.Repeat("90,", 784), ",") + `]}]}`
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-trafficCtx.Done():
				return
			case <-tick.C:
				req, _ := http.NewRequestWithContext(trafficCtx, "POST", "http://"+c.gateway+"/svc/detector-preview/v2/models/pneumonia-detector/infer", strings.NewReader(previewBody))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	c.waitFor(ctx, "detector-bluegreen", "pre-promotion analysis Successful", func(v controlplaneView) bool {
		a := v.Status.BlueGreen.PrePromotionAnalysisRunStatus
		if a != nil && a.Status != "" && a.Status != "Running" && a.Status != "Pending" && a.Status != "Successful" {
			t.Fatalf("pre-promotion analysis %s: %s", a.Status, a.Message)
		}
		return a != nil && a.Status == "Successful"
	})
	stopTraffic()
	<-trafficDone

	// Rolling, both forms: all replicas move to the new version.
	c.apply(readExample(t, "rolling", "v1"))
	for _, name := range []string{"detector-rolling", "detector-deployment"} {
		c.waitFor(ctx, name, "rolled to v1", healthyOn("v1"))
	}
}
