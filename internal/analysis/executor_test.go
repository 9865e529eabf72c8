package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// step is one scripted answer of the fake provider.
type step struct {
	value any
	err   error
}

// fakeProvider answers from a script per metric name and records what it was asked.
type fakeProvider struct {
	typ     string
	mu      sync.Mutex
	scripts map[string][]step
	calls   map[string]int
	queries []string
}

func newFake(typ string) *fakeProvider {
	return &fakeProvider{typ: typ, scripts: map[string][]step{}, calls: map[string]int{}}
}

func (f *fakeProvider) Type() string { return f.typ }

func (f *fakeProvider) Measure(_ context.Context, m v1alpha1.Metric, _ map[string]string) (Measurement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.Provider.Prometheus != nil {
		f.queries = append(f.queries, m.Provider.Prometheus.Query)
	}
	script := f.scripts[m.Name]
	i := f.calls[m.Name]
	f.calls[m.Name]++
	if len(script) == 0 {
		return Measurement{}, errors.New("no script")
	}
	if i >= len(script) {
		i = len(script) - 1 // repeat the last answer
	}
	s := script[i]
	if s.err != nil {
		return Measurement{}, s.err
	}
	return Measurement{Value: s.value, Metadata: map[string]string{"call": string(rune('0' + i))}}, nil
}

func promMetric(name, query string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: query}}}
}

func intOrStr(i int) *intstr.IntOrString { v := intstr.FromInt32(int32(i)); return &v }

func newExec(t *testing.T, secrets SecretSource) (*Executor, *fakeProvider) {
	t.Helper()
	f := newFake(TypePrometheus)
	reg, err := NewRegistry(f)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExecutor(Options{Providers: reg, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	return e, f
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func runOf(metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	r := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: metrics}}
	r.Name = "run-1"
	return r
}

func TestSingleMeasurementSuccess(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("error-rate", "q")
	m.SuccessCondition = "result[0] < 0.05"
	f.scripts["error-rate"] = []step{{value: []float64{0.01}}}
	run := runOf(m)
	next := e.Reconcile(context.Background(), run, t0)
	if !next.IsZero() || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("phase %s next %v msg %q; want Successful, done", run.Status.Phase, next, run.Status.Message)
	}
	res := run.Status.MetricResults[0]
	if len(res.Measurements) != 1 || res.Measurements[0].Value != "[0.01]" || res.Measurements[0].Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("measurements %+v", res.Measurements)
	}
	if run.Status.CompletedAt == nil || !run.Status.CompletedAt.Time.Equal(t0) || run.Status.RunSummary.Successful != 1 {
		t.Fatalf("status %+v", run.Status)
	}
	// A completed run takes no more measurements.
	if next := e.Reconcile(context.Background(), run, t0.Add(time.Hour)); !next.IsZero() || f.calls["error-rate"] != 1 {
		t.Fatalf("completed run measured again: next %v calls %d", next, f.calls["error-rate"])
	}
}

func TestScheduleInitialDelayIntervalCount(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("rate", "q")
	m.InitialDelay, m.Interval, m.Count = "30s", "1m", intOrStr(3)
	m.SuccessCondition = "result < 0.05"
	f.scripts["rate"] = []step{{value: 0.01}}
	run := runOf(m)
	ctx := context.Background()

	next := e.Reconcile(ctx, run, t0)
	if run.Status.Phase != v1alpha1.AnalysisPhaseRunning || !next.Equal(t0.Add(30*time.Second)) || f.calls["rate"] != 0 {
		t.Fatalf("start: phase %s next %v calls %d", run.Status.Phase, next, f.calls["rate"])
	}
	// Called early: nothing is due.
	if next := e.Reconcile(ctx, run, t0.Add(10*time.Second)); !next.Equal(t0.Add(30*time.Second)) || f.calls["rate"] != 0 {
		t.Fatalf("early call measured or moved next: %v", next)
	}
	want := []time.Duration{90 * time.Second, 150 * time.Second, 0}
	at := t0.Add(30 * time.Second)
	for i, w := range want {
		next = e.Reconcile(ctx, run, at)
		if f.calls["rate"] != i+1 {
			t.Fatalf("measurement %d: calls %d", i+1, f.calls["rate"])
		}
		if w == 0 {
			if !next.IsZero() {
				t.Fatalf("after count reached next %v, want done", next)
			}
			break
		}
		if !next.Equal(t0.Add(w)) {
			t.Fatalf("measurement %d: next %v, want %v", i+1, next, t0.Add(w))
		}
		at = next
	}
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(run.Status.MetricResults[0].Measurements) != 3 {
		t.Fatalf("phase %s, %d measurements", run.Status.Phase, len(run.Status.MetricResults[0].Measurements))
	}
}

