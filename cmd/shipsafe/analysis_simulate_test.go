package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runAnalysisCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newAnalysisCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestAnalysisSimulateJSONShape(t *testing.T) {
	out, err := runAnalysisCmd(t, "simulate", "--runs", "5", "--horizon-minutes", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]map[string]map[string]float64
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not the documented JSON object: %v\n%s", err, out)
	}
	for _, m := range []string{"sequential", "threshold", "ztest"} {
		for _, s := range []string{"aa", "2x", "5x"} {
			got := res[m][s]
			for _, k := range []string{"false_rollback_rate", "detection_rate", "median_requests"} {
				if _, ok := got[k]; !ok {
					t.Errorf("%s.%s lacks %q: %v", m, s, k, got)
				}
			}
			if len(got) != 3 {
				t.Errorf("%s.%s has keys %v, want exactly the three documented ones", m, s, got)
			}
		}
	}
}

func TestAnalysisSimulateTableAndBadFlags(t *testing.T) {
	out, err := runAnalysisCmd(t, "simulate", "--runs", "3", "--horizon-minutes", "2", "--oracle")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sequential", "threshold", "ztest", "oracle-sprt", "median canary requests"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if _, err := runAnalysisCmd(t, "simulate", "--runs", "0"); err == nil || !strings.Contains(err.Error(), "runs") {
		t.Errorf("--runs 0: err = %v, want an error naming runs", err)
	}
	if _, err := runAnalysisCmd(t, "simulate", "--alpha", "2"); err == nil || !strings.Contains(err.Error(), "alpha") {
		t.Errorf("--alpha 2: err = %v, want an error naming alpha", err)
	}
}
