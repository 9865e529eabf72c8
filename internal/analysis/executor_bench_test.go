package analysis

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// BenchmarkReconcile measures the executor's own overhead per Reconcile of a run with
// three metrics (conditions compiled once and cached), with an in-memory provider:
// "idle" is a call when nothing is due, "measure" takes three measurements.
func BenchmarkReconcile(b *testing.B) {
	f := newFake(TypePrometheus)
	reg, _ := NewRegistry(f)
	e, err := NewExecutor(Options{Providers: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	newRun := func() *v1alpha1.AnalysisRun {
		var ms []v1alpha1.Metric
		for _, name := range []string{"a", "b", "c"} {
			m := promMetric(name, `sum(rate(x{svc="{{args.svc}}"}[1m]))`)
			m.Interval, m.SuccessCondition, m.FailureCondition = "10s", "result[0] < 0.05", "result[0] > 0.1"
			f.scripts[name] = []step{{value: []float64{0.01}}}
			ms = append(ms, m)
		}
		r := runOf(ms...)
		r.Spec.Args = []v1alpha1.Argument{arg("svc", "detector")}
		r.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: ".*", Limit: 10}}
		return r
	}
	b.Run("idle", func(b *testing.B) {
		run := newRun()
		e.Reconcile(context.Background(), run, t0)
		b.ReportAllocs()
		for b.Loop() {
			e.Reconcile(context.Background(), run, t0.Add(time.Second))
		}
	})
	b.Run("measure", func(b *testing.B) {
		run := newRun()
		now := t0
		b.ReportAllocs()
		for b.Loop() {
			now = e.Reconcile(context.Background(), run, now)
		}
	})
}