// drive calls Reconcile at every due time until the run completes or steps run out.
func drive(t *testing.T, e *Executor, run *v1alpha1.AnalysisRun, steps int) {
	t.Helper()
	now := t0
	for i := 0; i < steps; i++ {
		next := e.Reconcile(context.Background(), run, now)
		if next.IsZero() {
			return
		}
		now = next
	}
}

func TestFailureLimit(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("rate", "q")
	m.Interval, m.Count, m.FailureLimit = "10s", intOrStr(10), intOrStr(1)
	m.SuccessCondition = "result < 0.05"
	f.scripts["rate"] = []step{{value: 0.01}, {value: 0.2}, {value: 0.01}, {value: 0.3}}
	run := runOf(m)
	drive(t, e, run, 20)
	res := run.Status.MetricResults[0]
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed || res.Failed != 2 || res.Count != 4 {
		t.Fatalf("phase %s failed %d count %d msg %q", run.Status.Phase, res.Failed, res.Count, run.Status.Message)
	}
	if !strings.Contains(run.Status.Message, "failureLimit (1)") || !strings.Contains(run.Status.Message, `"rate"`) {
		t.Fatalf("message %q should name the metric and the limit", run.Status.Message)
	}
}

func TestErrorIsNotFailure(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("rate", "q")
	m.Interval, m.Count = "10s", intOrStr(3)
	m.SuccessCondition = "result < 0.05"
	down := errors.New("connection refused")
	// Four errors are tolerated (default consecutiveErrorLimit 4), then it recovers.
	f.scripts["rate"] = []step{{err: down}, {err: down}, {err: down}, {err: down}, {value: 0.01}}
	run := runOf(m)
	drive(t, e, run, 50)
	res := run.Status.MetricResults[0]
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || res.Error != 4 || res.Failed != 0 || res.Count != 3 {
		t.Fatalf("phase %s error %d failed %d count %d", run.Status.Phase, res.Error, res.Failed, res.Count)
	}

	// Five in a row is an Error, not a Failure.
	e, f = newExec(t, nil)
	f.scripts["rate"] = []step{{err: down}}
	run = runOf(m)
	drive(t, e, run, 50)
	res = run.Status.MetricResults[0]
	if run.Status.Phase != v1alpha1.AnalysisPhaseError || res.ConsecutiveError != 5 || res.Failed != 0 {
		t.Fatalf("phase %s consecutiveError %d failed %d", run.Status.Phase, res.ConsecutiveError, res.Failed)
	}
	if !strings.Contains(res.Measurements[0].Message, "connection refused") {
		t.Fatalf("error measurement message %q", res.Measurements[0].Message)
	}
}

