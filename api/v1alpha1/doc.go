// Package v1alpha1 holds shipsafe's resource types — Rollout, AnalysisTemplate,
// ClusterAnalysisTemplate and AnalysisRun — with the Argo Rollouts argoproj.io/v1alpha1 schema
// (same Go type names and JSON field names where Argo has them), plus shipsafe's extensions
// (the rolling strategy, pause-until-analysis, the builtin metric provider, rollback triggers).
//
// The package holds only types, Argo's defaults (SetDefaults*) and scheme registration, so a
// Kubernetes client can import it without the manifest tooling; strict decoding, the YAML tree
// and validation live in the manifest subpackage.
package v1alpha1

// API groups and kinds this package reads. Documents with either group mean the same thing.
const (
	// ArgoGroupVersion is Argo Rollouts' apiVersion; manifests written for Argo use it.
	ArgoGroupVersion = "argoproj.io/v1alpha1"
	// ShipsafeGroupVersion is shipsafe's own apiVersion; it is an alias of ArgoGroupVersion.
	ShipsafeGroupVersion = "shipsafe.dev/v1alpha1"
	// AppsGroupVersion is the apiVersion of a Kubernetes Deployment, accepted for migration.
	AppsGroupVersion = "apps/v1"

	KindRollout                 = "Rollout"
	KindAnalysisTemplate        = "AnalysisTemplate"
	KindClusterAnalysisTemplate = "ClusterAnalysisTemplate"
	KindAnalysisRun             = "AnalysisRun"
	KindDeployment              = "Deployment"
)
