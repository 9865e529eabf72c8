package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ShipsafeStatus is status.shipsafe: the progress shipsafe keeps beside Argo's fields, so the
// Rollout's status is the one record a control plane needs to resume from any instant (Argo's
// own fields keep Argo's meaning; tools that do not know this block ignore it).
type ShipsafeStatus struct {
	// Attempt counts retries of the current revision; analysis run names carry it, so a
	// retry starts fresh runs.
	Attempt int32 `json:"attempt,omitempty"`
	// AbortMessage says why the update was aborted.
	AbortMessage string `json:"abortMessage,omitempty"`
	// ScaleDowns are old revisions kept up until a deadline (scaleDownDelaySeconds).
	ScaleDowns []RevisionScaleDown `json:"scaleDowns,omitempty"`
	// Rollback is the rollback action (rollbackTriggers) in progress or done.
	Rollback *RollbackProgress `json:"rollback,omitempty"`
	// Undo is an undo waiting for spec.template to change.
	Undo *UndoProgress `json:"undo,omitempty"`
	// StableHistory lists previously stable revisions, oldest first (bounded by
	// revisionHistoryLimit); undo without a revision goes to the last one.
	StableHistory []string `json:"stableHistory,omitempty"`
	// ProcessedCommands are the IDs of the last applied commands (bounded, newest last).
	ProcessedCommands []string `json:"processedCommands,omitempty"`
	// LastProgressAt and ProgressMark implement progressDeadlineSeconds.
	LastProgressAt *metav1.Time `json:"lastProgressAt,omitempty"`
	ProgressMark   string       `json:"progressMark,omitempty"`
	// DeadlineExceeded is set when the progress deadline passed for the current revision.
	DeadlineExceeded bool `json:"deadlineExceeded,omitempty"`
	// Blocked holds a run-time error that stops progress (e.g. an experiment step).
	Blocked string `json:"blocked,omitempty"`
	// PreviewAvailableAt is when the blue-green preview first had previewReplicaCount
	// available replicas (autoPromotionSeconds counts from it).
	PreviewAvailableAt *metav1.Time `json:"previewAvailableAt,omitempty"`
	// Promoted is set once a blue-green promotion is decided; the switch follows as soon as
	// the new revision is fully available.
	Promoted bool `json:"promoted,omitempty"`

	// PendingCommands are user commands waiting to be applied (each applied once, by ID).
	PendingCommands []RolloutCommand `json:"pendingCommands,omitempty"`
	// AnalysisRuns are the runs the rollout drives.
	AnalysisRuns []AnalysisRunRef `json:"analysisRuns,omitempty"`
	// Traffic is the routing last set.
	Traffic *TrafficState `json:"traffic,omitempty"`
	// Revisions are the replicas of each revision as last observed.
	Revisions []RevisionState `json:"revisions,omitempty"`
	// OpenHistory is the deployment-history entry of the revision in flight.
	OpenHistory *HistoryRef `json:"openHistory,omitempty"`
	// RollbackCause says which measurement caused the last automatic rollback.
	RollbackCause string `json:"rollbackCause,omitempty"`
	// Triggers is the rollback-trigger evaluator's state.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Triggers *runtime.RawExtension `json:"triggers,omitempty"`
	// CompletedAt is when the last revision became stable (rollback triggers stay armed for
	// a watch window after it).
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// Templates are the pod templates of the revisions the rollout may still run (the
	// stable, the current and those undo may return to), by pod-template hash: platforms
	// that forget a revision once it has no replicas (the local one) cannot give them back.
	// +kubebuilder:pruning:PreserveUnknownFields
	Templates map[string]corev1.PodTemplateSpec `json:"templates,omitempty"`
}

// RevisionScaleDown keeps an old revision's replicas until At.
type RevisionScaleDown struct {
	Hash string      `json:"hash"`
	At   metav1.Time `json:"at"`
}

// RollbackProgress is a rollback action carried out by the engine (status.shipsafe.rollback).
type RollbackProgress struct {
	Action  RollbackAction `json:"action"`
	Trigger string         `json:"trigger"`
	Reason  string         `json:"reason,omitempty"`
	// StartedAt and Until bound a staged action's observation window.
	StartedAt metav1.Time  `json:"startedAt"`
	Until     *metav1.Time `json:"until,omitempty"`
	// RestoreWeight is the canary's weight before a staged cut; CutWeight the weight during
	// the window.
	RestoreWeight int32 `json:"restoreWeight,omitempty"`
	CutWeight     int32 `json:"cutWeight,omitempty"`
	Done          bool  `json:"done,omitempty"`
}

// UndoProgress is an undo waiting for spec.template to change.
type UndoProgress struct {
	CommandID string `json:"commandID"`
	From      string `json:"from"`
	Target    string `json:"target"`
}

// RolloutCommand is a queued user command.
type RolloutCommand struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Revision string `json:"revision,omitempty"`
}

// AnalysisRunRef names an analysis run the rollout drives and why.
type AnalysisRunRef struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Revision string `json:"revision"`
	Stable   string `json:"stable"`
	Done     bool   `json:"done,omitempty"`
	// Phase and Latest are the run's last known phase and each metric's latest value.
	Phase  string            `json:"phase,omitempty"`
	Latest map[string]string `json:"latest,omitempty"`
}

// TrafficState is the routing last set: weights by revision, header and mirror routes, and
// the revision behind the blue-green preview.
type TrafficState struct {
	Weights      []WeightDestination `json:"weights,omitempty"`
	HeaderRoutes []HeaderRouteState  `json:"headerRoutes,omitempty"`
	Mirrors      []MirrorRouteState  `json:"mirrors,omitempty"`
	Preview      string              `json:"preview,omitempty"`
}

// HeaderRouteState is a header route and the revision it sends to.
type HeaderRouteState struct {
	SetHeaderRoute `json:",inline"`
	Revision       string `json:"revision"`
}

// MirrorRouteState is a mirror route and the revision it copies to.
type MirrorRouteState struct {
	SetMirrorRoute `json:",inline"`
	Revision       string `json:"revision"`
}

// RevisionState is one revision's replicas as last observed.
type RevisionState struct {
	Hash      string `json:"hash"`
	Role      string `json:"role,omitempty"`
	Desired   int32  `json:"desired"`
	Replicas  int32  `json:"replicas"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
	Failed    int32  `json:"failed,omitempty"`
	Weight    int32  `json:"weight"`
	Model     string `json:"model,omitempty"`
}

// HistoryRef is the open deployment-history entry: its ID and what it was opened with, so
// closing it needs no lookup.
type HistoryRef struct {
	ID        int64       `json:"id"`
	Revision  string      `json:"revision"`
	StartedAt metav1.Time `json:"startedAt"`
	Model     string      `json:"model,omitempty"`
}
