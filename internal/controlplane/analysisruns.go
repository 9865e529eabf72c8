package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
)

// driveAnalysis advances every analysis run of the rollout and reports their states to
// the engine. It returns the soonest time a run wants to be measured again.
func (cp *ControlPlane) driveAnalysis(ctx context.Context, l *loaded, now time.Time) ([]rollout.AnalysisState, time.Time) {
	var (
		states []rollout.AnalysisState
		next   time.Time
	)
	for i := range l.rec.Runs {
		ref := &l.rec.Runs[i]
		stored, err := cp.opts.Store.GetAnalysisRun(ctx, ref.Name)
		if err != nil {
			cp.log.Warn("load analysis run", "run", ref.Name, "err", err)
			continue
		}
		run, err := decodeRun(stored)
		if err != nil {
			cp.log.Warn("decode analysis run", "run", ref.Name, "err", err)
			continue
		}
		if !ref.Done && !run.Status.Phase.Completed() {
			before := lastMeasured(run)
			at := cp.opts.Analysis.Reconcile(ctx, run, now)
			if !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
			if err := cp.putRun(ctx, l.row.Name, ref.Revision, run, before); err != nil {
				cp.log.Warn("store analysis run", "run", ref.Name, "err", err)
			}
		}
		if run.Status.Phase.Completed() {
			ref.Done = true
		}
		ref.Phase, ref.Latest = string(run.Status.Phase), latestText(run)
		states = append(states, rollout.AnalysisState{
			Name:    ref.Name,
			Phase:   rollout.AnalysisPhase(run.Status.Phase),
			Message: run.Status.Message,
			Latest:  latestValues(run),
		})
	}
	return states, next
}

// startRuns creates the runs the plan asks for that do not exist yet.
func (cp *ControlPlane) startRuns(ctx context.Context, l *loaded, reqs []rollout.AnalysisRequest, now time.Time) []rollout.Event {
	var events []rollout.Event
	for _, req := range reqs {
		if l.rec.HasRun(req.Name) {
			continue
		}
		run, err := cp.buildRun(ctx, l, req)
		if err != nil {
			// A run that cannot be built is an Error run: the engine then treats it like
			// any analysis that could not measure.
			run = &v1alpha1.AnalysisRun{}
			run.Name = req.Name
			run.Status.Phase = v1alpha1.AnalysisPhaseError
			run.Status.Message = err.Error()
			events = append(events, rollout.Event{Type: rollout.EventWarning, Reason: "AnalysisRunError", Message: fmt.Sprintf("analysis run %s: %v", req.Name, err)})
		}
		run.Status.StartedAt = ptrTime(now)
		if err := cp.putRun(ctx, l.row.Name, req.Revision, run, time.Time{}); err != nil {
			cp.log.Warn("store new analysis run", "run", req.Name, "err", err)
			continue
		}
		l.rec.Runs = append(l.rec.Runs, progress.RunRef{Name: req.Name, Kind: req.Kind, Revision: req.Revision, Stable: req.Stable})
	}
	return events
}

// stopRuns terminates runs the plan no longer wants.
func (cp *ControlPlane) stopRuns(ctx context.Context, l *loaded, names []string) {
	for _, name := range names {
		for i := range l.rec.Runs {
			ref := &l.rec.Runs[i]
			if ref.Name != name || ref.Done {
				continue
			}
			ref.Done = true
			stored, err := cp.opts.Store.GetAnalysisRun(ctx, name)
			if err != nil {
				continue
			}
			run, err := decodeRun(stored)
			if err != nil || run.Status.Phase.Completed() {
				continue
			}
			run.Spec.Terminate = true
			run.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
			run.Status.Message = "terminated by the rollout"
			if err := cp.putRun(ctx, l.row.Name, ref.Revision, run, lastMeasured(run)); err != nil {
				cp.log.Warn("store terminated run", "run", name, "err", err)
			}
		}
	}
}

// buildRun merges the named templates and the resolved args into a new run.
func (cp *ControlPlane) buildRun(ctx context.Context, l *loaded, req rollout.AnalysisRequest) (*v1alpha1.AnalysisRun, error) {
	var tmpls []analysis.Template
	for _, ref := range req.Templates {
		kind := store.KindAnalysisTemplate
		if ref.ClusterScope {
			kind = store.KindClusterAnalysisTemplate
		}
		key := kind + "/" + ref.TemplateName
		row, err := cp.opts.Store.GetTemplate(ctx, kind, ref.TemplateName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("template %s not found: apply it first", key)
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		var t v1alpha1.AnalysisTemplate
		if err := json.Unmarshal(row.Spec, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", key, err)
		}
		tmpls = append(tmpls, analysis.Template{Name: ref.TemplateName, ClusterScope: ref.ClusterScope, Spec: t.Spec})
	}
	var args []v1alpha1.Argument
	for _, a := range req.Args {
		if a.FieldPath != "" {
			args = append(args, v1alpha1.Argument{Name: a.Name, ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: a.FieldPath}}})
			continue
		}
		v := a.Value
		args = append(args, v1alpha1.Argument{Name: a.Name, Value: &v})
	}
	in := analysis.RunInput{
		Name: req.Name, Namespace: l.rollout.Namespace, Templates: tmpls, Args: args,
		Service: mainService(l.rollout), Revision: req.Revision, StableRevision: req.Stable,
		FieldValue: func(path string) (string, error) {
			switch path {
			case "metadata.name":
				return l.rollout.Name, nil
			case "metadata.namespace":
				return l.rollout.Namespace, nil
			}
			return "", fmt.Errorf("fieldRef %q: only metadata.name and metadata.namespace are supported", path)
		},
	}
	if ra := rolloutAnalysis(l.rollout, req); ra != nil {
		in.DryRun, in.MeasurementRetention = ra.DryRun, ra.MeasurementRetention
		in.Labels, in.Annotations = ra.AnalysisRunMetadata.Labels, ra.AnalysisRunMetadata.Annotations
	}
	return analysis.BuildRun(in)
}

