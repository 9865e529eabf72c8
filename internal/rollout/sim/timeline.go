package sim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Options tune a simulated rollout.
type Options struct {
	Scenario Scenario
	// Router says a traffic router sets exact weights.
	Router bool
	// ReadyAfter / MinReady: how long new replicas take to be ready, then available.
	ReadyAfter, MinReady time.Duration
	// AnalysisTakes is how long an analysis run takes to reach its verdict.
	AnalysisTakes time.Duration
	// PromoteAfter: a simulated operator promotes a pause that waits for a promote after this.
	PromoteAfter time.Duration
	// Metrics are the latest measurements analysis runs report (pause.analysis conditions);
	// nil picks, for each condition, a value that satisfies it and says so.
	Metrics map[string]any
	// Limit stops the simulation.
	Limit time.Duration
}

// Outcome is how a simulated rollout ended.
type Outcome struct {
	Phase   rollout.Phase
	Stable  string
	Elapsed time.Duration
	Summary string
}

// simStart is the simulated clock's origin (any fixed time: only differences are printed).
func simStart() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Timeline deploys revision v1 of spec, then rolls out v2 under the scenario on a simulated
// clock (one reconcile per simulated second), printing a row whenever the step, phase,
// weights or replicas change, with the events, analysis verdicts and operator actions.
func Timeline(out io.Writer, spec rollout.Spec, o Options) Outcome {
	if o.Limit <= 0 {
		o.Limit = 24 * time.Hour
	}
	metrics := o.Metrics
	if metrics == nil {
		metrics = satisfyingMetrics(out, spec)
	}
	w := New(Behaviour{Router: o.Router, ReadyAfter: o.ReadyAfter, MinReady: o.MinReady, AnalysisTakes: o.AnalysisTakes,
		Metrics: metrics, Verdict: o.Scenario.verdict}, simStart())
	spec.TemplateHash = "v1"
	for range 3600 {
		if res := w.Step(spec); res.Status.Phase == rollout.PhaseHealthy {
			break
		}
		w.Advance(time.Second)
	}
	fmt.Fprintf(out, "v1 deployed and stable (%d replicas); rolling out v2, scenario %q\n\n", spec.Replicas, o.Scenario.Name)
	if o.Scenario.NeverReady {
		w.B.NeverReady = map[string]bool{"v2": true}
	}
	if o.Scenario.Crashloop {
		w.B.Failing = map[string]bool{"v2": true}
	}
	t := &table{out: out}
	t.header()
	spec.TemplateHash = "v2"
	start, lastChange, target := w.Now, w.Now, "v2"
	var pausedSince time.Time
	promotes := 0
	phases, stopped := map[string]rollout.AnalysisPhase{}, map[string]bool{}
	for {
		el := w.Now.Sub(start)
		var notes []string
		if o.Scenario.AbortAt > 0 && el == o.Scenario.AbortAt {
			w.Commands = append(w.Commands, rollout.Command{ID: "sim-abort", Kind: rollout.CommandAbort})
			notes = append(notes, "operator: abort")
		}
		if o.Scenario.NewRevisionAt > 0 && el == o.Scenario.NewRevisionAt {
			spec.TemplateHash, target = "v3", "v3"
			notes = append(notes, "operator: ships v3 mid-rollout")
		}
		if o.Scenario.Rollback != "" && el == o.Scenario.RollbackAt {
			w.Rollback = &rollout.RollbackRequest{Action: o.Scenario.Rollback, Trigger: "simulated-trigger", Reason: "scenario", ObserveFor: time.Minute}
			notes = append(notes, fmt.Sprintf("rollback trigger fires (action %s)", o.Scenario.Rollback))
		}
		if waitsForPromote(spec, w.Status) {
			if pausedSince.IsZero() {
				pausedSince = w.Now
			}
			if w.Now.Sub(pausedSince) >= o.PromoteAfter {
				promotes++
				w.Commands = append(w.Commands, rollout.Command{ID: fmt.Sprintf("sim-promote-%d", promotes), Kind: rollout.CommandPromote})
				notes = append(notes, fmt.Sprintf("operator: promote (simulated after %s paused)", o.PromoteAfter))
				pausedSince = time.Time{}
			}
		} else {
			pausedSince = time.Time{}
		}
		obs := w.Observe()
		for _, a := range obs.Analysis {
			if phases[a.Name] != a.Phase && a.Phase.Terminal() && !stopped[a.Name] {
				notes = append(notes, fmt.Sprintf("analysis %s: %s", a.Name, a.Phase))
			}
			phases[a.Name] = a.Phase
		}
		res := w.Step(spec)
		for _, e := range res.Events {
			if e.Reason != "CommandApplied" {
				notes = append(notes, e.Message)
			}
		}
		for _, name := range res.Plan.StopAnalysis {
			if !stopped[name] {
				stopped[name] = true
				notes = append(notes, fmt.Sprintf("analysis %s stopped (no longer needed)", name))
			}
		}
		if t.row(el, spec, obs, res, notes) {
			lastChange = w.Now
		}
		if done, summary := finished(spec, w, res, target); done {
			return t.end(Outcome{Phase: res.Status.Phase, Stable: res.Status.StableRS, Elapsed: el, Summary: summary})
		}
		stuck := 2 * time.Hour // longer than any pause step worth simulating
		if res.Status.Phase == rollout.PhaseDegraded {
			stuck = 10 * time.Minute
		}
		if w.Now.Sub(lastChange) >= stuck || el >= o.Limit {
			return t.end(Outcome{Phase: res.Status.Phase, Stable: res.Status.StableRS, Elapsed: el,
				Summary: fmt.Sprintf("stopped: still %s (%s) with nothing changing", res.Status.Phase, res.Status.Message)})
		}
		w.Advance(time.Second)
	}
}

