package rollout

import (
	"slices"
	"time"
)

// Phase is the rollout phase, with Argo Rollouts' values.
type Phase string

// Phases.
const (
	PhaseHealthy     Phase = "Healthy"
	PhaseProgressing Phase = "Progressing"
	PhasePaused      Phase = "Paused"
	PhaseDegraded    Phase = "Degraded"
)

// Pause reasons (Argo's PauseReason values plus shipsafe's).
const (
	PauseCanaryStep       = "CanaryPauseStep"
	PauseBlueGreen        = "BlueGreenPause"
	PauseInconclusive     = "InconclusiveAnalysisRun"
	PauseAnalysisCond     = "AnalysisConditionPause" // pause {analysis: {successCondition}}
	PauseRollbackCanary   = "RollbackCanary"         // rollback action "canary"
	PauseUserCommand      = "UserPause"              // pause command
	reasonProgressTimeout = "ProgressDeadlineExceeded"
)

// PauseCondition is one reason the rollout is paused and since when.
type PauseCondition struct {
	Reason    string    `json:"reason"`
	StartTime time.Time `json:"startTime"`
}

// AnalysisRunStatus is the last known state of a run the engine asked for.
type AnalysisRunStatus struct {
	Name    string        `json:"name"`
	Status  AnalysisPhase `json:"status"`
	Message string        `json:"message,omitempty"`
}

// CanaryStatus mirrors Argo's status.canary.
type CanaryStatus struct {
	CurrentStepAnalysisRunStatus       *AnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	CurrentBackgroundAnalysisRunStatus *AnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// Weights are the weights last planned (what the router was told).
	Weights []RevisionWeight `json:"weights,omitempty"`
}

// BlueGreenStatus mirrors Argo's status.blueGreen plus the times shipsafe needs.
type BlueGreenStatus struct {
	ActiveSelector                 string             `json:"activeSelector,omitempty"`
	PreviewSelector                string             `json:"previewSelector,omitempty"`
	ScaleUpPreviewCheckPoint       bool               `json:"scaleUpPreviewCheckPoint,omitempty"`
	PrePromotionAnalysisRunStatus  *AnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	PostPromotionAnalysisRunStatus *AnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
	// PreviewAvailableAt is when the preview first had previewReplicaCount available
	// replicas (autoPromotionSeconds counts from it).
	PreviewAvailableAt *time.Time `json:"previewAvailableAt,omitempty"`
	// Promoted is set once promotion is decided (promote, auto promotion); the switch follows
	// as soon as the new revision is fully available.
	Promoted bool `json:"promoted,omitempty"`
}

