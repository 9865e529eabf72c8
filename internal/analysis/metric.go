package analysis

import (
	"fmt"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Limits' defaults, as Argo Rollouts.
const (
	defaultFailureLimit          = 0
	defaultInconclusiveLimit     = 0
	defaultConsecutiveErrorLimit = 4
)

// metricPlan is a metric with its args substituted and everything the executor needs
// parsed and compiled.
type metricPlan struct {
	metric                  v1alpha1.Metric
	provider                Provider
	success, failure        Condition
	interval, initialDelay  time.Duration
	count                   int // 0: no limit (measure until the run ends)
	failureLimit            int // -1: no limit
	inconclusiveLimit       int
	consecutiveErrorLimit   int
	consecutiveSuccessLimit int // 0: not used
	dryRun                  bool
	retention               int // 0: keep every measurement
}

// plan prepares metrics[i] of the run. Errors name the field and the rule.
func (e *Executor) plan(i int, raw v1alpha1.Metric, args map[string]string, spec *v1alpha1.AnalysisRunSpec) (*metricPlan, error) {
	m, err := substitute(raw, args)
	if err != nil {
		return nil, fmt.Errorf("spec.metrics[%d]: %w", i, err)
	}
	field := func(name string) string { return fmt.Sprintf("spec.metrics[%d] (%s).%s", i, m.Name, name) }
	p := &metricPlan{metric: m}
	if p.provider, err = e.providers.For(m); err != nil {
		return nil, fmt.Errorf("spec.metrics[%d]: %w", i, err)
	}
	if p.interval, err = duration(field("interval"), m.Interval); err != nil {
		return nil, err
	}
	if p.initialDelay, err = duration(field("initialDelay"), m.InitialDelay); err != nil {
		return nil, err
	}
	defCount := 1
	if p.interval > 0 {
		defCount = 0
	}
	if p.count, err = intValue(field("count"), m.Count, defCount); err != nil {
		return nil, err
	}
	if p.count < 0 {
		return nil, fmt.Errorf("%s: must be 0 or more, got %d", field("count"), p.count)
	}
	if p.count == 0 && p.interval == 0 {
		p.count = 1
	}
	if p.count > 1 && p.interval == 0 {
		return nil, fmt.Errorf("%s: an interval is required when count is more than 1 (count %d)", field("interval"), p.count)
	}
	if p.failureLimit, err = intValue(field("failureLimit"), m.FailureLimit, defaultFailureLimit); err != nil {
		return nil, err
	}
	if p.inconclusiveLimit, err = intValue(field("inconclusiveLimit"), m.InconclusiveLimit, defaultInconclusiveLimit); err != nil {
		return nil, err
	}
	if p.consecutiveErrorLimit, err = intValue(field("consecutiveErrorLimit"), m.ConsecutiveErrorLimit, defaultConsecutiveErrorLimit); err != nil {
		return nil, err
	}
	if p.consecutiveSuccessLimit, err = intValue(field("consecutiveSuccessLimit"), m.ConsecutiveSuccessLimit, 0); err != nil {
		return nil, err
	}
	if m.SuccessCondition != "" {
		if p.success, err = e.compile(m.SuccessCondition); err != nil {
			return nil, fmt.Errorf("%s: %w", field("successCondition"), err)
		}
	}
	if m.FailureCondition != "" {
		if p.failure, err = e.compile(m.FailureCondition); err != nil {
			return nil, fmt.Errorf("%s: %w", field("failureCondition"), err)
		}
	}
	if p.dryRun, err = e.matchesAny(spec.DryRun, m.Name, "spec.dryRun"); err != nil {
		return nil, err
	}
	for j, r := range spec.MeasurementRetention {
		ok, err := e.nameMatches(r.MetricName, m.Name)
		if err != nil {
			return nil, fmt.Errorf("spec.measurementRetention[%d].metricName: %w", j, err)
		}
		if ok {
			p.retention = int(r.Limit)
		}
	}
	return p, nil
}

// due is when the metric's next measurement should be taken, or false when it takes no more.
func (p *metricPlan) due(res *v1alpha1.MetricResult, started time.Time) (time.Time, bool) {
	if res.Phase.Completed() {
		return time.Time{}, false
	}
	if len(res.Measurements) == 0 {
		return started.Add(p.initialDelay), true
	}
	last := res.Measurements[len(res.Measurements)-1]
	at := started
	if last.FinishedAt != nil {
		at = last.FinishedAt.Time
	}
	wait := p.interval
	if wait == 0 {
		// Only errors are retried on a metric without an interval.
		wait = errorRetryInterval
	}
	return at.Add(wait), true
}

// errorRetryInterval is how soon an errored measurement of a metric without interval is retried.
const errorRetryInterval = 10 * time.Second

// record adds a measurement to the metric's result and re-assesses the metric.
func (p *metricPlan) record(res *v1alpha1.MetricResult, m v1alpha1.Measurement) {
	res.Measurements = append(res.Measurements, m)
	if p.retention > 0 && len(res.Measurements) > p.retention {
		res.Measurements = append([]v1alpha1.Measurement(nil), res.Measurements[len(res.Measurements)-p.retention:]...)
	}
	switch m.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		res.Count++
		res.Successful++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess++
	case v1alpha1.AnalysisPhaseFailed:
		res.Count++
		res.Failed++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseInconclusive:
		res.Count++
		res.Inconclusive++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseError:
		res.Error++
		res.ConsecutiveError++
		res.ConsecutiveSuccess = 0
	}
	res.Phase, res.Message = p.assess(res)
}

