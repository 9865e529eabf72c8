package manifest

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// validateExtensions keeps argoproj.io/v1alpha1 documents runnable by Argo Rollouts itself:
// shipsafe's extensions are only accepted under shipsafe.dev/v1alpha1, so the apiVersion
// tells a reader which tool a manifest needs.
func validateExtensions(o *Object) field.ErrorList {
	if o.APIVersion != v1alpha1.ArgoGroupVersion {
		return nil
	}
	var used []*field.Path
	spec := field.NewPath("spec")
	if r := o.Rollout; r != nil {
		if len(r.Spec.RollbackTriggers) > 0 {
			used = append(used, spec.Child("rollbackTriggers"))
		}
		if r.Spec.Strategy.Rolling != nil {
			used = append(used, spec.Child("strategy", "rolling"))
		}
		if c := r.Spec.Strategy.Canary; c != nil {
			cp := spec.Child("strategy", "canary")
			if c.TrafficRouting != nil && c.TrafficRouting.Gateway != nil {
				used = append(used, cp.Child("trafficRouting", "gateway"))
			}
			for i, st := range c.Steps {
				if st.Pause != nil && st.Pause.Analysis != nil {
					used = append(used, cp.Child("steps").Index(i).Child("pause", "analysis"))
				}
			}
		}
	}
	var metrics []v1alpha1.Metric
	switch {
	case o.AnalysisTemplate != nil:
		metrics = o.AnalysisTemplate.Spec.Metrics
	case o.ClusterAnalysisTemplate != nil:
		metrics = o.ClusterAnalysisTemplate.Spec.Metrics
	case o.AnalysisRun != nil:
		metrics = o.AnalysisRun.Spec.Metrics
	}
	for i, m := range metrics {
		if m.Provider.Builtin != nil {
			used = append(used, spec.Child("metrics").Index(i).Child("provider", "builtin"))
		}
	}
	errs := make(field.ErrorList, 0, len(used))
	for _, p := range used {
		errs = append(errs, field.Forbidden(p, "is a shipsafe extension: use apiVersion "+v1alpha1.ShipsafeGroupVersion+" (argoproj.io/v1alpha1 documents must stay runnable by Argo Rollouts)"))
	}
	return errs
}
