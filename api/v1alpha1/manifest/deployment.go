package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// ConvertedFromDeployment is Object.ConvertedFrom for a Rollout made from a Deployment.
const ConvertedFromDeployment = "apps/v1 Deployment"

// DeploymentToRollout converts an apps/v1 Deployment with a RollingUpdate strategy (the
// default) into a Rollout with shipsafe's rolling strategy, so users migrate without
// rewriting manifests. A Recreate strategy is rejected with its path.
func DeploymentToRollout(d *appsv1.Deployment) (*v1alpha1.Rollout, field.ErrorList) {
	var errs field.ErrorList
	strategy := field.NewPath("spec", "strategy")
	rolling := &v1alpha1.RollingStrategy{}
	switch d.Spec.Strategy.Type {
	case "", appsv1.RollingUpdateDeploymentStrategyType:
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
			rolling.MaxSurge = ru.MaxSurge
			rolling.MaxUnavailable = ru.MaxUnavailable
		}
	default:
		errs = append(errs, mustBeOneOf(strategy.Child("type"), string(d.Spec.Strategy.Type),
			string(appsv1.RollingUpdateDeploymentStrategyType)))
	}
	ro := &v1alpha1.Rollout{
		ObjectMeta: d.ObjectMeta,
		Spec: v1alpha1.RolloutSpec{
			Replicas:                d.Spec.Replicas,
			Selector:                d.Spec.Selector,
			Template:                d.Spec.Template,
			MinReadySeconds:         d.Spec.MinReadySeconds,
			Strategy:                v1alpha1.RolloutStrategy{Rolling: rolling},
			RevisionHistoryLimit:    d.Spec.RevisionHistoryLimit,
			Paused:                  d.Spec.Paused,
			ProgressDeadlineSeconds: d.Spec.ProgressDeadlineSeconds,
		},
	}
	ro.APIVersion = v1alpha1.ShipsafeGroupVersion
	ro.Kind = v1alpha1.KindRollout
	return ro, errs
}

// convertDeployment is Decode's hook for apps/v1 Deployments.
func convertDeployment(obj *Object, target any) field.ErrorList {
	ro, errs := DeploymentToRollout(target.(*appsv1.Deployment))
	if len(errs) > 0 {
		return errs
	}
	obj.Rollout = ro
	obj.ConvertedFrom = ConvertedFromDeployment
	return nil
}
