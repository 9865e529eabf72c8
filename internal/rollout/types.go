// Package rollout is shipsafe's pure rollout engine: given what a rollout asks for (Spec), the
// progress stored so far (Status), what was observed of the world (Observation) and the time,
// Reconcile returns the desired replicas and traffic (Plan), the new Status and Events.
//
// It does no I/O and reads no clock: the same inputs always give the same outputs. Every bit of
// progress lives in Status, so a caller killed at any instant resumes from the stored Status.
// The Plan is always the complete desired state (never a delta), so applying it twice is harmless.
//
// The engine deliberately does not import api/v1alpha1: that package embeds Kubernetes'
// metav1/corev1 types, which pull net and net/http into the dependency graph. The adapter in
// internal/rollout/adapter converts a v1alpha1.Rollout into a Spec and Status back and forth.
package rollout

import "time"

// Spec is the part of a Rollout the engine decides from. Exactly one strategy is set.
type Spec struct {
	// Name names the rollout; it prefixes analysis run names.
	Name string `json:"name"`
	// Replicas is the desired number of replicas of the rolled-out revision.
	Replicas int32 `json:"replicas"`
	// TemplateHash identifies the desired revision: the pod-template hash of spec.template.
	// The caller computes it (adapter.TemplateHash) and uses the same hash to identify
	// revisions in Observation.Revisions and Plan.Revisions.
	TemplateHash string `json:"templateHash"`
	// ProgressDeadlineSeconds: an in-flight, unpaused rollout that makes no progress for this
	// long becomes Degraded (reason ProgressDeadlineExceeded). 0 means the default, 600.
	ProgressDeadlineSeconds int32 `json:"progressDeadlineSeconds,omitempty"`
	// ProgressDeadlineAbort aborts the update when the deadline is exceeded.
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// Paused (spec.paused) holds the rollout where it is.
	Paused bool `json:"paused,omitempty"`
	// RevisionHistoryLimit bounds Status.History (default 10).
	RevisionHistoryLimit int32 `json:"revisionHistoryLimit,omitempty"`

	Canary    *CanaryStrategy    `json:"canary,omitempty"`
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	Rolling   *RollingStrategy   `json:"rolling,omitempty"`
}

// IntOrPercent is an absolute count or a percentage of Spec.Replicas (maxSurge, maxUnavailable).
type IntOrPercent struct {
	Value   int32 `json:"value"`
	Percent bool  `json:"percent,omitempty"`
}

// CanaryStrategy is strategy.canary.
type CanaryStrategy struct {
	Steps []CanaryStep `json:"steps,omitempty"`
	// MaxSurge / MaxUnavailable bound replica moves when no traffic router is present
	// (defaults 25% / 25%, as Argo Rollouts).
	MaxSurge       *IntOrPercent `json:"maxSurge,omitempty"`
	MaxUnavailable *IntOrPercent `json:"maxUnavailable,omitempty"`
	// Analysis is the background analysis, started once the step index reaches StartingStep.
	Analysis *BackgroundAnalysis `json:"analysis,omitempty"`
	// ScaleDownDelaySeconds keeps the old stable up after a traffic-routed promotion
	// (default 30) so routers can drain it. AbortScaleDownDelaySeconds does the same for the
	// canary after an abort (default 30).
	ScaleDownDelaySeconds      *int32 `json:"scaleDownDelaySeconds,omitempty"`
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}

// CanaryStep is one step: exactly one field is set, except that SetCanaryScale, SetHeaderRoute
// and SetMirrorRoute may share a step (as in Argo).
type CanaryStep struct {
	SetWeight      *int32          `json:"setWeight,omitempty"`
	Pause          *PauseStep      `json:"pause,omitempty"`
	Analysis       *AnalysisSpec   `json:"analysis,omitempty"`
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	SetHeaderRoute *HeaderRoute    `json:"setHeaderRoute,omitempty"`
	SetMirrorRoute *MirrorRoute    `json:"setMirrorRoute,omitempty"`
	// Experiment is accepted in manifests but not run: reaching such a step makes the rollout
	// Degraded with "experiment steps are not supported yet" until it is promoted past.
	Experiment bool `json:"experiment,omitempty"`
}

// PauseStep is pause: {} (indefinite), pause: {duration} or shipsafe's
// pause: {analysis: {successCondition}}.
type PauseStep struct {
	// Duration nil with Analysis nil means "until promoted".
	Duration *time.Duration `json:"duration,omitempty"`
	// Analysis holds the pause until SuccessCondition is true of the running analysis run's
	// latest measurements; the rollout aborts if that run fails.
	Analysis *PauseAnalysis `json:"analysis,omitempty"`
}

