package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutPhase is the coarse state of a rollout, as Argo reports it.
type RolloutPhase string

// Rollout phases.
const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
)

// RolloutStatus is the observed state of a Rollout. All progress is kept here so a controller
// restarted at any instant resumes from it.
type RolloutStatus struct {
	// Abort is true once the update was aborted; traffic and replicas go back to stable.
	Abort bool `json:"abort,omitempty"`
	// PauseConditions say why the rollout is paused and since when.
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause is true when the engine (not the user) paused the rollout.
	ControllerPause bool `json:"controllerPause,omitempty"`
	// AbortedAt is when the update was aborted.
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// CurrentPodHash is the hash of the desired (newest) pod template.
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// CurrentStepHash is the hash of the canary steps, to detect step changes.
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	// Replicas is the total number of pods.
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas is the number of pods of the current revision.
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas is the number of ready pods.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas is the number of pods ready for at least minReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// CurrentStepIndex is the canary step being run; len(steps) when done.
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CollisionCount disambiguates pod-template hashes.
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is the generation of the spec this status describes.
	ObservedGeneration string `json:"observedGeneration,omitempty"`
	// Conditions are the rollout's conditions (Available, Progressing, Paused, ...).
	Conditions []RolloutCondition `json:"conditions,omitempty"`
	// Canary is canary-specific state.
	Canary CanaryStatus `json:"canary,omitempty"`
	// BlueGreen is blue-green-specific state.
	BlueGreen BlueGreenStatus `json:"blueGreen,omitempty"`
	// HPAReplicas is the number of available pods of the current revision.
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector is the label selector in string form.
	Selector string `json:"selector,omitempty"`
	// StableRS is the pod-template hash of the stable revision.
	StableRS string `json:"stableRS,omitempty"`
	// RestartedAt is when the last restart was done.
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// PromoteFull is true while a full promotion (skipping steps and analysis) is under way.
	PromoteFull bool `json:"promoteFull,omitempty"`
	// Phase is Healthy, Progressing, Paused or Degraded.
	Phase RolloutPhase `json:"phase,omitempty"`
	// Message explains Phase.
	Message string `json:"message,omitempty"`
	// WorkloadObservedGeneration is the generation of the referenced workload seen.
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`

	// Rollback (shipsafe extension) is the rollback action in progress, if any.
	Rollback *RollbackStatus `json:"rollback,omitempty"`
	// Shipsafe (shipsafe extension) is the rest of shipsafe's progress: with Argo's fields
	// above it is all a control plane needs to resume.
	Shipsafe *ShipsafeStatus `json:"shipsafe,omitempty"`
}

// PauseReason says why a rollout is paused.
type PauseReason string

// Pause reasons (Argo's, plus shipsafe's).
const (
	PauseReasonInconclusiveAnalysis   PauseReason = "InconclusiveAnalysisRun"
	PauseReasonInconclusiveExperiment PauseReason = "InconclusiveExperiment"
	PauseReasonCanaryPauseStep        PauseReason = "CanaryPauseStep"
	PauseReasonBlueGreenPause         PauseReason = "BlueGreenPause"
	// PauseReasonAnalysisCondition (shipsafe) is a pause waiting for pause.analysis.
	PauseReasonAnalysisCondition PauseReason = "AnalysisConditionPause"
)

// PauseCondition is one reason the rollout is paused and when it started.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutConditionType is the type of a rollout condition.
type RolloutConditionType string

// Rollout condition types.
const (
	InvalidSpec           RolloutConditionType = "InvalidSpec"
	RolloutAvailable      RolloutConditionType = "Available"
	RolloutProgressing    RolloutConditionType = "Progressing"
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
	RolloutPaused         RolloutConditionType = "Paused"
	RolloutCompleted      RolloutConditionType = "Completed"
	RolloutHealthy        RolloutConditionType = "Healthy"
)

// RolloutCondition is one condition of a rollout.
type RolloutCondition struct {
	Type               RolloutConditionType   `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime"`
	Reason             string                 `json:"reason"`
	Message            string                 `json:"message"`
}

