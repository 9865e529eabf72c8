package v1alpha1

import (
	"encoding/json"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AnalysisTemplate is a reusable, parameterised set of metrics that decides whether a
// revision is healthy. Its schema is Argo Rollouts' AnalysisTemplate.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=analysistemplates,shortName=at
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// ClusterAnalysisTemplate is an AnalysisTemplate usable from any namespace.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusteranalysistemplates,shortName=cat,scope=Cluster
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// AnalysisTemplateSpec is the metrics and arguments of a template.
type AnalysisTemplateSpec struct {
	// Metrics are measured independently; the run fails if any metric fails.
	Metrics []Metric `json:"metrics"`
	// Args are the template's parameters, referenced as {{args.name}}.
	Args []Argument `json:"args,omitempty"`
	// DryRun lists metrics whose failures are recorded but do not fail the run.
	DryRun []DryRun `json:"dryRun,omitempty"`
	// MeasurementRetention sets how many measurements are kept per metric.
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
}

// DryRun marks metrics (by name, or a regular expression such as ".*") as dry-run.
type DryRun struct {
	MetricName string `json:"metricName"`
}

// MeasurementRetention keeps the latest Limit measurements of matching metrics.
type MeasurementRetention struct {
	MetricName string `json:"metricName"`
	Limit      int32  `json:"limit"`
}

// Metric is one measurement taken repeatedly, and the conditions that judge it.
type Metric struct {
	// Name identifies the metric within the run.
	Name string `json:"name"`
	// Interval is the time between measurements (Go duration). Empty means measure once.
	Interval DurationString `json:"interval,omitempty"`
	// InitialDelay is how long to wait before the first measurement (Go duration).
	InitialDelay DurationString `json:"initialDelay,omitempty"`
	// Count is how many measurements to take; 0 with an Interval means until stopped.
	Count *intstr.IntOrString `json:"count,omitempty"`
	// SuccessCondition is an expr-lang condition over `result` that marks success.
	SuccessCondition string `json:"successCondition,omitempty"`
	// FailureCondition is an expr-lang condition over `result` that marks failure.
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many failed measurements are tolerated (default 0); -1 disables.
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive measurements are tolerated (default 0).
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is how many errors in a row are tolerated (default 4).
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	// ConsecutiveSuccessLimit (Argo) ends the metric successfully after this many successes
	// in a row.
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
	// Provider says where the value comes from; exactly one is set.
	Provider MetricProvider `json:"provider"`
}

// MetricProvider is where a metric's value comes from. shipsafe implements Builtin,
// Prometheus, Web and Job; the other Argo providers are decoded as raw configuration and
// reported unsupported when measured.
type MetricProvider struct {
	// Builtin (shipsafe extension) reads the gateway's per-revision windows.
	Builtin *BuiltinMetric `json:"builtin,omitempty"`
	// Prometheus runs a PromQL query.
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	// Web fetches JSON over HTTP.
	Web *WebMetric `json:"web,omitempty"`
	// Job runs a Kubernetes Job; success means the job succeeded.
	Job *JobMetric `json:"job,omitempty"`
	// Plugin holds metric plugin configuration by plugin name.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Plugin map[string]json.RawMessage `json:"plugin,omitempty"`

	// Argo providers that shipsafe does not implement; decoded without inspection.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Kayenta json.RawMessage `json:"kayenta,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Datadog json.RawMessage `json:"datadog,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Wavefront json.RawMessage `json:"wavefront,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	NewRelic json.RawMessage `json:"newRelic,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	CloudWatch json.RawMessage `json:"cloudWatch,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Graphite json.RawMessage `json:"graphite,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Influxdb json.RawMessage `json:"influxdb,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	SkyWalking json.RawMessage `json:"skywalking,omitempty"`
}

// BuiltinMetric (shipsafe extension) names one of the gateway's per-revision measures, e.g.
// error-rate, success-rate, latency-p99, accuracy, shadow-agreement, drift-psi, or a judge.
type BuiltinMetric struct {
	// Metric is the measure's name.
	Metric string `json:"metric"`
	// Revision is whose traffic is measured: "canary" (default), "stable", or a pod hash;
	// args such as "{{args.canary-hash}}" are allowed.
	Revision string `json:"revision,omitempty"`
	// Window is how far back the measure looks (Go duration). Empty means the provider's default.
	Window DurationString `json:"window,omitempty"`
	// Params are measure-specific settings (e.g. quantile, baseline, alpha).
	Params map[string]string `json:"params,omitempty"`
}

// PrometheusMetric runs a PromQL instant query.
type PrometheusMetric struct {
	// Address is the Prometheus server's base URL.
	Address string `json:"address,omitempty"`
	// Query is the PromQL query; args are substituted first.
	Query string `json:"query,omitempty"`
	// Authentication configures SigV4 or OAuth2 (decoded, not used by shipsafe).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Authentication json.RawMessage `json:"authentication,omitempty"`
	// Timeout is the query timeout in seconds.
	Timeout *int64 `json:"timeout,omitempty"`
	// Insecure skips TLS verification.
	Insecure bool `json:"insecure,omitempty"`
	// Headers are added to the query request.
	Headers []WebMetricHeader `json:"headers,omitempty"`
	// RangeQuery (Argo) is decoded for compatibility.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	RangeQuery json.RawMessage `json:"rangeQuery,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

// Web metric methods.
const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetric fetches a JSON document over HTTP and picks a value with JSONPath.
type WebMetric struct {
	// Method is GET (default), POST or PUT.
	Method WebMetricMethod `json:"method,omitempty"`
	// URL is the address to call; args are substituted first.
	URL string `json:"url"`
	// Headers are added to the request.
	Headers []WebMetricHeader `json:"headers,omitempty"`
	// Body is a raw request body (POST/PUT).
	Body string `json:"body,omitempty"`
	// JSONBody is a JSON request body (POST/PUT); exclusive with Body.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	JSONBody json.RawMessage `json:"jsonBody,omitempty"`
	// TimeoutSeconds is the request timeout (default 10).
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	// JSONPath selects the value from the response, e.g. "{$.data.ok}".
	JSONPath string `json:"jsonPath,omitempty"`
	// Insecure skips TLS verification.
	Insecure bool `json:"insecure,omitempty"`
	// Authentication configures OAuth2 (decoded, not used by shipsafe).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Authentication json.RawMessage `json:"authentication,omitempty"`
}

// WebMetricHeader is one request header.
type WebMetricHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JobMetric runs a Kubernetes Job; the measurement succeeds when the job does.
type JobMetric struct {
	Metadata metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec     batchv1.JobSpec   `json:"spec"`
}

// Argument is a template parameter: a default Value, a ValueFrom source, or neither (then
// the caller must give it).
type Argument struct {
	Name      string     `json:"name"`
	Value     *string    `json:"value,omitempty"`
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom takes an argument from a secret or a field of the rollout.
type ValueFrom struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	FieldRef     *FieldRef     `json:"fieldRef,omitempty"`
}

// SecretKeyRef names a key of a Kubernetes secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}
