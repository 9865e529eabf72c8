package v1alpha1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryStrategy shifts traffic to the new revision in steps, with analysis between them.
type CanaryStrategy struct {
	// CanaryService selects only canary pods (needed with most traffic routers).
	CanaryService string `json:"canaryService,omitempty"`
	// StableService selects only stable pods.
	StableService string `json:"stableService,omitempty"`
	// Steps are run in order; an empty list promotes straight to 100%.
	Steps []CanaryStep `json:"steps,omitempty"`
	// TrafficRouting sets exact weights through a router; without it weights are approximated
	// by replica counts.
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable is how many pods may be unavailable during the update. Defaults to 25%.
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many pods above Replicas may exist during the update. Defaults to 25%.
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// Analysis runs in the background from StartingStep until the rollout ends.
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// AntiAffinity spreads canary pods away from stable ones (Kubernetes only).
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// CanaryMetadata is added to canary pods.
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// StableMetadata is added to stable pods.
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds keeps the old revision up this long after traffic left it
	// (traffic routing only). Defaults to 30.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old revisions wait out their delay at once.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds keeps the canary up this long after an abort (traffic
	// routing only). Defaults to 30; 0 keeps it up forever.
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// DynamicStableScale scales stable down as canary weight grows (traffic routing only).
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// PingPong alternates two services instead of stable/canary (ALB only in Argo).
	PingPong *PingPongSpec `json:"pingPong,omitempty"`
	// MinPodsPerReplicaSet keeps at least this many canary pods (traffic routing only).
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
}

// PingPongSpec names the two services used by ping-pong canaries.
type PingPongSpec struct {
	PingService string `json:"pingService"`
	PongService string `json:"pongService"`
}

// CanaryStep is one step of a canary; exactly one field is set.
type CanaryStep struct {
	// SetWeight sends this percentage (0-100) of traffic to the canary.
	SetWeight *int32 `json:"setWeight,omitempty"`
	// Pause waits for a duration, for a promote, or (shipsafe) for an analysis condition.
	Pause *RolloutPause `json:"pause,omitempty"`
	// Experiment is accepted for compatibility; the engine reports it unsupported at run time.
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// Analysis runs the templates inline; the step completes when the run succeeds.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// SetCanaryScale sets canary replicas independently of the traffic weight.
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// SetHeaderRoute routes requests matching headers to the canary.
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
	// SetMirrorRoute mirrors (shadows) matching requests to the canary.
	SetMirrorRoute *SetMirrorRoute `json:"setMirrorRoute,omitempty"`
	// Plugin runs a step plugin (Argo); accepted, reported unsupported at run time.
	Plugin *PluginStep `json:"plugin,omitempty"`
}

// PluginStep is an Argo step plugin invocation.
type PluginStep struct {
	Name string `json:"name"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Config json.RawMessage `json:"config,omitempty"`
}

// RolloutPause holds the rollout. With Duration it resumes after that time; with Analysis
// (shipsafe extension) it resumes when the condition is true of the running analysis' latest
// measurement and aborts if that analysis fails; with neither it waits for a promote.
type RolloutPause struct {
	// Duration is integer seconds (30) or a Go duration string ("10m"); a numeric string
	// ("30") is seconds as in Argo.
	Duration *intstr.IntOrString `json:"duration,omitempty"`
	// Analysis (shipsafe extension) holds until SuccessCondition is true.
	Analysis *PauseAnalysis `json:"analysis,omitempty"`
}

// PauseAnalysis (shipsafe extension) is the condition a pause waits for.
type PauseAnalysis struct {
	// SuccessCondition is an expr-lang condition over `result`, the latest measurement of
	// each metric of the running analysis (or only MetricName's, when set).
	SuccessCondition string `json:"successCondition"`
	// MetricName restricts the condition to one metric of the running analysis.
	MetricName string `json:"metricName,omitempty"`
}

// SetCanaryScale sets the canary's replica count apart from its traffic weight.
type SetCanaryScale struct {
	// Weight is a percentage of spec.replicas.
	Weight *int32 `json:"weight,omitempty"`
	// Replicas is an absolute count.
	Replicas *int32 `json:"replicas,omitempty"`
	// MatchTrafficWeight returns to scaling by traffic weight.
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// SetHeaderRoute adds (or, with no Match, removes) a managed route sending requests whose
// headers match to the canary.
type SetHeaderRoute struct {
	// Name must be listed in trafficRouting.managedRoutes.
	Name  string               `json:"name,omitempty"`
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch matches one header.
type HeaderRoutingMatch struct {
	HeaderName  string       `json:"headerName"`
	HeaderValue *StringMatch `json:"headerValue,omitempty"`
}

// StringMatch matches a string exactly, by prefix or by regular expression (one of them).
type StringMatch struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

// SetMirrorRoute adds (or, with no Match, removes) a managed route mirroring matching
// requests to the canary; the canary's answers are compared, never returned.
type SetMirrorRoute struct {
	// Name must be listed in trafficRouting.managedRoutes.
	Name  string       `json:"name"`
	Match []RouteMatch `json:"match,omitempty"`
	// Percentage of matching requests mirrored (0-100). Defaults to 100.
	Percentage *int32 `json:"percentage,omitempty"`
}

// RouteMatch matches requests by method, path and headers (all that are set must match).
type RouteMatch struct {
	Method  *StringMatch           `json:"method,omitempty"`
	Path    *StringMatch           `json:"path,omitempty"`
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// RolloutExperimentStep runs short-lived ReplicaSets with analysis (Argo). shipsafe accepts it
// and the engine reports "experiment steps are not supported yet" when it is reached.
type RolloutExperimentStep struct {
	Templates []RolloutExperimentTemplate                `json:"templates"`
	Duration  DurationString                             `json:"duration,omitempty"`
	Analyses  []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty"`
}

