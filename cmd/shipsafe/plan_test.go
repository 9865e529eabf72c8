package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func defaultPlanOptions(path, scenario string) planOptions {
	return planOptions{path: path, scenario: scenario, router: "auto", readyAfter: 5 * time.Second,
		analysisTakes: time.Minute, promoteAfter: time.Minute, limit: 24 * time.Hour}
}

// TestPlanRunsEveryExample: every seed manifest in examples/ plans to completion.
func TestPlanRunsEveryExample(t *testing.T) {
	var out bytes.Buffer
	if err := runPlan(defaultPlanOptions("../../examples", "healthy"), nil, &out); err != nil {
		t.Fatalf("plan examples: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, name := range []string{"detector-canary", "detector-bluegreen", "detector-rolling", "detector-deployment"} {
		if !strings.Contains(got, `"`+name+`"`) {
			t.Errorf("no plan for %s", name)
		}
	}
	if n := strings.Count(got, "completed: v2 is stable"); n != 4 {
		t.Errorf("%d of 4 rollouts completed:\n%s", n, got)
	}
}

func TestPlanScenarioAnalysisFailsAtStep(t *testing.T) {
	var out bytes.Buffer
	if err := runPlan(defaultPlanOptions("../../examples/canary", "analysis-fails-at-step=3"), nil, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "rolled back: v1") {
		t.Fatalf("want a rollback:\n%s", out.String())
	}
}

func TestPlanRejectsBadScenario(t *testing.T) {
	err := runPlan(defaultPlanOptions("../../examples/canary", "sideways"), nil, &bytes.Buffer{})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("got %v", err)
	}
}

// TestPlanBlueGreenInconclusiveDoesNotStall: after an Inconclusive pre-promotion run the
// simulated operator promotes; the rollout switches and runs post-promotion analysis
// (issue 11.1: it stalled Paused for the whole simulation).
func TestPlanBlueGreenInconclusiveDoesNotStall(t *testing.T) {
	var out bytes.Buffer
	if err := runPlan(defaultPlanOptions("../../examples/blue-green/rollout.yaml", "analysis-inconclusive"), nil, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "completed: v2 is stable") || !strings.Contains(got, "post-promotion analysis") {
		t.Fatalf("want a completed rollout with post-promotion analysis:\n%s", got)
	}
}
