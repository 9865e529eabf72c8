package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFlagSelectsModelInsideUp: `shipsafe up --flags` serves OFREP on its API, and the data
// plane routes each patient to the model revision the flag's variant names, live-updated
// through the audited change API.
func TestFlagSelectsModelInsideUp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	flagsFile := filepath.Join(t.TempDir(), "flags.json")
	doc := `{"flags": {"detector-model": {"state": "ENABLED", "defaultVariant": "stable",
	  "variants": {"stable": "stable", "canary": "canary"},
	  "targeting": {"if": [{"starts_with": [{"var": "targetingKey"}, "trial-"]}, "canary", "stable"]}}}}`
	if err := os.WriteFile(flagsFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startClusterWith(t, "--flags", flagsFile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	held := `    canary:
      stableService: s
      canaryService: c
      trafficRouting:
        plugins: {shipsafe/gateway: {}}
      steps:
      - setCanaryScale: {replicas: 1}
      - pause: {}`
	withFlag := func(m string) string {
		return strings.Replace(m, "metadata:\n  name: flagged\n", "metadata:\n  name: flagged\n  annotations:\n    shipsafe.dev/select-flag: detector-model\n    shipsafe.dev/select-targeting-header: x-patient-id\n", 1)
	}
	c.apply(withFlag(detectorRollout("flagged", 2, "v1", "", held)))
	c.waitFor(ctx, "flagged", "healthy on v1", healthyOn("v1"))
	c.apply(withFlag(detectorRollout("flagged", 2, "v2", "", held)))
	c.waitFor(ctx, "flagged", "paused with the canary up", func(v controlplaneView) bool {
		for _, r := range v.Revisions {
			if r.Model == "v2" && r.Ready == 1 {
				return v.Status.Phase == "Paused"
			}
		}
		return false
	})
	time.Sleep(time.Second) // the route table follows the next reconcile
	for patient, want := range map[string]string{"trial-7": "v2", "ward-3": "v1"} {
		for i := 0; i < 20; i++ {
			if got := inferVersion(t, c, patient); got != want {
				t.Fatalf("patient %s request %d answered by %s, want %s (weights keep 100%% on stable)", patient, i, got, want)
			}
		}
	}

	// OFREP on the API listener.
	body := `{"context": {"targetingKey": "trial-7"}}`
	resp, err := http.Post("http://"+c.api+"/ofrep/v1/evaluate/flags/detector-model", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Value, Variant, Reason string }
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if resp.StatusCode != 200 || ev.Variant != "canary" {
		t.Fatalf("OFREP: %d %+v", resp.StatusCode, ev)
	}

	// A flag change through the audited API re-routes live: everyone to stable.
	change := `{"state": "ENABLED", "defaultVariant": "stable", "variants": {"stable": "stable", "canary": "canary"}}`
	if code, err := c.call("PUT", "/api/v1/flags/detector-model", []byte(change), nil); err != nil {
		t.Fatalf("flag change: %d %v", code, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for inferVersion(t, c, "trial-7") != "v1" {
		if time.Now().After(deadline) {
			t.Fatal("the data plane did not pick up the flag change within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := getAPI(t, c, "/api/v1/flags"); !strings.Contains(out, `"detector-model"`) || strings.Contains(out, "trial-") {
		t.Errorf("GET /api/v1/flags does not show the changed flag: %s", out)
	}
}

// inferVersion sends one inference for a patient and returns the model_version that answered.
func inferVersion(t *testing.T, c *cluster, patient string) string {
	t.Helper()
	return infer(t, c, "flagged", patient)
}

// inferVersionAt sends one inference to a gateway service.
func inferVersionAt(t *testing.T, c *cluster, service string) string {
	t.Helper()
	return infer(t, c, service, "")
}

func infer(t *testing.T, c *cluster, service, patient string) string {
	t.Helper()
	pixels := strings.TrimSuffix(strings.Repeat("90,", 784), ",")
	body := fmt.Sprintf(`{"inputs": [{"name": "image", "shape": [1, 784], "datatype": "UINT8", "data": [%s]}]}`, pixels)
	req, _ := http.NewRequest("POST", "http://"+c.gateway+"/svc/"+service+"/v2/models/pneumonia-detector/infer", bytes.NewReader([]byte(body)))
	if patient != "" {
		req.Header.Set("x-patient-id", patient)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		ModelVersion string `json:"model_version"`
	}
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("infer: %d %s", resp.StatusCode, b)
	}
	return r.ModelVersion
}

// getAPI reads an API path with the token.
func getAPI(t *testing.T, c *cluster, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+c.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
