// Package triggers evaluates a rollout's rollbackTriggers: conditions on live metrics that,
// sustained for a while, take the new revision back with an action (immediate, staged or
// canary). The evaluator is fed measurements over time, runs during the rollout and for a
// watch window after it, and hands the engine a rollout.RollbackRequest while a trigger
// fires. Its whole state is a serialisable value, so a restarted controller resumes it.
package triggers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Defaults.
const (
	// DefaultWatchWindow is how long triggers stay armed after the rollout completes.
	DefaultWatchWindow = 10 * time.Minute
	// DefaultStagedObserveFor is the staged action's observation window.
	DefaultStagedObserveFor = 60 * time.Second
	// DefaultStaleAfter: a trigger whose last sample is older than this does not fire.
	DefaultStaleAfter = 5 * time.Minute
)

// Options tune an Evaluator.
type Options struct {
	WatchWindow      time.Duration
	StagedObserveFor time.Duration
	StaleAfter       time.Duration
}

// State is everything the evaluator remembers; store it with the rollout's status.
type State struct {
	Triggers []TriggerState `json:"triggers,omitempty"`
	// CompletedAt is when the rollout completed; triggers stay armed for the watch window.
	CompletedAt *time.Time `json:"completedAt,omitempty"`
}

// TriggerState is one trigger's memory.
type TriggerState struct {
	Name string `json:"name"`
	// BreachSince is the time of the first sample of the current unbroken breach.
	BreachSince *time.Time `json:"breachSince,omitempty"`
	// LastValue is the latest real sample (nil: none yet, or the latest was no data).
	LastValue *float64   `json:"lastValue,omitempty"`
	LastAt    *time.Time `json:"lastAt,omitempty"`
}

// trigger is a validated RollbackTrigger.
type trigger struct {
	spec v1alpha1.RollbackTrigger
	op   string
	hold time.Duration
}

// Evaluator evaluates one rollout's triggers. It is not safe for concurrent use.
type Evaluator struct {
	triggers []trigger
	opts     Options
	state    State
}

// New validates triggers (errors name spec.rollbackTriggers[i].field) and restores state
// (nil or empty for a new rollout). State of triggers no longer in the spec is dropped.
func New(triggers []v1alpha1.RollbackTrigger, opts Options, state *State) (*Evaluator, error) {
	if opts.WatchWindow <= 0 {
		opts.WatchWindow = DefaultWatchWindow
	}
	if opts.StagedObserveFor <= 0 {
		opts.StagedObserveFor = DefaultStagedObserveFor
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	e := &Evaluator{opts: opts}
	if err := Validate(triggers); err != nil {
		return nil, err
	}
	for _, t := range triggers {
		op := t.Operator
		if op == "" {
			op = ">"
		}
		var hold time.Duration
		if t.For != "" {
			hold, _ = time.ParseDuration(string(t.For))
		}
		e.triggers = append(e.triggers, trigger{spec: t, op: op, hold: hold})
	}
	e.state.Triggers = make([]TriggerState, len(triggers))
	for i, t := range triggers {
		e.state.Triggers[i] = TriggerState{Name: t.Name}
		if state == nil {
			continue
		}
		for _, old := range state.Triggers {
			if old.Name == t.Name {
				e.state.Triggers[i] = old
			}
		}
	}
	if state != nil {
		e.state.CompletedAt = state.CompletedAt
	}
	return e, nil
}

// Validate checks rollbackTriggers; every error names the field, the value and the rule.
func Validate(triggers []v1alpha1.RollbackTrigger) error {
	var errs []error
	seen := map[string]int{}
	for i, t := range triggers {
		f := func(name string) string { return fmt.Sprintf("spec.rollbackTriggers[%d].%s", i, name) }
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("%s: required", f("name")))
		} else if j, dup := seen[t.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: %q is already the name of rollbackTriggers[%d]", f("name"), t.Name, j))
		} else {
			seen[t.Name] = i
		}
		if t.Metric == "" {
			errs = append(errs, fmt.Errorf("%s: required (a builtin metric such as error-rate)", f("metric")))
		}
		switch t.Operator {
		case "", ">", ">=", "<", "<=":
		default:
			errs = append(errs, fmt.Errorf("%s: must be one of >, >=, <, <=; got %q", f("operator"), t.Operator))
		}
		if math.IsNaN(t.Threshold) || math.IsInf(t.Threshold, 0) {
			errs = append(errs, fmt.Errorf("%s: must be a finite number, got %v", f("threshold"), t.Threshold))
		}
		if t.For != "" {
			if d, err := time.ParseDuration(string(t.For)); err != nil || d < 0 {
				errs = append(errs, fmt.Errorf("%s: must be a non-negative Go duration such as 2m, got %q", f("for"), t.For))
			}
		}
		switch t.Action {
		case v1alpha1.RollbackImmediate, v1alpha1.RollbackStaged, v1alpha1.RollbackCanary:
		default:
			errs = append(errs, fmt.Errorf("%s: must be one of immediate, staged, canary; got %q", f("action"), t.Action))
		}
	}
	return errors.Join(errs...)
}

