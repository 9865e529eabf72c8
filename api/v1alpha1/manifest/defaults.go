package manifest

import "github.com/shipsafe/shipsafe/api/v1alpha1"

// SetDefaults fills defaults of whichever object o holds.
func SetDefaults(o *Object) {
	switch {
	case o.Rollout != nil:
		v1alpha1.SetDefaultsRollout(o.Rollout)
	case o.AnalysisTemplate != nil:
		v1alpha1.SetDefaultsAnalysisTemplateSpec(&o.AnalysisTemplate.Spec)
	case o.ClusterAnalysisTemplate != nil:
		v1alpha1.SetDefaultsAnalysisTemplateSpec(&o.ClusterAnalysisTemplate.Spec)
	case o.AnalysisRun != nil:
		v1alpha1.SetDefaultsMetrics(o.AnalysisRun.Spec.Metrics)
	}
}