// rolloutAnalysis finds the rollout's analysis block a request comes from, for what the
// engine does not carry: dryRun, measurementRetention and run metadata.
func rolloutAnalysis(ro *v1alpha1.Rollout, req rollout.AnalysisRequest) *v1alpha1.RolloutAnalysis {
	s := ro.Spec.Strategy
	switch {
	case req.Kind == rollout.AnalysisBackground && s.Canary != nil && s.Canary.Analysis != nil:
		return &s.Canary.Analysis.RolloutAnalysis
	case req.Kind == rollout.AnalysisStep && s.Canary != nil && int(req.Step) < len(s.Canary.Steps):
		return s.Canary.Steps[req.Step].Analysis
	case req.Kind == rollout.AnalysisPrePromotion && s.BlueGreen != nil:
		return s.BlueGreen.PrePromotionAnalysis
	case req.Kind == rollout.AnalysisPostPromotion && s.BlueGreen != nil:
		return s.BlueGreen.PostPromotionAnalysis
	}
	return nil
}

// putRun stores the run and the measurements that finished after `before`. The run's status
// keeps only the latest measurements (measurementRetention); the store keeps every one.
func (cp *ControlPlane) putRun(ctx context.Context, rolloutName, revision string, run *v1alpha1.AnalysisRun, before time.Time) error {
	// The spec column keeps the whole object but its status: the labels on its metadata
	// tell the builtin provider whose traffic to measure.
	spec, err := json.Marshal(v1alpha1.AnalysisRun{TypeMeta: run.TypeMeta, ObjectMeta: run.ObjectMeta, Spec: run.Spec})
	if err != nil {
		return err
	}
	status, err := json.Marshal(run.Status)
	if err != nil {
		return err
	}
	rec := store.AnalysisRun{Name: run.Name, Rollout: rolloutName, Revision: revision, Phase: string(run.Status.Phase), Spec: spec, Status: status}
	if run.Status.StartedAt != nil {
		rec.StartedAt = run.Status.StartedAt.Time
	}
	if run.Status.Phase.Completed() {
		rec.FinishedAt = cp.opts.Now()
	}
	var fresh []store.Measurement
	for _, mr := range run.Status.MetricResults {
		for _, m := range mr.Measurements {
			if m.FinishedAt != nil && m.FinishedAt.Time.After(before) {
				sm := store.Measurement{Run: run.Name, Metric: mr.Name, Phase: string(m.Phase), Value: m.Value, Message: m.Message}
				if m.StartedAt != nil {
					sm.StartedAt = m.StartedAt.Time
				}
				if m.FinishedAt != nil {
					sm.FinishedAt = m.FinishedAt.Time
				}
				fresh = append(fresh, sm)
			}
		}
	}
	return cp.opts.Store.PutAnalysisRun(ctx, rec, fresh...)
}

func decodeRun(s store.AnalysisRun) (*v1alpha1.AnalysisRun, error) {
	run := &v1alpha1.AnalysisRun{}
	run.Name = s.Name
	if len(s.Spec) > 0 {
		if err := json.Unmarshal(s.Spec, run); err != nil {
			return nil, fmt.Errorf("decode run spec: %w", err)
		}
		run.Name = s.Name
	}
	if len(s.Status) > 0 {
		if err := json.Unmarshal(s.Status, &run.Status); err != nil {
			return nil, fmt.Errorf("decode run status: %w", err)
		}
	}
	return run, nil
}

// lastMeasured is when the run's latest finished measurement finished.
func lastMeasured(run *v1alpha1.AnalysisRun) time.Time {
	var t time.Time
	for _, mr := range run.Status.MetricResults {
		for _, m := range mr.Measurements {
			if m.FinishedAt != nil && m.FinishedAt.Time.After(t) {
				t = m.FinishedAt.Time
			}
		}
	}
	return t
}

// latestValues maps each metric to its latest measured value, as a number when it is one.
func latestValues(run *v1alpha1.AnalysisRun) map[string]any {
	out := map[string]any{}
	for _, mr := range run.Status.MetricResults {
		if len(mr.Measurements) == 0 {
			continue
		}
		v := mr.Measurements[len(mr.Measurements)-1].Value
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[mr.Name] = f
			continue
		}
		var decoded any
		if json.Unmarshal([]byte(v), &decoded) == nil {
			out[mr.Name] = decoded
			continue
		}
		out[mr.Name] = v
	}
	return out
}

// latestText is each metric's latest measured value as text.
func latestText(run *v1alpha1.AnalysisRun) map[string]string {
	out := map[string]string{}
	for _, mr := range run.Status.MetricResults {
		if n := len(mr.Measurements); n > 0 {
			out[mr.Name] = mr.Measurements[n-1].Value
		}
	}
	return out
}

// failedMeasurement describes the measurement that failed a run, for the rollback message.
func failedMeasurement(run *v1alpha1.AnalysisRun) string {
	for _, mr := range run.Status.MetricResults {
		if mr.DryRun || mr.Phase != v1alpha1.AnalysisPhaseFailed && mr.Phase != v1alpha1.AnalysisPhaseError {
			continue
		}
		for i := len(mr.Measurements) - 1; i >= 0; i-- {
			m := mr.Measurements[i]
			if m.Phase == mr.Phase {
				return fmt.Sprintf("metric %q = %s (%s)", mr.Name, m.Value, mr.Phase)
			}
		}
		return fmt.Sprintf("metric %q %s: %s", mr.Name, mr.Phase, mr.Message)
	}
	return run.Status.Message
}