func TestNoDataAndNaNNeverPass(t *testing.T) {
	cases := []struct {
		name             string
		success, failure string
		value            any
		want             v1alpha1.AnalysisPhase
	}{
		{"NaN with success condition", "result < 0.05", "", math.NaN(), v1alpha1.AnalysisPhaseInconclusive},
		// Argo would call this Successful (NaN > 0.1 is false): shipsafe does not.
		{"NaN with only failure condition", "", "result > 0.1", math.NaN(), v1alpha1.AnalysisPhaseInconclusive},
		{"NaN declared a failure", "result < 0.05", "isNaN(result)", math.NaN(), v1alpha1.AnalysisPhaseFailed},
		{"no data with only failure condition", "", "result[0] > 0.1", nil, v1alpha1.AnalysisPhaseInconclusive},
		{"no data declared a failure", "", "isNil(result)", nil, v1alpha1.AnalysisPhaseFailed},
		{"empty vector", "result[0] < 0.05", "", []float64{}, v1alpha1.AnalysisPhaseInconclusive},
		{"vector with NaN", "", "result[0] > 0.1", []float64{math.NaN()}, v1alpha1.AnalysisPhaseInconclusive},
		{"no conditions, no data", "", "", nil, v1alpha1.AnalysisPhaseInconclusive},
		{"no conditions, NaN", "", "", math.NaN(), v1alpha1.AnalysisPhaseInconclusive},
		{"+Inf is a value the conditions judge", "result < 0.05", "", math.Inf(1), v1alpha1.AnalysisPhaseFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f := newExec(t, nil)
			m := promMetric("m", "q")
			m.SuccessCondition, m.FailureCondition = c.success, c.failure
			f.scripts["m"] = []step{{value: c.value}}
			run := runOf(m)
			e.Reconcile(context.Background(), run, t0)
			got := run.Status.MetricResults[0].Measurements[0].Phase
			if got != c.want {
				t.Fatalf("measurement phase %s, want %s (%s)", got, c.want, run.Status.MetricResults[0].Measurements[0].Message)
			}
			if run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
				t.Fatalf("run passed on %v", c.value)
			}
		})
	}
}

func TestConditionsArgoTable(t *testing.T) {
	cases := []struct {
		success, failure string
		value            float64
		want             v1alpha1.AnalysisPhase
	}{
		{"result < 1", "", 0, v1alpha1.AnalysisPhaseSuccessful},
		{"result < 1", "", 2, v1alpha1.AnalysisPhaseFailed},
		{"", "result > 1", 0, v1alpha1.AnalysisPhaseSuccessful},
		{"", "result > 1", 2, v1alpha1.AnalysisPhaseFailed},
		{"result < 1", "result > 5", 0, v1alpha1.AnalysisPhaseSuccessful},
		{"result < 1", "result > 5", 9, v1alpha1.AnalysisPhaseFailed},
		{"result < 1", "result > 5", 3, v1alpha1.AnalysisPhaseInconclusive},
		{"", "", 3, v1alpha1.AnalysisPhaseSuccessful},
	}
	for _, c := range cases {
		var s, f Condition
		var err error
		if c.success != "" {
			if s, err = CompileAPICondition(c.success); err != nil {
				t.Fatal(err)
			}
		}
		if c.failure != "" {
			if f, err = CompileAPICondition(c.failure); err != nil {
				t.Fatal(err)
			}
		}
		if got, msg := assess(s, f, c.value); got != c.want {
			t.Errorf("success %q failure %q value %v: %s (%s), want %s", c.success, c.failure, c.value, got, msg, c.want)
		}
	}
}

func TestConditionThatCannotEvaluateIsError(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("m", "q")
	m.SuccessCondition = `asInt(result) < 3`
	m.ConsecutiveErrorLimit = intOrStr(0)
	f.scripts["m"] = []step{{value: "not-a-number"}}
	run := runOf(m)
	e.Reconcile(context.Background(), run, t0)
	if run.Status.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("phase %s (%s), want Error", run.Status.Phase, run.Status.Message)
	}
}

