package analysis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Options configure an Executor.
type Options struct {
	// Providers measure metrics; required.
	Providers *Registry
	// Compile compiles conditions; nil means the API package's compiler (CompileAPICondition),
	// which is what validation uses too.
	Compile CompileFunc
	// Secrets resolves valueFrom.secretKeyRef arguments; optional.
	Secrets SecretSource
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Executor runs AnalysisRuns. It is driven by the control plane's loop: each Reconcile
// takes the measurements that are due at now and says when to call again. It keeps no
// state between calls other than a cache of compiled conditions, so all progress is in
// the run's status.
type Executor struct {
	providers *Registry
	secrets   SecretSource
	log       *slog.Logger
	conds     *conditionCache
	patterns  *patternCache
}

// NewExecutor checks opts and returns an Executor.
func NewExecutor(opts Options) (*Executor, error) {
	if opts.Providers == nil {
		return nil, errors.New("analysis: Options.Providers is required")
	}
	if opts.Compile == nil {
		opts.Compile = CompileAPICondition
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Executor{providers: opts.Providers, secrets: opts.Secrets, log: log, conds: newConditionCache(opts.Compile), patterns: &patternCache{}}, nil
}

func (e *Executor) compile(expr string) (Condition, error) { return e.conds.get(expr) }

// Reconcile advances run at time now: it takes every measurement that is due (metrics
// are measured concurrently), records them on the run, applies the limits, and sets the
// phases and messages of the metrics and the run. It returns when it should be called
// again; the zero time means the run is complete.
func (e *Executor) Reconcile(ctx context.Context, run *v1alpha1.AnalysisRun, now time.Time) time.Time {
	st := &run.Status
	if st.Phase.Completed() {
		return time.Time{}
	}
	if st.StartedAt == nil {
		t := metav1.NewTime(now)
		st.StartedAt = &t
	}
	st.Phase = v1alpha1.AnalysisPhaseRunning
	plans, args, err := e.plans(ctx, run)
	if err != nil {
		e.complete(run, v1alpha1.AnalysisPhaseError, err.Error(), now)
		return time.Time{}
	}
	results := metricResults(run)

	if reason := terminateReason(run, plans, results); reason != "" {
		// Argo's rule: metrics still running when a run stops end Successful, so the
		// run's phase is decided by the metrics that did finish.
		for _, res := range results {
			if !res.Phase.Completed() {
				res.Phase, res.Message = v1alpha1.AnalysisPhaseSuccessful, "terminated: "+reason
			}
		}
	} else {
		e.measureDue(ctx, run, plans, args, results, now)
	}
	return e.assessRun(run, plans, results, now)
}

// plans resolves args and prepares every metric; any error makes the run an Error.
func (e *Executor) plans(ctx context.Context, run *v1alpha1.AnalysisRun) ([]*metricPlan, map[string]string, error) {
	if len(run.Spec.Metrics) == 0 {
		return nil, nil, errors.New("spec.metrics: at least one metric is required")
	}
	args, err := resolveArgs(ctx, run, e.secrets)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]int, len(run.Spec.Metrics))
	plans := make([]*metricPlan, len(run.Spec.Metrics))
	for i, m := range run.Spec.Metrics {
		if m.Name == "" {
			return nil, nil, fmt.Errorf("spec.metrics[%d].name: required", i)
		}
		if j, dup := seen[m.Name]; dup {
			return nil, nil, fmt.Errorf("spec.metrics[%d].name: %q is already the name of metrics[%d]", i, m.Name, j)
		}
		seen[m.Name] = i
		if plans[i], err = e.plan(i, m, args, &run.Spec); err != nil {
			return nil, nil, err
		}
	}
	return plans, args, nil
}

// metricResults returns one result per metric, in spec order, creating missing ones.
func metricResults(run *v1alpha1.AnalysisRun) []*v1alpha1.MetricResult {
	st := &run.Status
	byName := make(map[string]int, len(st.MetricResults))
	for i, r := range st.MetricResults {
		byName[r.Name] = i
	}
	for _, m := range run.Spec.Metrics {
		if _, ok := byName[m.Name]; !ok {
			st.MetricResults = append(st.MetricResults, v1alpha1.MetricResult{Name: m.Name, Phase: v1alpha1.AnalysisPhasePending})
			byName[m.Name] = len(st.MetricResults) - 1
		}
	}
	out := make([]*v1alpha1.MetricResult, len(run.Spec.Metrics))
	for i, m := range run.Spec.Metrics {
		out[i] = &st.MetricResults[byName[m.Name]]
	}
	return out
}

// terminateReason is why no more measurements are taken: the run was told to stop, or
// a metric that counts (not dry-run) already ended other than Successful.
func terminateReason(run *v1alpha1.AnalysisRun, plans []*metricPlan, results []*v1alpha1.MetricResult) string {
	if run.Spec.Terminate {
		return "run terminated"
	}
	for i, res := range results {
		if !plans[i].dryRun && res.Phase.Completed() && res.Phase != v1alpha1.AnalysisPhaseSuccessful {
			return fmt.Sprintf("metric %q ended %s", res.Name, res.Phase)
		}
	}
	return ""
}

