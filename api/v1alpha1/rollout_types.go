package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Rollout is a workload whose new revisions are shipped progressively by a strategy
// (canary, blue-green or rolling). Its schema is Argo Rollouts' Rollout.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=rollouts,shortName=ro
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.HPAReplicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Desired",type="integer",JSONPath=".spec.replicas",description="Number of desired pods"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="Total number of non-terminated pods targeted by this rollout"
// +kubebuilder:printcolumn:name="Up-to-date",type="integer",JSONPath=".status.updatedReplicas",description="Total number of non-terminated pods targeted by this rollout that have the desired template spec"
// +kubebuilder:printcolumn:name="Available",type="integer",JSONPath=".status.availableReplicas",description="Total number of available pods (ready for at least minReadySeconds) targeted by this rollout"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RolloutSpec   `json:"spec"`
	Status RolloutStatus `json:"status,omitempty"`
}

// RolloutSpec is the desired state of a Rollout.
type RolloutSpec struct {
	// Replicas is the desired number of pods. Defaults to 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector selects the pods the rollout owns; it must match Template's labels.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Template describes the pods (model server replicas) to run.
	Template corev1.PodTemplateSpec `json:"template"`
	// WorkloadRef points at a Deployment whose template is used instead of Template (Argo).
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`
	// MinReadySeconds is how long a pod must be ready before it counts as available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// Strategy says how a new revision replaces the stable one.
	Strategy RolloutStrategy `json:"strategy"`
	// RevisionHistoryLimit is how many old revisions are kept for undo. Defaults to 10.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused stops the rollout from progressing until it is set back to false.
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds is how long a rollout may make no progress before it is
	// Degraded. Defaults to 600.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// ProgressDeadlineAbort aborts the update when the progress deadline is exceeded.
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// RestartAt asks for all pods created before this time to be restarted.
	RestartAt *metav1.Time `json:"restartAt,omitempty"`
	// Analysis sets how many finished AnalysisRuns are kept.
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`

	// RollbackTriggers (shipsafe extension) are conditions on live metrics that, sustained for
	// a time, take the new revision back with the given action.
	RollbackTriggers []RollbackTrigger `json:"rollbackTriggers,omitempty"`
}

// ObjectRef references another object by API version, kind and name.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	// ScaleDown is what happens to the referenced Deployment: never, onsuccess or progressively.
	ScaleDown string `json:"scaleDown,omitempty"`
}

