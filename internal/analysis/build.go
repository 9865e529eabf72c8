package analysis

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Labels BuildRun puts on a run so providers (builtin) know whose traffic to measure, under
// the project's API group (shipsafe.dev, as its annotations).
const (
	LabelService        = "shipsafe.dev/service"
	LabelRevision       = "shipsafe.dev/revision"
	LabelStableRevision = "shipsafe.dev/stable-revision"
)

// RunLabel reads a run label, falling back to the shipsafe.io/ key runs stored by earlier
// versions carry, so a run in flight across an upgrade keeps measuring.
func RunLabel(labels map[string]string, key string) string {
	if v, ok := labels[key]; ok {
		return v
	}
	return labels["shipsafe.io/"+strings.TrimPrefix(key, "shipsafe.dev/")]
}

// Template is an AnalysisTemplate or ClusterAnalysisTemplate the caller looked up.
type Template struct {
	Name         string
	ClusterScope bool
	Spec         v1alpha1.AnalysisTemplateSpec
}

// RunInput is everything BuildRun needs.
type RunInput struct {
	Name, Namespace string
	Templates       []Template
	// Args are the rollout's arguments; they override the templates' defaults.
	Args []v1alpha1.Argument
	// DryRun and MeasurementRetention are added to the templates' own.
	DryRun               []v1alpha1.DryRun
	MeasurementRetention []v1alpha1.MeasurementRetention
	Labels, Annotations  map[string]string
	// Service, Revision and StableRevision become labels the builtin provider reads.
	Service, Revision, StableRevision string
	// FieldValue resolves valueFrom.fieldRef (e.g. metadata.name) against the rollout.
	FieldValue func(fieldPath string) (string, error)
}

// BuildRun merges templates and args into a Pending AnalysisRun. Metric names must be
// unique across templates; every argument must end with a value, a fieldRef (resolved
// here) or a secretKeyRef (resolved by the executor at measurement time, never stored).
func BuildRun(in RunInput) (*v1alpha1.AnalysisRun, error) {
	if len(in.Templates) == 0 {
		return nil, fmt.Errorf("analysis run %q: at least one template is required", in.Name)
	}
	run := &v1alpha1.AnalysisRun{}
	run.APIVersion, run.Kind = "argoproj.io/v1alpha1", "AnalysisRun"
	run.Name, run.Namespace = in.Name, in.Namespace
	run.Labels = maps.Clone(in.Labels)
	run.Annotations = maps.Clone(in.Annotations)
	for k, v := range map[string]string{LabelService: in.Service, LabelRevision: in.Revision, LabelStableRevision: in.StableRevision} {
		if v == "" {
			continue
		}
		if run.Labels == nil {
			run.Labels = map[string]string{}
		}
		run.Labels[k] = v
	}
	run.Status.Phase = v1alpha1.AnalysisPhasePending

	metricFrom := map[string]string{}
	var args []v1alpha1.Argument
	argIndex := map[string]int{}
	for _, t := range in.Templates {
		where := templateLabel(t)
		for _, m := range t.Spec.Metrics {
			if prev, dup := metricFrom[m.Name]; dup {
				return nil, fmt.Errorf("%s: metric %q is also defined by %s; metric names must be unique in a run", where, m.Name, prev)
			}
			metricFrom[m.Name] = where
			run.Spec.Metrics = append(run.Spec.Metrics, m)
		}
		for _, a := range t.Spec.Args {
			j, seen := argIndex[a.Name]
			if !seen {
				argIndex[a.Name] = len(args)
				args = append(args, a)
				continue
			}
			prev := args[j]
			if prev.Value != nil && a.Value != nil && *prev.Value != *a.Value {
				return nil, fmt.Errorf("%s: args %q has default %q, another template has %q", where, a.Name, *a.Value, *prev.Value)
			}
			if prev.Value == nil && prev.ValueFrom == nil {
				args[j] = a
			}
		}
		run.Spec.DryRun = append(run.Spec.DryRun, t.Spec.DryRun...)
		run.Spec.MeasurementRetention = append(run.Spec.MeasurementRetention, t.Spec.MeasurementRetention...)
	}
	run.Spec.DryRun = append(run.Spec.DryRun, in.DryRun...)
	run.Spec.MeasurementRetention = append(run.Spec.MeasurementRetention, in.MeasurementRetention...)

	for _, a := range in.Args {
		if j, ok := argIndex[a.Name]; ok {
			args[j] = a // arguments the templates do not declare are ignored, as in Argo
		}
	}
	for i, a := range args {
		resolved, err := resolveBuildArg(a, in.FieldValue)
		if err != nil {
			return nil, fmt.Errorf("analysis run %q: args[%d] (%s): %w", in.Name, i, a.Name, err)
		}
		args[i] = resolved
	}
	run.Spec.Args = args
	return run, nil
}

func resolveBuildArg(a v1alpha1.Argument, field func(string) (string, error)) (v1alpha1.Argument, error) {
	switch {
	case a.Value != nil:
		return v1alpha1.Argument{Name: a.Name, Value: a.Value}, nil
	case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
		if field == nil {
			return a, fmt.Errorf("valueFrom.fieldRef %q: no field source is configured", a.ValueFrom.FieldRef.FieldPath)
		}
		v, err := field(a.ValueFrom.FieldRef.FieldPath)
		if err != nil {
			return a, fmt.Errorf("valueFrom.fieldRef %q: %w", a.ValueFrom.FieldRef.FieldPath, err)
		}
		return v1alpha1.Argument{Name: a.Name, Value: &v}, nil
	case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
		return a, nil
	default:
		return a, fmt.Errorf("no value given: the template declares it without a default and the rollout does not pass it")
	}
}

func templateLabel(t Template) string {
	if t.ClusterScope {
		return fmt.Sprintf("ClusterAnalysisTemplate %q", t.Name)
	}
	return fmt.Sprintf("AnalysisTemplate %q", t.Name)
}

// RunInfo describes the run a measurement is taken for. The executor puts it in the
// context given to Provider.Measure; providers that compare over the run's lifetime (the
// builtin judges) read it with RunInfoFrom.
type RunInfo struct {
	Name, Namespace string
	Labels          map[string]string
	StartedAt       time.Time
}

type runInfoKey struct{}

// WithRunInfo returns ctx carrying info.
func WithRunInfo(ctx context.Context, info RunInfo) context.Context {
	return context.WithValue(ctx, runInfoKey{}, info)
}

// RunInfoFrom returns the RunInfo in ctx, if any.
func RunInfoFrom(ctx context.Context) (RunInfo, bool) {
	info, ok := ctx.Value(runInfoKey{}).(RunInfo)
	return info, ok
}