func TestInconclusiveLimit(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("m", "q")
	m.Interval, m.Count, m.InconclusiveLimit = "5s", intOrStr(3), intOrStr(1)
	m.SuccessCondition, m.FailureCondition = "result < 1", "result > 5"
	f.scripts["m"] = []step{{value: 3.0}, {value: 0.5}, {value: 0.5}}
	run := runOf(m)
	drive(t, e, run, 10)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || run.Status.MetricResults[0].Inconclusive != 1 {
		t.Fatalf("one inconclusive within the limit: phase %s", run.Status.Phase)
	}
	e, f = newExec(t, nil)
	f.scripts["m"] = []step{{value: 3.0}, {value: 0.5}, {value: 3.0}}
	run = runOf(m)
	drive(t, e, run, 10)
	if run.Status.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("two inconclusive over limit 1: phase %s", run.Status.Phase)
	}
}

func TestDryRunDoesNotDecide(t *testing.T) {
	e, f := newExec(t, nil)
	bad := promMetric("experimental", "q1")
	bad.SuccessCondition = "result < 0.05"
	good := promMetric("errors", "q2")
	good.SuccessCondition = "result < 0.05"
	f.scripts["experimental"] = []step{{value: 0.9}}
	f.scripts["errors"] = []step{{value: 0.01}}
	run := runOf(bad, good)
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "exp.*"}}
	e.Reconcile(context.Background(), run, t0)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("phase %s (%s), want Successful: the failing metric is dry-run", run.Status.Phase, run.Status.Message)
	}
	if d := run.Status.DryRunSummary; d == nil || d.Failed != 1 || run.Status.RunSummary.Successful != 1 || !run.Status.MetricResults[0].DryRun {
		t.Fatalf("summaries %+v %+v", run.Status.RunSummary, run.Status.DryRunSummary)
	}
}

func TestArgsSubstitution(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("rate", `sum(rate(errors{service="{{args.service}}",hash="{{ args.canary-hash }}"}[1m]))`)
	m.SuccessCondition = "result < {{args.max}}"
	m.Interval = "10s"
	m.Count = &intstr.IntOrString{Type: intstr.String, StrVal: "{{args.count}}"}
	f.scripts["rate"] = []step{{value: 0.01}}
	run := runOf(m)
	run.Spec.Args = []v1alpha1.Argument{arg("service", `detector"x`), arg("canary-hash", "abc123"), arg("max", "0.05"), arg("count", "2")}
	drive(t, e, run, 10)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || f.calls["rate"] != 2 {
		t.Fatalf("phase %s (%s) calls %d", run.Status.Phase, run.Status.Message, f.calls["rate"])
	}
	if want := `sum(rate(errors{service="detector"x",hash="abc123"}[1m]))`; f.queries[0] != want {
		t.Fatalf("query %q, want %q", f.queries[0], want)
	}
	// The spec keeps the template form; only the measured copy is substituted.
	if !strings.Contains(run.Spec.Metrics[0].Provider.Prometheus.Query, "{{args.service}}") {
		t.Fatal("the run's spec was modified")
	}
}

func arg(name, value string) v1alpha1.Argument { return v1alpha1.Argument{Name: name, Value: &value} }

