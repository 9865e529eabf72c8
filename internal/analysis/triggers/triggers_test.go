package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/builtin"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

var t0 = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

// issueTriggers are the issue's examples.
func issueTriggers() []v1alpha1.RollbackTrigger {
	return []v1alpha1.RollbackTrigger{
		{Name: "errors", Metric: "error-rate", Threshold: 0.1, For: "2m", Action: v1alpha1.RollbackImmediate},
		{Name: "accuracy", Metric: "accuracy-drop", Threshold: 0.05, For: "5m", Action: v1alpha1.RollbackStaged},
		{Name: "latency", Metric: "latency-p99-delta-ms", Threshold: 500, For: "3m", Action: v1alpha1.RollbackCanary},
	}
}

func mustNew(t *testing.T, tr []v1alpha1.RollbackTrigger, st *State) *Evaluator {
	t.Helper()
	e, err := New(tr, Options{}, st)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// feed observes metric every 10s from `from` for d, returning the end time, and checks
// Evaluate after every sample with check.
func feed(e *Evaluator, metric string, v float64, from time.Time, d time.Duration, check func(now time.Time, r *rollout.RollbackRequest)) time.Time {
	now := from
	for ; !now.After(from.Add(d)); now = now.Add(10 * time.Second) {
		e.Observe(metric, v, now)
		if check != nil {
			check(now, e.Evaluate(now))
		}
	}
	return now.Add(-10 * time.Second)
}

func TestErrorRateHeldTwoMinutesIsImmediate(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	feed(e, "error-rate", 0.02, t0, time.Minute, func(now time.Time, r *rollout.RollbackRequest) {
		if r != nil {
			t.Fatalf("healthy error rate fired at %v: %+v", now, r)
		}
	})
	breach := t0.Add(70 * time.Second)
	var firedAt time.Time
	feed(e, "error-rate", 0.14, breach, 3*time.Minute, func(now time.Time, r *rollout.RollbackRequest) {
		if r != nil && firedAt.IsZero() {
			firedAt = now
			if r.Action != rollout.RollbackImmediate || r.Trigger != "errors" || !strings.Contains(r.Reason, "error-rate 0.14 > 0.1") {
				t.Fatalf("request %+v", r)
			}
		}
	})
	if want := breach.Add(2 * time.Minute); !firedAt.Equal(want) {
		t.Fatalf("fired at %v, want exactly 2m after the breach began (%v)", firedAt, want)
	}
}

func TestBreachMustBeUnbroken(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	end := feed(e, "error-rate", 0.2, t0, 110*time.Second, nil)
	e.Observe("error-rate", 0.05, end.Add(10*time.Second)) // one good sample resets the clock
	end = feed(e, "error-rate", 0.2, end.Add(20*time.Second), 110*time.Second, nil)
	if r := e.Evaluate(end); r != nil {
		t.Fatalf("fired after a broken breach: %+v", r)
	}
	if r := e.Evaluate(end.Add(10 * time.Second)); r == nil {
		// still breaching at the latest sample and held 2m since the restart
		t.Fatal("did not fire 2m after the breach restarted")
	}
}

func TestNoDataNeitherFiresNorResets(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	e.Observe("error-rate", 0.3, t0)
	e.Observe("error-rate", math.NaN(), t0.Add(130*time.Second))
	if r := e.Evaluate(t0.Add(130 * time.Second)); r != nil {
		t.Fatalf("fired on a no-data sample: %+v", r)
	}
	e.Observe("error-rate", 0.3, t0.Add(140*time.Second))
	if r := e.Evaluate(t0.Add(140 * time.Second)); r == nil || r.Action != rollout.RollbackImmediate {
		t.Fatalf("breach since t0, data again at 140s: %+v", r)
	}
}

func TestMostProtectiveActionWinsAndStagedObserves(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	end := feed(e, "accuracy-drop", 0.08, t0, 5*time.Minute, nil)
	r := e.Evaluate(end)
	if r == nil || r.Action != rollout.RollbackStaged || r.ObserveFor != DefaultStagedObserveFor {
		t.Fatalf("accuracy drop held 5m: %+v", r)
	}
	feed(e, "latency-p99-delta-ms", 650, end.Add(-3*time.Minute), 3*time.Minute, nil)
	if r := e.Evaluate(end); r == nil || r.Action != rollout.RollbackCanary || r.Trigger != "latency" {
		t.Fatalf("latency + accuracy firing: %+v, want canary", r)
	}
	e.Observe("error-rate", 0.5, end.Add(-2*time.Minute))
	e.Observe("error-rate", 0.5, end)
	if r := e.Evaluate(end); r == nil || r.Action != rollout.RollbackImmediate {
		t.Fatalf("all three firing: %+v, want immediate", r)
	}
	// The staged trigger stops firing when the metric recovers (the engine then restores).
	e2 := mustNew(t, issueTriggers(), nil)
	end = feed(e2, "accuracy-drop", 0.08, t0, 5*time.Minute, nil)
	e2.Observe("accuracy-drop", 0.01, end.Add(10*time.Second))
	if r := e2.Evaluate(end.Add(10 * time.Second)); r != nil {
		t.Fatalf("recovered metric still fires: %+v", r)
	}
}

func TestOperatorsForZeroAndStaleness(t *testing.T) {
	e := mustNew(t, []v1alpha1.RollbackTrigger{
		{Name: "agreement", Metric: "shadow-agreement", Operator: "<", Threshold: 0.9, Action: v1alpha1.RollbackCanary},
	}, nil)
	e.Observe("shadow-agreement", 0.95, t0)
	if r := e.Evaluate(t0); r != nil {
		t.Fatalf("0.95 < 0.9 fired: %+v", r)
	}
	e.Observe("shadow-agreement", 0.7, t0.Add(time.Second))
	if r := e.Evaluate(t0.Add(time.Second)); r == nil {
		t.Fatal("for empty: should fire on the first breaching sample")
	}
	if r := e.Evaluate(t0.Add(time.Second + DefaultStaleAfter + time.Second)); r != nil {
		t.Fatalf("fired on a stale sample: %+v", r)
	}
}

func TestWatchWindowAfterCompletion(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	done := t0.Add(10 * time.Minute)
	e.RolloutCompleted(done)
	e.RolloutCompleted(done.Add(time.Hour)) // idempotent
	end := feed(e, "error-rate", 0.5, done.Add(time.Minute), 2*time.Minute, nil)
	if r := e.Evaluate(end); r == nil || r.Action != rollout.RollbackImmediate {
		t.Fatalf("inside the watch window: %+v", r)
	}
	after := done.Add(DefaultWatchWindow)
	e.Observe("error-rate", 0.5, after)
	if e.Active(after) || e.Evaluate(after) != nil {
		t.Fatal("triggers still armed after the watch window")
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	e := mustNew(t, issueTriggers(), nil)
	end := feed(e, "error-rate", 0.3, t0, 90*time.Second, nil)
	raw, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	restarted := mustNew(t, issueTriggers(), &st)
	restarted.Observe("error-rate", 0.3, end.Add(30*time.Second))
	if r := restarted.Evaluate(end.Add(30 * time.Second)); r == nil {
		t.Fatal("a restarted evaluator forgot the breach that began before the restart")
	}
}

func TestValidate(t *testing.T) {
	bad := []v1alpha1.RollbackTrigger{
		{Metric: "error-rate", Action: "immediate"},
		{Name: "a", Action: "immediate"},
		{Name: "b", Metric: "m", Operator: "!=", Action: "immediate"},
		{Name: "c", Metric: "m", For: "soon", Action: "immediate"},
		{Name: "d", Metric: "m", Action: "explode"},
		{Name: "d", Metric: "m", Threshold: math.Inf(1), Action: "staged"},
	}
	_, err := New(bad, Options{}, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"spec.rollbackTriggers[0].name: required",
		"spec.rollbackTriggers[1].metric: required",
		`spec.rollbackTriggers[2].operator: must be one of >, >=, <, <=; got "!="`,
		`spec.rollbackTriggers[3].for: must be a non-negative Go duration such as 2m, got "soon"`,
		`spec.rollbackTriggers[4].action: must be one of immediate, staged, canary; got "explode"`,
		`spec.rollbackTriggers[5].name: "d" is already the name of rollbackTriggers[4]`,
		"spec.rollbackTriggers[5].threshold: must be a finite number",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors %q\nmiss %q", err, want)
		}
	}
}

// snapSource is a Source whose canary error count the test sets.
type snapSource struct{ requests, errors uint64 }

func (s *snapSource) Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot {
	out := gateway.RevisionSnapshot{Service: service, Revision: revision}
	if revision == "canary" {
		out.Requests, out.StatusClass[2], out.StatusClass[5] = s.requests, s.requests-s.errors, s.errors
	}
	return out
}

func TestPollThroughBuiltinProvider(t *testing.T) {
	src := &snapSource{}
	now := t0
	p, err := builtin.New(builtin.Options{Source: src, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e := mustNew(t, issueTriggers(), nil)
	info := analysis.RunInfo{Name: "ro", Labels: map[string]string{analysis.LabelService: "detector", analysis.LabelRevision: "canary", analysis.LabelStableRevision: "stable"}}
	src.requests, src.errors = 100, 20
	for ; now.Before(t0.Add(2 * time.Minute)); now = now.Add(10 * time.Second) {
		// accuracy-drop and the latency delta have no data here: no sample, no error.
		if err := e.Poll(context.Background(), p, info, now); err != nil {
			t.Fatalf("poll: %v", err)
		}
		if r := e.Evaluate(now); r != nil {
			t.Fatalf("fired before 2m: %+v", r)
		}
	}
	if err := e.Poll(context.Background(), p, info, now); err != nil {
		t.Fatal(err)
	}
	if r := e.Evaluate(now); r == nil || r.Action != rollout.RollbackImmediate || !strings.Contains(r.Reason, "error-rate 0.2 > 0.1") {
		t.Fatalf("after 2m of 20%% errors: %+v", r)
	}
	// A failing provider is reported and counts as no sample.
	if err := e.Poll(context.Background(), failing{}, info, now.Add(10*time.Second)); err == nil {
		t.Fatal("want the provider's error")
	}
	if r := e.Evaluate(now.Add(10 * time.Second)); r == nil {
		t.Fatal("a measurement error must not clear a sustained breach")
	}
}

type failing struct{}

func (failing) Type() string { return "builtin" }
func (failing) Measure(context.Context, v1alpha1.Metric, map[string]string) (analysis.Measurement, error) {
	return analysis.Measurement{}, errors.New("gateway unreachable")
}

// scripted is a provider answering each metric with a fixed value.
type scripted map[string]float64

func (scripted) Type() string { return "builtin" }
func (s scripted) Measure(_ context.Context, m v1alpha1.Metric, _ map[string]string) (analysis.Measurement, error) {
	v, ok := s[m.Provider.Builtin.Metric]
	if !ok {
		return analysis.Measurement{}, nil
	}
	return analysis.Measurement{Value: v}, nil
}

func TestStepRoundTripsStoredState(t *testing.T) {
	var stored json.RawMessage
	p := scripted{"error-rate": 0.3}
	now := t0
	var got *rollout.RollbackRequest
	for ; now.Before(t0.Add(3 * time.Minute)); now = now.Add(15 * time.Second) {
		var err error
		got, stored, err = Step(context.Background(), issueTriggers(), Options{}, stored, p, analysis.RunInfo{}, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if got != nil {
			break
		}
	}
	if got == nil || got.Action != rollout.RollbackImmediate || now.Sub(t0) != 2*time.Minute {
		t.Fatalf("fired %+v after %v, want immediate after 2m", got, now.Sub(t0))
	}
	// After completion plus the watch window, nothing fires and nothing is measured.
	done := now
	got, _, err := Step(context.Background(), issueTriggers(), Options{}, stored, failing{}, analysis.RunInfo{}, &done, done.Add(DefaultWatchWindow))
	if err != nil || got != nil {
		t.Fatalf("after the watch window: %+v %v", got, err)
	}
	if _, _, err := Step(context.Background(), issueTriggers(), Options{}, json.RawMessage(`{`), p, analysis.RunInfo{}, nil, now); err == nil {
		t.Fatal("corrupt stored state: want an error")
	}
}
