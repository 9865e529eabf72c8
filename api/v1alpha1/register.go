package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is Argo Rollouts' API group; shipsafe serves its Argo-compatible kinds under it so
// Argo's tooling (kubectl-argo-rollouts, dashboards) reads them unchanged.
const GroupName = "argoproj.io"

// ShipsafeGroupName is shipsafe's own API group. No kind lives there yet: shipsafe's
// extensions are fields of the Argo kinds (tools that do not know them ignore them). It is
// registered now so a future shipsafe-only kind needs no new wiring.
const ShipsafeGroupName = "shipsafe.dev"

// SchemeGroupVersion is argoproj.io/v1alpha1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// ShipsafeSchemeGroupVersion is shipsafe.dev/v1alpha1.
var ShipsafeSchemeGroupVersion = schema.GroupVersion{Group: ShipsafeGroupName, Version: "v1alpha1"}

// SchemeBuilder and AddToScheme are the Kubernetes idiom for registering these kinds into a
// runtime.Scheme (the only package-level variables here; they are never mutated after init).
var (
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	AddToScheme   = SchemeBuilder.AddToScheme
)

// Resource turns an unqualified resource name ("rollouts") into an argoproj.io GroupResource,
// as API errors and listers expect.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// Kind turns a kind name into an argoproj.io GroupKind.
func Kind(kind string) schema.GroupKind {
	return SchemeGroupVersion.WithKind(kind).GroupKind()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Rollout{}, &RolloutList{},
		&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{},
		&Experiment{}, &ExperimentList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	// The shipsafe group has no kinds yet; registering its meta types (ListOptions, Status,
	// WatchEvent, ...) is what lets a client for it be built today.
	metav1.AddToGroupVersion(scheme, ShipsafeSchemeGroupVersion)
	return nil
}