// RolloutExperimentTemplate is one ReplicaSet of an experiment.
type RolloutExperimentTemplate struct {
	Name     string                `json:"name"`
	SpecRef  string                `json:"specRef"`
	Replicas *int32                `json:"replicas,omitempty"`
	Metadata PodTemplateMetadata   `json:"metadata,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Weight   *int32                `json:"weight,omitempty"`
	Service  *TemplateService      `json:"service,omitempty"`
}

// TemplateService asks for a service in front of an experiment template.
type TemplateService struct {
	Name string `json:"name,omitempty"`
}

// RolloutExperimentStepAnalysisTemplateRef is an analysis run by an experiment.
type RolloutExperimentStepAnalysisTemplateRef struct {
	Name                  string                `json:"name"`
	TemplateName          string                `json:"templateName"`
	ClusterScope          bool                  `json:"clusterScope,omitempty"`
	Args                  []AnalysisRunArgument `json:"args,omitempty"`
	RequiredForCompletion bool                  `json:"requiredForCompletion,omitempty"`
}

// RolloutTrafficRouting says which router sets the canary's traffic weights. shipsafe
// implements Gateway (its own data plane) and the Gateway API HTTPRoute plugin; the other Argo
// routers are kept as raw configuration so Argo manifests decode unchanged.
type RolloutTrafficRouting struct {
	// Gateway (shipsafe extension) routes through shipsafe's own gateway.
	Gateway *GatewayTrafficRouting `json:"gateway,omitempty"`
	// Plugins holds router plugin configuration by plugin name, e.g.
	// "argoproj-labs/gatewayAPI": {httpRoute: ..., namespace: ...}.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Plugins map[string]json.RawMessage `json:"plugins,omitempty"`
	// ManagedRoutes lists the header and mirror routes steps may set, highest priority first.
	ManagedRoutes []MangedRoutes `json:"managedRoutes,omitempty"`
	// MaxTrafficWeight is the total weight (default 100).
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`

	// Argo routers that shipsafe does not drive; decoded without inspection.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Istio json.RawMessage `json:"istio,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Nginx json.RawMessage `json:"nginx,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	ALB json.RawMessage `json:"alb,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	SMI json.RawMessage `json:"smi,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Ambassador json.RawMessage `json:"ambassador,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	AppMesh json.RawMessage `json:"appMesh,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Traefik json.RawMessage `json:"traefik,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Apisix json.RawMessage `json:"apisix,omitempty"`
}

// GatewayTrafficRouting (shipsafe extension) configures shipsafe's own gateway.
type GatewayTrafficRouting struct {
	// Name is the route (service) name on the gateway; defaults to the rollout's name.
	Name string `json:"name,omitempty"`
}

// MangedRoutes names one managed route. The misspelling is Argo's and is kept for
// compatibility of Go callers that know Argo's types.
type MangedRoutes struct {
	Name string `json:"name"`
}