// CanaryStatus is canary-specific state.
type CanaryStatus struct {
	// CurrentStepAnalysisRunStatus is the inline analysis of the current step.
	CurrentStepAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	// CurrentBackgroundAnalysisRunStatus is the background analysis.
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// CurrentExperiment is the running experiment's name.
	CurrentExperiment string `json:"currentExperiment,omitempty"`
	// Weights are the traffic weights last set through the router.
	Weights *TrafficWeights `json:"weights,omitempty"`
	// StablePingPong is "ping" or "pong" for ping-pong canaries.
	StablePingPong string `json:"stablePingPong,omitempty"`
	// HeaderRoutes (shipsafe) are the managed header routes in force.
	HeaderRoutes []SetHeaderRoute `json:"headerRoutes,omitempty"`
	// MirrorRoutes (shipsafe) are the managed mirror routes in force.
	MirrorRoutes []SetMirrorRoute `json:"mirrorRoutes,omitempty"`
	// CanaryScale (shipsafe) is the setCanaryScale override in force.
	CanaryScale *SetCanaryScale `json:"canaryScale,omitempty"`
}

// TrafficWeights are the weights of the canary, stable and any other destinations.
type TrafficWeights struct {
	Canary     WeightDestination   `json:"canary"`
	Stable     WeightDestination   `json:"stable"`
	Additional []WeightDestination `json:"additional,omitempty"`
	// Verified is whether the router confirmed the weights.
	Verified *bool `json:"verified,omitempty"`
}

// WeightDestination is one destination's traffic weight.
type WeightDestination struct {
	ServiceName     string `json:"serviceName,omitempty"`
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
	Weight          int32  `json:"weight"`
}

// BlueGreenStatus is blue-green-specific state.
type BlueGreenStatus struct {
	// PreviewSelector is the pod-template hash the preview service points at.
	PreviewSelector string `json:"previewSelector,omitempty"`
	// ActiveSelector is the pod-template hash the active service points at.
	ActiveSelector string `json:"activeSelector,omitempty"`
	// ScaleUpPreviewCheckPoint is set once the preview was scaled to full size.
	ScaleUpPreviewCheckPoint bool `json:"scaleUpPreviewCheckPoint,omitempty"`
	// PrePromotionAnalysisRunStatus is the pre-promotion analysis.
	PrePromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	// PostPromotionAnalysisRunStatus is the post-promotion analysis.
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
	// ScaleDownDeadline (shipsafe; Argo keeps it as a ReplicaSet annotation) is when the
	// previous active revision may be scaled down.
	ScaleDownDeadline *metav1.Time `json:"scaleDownDeadline,omitempty"`
	// PreviousActiveSelector (shipsafe) is the hash that was active before the switch, used to
	// switch back when post-promotion analysis fails.
	PreviousActiveSelector string `json:"previousActiveSelector,omitempty"`
}

// RolloutAnalysisRunStatus is a short view of an AnalysisRun started by the rollout.
type RolloutAnalysisRunStatus struct {
	Name    string        `json:"name"`
	Status  AnalysisPhase `json:"status"`
	Message string        `json:"message,omitempty"`
}

// RollbackStatus (shipsafe extension) is a rollback action in progress.
type RollbackStatus struct {
	// Action is immediate, staged or canary.
	Action RollbackAction `json:"action"`
	// Trigger names the rollback trigger or analysis that started it.
	Trigger string `json:"trigger,omitempty"`
	// StartedAt is when the action started.
	StartedAt metav1.Time `json:"startedAt"`
	// Stage is the action's current stage (e.g. "observing" for staged rollbacks).
	Stage string `json:"stage,omitempty"`
	// Message explains the rollback.
	Message string `json:"message,omitempty"`
}