// waitsForPromote reports a pause only an operator ends.
func waitsForPromote(spec rollout.Spec, st rollout.Status) bool {
	for _, p := range st.PauseConditions {
		switch p.Reason {
		case rollout.PauseInconclusive: // an operator looks at the verdict and promotes
			return true
		case rollout.PauseBlueGreen:
			if b := spec.BlueGreen; b != nil && b.AutoPromotionEnabled != nil && !*b.AutoPromotionEnabled {
				return true
			}
		case rollout.PauseCanaryStep:
			if c := spec.Canary; c != nil && st.CurrentStepIndex != nil && int(*st.CurrentStepIndex) < len(c.Steps) {
				if ps := c.Steps[*st.CurrentStepIndex].Pause; ps != nil && ps.Duration == nil && ps.Analysis == nil {
					return true
				}
			}
		}
	}
	return false
}

// finished reports the end of the simulated rollout: the target stable with nothing else
// running, or an abort fully rolled back.
func finished(spec rollout.Spec, w *World, res rollout.Result, target string) (bool, string) {
	others, stableUp := 0, false
	for _, rv := range w.Observe().Revisions {
		if rv.Hash != res.Status.StableRS {
			others += int(rv.Replicas)
		} else {
			stableUp = rv.Available >= spec.Replicas
		}
	}
	switch {
	case res.Status.StableRS == target && res.Status.Phase == rollout.PhaseHealthy && others == 0:
		return true, fmt.Sprintf("completed: %s is stable and serves 100%%", target)
	case res.Status.Abort && others == 0 && stableUp:
		return true, fmt.Sprintf("rolled back: %s (%s)", res.Status.StableRS, res.Status.Message)
	}
	return false, ""
}

// satisfyingMetrics picks, for each pause.analysis condition, a measurement value that
// satisfies it, so a healthy simulation gets past it; it says what it assumed.
func satisfyingMetrics(out io.Writer, spec rollout.Spec) map[string]any {
	if spec.Canary == nil {
		return nil
	}
	m := map[string]any{}
	for _, st := range spec.Canary.Steps {
		pa := st.Pause
		if pa == nil || pa.Analysis == nil {
			continue
		}
		name := pa.Analysis.MetricName
		if name == "" {
			name = "metric"
		}
		for _, v := range []float64{1, 0.99, 0.95, 0.9, 0.5, 0.1, 0.01, 0, 100, 1000} {
			if ok, _ := rollout.EvalCondition(pa.Analysis.SuccessCondition, "", map[string]any{name: v}); ok {
				m[name] = v
				fmt.Fprintf(out, "assuming %s = %v (satisfies %q); set measurements with --metric NAME=VALUE\n", name, v, pa.Analysis.SuccessCondition)
				break
			}
		}
	}
	return m
}

// table prints the timeline rows.
type table struct {
	out  io.Writer
	last string
}

func (t *table) header() {
	fmt.Fprintf(t.out, "%8s  %-5s  %-11s  %-16s  %-24s  %s\n", "TIME", "STEP", "PHASE", "WEIGHTS", "REPLICAS ready/desired", "WHAT HAPPENED")
}

// row prints a row when the visible state changed or something happened; it reports whether
// it printed.
func (t *table) row(el time.Duration, spec rollout.Spec, obs rollout.Observation, res rollout.Result, notes []string) bool {
	step := "-"
	if spec.Canary != nil && res.Status.CurrentStepIndex != nil {
		step = fmt.Sprintf("%d/%d", *res.Status.CurrentStepIndex, len(spec.Canary.Steps))
	}
	var weights []string
	for _, w := range res.Plan.Traffic.Weights {
		weights = append(weights, fmt.Sprintf("%s %d", w.Hash, w.Weight))
	}
	if p := res.Plan.Traffic.Preview; p != "" {
		weights = append(weights, "preview "+p)
	}
	ready := map[string]int32{}
	for _, rv := range obs.Revisions {
		ready[rv.Hash] = rv.Ready
	}
	var reps []string
	for _, d := range res.Plan.Revisions {
		if d.Replicas > 0 || ready[d.Hash] > 0 {
			reps = append(reps, fmt.Sprintf("%s %d/%d", d.Hash, ready[d.Hash], d.Replicas))
		}
	}
	view := fmt.Sprint(step, res.Status.Phase, weights, reps)
	if view == t.last && len(notes) == 0 {
		return false
	}
	t.last = view
	first := ""
	if len(notes) > 0 {
		first = notes[0]
	}
	fmt.Fprintf(t.out, "%8s  %-5s  %-11s  %-16s  %-24s  %s\n", clock(el), step, res.Status.Phase,
		strings.Join(weights, " "), strings.Join(reps, " "), first)
	for _, n := range slices.Clone(notes[min(1, len(notes)):]) {
		fmt.Fprintf(t.out, "%8s  %-5s  %-11s  %-16s  %-24s  %s\n", "", "", "", "", "", n)
	}
	return true
}

func (t *table) end(o Outcome) Outcome {
	fmt.Fprintf(t.out, "\n%s after %s\n", o.Summary, clock(o.Elapsed))
	return o
}

// clock renders a duration as h:mm:ss.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