// measureDue takes the due measurements concurrently, then records them in spec order.
func (e *Executor) measureDue(ctx context.Context, run *v1alpha1.AnalysisRun, plans []*metricPlan, args map[string]string, results []*v1alpha1.MetricResult, now time.Time) {
	ctx = WithRunInfo(ctx, RunInfo{Name: run.Name, Namespace: run.Namespace, Labels: run.Labels, StartedAt: run.Status.StartedAt.Time})
	measured := make([]*v1alpha1.Measurement, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		at, ok := p.due(results[i], run.Status.StartedAt.Time)
		if !ok || at.After(now) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := e.measure(ctx, p, args, now)
			measured[i] = &m
		}()
	}
	wg.Wait()
	for i, m := range measured {
		if m == nil {
			continue
		}
		res := results[i]
		res.DryRun = plans[i].dryRun
		plans[i].record(res, *m)
		e.log.Debug("analysis measurement", "run", run.Name, "metric", res.Name, "phase", m.Phase, "value", m.Value, "message", m.Message)
	}
}

// measure takes one measurement. A provider error is phase Error (could not measure),
// distinct from Failed (the metric said no).
func (e *Executor) measure(ctx context.Context, p *metricPlan, args map[string]string, now time.Time) v1alpha1.Measurement {
	started := metav1.NewTime(now)
	m := v1alpha1.Measurement{StartedAt: &started, FinishedAt: &started}
	if err := ctx.Err(); err != nil {
		m.Phase, m.Message = v1alpha1.AnalysisPhaseError, fmt.Sprintf("not measured: %v", err)
		return m
	}
	got, err := p.provider.Measure(ctx, p.metric, args)
	if err != nil {
		m.Phase, m.Message = v1alpha1.AnalysisPhaseError, err.Error()
		return m
	}
	m.Value = formatValue(got.Value)
	m.Metadata = got.Metadata
	m.Phase, m.Message = assess(p.success, p.failure, got.Value)
	return m
}

// assessRun sets the run's phase, summaries and message, and returns the next due time.
func (e *Executor) assessRun(run *v1alpha1.AnalysisRun, plans []*metricPlan, results []*v1alpha1.MetricResult, now time.Time) time.Time {
	var summary, dry v1alpha1.RunSummary
	worst := v1alpha1.AnalysisPhaseSuccessful
	worstMsg := ""
	allDone := true
	var next time.Time
	for i, res := range results {
		s := &summary
		if plans[i].dryRun {
			s = &dry
		}
		s.Count++
		switch res.Phase {
		case v1alpha1.AnalysisPhaseSuccessful:
			s.Successful++
		case v1alpha1.AnalysisPhaseFailed:
			s.Failed++
		case v1alpha1.AnalysisPhaseInconclusive:
			s.Inconclusive++
		case v1alpha1.AnalysisPhaseError:
			s.Error++
		}
		if !res.Phase.Completed() {
			allDone = false
			if at, ok := plans[i].due(res, run.Status.StartedAt.Time); ok && (next.IsZero() || at.Before(next)) {
				next = at
			}
			continue
		}
		if !plans[i].dryRun && worse(res.Phase, worst) {
			worst = res.Phase
			worstMsg = fmt.Sprintf("metric %q %s: %s", res.Name, res.Phase, res.Message)
		}
	}
	run.Status.RunSummary = summary
	if dry.Count > 0 {
		run.Status.DryRunSummary = &dry
	} else {
		run.Status.DryRunSummary = nil
	}
	if !allDone {
		run.Status.Message = ""
		if !next.After(now) {
			next = now
		}
		return next
	}
	if worst == v1alpha1.AnalysisPhaseSuccessful {
		worstMsg = fmt.Sprintf("%d metric(s) successful", summary.Successful)
		if summary.Count == 0 {
			worstMsg = "only dry-run metrics: their results do not decide the run"
		}
	}
	e.complete(run, worst, worstMsg, now)
	return time.Time{}
}

func (e *Executor) complete(run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, msg string, now time.Time) {
	t := metav1.NewTime(now)
	run.Status.Phase, run.Status.Message, run.Status.CompletedAt = phase, msg, &t
	e.log.Info("analysis run completed", "run", run.Name, "phase", phase, "message", msg)
}

// severity orders final phases: Successful < Inconclusive < Error < Failed (Argo's order).
func severity(p v1alpha1.AnalysisPhase) int {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		return 1
	case v1alpha1.AnalysisPhaseInconclusive:
		return 2
	case v1alpha1.AnalysisPhaseError:
		return 3
	case v1alpha1.AnalysisPhaseFailed:
		return 4
	}
	return 0
}

func worse(a, b v1alpha1.AnalysisPhase) bool { return severity(a) > severity(b) }
