package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Experiment runs short-lived ReplicaSets beside analyses (Argo's Experiment). shipsafe does not
// run experiments yet; the kind exists because Argo's tooling lists and watches it, and a
// cluster without its CRD makes those tools fail. The schema is a subset of Argo's: the spec
// fields templates, duration, progressDeadlineSeconds, terminate, scaleDownDelaySeconds,
// analyses, dryRun, measurementRetention and analysisRunMetadata, and the status fields phase,
// message, templateStatuses, availableAt, conditions and analysisRuns.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=experiments,shortName=exp
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="Experiment status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExperimentSpec   `json:"spec"`
	Status ExperimentStatus `json:"status,omitempty"`
}

// ExperimentSpec is the ReplicaSets and analyses of an experiment.
type ExperimentSpec struct {
	// Templates are the ReplicaSets to run.
	Templates []TemplateSpec `json:"templates"`
	// Duration is how long the experiment runs (Go duration); empty means until terminated or
	// until the analyses required for completion finish.
	Duration DurationString `json:"duration,omitempty"`
	// ProgressDeadlineSeconds is how long a template may take to become available.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// Terminate stops the experiment.
	Terminate bool `json:"terminate,omitempty"`
	// ScaleDownDelaySeconds keeps the ReplicaSets up this long after the experiment ends.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// Analyses are run against the templates.
	Analyses             []ExperimentAnalysisTemplateRef `json:"analyses,omitempty"`
	DryRun               []DryRun                        `json:"dryRun,omitempty"`
	MeasurementRetention []MeasurementRetention          `json:"measurementRetention,omitempty"`
	AnalysisRunMetadata  AnalysisRunMetadata             `json:"analysisRunMetadata,omitempty"`
}

// TemplateSpec is one ReplicaSet of an experiment.
type TemplateSpec struct {
	Name            string                 `json:"name"`
	Replicas        *int32                 `json:"replicas,omitempty"`
	MinReadySeconds int32                  `json:"minReadySeconds,omitempty"`
	Selector        *metav1.LabelSelector  `json:"selector"`
	Template        corev1.PodTemplateSpec `json:"template"`
	Service         *TemplateService       `json:"service,omitempty"`
}

// ExperimentAnalysisTemplateRef is an analysis an experiment runs.
type ExperimentAnalysisTemplateRef struct {
	Name         string     `json:"name"`
	TemplateName string     `json:"templateName"`
	ClusterScope bool       `json:"clusterScope,omitempty"`
	Args         []Argument `json:"args,omitempty"`
	// RequiredForCompletion ends the experiment when this analysis completes.
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// ExperimentStatus is the observed state of an experiment.
type ExperimentStatus struct {
	Phase            AnalysisPhase                 `json:"phase,omitempty"`
	Message          string                        `json:"message,omitempty"`
	TemplateStatuses []TemplateStatus              `json:"templateStatuses,omitempty"`
	AvailableAt      *metav1.Time                  `json:"availableAt,omitempty"`
	Conditions       []ExperimentCondition         `json:"conditions,omitempty"`
	AnalysisRuns     []ExperimentAnalysisRunStatus `json:"analysisRuns,omitempty"`
}

// TemplateStatus is the observed state of one experiment template.
type TemplateStatus struct {
	Name               string       `json:"name"`
	Replicas           int32        `json:"replicas"`
	UpdatedReplicas    int32        `json:"updatedReplicas"`
	ReadyReplicas      int32        `json:"readyReplicas"`
	AvailableReplicas  int32        `json:"availableReplicas"`
	CollisionCount     *int32       `json:"collisionCount,omitempty"`
	Status             string       `json:"status,omitempty"`
	Message            string       `json:"message,omitempty"`
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	ServiceName        string       `json:"serviceName,omitempty"`
	PodTemplateHash    string       `json:"podTemplateHash,omitempty"`
}

// ExperimentCondition is one condition of an experiment.
type ExperimentCondition struct {
	Type               string                 `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime"`
	Reason             string                 `json:"reason"`
	Message            string                 `json:"message"`
}

// ExperimentAnalysisRunStatus is a short view of an AnalysisRun started by an experiment.
type ExperimentAnalysisRunStatus struct {
	Name        string        `json:"name"`
	AnalysisRun string        `json:"analysisRun"`
	Phase       AnalysisPhase `json:"phase"`
	Message     string        `json:"message,omitempty"`
}