// assess is the metric's phase from its counters and limits.
func (p *metricPlan) assess(res *v1alpha1.MetricResult) (v1alpha1.AnalysisPhase, string) {
	switch {
	case p.failureLimit >= 0 && int(res.Failed) > p.failureLimit:
		return v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)%s", res.Failed, p.failureLimit, lastMessage(res))
	case p.inconclusiveLimit >= 0 && int(res.Inconclusive) > p.inconclusiveLimit:
		return v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)%s", res.Inconclusive, p.inconclusiveLimit, lastMessage(res))
	case p.consecutiveErrorLimit >= 0 && int(res.ConsecutiveError) > p.consecutiveErrorLimit:
		return v1alpha1.AnalysisPhaseError, fmt.Sprintf("consecutive errors (%d) > consecutiveErrorLimit (%d)%s", res.ConsecutiveError, p.consecutiveErrorLimit, lastMessage(res))
	case p.consecutiveSuccessLimit > 0 && int(res.ConsecutiveSuccess) >= p.consecutiveSuccessLimit:
		return v1alpha1.AnalysisPhaseSuccessful, fmt.Sprintf("consecutive successes (%d) reached consecutiveSuccessLimit", res.ConsecutiveSuccess)
	case p.count > 0 && int(res.Count) >= p.count:
		if res.Successful == 0 {
			// Nothing passed (all within the limits, but none a pass): never a success.
			return v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("%d measurements taken, none successful%s", res.Count, lastMessage(res))
		}
		return v1alpha1.AnalysisPhaseSuccessful, fmt.Sprintf("%d of %d measurements successful", res.Successful, res.Count)
	}
	return v1alpha1.AnalysisPhaseRunning, lastMessage(res)
}

func lastMessage(res *v1alpha1.MetricResult) string {
	if len(res.Measurements) == 0 {
		return ""
	}
	last := res.Measurements[len(res.Measurements)-1]
	if last.Message == "" {
		return ""
	}
	return ": last measurement " + string(last.Phase) + ": " + last.Message
}

func duration(field string, d v1alpha1.DurationString) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%s: must be a Go duration such as 30s or 5m, got %q", field, d)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s: must not be negative, got %q", field, d)
	}
	return v, nil
}

// matchesAny reports whether name matches one of the dry-run entries (a name or a regexp).
func (e *Executor) matchesAny(entries []v1alpha1.DryRun, name, field string) (bool, error) {
	for i, d := range entries {
		ok, err := e.nameMatches(d.MetricName, name)
		if err != nil {
			return false, fmt.Errorf("%s[%d].metricName: %w", field, i, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// nameMatches compares a metric name with a pattern that is the name itself or a
// regular expression matching the whole name (".*" for all).
func (e *Executor) nameMatches(pattern, name string) (bool, error) {
	if pattern == name {
		return true, nil
	}
	re, err := e.patterns.get(pattern)
	if err != nil {
		return false, fmt.Errorf("%q is neither a metric name nor a valid regular expression: %w", pattern, err)
	}
	return re.MatchString(name), nil
}
