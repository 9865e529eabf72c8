package manifest

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// extensionWarnings names the shipsafe extensions an argoproj.io/v1alpha1 document uses.
// They run (the seed's own canary manifest has a pause with analysis under the Argo group),
// but the document no longer runs on Argo Rollouts, which a reader of its apiVersion would
// expect: a warning per field says so.
func extensionWarnings(o *Object) field.ErrorList {
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
		errs = append(errs, field.Forbidden(p, "is a shipsafe extension: this "+v1alpha1.ArgoGroupVersion+" manifest no longer runs on Argo Rollouts (apiVersion "+v1alpha1.ShipsafeGroupVersion+" says so)"))
	}
	return errs
}