func TestBadRunsAreErrorsNamingTheField(t *testing.T) {
	cases := []struct {
		name string
		edit func(r *v1alpha1.AnalysisRun)
		want string
	}{
		{"undefined arg", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].Provider.Prometheus.Query = "{{args.nope}}" }, "undefined argument(s) nope"},
		{"arg without value", func(r *v1alpha1.AnalysisRun) { r.Spec.Args = []v1alpha1.Argument{{Name: "svc"}} }, "spec.args[0] (svc): has no value"},
		{"bad condition", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].SuccessCondition = "result <" }, "spec.metrics[0] (m).successCondition"},
		{"bad interval", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].Interval = "soon" }, "spec.metrics[0] (m).interval: must be a Go duration"},
		{"count without interval", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].Count = intOrStr(3) }, "an interval is required when count is more than 1"},
		{"no provider", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].Provider = v1alpha1.MetricProvider{} }, "exactly one provider must be set, got none"},
		{"provider not configured", func(r *v1alpha1.AnalysisRun) {
			r.Spec.Metrics[0].Provider = v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://127.0.0.1"}}
		}, `no "web" provider is configured`},
		{"duplicate metric", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics = append(r.Spec.Metrics, r.Spec.Metrics[0]) }, `spec.metrics[1].name: "m" is already`},
		{"no metrics", func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics = nil }, "at least one metric"},
		{"secret without source", func(r *v1alpha1.AnalysisRun) {
			r.Spec.Args = []v1alpha1.Argument{{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}}}
		}, "no secret source is configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newExec(t, nil)
			run := runOf(promMetric("m", "q"))
			c.edit(run)
			if next := e.Reconcile(context.Background(), run, t0); !next.IsZero() {
				t.Fatalf("next %v, want done", next)
			}
			if run.Status.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(run.Status.Message, c.want) {
				t.Fatalf("phase %s message %q, want Error containing %q", run.Status.Phase, run.Status.Message, c.want)
			}
		})
	}
}

type secrets map[string]string

func (s secrets) SecretValue(_ context.Context, ns, name, key string) (string, error) {
	v, ok := s[name+"/"+key]
	if !ok {
		return "", errors.New("not found")
	}
	return v, nil
}

func TestSecretArgsAreReadAtMeasurementAndNotStored(t *testing.T) {
	e, f := newExec(t, secrets{"prom/token": "s3cret"})
	m := promMetric("m", "up{token=\"{{args.token}}\"}")
	f.scripts["m"] = []step{{value: 1.0}}
	run := runOf(m)
	run.Spec.Args = []v1alpha1.Argument{{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "prom", Key: "token"}}}}
	e.Reconcile(context.Background(), run, t0)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || f.queries[0] != `up{token="s3cret"}` {
		t.Fatalf("phase %s query %q", run.Status.Phase, f.queries)
	}
	stored, _ := json.Marshal(run)
	if strings.Contains(string(stored), "s3cret") {
		t.Fatal("the secret's value was stored on the run")
	}
}

func TestFailedMetricEndsTheRunAndTerminate(t *testing.T) {
	e, f := newExec(t, nil)
	forever := promMetric("latency", "q1")
	forever.Interval = "10s" // no count: until the run ends
	forever.SuccessCondition = "result < 500"
	bad := promMetric("errors", "q2")
	bad.InitialDelay = "25s"
	bad.SuccessCondition = "result < 0.05"
	f.scripts["latency"] = []step{{value: 100.0}}
	f.scripts["errors"] = []step{{value: 0.5}}
	run := runOf(forever, bad)
	drive(t, e, run, 20)
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed || !strings.Contains(run.Status.Message, `"errors"`) {
		t.Fatalf("phase %s message %q", run.Status.Phase, run.Status.Message)
	}
	if lat := run.Status.MetricResults[0]; lat.Phase != v1alpha1.AnalysisPhaseSuccessful || !strings.Contains(lat.Message, "terminated") || len(lat.Measurements) != 3 {
		t.Fatalf("latency metric %s %q after %d measurements", lat.Phase, lat.Message, len(lat.Measurements))
	}

	// Terminate ends an indefinite run Successful.
	e, f = newExec(t, nil)
	f.scripts["latency"] = []step{{value: 100.0}}
	run = runOf(forever)
	e.Reconcile(context.Background(), run, t0)
	run.Spec.Terminate = true
	if next := e.Reconcile(context.Background(), run, t0.Add(time.Second)); !next.IsZero() || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("terminated run: phase %s next %v", run.Status.Phase, next)
	}
}