// AnalysisRunStrategy limits how many finished AnalysisRuns of a rollout are kept.
type AnalysisRunStrategy struct {
	SuccessfulRunHistoryLimit   *int32 `json:"successfulRunHistoryLimit,omitempty"`
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// RolloutStrategy holds exactly one strategy.
type RolloutStrategy struct {
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	Canary    *CanaryStrategy    `json:"canary,omitempty"`
	// Rolling (shipsafe extension) replaces pods a few at a time with no traffic steps, like a
	// Deployment's RollingUpdate. Deployments given to shipsafe are converted to it.
	Rolling *RollingStrategy `json:"rolling,omitempty"`
}

// RollingStrategy (shipsafe extension) is a Deployment-style rolling update.
type RollingStrategy struct {
	// MaxSurge is how many pods above Replicas may exist during the update. Defaults to 25%.
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// MaxUnavailable is how many pods below Replicas may be unavailable. Defaults to 25%.
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// BlueGreenStrategy runs the new revision beside the old one behind a preview service and
// switches the active service to it at once on promotion.
type BlueGreenStrategy struct {
	// ActiveService is the service that gets production traffic. Required.
	ActiveService string `json:"activeService"`
	// PreviewService gets traffic for the new revision before promotion.
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount is how many replicas the new revision runs before promotion;
	// defaults to spec.replicas.
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled promotes as soon as the preview is ready. Defaults to true; when
	// false the rollout pauses until promoted.
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// AutoPromotionSeconds promotes automatically this many seconds after pausing.
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`
	// MaxUnavailable is how many pods may be unavailable while updating. Defaults to 0.
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// ScaleDownDelaySeconds keeps the old revision up this long after the switch. Defaults to 30.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old revisions wait out their delay at once.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// PrePromotionAnalysis runs against the preview before the switch; failure aborts.
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// PostPromotionAnalysis runs after the switch; failure switches back.
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
	// AntiAffinity spreads new pods away from old ones (Kubernetes only).
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// PreviewMetadata is added to preview pods.
	PreviewMetadata *PodTemplateMetadata `json:"previewMetadata,omitempty"`
	// ActiveMetadata is added to active pods.
	ActiveMetadata *PodTemplateMetadata `json:"activeMetadata,omitempty"`
	// AbortScaleDownDelaySeconds keeps the preview up this long after an abort. Defaults to 30;
	// 0 keeps it up forever.
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}

// AntiAffinity asks the scheduler to keep new pods off the nodes of old ones.
type AntiAffinity struct {
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	RequiredDuringSchedulingIgnoredDuringExecution  *RequiredDuringSchedulingIgnoredDuringExecution  `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PreferredDuringSchedulingIgnoredDuringExecution is a soft anti-affinity with a weight 1-100.
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution is a hard anti-affinity.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}

// PodTemplateMetadata is extra labels and annotations for a group of pods.
type PodTemplateMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutAnalysis names the AnalysisTemplates to run and the arguments they get.
type RolloutAnalysis struct {
	Templates            []AnalysisTemplateRef  `json:"templates,omitempty"`
	Args                 []AnalysisRunArgument  `json:"args,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	AnalysisRunMetadata  AnalysisRunMetadata    `json:"analysisRunMetadata,omitempty"`
}

// AnalysisRunMetadata is labels and annotations added to the AnalysisRuns created.
type AnalysisRunMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutAnalysisBackground is an analysis that runs alongside the canary steps from
// StartingStep (default 0) until the rollout completes or it fails.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index at which the background analysis starts.
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// AnalysisTemplateRef references an AnalysisTemplate (or a ClusterAnalysisTemplate when
// ClusterScope is true) by name.
type AnalysisTemplateRef struct {
	TemplateName string `json:"templateName,omitempty"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
	// TemplateRefLabelSelector (Argo) selects templates by label instead of by name.
	TemplateRefLabelSelector *metav1.LabelSelector `json:"templateRefLabelSelector,omitempty"`
}

// AnalysisRunArgument is an argument given by a rollout to an analysis: a literal value or a
// value taken from the rollout itself.
type AnalysisRunArgument struct {
	Name      string             `json:"name"`
	Value     string             `json:"value,omitempty"`
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom takes an argument's value from a revision's pod-template hash or a field
// of the rollout.
type ArgumentValueFrom struct {
	// PodTemplateHashValue is "Stable" or "Latest".
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	FieldRef             *FieldRef                 `json:"fieldRef,omitempty"`
}

// ValueFromPodTemplateHash selects which revision's hash an argument gets.
type ValueFromPodTemplateHash string

// Pod-template hash sources.
const (
	Stable ValueFromPodTemplateHash = "Stable"
	Latest ValueFromPodTemplateHash = "Latest"
)

// FieldRef is a path to a field, e.g. metadata.name or metadata.labels['app'].
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// RollbackTrigger (shipsafe extension) takes the new revision back when Metric stays beyond
// Threshold for the duration For.
type RollbackTrigger struct {
	// Name identifies the trigger in events and status.
	Name string `json:"name"`
	// Metric is a builtin metric name, e.g. error-rate, accuracy-drop, latency-p99-delta-ms.
	Metric string `json:"metric"`
	// Operator compares the metric with Threshold: ">" (default), ">=", "<" or "<=".
	Operator string `json:"operator,omitempty"`
	// Threshold is the value the metric is compared with.
	Threshold float64 `json:"threshold"`
	// For is how long the comparison must hold, as a Go duration ("2m"). Empty means at once.
	For DurationString `json:"for,omitempty"`
	// Action is what the engine does: immediate, staged or canary.
	Action RollbackAction `json:"action"`
}

// RollbackAction is how a rollback takes a revision back.
type RollbackAction string

// Rollback actions.
const (
	// RollbackImmediate sends all traffic to stable at once.
	RollbackImmediate RollbackAction = "immediate"
	// RollbackStaged cuts the new revision to 50%, observes, then completes or restores.
	RollbackStaged RollbackAction = "staged"
	// RollbackCanary stops canary traffic and scales the canary down.
	RollbackCanary RollbackAction = "canary"
)

// DurationString is a Go duration string such as "30s" or "5m".
type DurationString string