// PauseAnalysis is the condition of a pause {analysis: {...}} step.
type PauseAnalysis struct {
	// SuccessCondition is an expr-lang condition over `result`.
	SuccessCondition string `json:"successCondition"`
	// MetricName, when set, makes `result` that metric's latest value; otherwise the
	// condition must hold for the latest value of every metric measured so far.
	MetricName string `json:"metricName,omitempty"`
}

// AnalysisSpec names the templates and arguments of an analysis run (inline step, background,
// pre- and post-promotion).
type AnalysisSpec struct {
	Templates []TemplateRef `json:"templates"`
	Args      []AnalysisArg `json:"args,omitempty"`
}

// BackgroundAnalysis is strategy.canary.analysis.
type BackgroundAnalysis struct {
	AnalysisSpec `json:",inline"`
	StartingStep int32 `json:"startingStep,omitempty"`
}

// TemplateRef names an AnalysisTemplate (or ClusterAnalysisTemplate when ClusterScope).
type TemplateRef struct {
	TemplateName string `json:"templateName"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
}

// AnalysisArg is one argument. The engine resolves PodTemplateHashValue ("Stable" | "Latest")
// to a revision hash; FieldPath (valueFrom.fieldRef) is left for the caller to resolve.
type AnalysisArg struct {
	Name                 string `json:"name"`
	Value                string `json:"value,omitempty"`
	PodTemplateHashValue string `json:"podTemplateHashValue,omitempty"`
	FieldPath            string `json:"fieldPath,omitempty"`
}

// SetCanaryScale sets the canary's replica count independently of its traffic weight
// (traffic-routed canaries only). Exactly one field is set.
type SetCanaryScale struct {
	Weight             *int32 `json:"weight,omitempty"`
	Replicas           *int32 `json:"replicas,omitempty"`
	MatchTrafficWeight bool   `json:"matchTrafficWeight,omitempty"`
}

// StringMatch matches a string exactly, by prefix or by regular expression (one is set).
type StringMatch struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

// HeaderMatch matches one request header.
type HeaderMatch struct {
	HeaderName  string      `json:"headerName"`
	HeaderValue StringMatch `json:"headerValue"`
}

// HeaderRoute sends requests matching every header in Match to the canary. A step with an empty
// Match removes the route of that name.
type HeaderRoute struct {
	Name  string        `json:"name"`
	Match []HeaderMatch `json:"match,omitempty"`
}

// RouteMatch matches a request by method, path and headers (all given must match).
type RouteMatch struct {
	Method  *StringMatch           `json:"method,omitempty"`
	Path    *StringMatch           `json:"path,omitempty"`
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// MirrorRoute copies Percentage percent of matching requests to the canary (its answers are
// discarded). A step with an empty Match removes the route of that name.
type MirrorRoute struct {
	Name       string       `json:"name"`
	Match      []RouteMatch `json:"match,omitempty"`
	Percentage int32        `json:"percentage,omitempty"`
}

// BlueGreenStrategy is strategy.blueGreen.
type BlueGreenStrategy struct {
	ActiveService  string `json:"activeService,omitempty"`
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount scales the preview before promotion (default Spec.Replicas).
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled nil means true.
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// AutoPromotionSeconds promotes this long after the preview became available (and passed
	// pre-promotion analysis), even when AutoPromotionEnabled is false.
	AutoPromotionSeconds       int32         `json:"autoPromotionSeconds,omitempty"`
	ScaleDownDelaySeconds      *int32        `json:"scaleDownDelaySeconds,omitempty"`
	AbortScaleDownDelaySeconds *int32        `json:"abortScaleDownDelaySeconds,omitempty"`
	PrePromotionAnalysis       *AnalysisSpec `json:"prePromotionAnalysis,omitempty"`
	PostPromotionAnalysis      *AnalysisSpec `json:"postPromotionAnalysis,omitempty"`
}

// RollingStrategy is shipsafe's rolling update (also what an apps/v1 Deployment's
// RollingUpdate maps to). Defaults 25% / 25%.
type RollingStrategy struct {
	MaxSurge       *IntOrPercent `json:"maxSurge,omitempty"`
	MaxUnavailable *IntOrPercent `json:"maxUnavailable,omitempty"`
}

// Observation is what the caller saw of the world just before calling Reconcile.
type Observation struct {
	// Revisions holds one entry per revision (pod-template hash) that has replicas or exists.
	// Revisions not listed are treated as having none.
	Revisions []RevisionState `json:"revisions,omitempty"`
	// Analysis holds the state of the analysis runs of this rollout (those named by
	// Plan.StartAnalysis earlier). Runs not listed are treated as not started.
	Analysis []AnalysisState `json:"analysis,omitempty"`
	// Commands are user commands not yet acknowledged. Each has a unique ID; the engine applies
	// a command once and lists its ID in Status.ProcessedCommands (and Result.Acknowledged):
	// the caller may then delete it. Replaying an applied command does nothing.
	Commands []Command `json:"commands,omitempty"`
	// Rollback is set while a rollback trigger fires (see RollbackRequest).
	Rollback *RollbackRequest `json:"rollback,omitempty"`
	// HasTrafficRouter says weights can be set independently of replica counts (the gateway
	// or an HTTPRoute). Without one, traffic follows ready replicas and canary weights are
	// reached by replica math under maxSurge/maxUnavailable.
	HasTrafficRouter bool `json:"hasTrafficRouter,omitempty"`
}

// RevisionState is the observed state of one revision's replicas.
type RevisionState struct {
	// Hash is the pod-template hash identifying the revision.
	Hash string `json:"hash"`
	// Replicas is the number of replicas the revision currently has (created, any state).
	Replicas int32 `json:"replicas"`
	// Ready replicas pass their readiness probe.
	Ready int32 `json:"ready"`
	// Available replicas have been ready for at least minReadySeconds.
	Available int32 `json:"available"`
	// Failed replicas fail readiness or liveness persistently (crash loop, probe failures).
	Failed int32 `json:"failed,omitempty"`
}

// AnalysisPhase is the phase of an analysis run (Argo's AnalysisPhase values).
type AnalysisPhase string

// Analysis run phases.
const (
	AnalysisPending      AnalysisPhase = "Pending"
	AnalysisRunning      AnalysisPhase = "Running"
	AnalysisSuccessful   AnalysisPhase = "Successful"
	AnalysisFailed       AnalysisPhase = "Failed"
	AnalysisError        AnalysisPhase = "Error"
	AnalysisInconclusive AnalysisPhase = "Inconclusive"
)

// Terminal reports whether the run has finished.
func (p AnalysisPhase) Terminal() bool {
	return p == AnalysisSuccessful || p == AnalysisFailed || p == AnalysisError || p == AnalysisInconclusive
}

// AnalysisState is the observed state of one analysis run.
type AnalysisState struct {
	// Name is the run name the engine gave in Plan.StartAnalysis.
	Name    string        `json:"name"`
	Phase   AnalysisPhase `json:"phase"`
	Message string        `json:"message,omitempty"`
	// Latest maps metric name → value of its latest measurement (float64, int, bool, string
	// or []any for vector results). pause.analysis.successCondition is evaluated against it.
	Latest map[string]any `json:"latest,omitempty"`
}

// CommandKind is what a user asked for.
type CommandKind string

// Commands.
const (
	CommandPromote     CommandKind = "promote"      // complete the current step (or the pause)
	CommandPromoteFull CommandKind = "promote-full" // skip all remaining steps and analysis
	CommandAbort       CommandKind = "abort"        // all traffic back to stable, scale new down
	CommandRetry       CommandKind = "retry"        // restart an aborted rollout from step 0
	CommandUndo        CommandKind = "undo"         // roll back to Revision (or the previous one)
	CommandPause       CommandKind = "pause"
	CommandResume      CommandKind = "resume"
)

// Command is one user command.
type Command struct {
	// ID makes the command idempotent: an ID already in Status.ProcessedCommands is ignored.
	ID   string      `json:"id"`
	Kind CommandKind `json:"kind"`
	// Revision is the target of undo: a revision hash; empty means the previous revision.
	Revision string `json:"revision,omitempty"`
}

// RollbackAction is how a firing rollback trigger takes the new revision back.
type RollbackAction string

// Rollback actions.
const (
	// RollbackImmediate sends all traffic to stable at once, scales the new revision to zero
	// and aborts the rollout.
	RollbackImmediate RollbackAction = "immediate"
	// RollbackStaged halves the new revision's traffic share, observes for
	// RollbackRequest.ObserveFor, then completes the rollback if the trigger still fires or
	// restores the previous state if it stopped firing.
	RollbackStaged RollbackAction = "staged"
	// RollbackCanary stops traffic to the canary and scales it to zero, pausing the rollout;
	// resume (or promote) restarts the current step.
	RollbackCanary RollbackAction = "canary"
)

// RollbackRequest is present in an Observation for as long as a rollback trigger fires.
type RollbackRequest struct {
	Action  RollbackAction `json:"action"`
	Trigger string         `json:"trigger"`
	Reason  string         `json:"reason,omitempty"`
	// ObserveFor is the staged action's observation window (default 60s).
	ObserveFor time.Duration `json:"observeFor,omitempty"`
}

// Result is everything Reconcile decided.
type Result struct {
	Plan   Plan    `json:"plan"`
	Status Status  `json:"status"`
	Events []Event `json:"events,omitempty"`
	// Acknowledged lists IDs of Observation.Commands applied (or rejected) by this call or
	// earlier; the caller may remove them from its queue.
	Acknowledged []string `json:"acknowledged,omitempty"`
}

// Plan is the complete desired state of the world.
type Plan struct {
	// Revisions lists the desired replica count of every revision that should have replicas
	// or must be scaled down (Replicas 0). Revisions not listed should have none.
	Revisions []DesiredRevision `json:"revisions"`
	// Traffic is what the router (or, without one, the Service) should send where. Apply
	// traffic before scaling revisions down.
	Traffic Traffic `json:"traffic"`
	// StartAnalysis lists runs that should exist; start each one that does not exist yet (by
	// name: starting is idempotent). StopAnalysis lists runs to terminate.
	StartAnalysis []AnalysisRequest `json:"startAnalysis,omitempty"`
	StopAnalysis  []string          `json:"stopAnalysis,omitempty"`
	// SetTemplate, when set, asks the caller to replace spec.template by the template of that
	// revision (undo), exactly as `kubectl argo rollouts undo` rewrites the spec.
	SetTemplate string `json:"setTemplate,omitempty"`
	// RequeueAfter is when to call Reconcile again at the latest (0: only on the next change).
	RequeueAfter time.Duration `json:"requeueAfter,omitempty"`
}

// RevisionRole says why a revision is in the plan.
type RevisionRole string

// Roles.
const (
	RoleStable  RevisionRole = "stable"
	RoleCanary  RevisionRole = "canary"  // the revision being rolled out (canary, rolling, blue-green preview)
	RoleOld     RevisionRole = "old"     // being scaled down (possibly after a delay)
	RoleActive  RevisionRole = "active"  // blue-green: serving the active service
	RolePreview RevisionRole = "preview" // blue-green: serving the preview service
)

// DesiredRevision is the desired replica count of one revision. The caller knows each
// revision's template: the spec's for Spec.TemplateHash, the existing one otherwise.
type DesiredRevision struct {
	Hash     string       `json:"hash"`
	Replicas int32        `json:"replicas"`
	Role     RevisionRole `json:"role"`
}

// Traffic is the routing the plan asks for.
type Traffic struct {
	// Weights per revision, each 0..100, summing to 100 (empty when there are no revisions).
	Weights []RevisionWeight `json:"weights"`
	// HeaderRoutes send matching requests to Revision regardless of weights.
	HeaderRoutes []HeaderRouteTarget `json:"headerRoutes,omitempty"`
	// Mirrors copy a share of matching requests to Revision.
	Mirrors []MirrorTarget `json:"mirrors,omitempty"`
	// Preview is the revision behind the blue-green preview service ("" when none).
	Preview string `json:"preview,omitempty"`
}

// RevisionWeight is one revision's share of traffic in percent.
type RevisionWeight struct {
	Hash   string `json:"hash"`
	Weight int32  `json:"weight"`
}

// HeaderRouteTarget is a header route and the revision it targets.
type HeaderRouteTarget struct {
	HeaderRoute `json:",inline"`
	Revision    string `json:"revision"`
}

// MirrorTarget is a mirror route and the revision it copies to.
type MirrorTarget struct {
	MirrorRoute `json:",inline"`
	Revision    string `json:"revision"`
}

// AnalysisKind says which part of the strategy asked for a run.
type AnalysisKind string

// Analysis kinds.
const (
	AnalysisBackground    AnalysisKind = "background"
	AnalysisStep          AnalysisKind = "step"
	AnalysisPrePromotion  AnalysisKind = "prePromotion"
	AnalysisPostPromotion AnalysisKind = "postPromotion"
)

// AnalysisRequest asks for one analysis run. Name is deterministic
// (<rollout>-<hash>-<attempt>-<kind>), so asking again for the same run is a no-op.
type AnalysisRequest struct {
	Name      string        `json:"name"`
	Kind      AnalysisKind  `json:"kind"`
	Step      int32         `json:"step,omitempty"` // step index for AnalysisStep
	Revision  string        `json:"revision"`       // the new revision under analysis
	Stable    string        `json:"stable"`         // the stable revision it is compared with
	Templates []TemplateRef `json:"templates"`
	// Args are resolved: PodTemplateHashValue became Value; FieldPath is left to the caller.
	Args []AnalysisArg `json:"args,omitempty"`
}

// EventType is Normal or Warning, as Kubernetes events.
type EventType string

// Event types.
const (
	EventNormal  EventType = "Normal"
	EventWarning EventType = "Warning"
)

// Event records a transition decided by this Reconcile.
type Event struct {
	Type    EventType `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}