func TestCountReachedWithoutAPassIsInconclusive(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("m", "q")
	m.Interval, m.Count, m.InconclusiveLimit = "5s", intOrStr(2), intOrStr(-1)
	m.SuccessCondition = "result < 1"
	f.scripts["m"] = []step{{value: math.NaN()}}
	run := runOf(m)
	drive(t, e, run, 10)
	if run.Status.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("phase %s (%s), want Inconclusive", run.Status.Phase, run.Status.Message)
	}
}

func TestMeasurementRetention(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("m", "q")
	m.Interval, m.Count = "1s", intOrStr(10)
	f.scripts["m"] = []step{{value: 1.0}}
	run := runOf(m)
	run.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "m", Limit: 3}}
	drive(t, e, run, 20)
	res := run.Status.MetricResults[0]
	if len(res.Measurements) != 3 || res.Count != 10 || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("kept %d, count %d, phase %s", len(res.Measurements), res.Count, run.Status.Phase)
	}
}

func TestResumesFromStoredStatus(t *testing.T) {
	e, f := newExec(t, nil)
	m := promMetric("m", "q")
	m.Interval, m.Count = "10s", intOrStr(3)
	m.SuccessCondition = "result < 1"
	f.scripts["m"] = []step{{value: 0.5}}
	run := runOf(m)
	next := e.Reconcile(context.Background(), run, t0)
	// Store and load the run as the control plane would, then continue with a new executor.
	raw, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	var loaded v1alpha1.AnalysisRun
	if err := json.Unmarshal(raw, &loaded); err != nil {
		t.Fatal(err)
	}
	e2, f2 := newExec(t, nil)
	f2.scripts["m"] = f.scripts["m"]
	if got := e2.Reconcile(context.Background(), &loaded, next.Add(-time.Second)); f2.calls["m"] != 0 || !got.Equal(next) {
		t.Fatalf("resumed executor measured early or moved the schedule: calls %d next %v want %v", f2.calls["m"], got, next)
	}
	drive(t, e2, &loaded, 10)
	if loaded.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(loaded.Status.MetricResults[0].Measurements) != 3 {
		t.Fatalf("phase %s with %d measurements", loaded.Status.Phase, len(loaded.Status.MetricResults[0].Measurements))
	}
}

// TestNoValueNeverPassesAnyConditions checks the rule over every combination of the
// conditions templates write and the shapes "no data" takes: no measurement and no run
// ever ends Successful on them, whatever the limits.
func TestNoValueNeverPassesAnyConditions(t *testing.T) {
	conds := []string{"", "result < 0.05", "result > 0.1", "result[0] < 0.05", "result[0] > 0.1", "isNaN(result)",
		"!isNaN(result)", "isNil(result)", "!isNil(result)", "default(result, 0) < 1", "true", "false", "len(result) == 0",
		"all(result, # < 1)", "none(result, # > 1)", "asFloat(result) < 1"}
	values := []any{nil, math.NaN(), []float64{}, []float64{math.NaN()}, []float64{0.01, math.NaN()}, []any{}, []any{math.NaN()}, map[string]any{}, ""}
	for _, s := range conds {
		for _, f := range conds {
			for _, v := range values {
				e, fp := newExec(t, nil)
				m := promMetric("m", "q")
				m.SuccessCondition, m.FailureCondition = s, f
				m.Interval, m.Count = "1s", intOrStr(3)
				m.InconclusiveLimit, m.ConsecutiveErrorLimit, m.FailureLimit = intOrStr(10), intOrStr(10), intOrStr(10)
				fp.scripts["m"] = []step{{value: v}}
				run := runOf(m)
				drive(t, e, run, 10)
				for _, meas := range run.Status.MetricResults[0].Measurements {
					if meas.Phase == v1alpha1.AnalysisPhaseSuccessful {
						t.Fatalf("success %q failure %q value %#v: measurement Successful", s, f, v)
					}
				}
				if run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
					t.Fatalf("success %q failure %q value %#v: run Successful", s, f, v)
				}
			}
		}
	}
}