// State returns a copy of the evaluator's state, to be stored.
func (e *Evaluator) State() State {
	out := State{CompletedAt: e.state.CompletedAt, Triggers: slices.Clone(e.state.Triggers)}
	return out
}

// RolloutCompleted starts the watch window at at (idempotent: the first call counts).
func (e *Evaluator) RolloutCompleted(at time.Time) {
	if e.state.CompletedAt == nil {
		e.state.CompletedAt = &at
	}
}

// Active reports whether triggers are armed at now: during the rollout and for the watch
// window after it completed.
func (e *Evaluator) Active(now time.Time) bool {
	return e.state.CompletedAt == nil || now.Before(e.state.CompletedAt.Add(e.opts.WatchWindow))
}

// Metrics lists the distinct metrics the triggers need, in spec order.
func (e *Evaluator) Metrics() []string {
	var out []string
	for _, t := range e.triggers {
		if !slices.Contains(out, t.spec.Metric) {
			out = append(out, t.spec.Metric)
		}
	}
	return out
}

// Observe records a sample of metric taken at at for every trigger on that metric. NaN
// (no data) neither starts nor ends a breach, and a trigger whose latest sample is no data
// does not fire. Samples older than the latest are ignored.
func (e *Evaluator) Observe(metric string, value float64, at time.Time) {
	for i, t := range e.triggers {
		if t.spec.Metric != metric {
			continue
		}
		st := &e.state.Triggers[i]
		if st.LastAt != nil && at.Before(*st.LastAt) {
			continue
		}
		st.LastAt = &at
		if math.IsNaN(value) {
			st.LastValue = nil
			continue
		}
		v := value
		st.LastValue = &v
		if t.breached(value) {
			if st.BreachSince == nil {
				st.BreachSince = &at
			}
		} else {
			st.BreachSince = nil
		}
	}
}

func (t trigger) breached(v float64) bool {
	switch t.op {
	case ">=":
		return v >= t.spec.Threshold
	case "<":
		return v < t.spec.Threshold
	case "<=":
		return v <= t.spec.Threshold
	default:
		return v > t.spec.Threshold
	}
}

// severity orders actions by how much they protect users: immediate takes all traffic
// back, canary stops the canary's traffic, staged halves it first.
func severity(a v1alpha1.RollbackAction) int {
	switch a {
	case v1alpha1.RollbackImmediate:
		return 3
	case v1alpha1.RollbackCanary:
		return 2
	case v1alpha1.RollbackStaged:
		return 1
	}
	return 0
}

// Evaluate returns the rollback the engine should carry out at now, or nil when no trigger
// fires (or triggers are not armed). A trigger fires while its latest sample is beyond the
// threshold and has been since at least For ago. When several fire, the most protective
// action wins (immediate > canary > staged); ties go to the first in the spec.
func (e *Evaluator) Evaluate(now time.Time) *rollout.RollbackRequest {
	if !e.Active(now) {
		return nil
	}
	var best *rollout.RollbackRequest
	bestSev := 0
	for i, t := range e.triggers {
		st := e.state.Triggers[i]
		if st.BreachSince == nil || st.LastValue == nil || st.LastAt == nil {
			continue
		}
		if now.Sub(*st.LastAt) > e.opts.StaleAfter {
			continue
		}
		held := now.Sub(*st.BreachSince)
		if held < t.hold {
			continue
		}
		if s := severity(t.spec.Action); s > bestSev {
			bestSev = s
			best = &rollout.RollbackRequest{
				Action:  rollout.RollbackAction(t.spec.Action),
				Trigger: t.spec.Name,
				Reason: fmt.Sprintf("%s %s %s %s for %s (since %s, for: %s)", t.spec.Metric, fmtV(*st.LastValue), t.op,
					fmtV(t.spec.Threshold), held.Round(time.Second), st.BreachSince.UTC().Format(time.RFC3339), t.hold),
			}
			if t.spec.Action == v1alpha1.RollbackStaged {
				best.ObserveFor = e.opts.StagedObserveFor
			}
		}
	}
	return best
}

func fmtV(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".0") }

// Poll measures every metric the triggers need through provider (the builtin provider),
// for the run described by info, and observes the values at now. A measurement error is
// reported (joined) and counts as no sample; the other metrics are still observed.
func (e *Evaluator) Poll(ctx context.Context, provider analysis.Provider, info analysis.RunInfo, now time.Time) error {
	if !e.Active(now) {
		return nil
	}
	ctx = analysis.WithRunInfo(ctx, info)
	var errs []error
	for _, name := range e.Metrics() {
		m := v1alpha1.Metric{Name: "rollbackTrigger/" + name, Provider: v1alpha1.MetricProvider{Builtin: &v1alpha1.BuiltinMetric{Metric: name}}}
		got, err := provider.Measure(ctx, m, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("rollback trigger metric %q: %w", name, err))
			continue
		}
		e.Observe(name, asFloat(got.Value), now)
	}
	return errors.Join(errs...)
}

// asFloat turns a measured value into a sample; anything but a number is no data.
func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case []float64:
		if len(x) > 0 {
			return x[0]
		}
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return math.NaN()
}