// Condition is a Kubernetes-style condition (types Progressing, Available, Paused).
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// ScaleDown keeps an old revision's replicas until At, then scales it to zero.
type ScaleDown struct {
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// RollbackStatus records a rollback action in progress or done.
type RollbackStatus struct {
	Action  RollbackAction `json:"action"`
	Trigger string         `json:"trigger"`
	Reason  string         `json:"reason,omitempty"`
	// StartedAt and Until bound the staged action's observation window.
	StartedAt time.Time `json:"startedAt"`
	Until     time.Time `json:"until,omitempty"`
	// RestoreWeight is the new revision's weight before a staged cut (restored if the trigger
	// stops firing); CutWeight is the weight during the window.
	RestoreWeight int32 `json:"restoreWeight,omitempty"`
	CutWeight     int32 `json:"cutWeight,omitempty"`
	// Done is set once the action has been carried out completely.
	Done bool `json:"done,omitempty"`
}

// UndoStatus is an undo waiting for the caller to rewrite spec.template.
type UndoStatus struct {
	CommandID string `json:"commandID"`
	From      string `json:"from"`
	Target    string `json:"target"`
}

// Status is all progress of a rollout. Field names follow Argo's RolloutStatus where they
// exist; the rest are shipsafe extensions the engine needs to resume from any instant.
type Status struct {
	Phase   Phase  `json:"phase,omitempty"`
	Message string `json:"message,omitempty"`

	// CurrentPodHash is the revision being rolled out (== StableRS when none is in flight).
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// StableRS is the revision that is fully promoted.
	StableRS string `json:"stableRS,omitempty"`
	// CurrentStepIndex is the canary step being executed (len(steps) when done).
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CurrentStepHash fingerprints the steps; a change restarts the steps.
	CurrentStepHash string `json:"currentStepHash,omitempty"`

	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause is Argo's flag: the engine itself paused the rollout.
	ControllerPause bool       `json:"controllerPause,omitempty"`
	Abort           bool       `json:"abort,omitempty"`
	AbortedAt       *time.Time `json:"abortedAt,omitempty"`
	// AbortMessage says why the update was aborted (shipsafe extension).
	AbortMessage string `json:"abortMessage,omitempty"`
	PromoteFull  bool   `json:"promoteFull,omitempty"`

	Replicas          int32 `json:"replicas"`
	UpdatedReplicas   int32 `json:"updatedReplicas"`
	ReadyReplicas     int32 `json:"readyReplicas"`
	AvailableReplicas int32 `json:"availableReplicas"`

	Canary     CanaryStatus    `json:"canary,omitempty"`
	BlueGreen  BlueGreenStatus `json:"blueGreen,omitempty"`
	Conditions []Condition     `json:"conditions,omitempty"`

	// shipsafe extensions.

	// Attempt counts retries of the current revision; it is part of analysis run names so a
	// retry starts fresh runs.
	Attempt int32 `json:"attempt,omitempty"`
	// ScaleDowns are old revisions kept up until a deadline.
	ScaleDowns []ScaleDown `json:"scaleDowns,omitempty"`
	// Rollback is the rollback action in progress (or done) for the current revision.
	Rollback *RollbackStatus `json:"rollback,omitempty"`
	// Undo is an undo waiting for spec.template to change.
	Undo *UndoStatus `json:"undo,omitempty"`
	// History lists previously stable revisions, oldest first (bounded by
	// revisionHistoryLimit); undo without a revision goes to the last one.
	History []string `json:"history,omitempty"`
	// ProcessedCommands are the IDs of the last applied commands (bounded, newest last).
	ProcessedCommands []string `json:"processedCommands,omitempty"`
	// LastProgressAt and ProgressMark implement progressDeadlineSeconds: the mark
	// fingerprints progress; when it changes, LastProgressAt moves to now.
	LastProgressAt *time.Time `json:"lastProgressAt,omitempty"`
	ProgressMark   string     `json:"progressMark,omitempty"`
	// DeadlineExceeded is set when the progress deadline passed for the current revision.
	DeadlineExceeded bool `json:"deadlineExceeded,omitempty"`
	// Blocked holds a run-time error that stops progress (e.g. an experiment step).
	Blocked string `json:"blocked,omitempty"`
	// AcceptedInconclusive names runs whose Inconclusive verdict an operator accepted with
	// promote or resume: they count as passed from then on, so the rollout goes on instead
	// of pausing again on the same verdict (as Argo).
	AcceptedInconclusive []string `json:"acceptedInconclusive,omitempty"`
}

// maxProcessedCommands bounds Status.ProcessedCommands; older IDs are forgotten, so callers
// must delete acknowledged commands promptly (they are acknowledged on the call that applies
// them).
const maxProcessedCommands = 64

// clone returns a deep copy so Reconcile never mutates its input.
func (s Status) clone() Status {
	c := s
	if s.CurrentStepIndex != nil {
		c.CurrentStepIndex = ptr(*s.CurrentStepIndex)
	}
	c.PauseConditions = slices.Clone(s.PauseConditions)
	if s.AbortedAt != nil {
		c.AbortedAt = ptr(*s.AbortedAt)
	}
	c.Canary.CurrentStepAnalysisRunStatus = clonePtr(s.Canary.CurrentStepAnalysisRunStatus)
	c.Canary.CurrentBackgroundAnalysisRunStatus = clonePtr(s.Canary.CurrentBackgroundAnalysisRunStatus)
	c.Canary.Weights = slices.Clone(s.Canary.Weights)
	c.BlueGreen.PrePromotionAnalysisRunStatus = clonePtr(s.BlueGreen.PrePromotionAnalysisRunStatus)
	c.BlueGreen.PostPromotionAnalysisRunStatus = clonePtr(s.BlueGreen.PostPromotionAnalysisRunStatus)
	c.BlueGreen.PreviewAvailableAt = clonePtr(s.BlueGreen.PreviewAvailableAt)
	c.Conditions = slices.Clone(s.Conditions)
	c.ScaleDowns = slices.Clone(s.ScaleDowns)
	c.Rollback = clonePtr(s.Rollback)
	c.Undo = clonePtr(s.Undo)
	c.History = slices.Clone(s.History)
	c.ProcessedCommands = slices.Clone(s.ProcessedCommands)
	c.AcceptedInconclusive = slices.Clone(s.AcceptedInconclusive)
	c.LastProgressAt = clonePtr(s.LastProgressAt)
	return c
}

func ptr[T any](v T) *T { return &v }

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// hasPause reports whether a pause condition with reason exists.
func (s *Status) hasPause(reason string) bool {
	return slices.ContainsFunc(s.PauseConditions, func(p PauseCondition) bool { return p.Reason == reason })
}

// pauseSince returns the start time of the pause with reason, adding it at now if absent.
func (s *Status) pauseSince(reason string, now time.Time) time.Time {
	for _, p := range s.PauseConditions {
		if p.Reason == reason {
			return p.StartTime
		}
	}
	s.PauseConditions = append(s.PauseConditions, PauseCondition{Reason: reason, StartTime: now})
	return now
}

// clearPause removes the pause condition with reason.
func (s *Status) clearPause(reason string) {
	s.PauseConditions = slices.DeleteFunc(s.PauseConditions, func(p PauseCondition) bool { return p.Reason == reason })
}

// stepIndex returns CurrentStepIndex (0 when unset).
func (s *Status) stepIndex() int32 {
	if s.CurrentStepIndex == nil {
		return 0
	}
	return *s.CurrentStepIndex
}

func (s *Status) setStepIndex(i int32) { s.CurrentStepIndex = ptr(i) }

// inFlight reports whether a revision other than the stable one is being rolled out.
func (s *Status) inFlight() bool { return s.CurrentPodHash != "" && s.CurrentPodHash != s.StableRS }

// processed reports whether the command ID was applied already.
func (s *Status) processed(id string) bool { return slices.Contains(s.ProcessedCommands, id) }

func (s *Status) markProcessed(id string) {
	s.ProcessedCommands = append(s.ProcessedCommands, id)
	if n := len(s.ProcessedCommands); n > maxProcessedCommands {
		s.ProcessedCommands = slices.Clone(s.ProcessedCommands[n-maxProcessedCommands:])
	}
}

// setCondition sets a condition, keeping LastTransitionTime when the status does not change.
func (s *Status) setCondition(typ, status, reason, msg string, now time.Time) {
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		return
	}
	s.Conditions = append(s.Conditions, Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: now})
}
