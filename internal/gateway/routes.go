// Package gateway is shipsafe's data plane: an HTTP/1.1 reverse proxy that splits traffic
// between model revisions (weights, sticky buckets, header routes, flag-selected variants,
// mirroring) and records, per revision, what the models answered so the analysis can judge
// a canary on errors, latency and model quality.
package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RouteTable is the whole routing configuration the gateway serves. The control plane (or
// the standalone routes file) replaces it as one unit with (*Gateway).SetRoutes; requests
// in flight finish on the table they started with.
type RouteTable struct {
	// DefaultService receives requests that match no service's hosts or path prefix.
	// Empty means such requests get 404.
	DefaultService string `json:"defaultService,omitempty"`
	// Services by name. The name is also the default path prefix: /svc/<name>/...
	Services map[string]Service `json:"services"`
}

// Service is one routed application (one model service) and the revisions behind it.
//
// A request is matched to a service by, in order: its Host header (Hosts), its path prefix
// (PathPrefix, stripped before forwarding), then RouteTable.DefaultService. Within the
// service a revision is chosen by, in order: HeaderRoutes, Select (flag-based model
// selection), then weights (sticky when Sticky is set).
type Service struct {
	// Hosts are Host header values (without port) routed to this service.
	Hosts []string `json:"hosts,omitempty"`
	// PathPrefix routes /prefix and /prefix/... to this service and strips the prefix.
	// Defaults to "/svc/<name>". Set to "-" to disable prefix routing.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Revisions that may receive traffic. Weights are relative integers (a 95/5 split is
	// weights 95 and 5). Revisions with weight 0 receive only header-routed, flag-selected
	// or mirrored traffic.
	Revisions []Revision `json:"revisions"`
	// Sticky makes weighted routing deterministic per key, by weighted rendezvous
	// hashing: raising one revision's weight only moves keys onto it (monotone).
	Sticky *Sticky `json:"sticky,omitempty"`
	// HeaderRoutes are checked in order; the first match picks the revision.
	HeaderRoutes []HeaderRoute `json:"headerRoutes,omitempty"`
	// Select picks the revision from a feature-flag variant (needs Config.Selector).
	Select *FlagSelect `json:"select,omitempty"`
	// Mirror sends a copy of a share of the requests to a revision; its answer is
	// recorded and compared with the served one, never returned to the client.
	Mirror *Mirror `json:"mirror,omitempty"`
	// Idempotent marks requests as safe to retry on another endpoint after a connection
	// failure. Inference is idempotent.
	Idempotent bool `json:"idempotent,omitempty"`
	// Limits bound what one service may consume.
	Limits Limits `json:"limits,omitempty"`
	// HealthCheck enables the gateway's own active readiness checks of every endpoint.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// OutlierDetection tunes passive ejection; nil uses the defaults described on the type.
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
}

// Revision is one version of the service and its replicas.
type Revision struct {
	Name      string     `json:"name"`
	Weight    int        `json:"weight"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one replica, "host:port". In JSON/YAML it may be written as a plain string
// ("127.0.0.1:8081") or as an object ({"address": "127.0.0.1:8081", "ready": false}).
type Endpoint struct {
	Address string `json:"address"`
	// Ready as declared by the control plane. nil means ready unless active checks say
	// otherwise; false means never send traffic here.
	Ready *bool `json:"ready,omitempty"`
}

// UnmarshalJSON accepts either "host:port" or the object form.
func (e *Endpoint) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = Endpoint{Address: s}
		return nil
	}
	type plain Endpoint
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("endpoint must be \"host:port\" or {address, ready}: %w", err)
	}
	*e = Endpoint(p)
	return nil
}

// declaredReady reports whether the control plane allows traffic to this endpoint.
func (e Endpoint) declaredReady() bool { return e.Ready == nil || *e.Ready }

// Sticky names where the bucketing key comes from. Exactly one field is set.
type Sticky struct {
	Header string `json:"header,omitempty"`
	Cookie string `json:"cookie,omitempty"`
	// Parameter is a key of the OIP request's top-level "parameters" object.
	Parameter string `json:"parameter,omitempty"`
}

// HeaderRoute sends requests whose header matches to a revision. Exactly one of Exact,
// Prefix and Regex is set.
type HeaderRoute struct {
	Header   string `json:"header"`
	Exact    string `json:"exact,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
	Regex    string `json:"regex,omitempty"`
	Revision string `json:"revision"`
}

// Mirror copies Percent of the requests (0-100, fractions allowed) to Revision.
type Mirror struct {
	Revision string  `json:"revision"`
	Percent  float64 `json:"percent"`
}

// FlagSelect maps a feature flag's variant to a revision. The targeting key comes from a
// header or an OIP parameter. When the variant's revision has no ready endpoint the
// gateway walks Fallback in order (each step counted in
// shipsafe_route_fallbacks_total); when nothing fits, weighted routing decides.
type FlagSelect struct {
	Flag                  string            `json:"flag"`
	TargetingKeyHeader    string            `json:"targetingKeyHeader,omitempty"`
	TargetingKeyParameter string            `json:"targetingKeyParameter,omitempty"`
	Variants              map[string]string `json:"variants"`
	Fallback              []string          `json:"fallback,omitempty"`
}

// Limits bound one service. Zero values mean "no limit" or the gateway default.
type Limits struct {
	// MaxInFlight per revision; more concurrent requests get a fast 503 (circuit open).
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// RateLimit per service; excess requests get 429 with Retry-After.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// MaxBodyBytes rejects larger request bodies with 413 at the gateway (default
	// Config.ServiceMaxBodyBytes, 8 MiB; at most Config.MaxBodyBytes). Set it to the model
	// server's own limit, never above.
	MaxBodyBytes int64 `json:"maxBodyBytes,omitempty"`
	// Timeout for the whole upstream exchange including retries (default 30s).
	Timeout Duration `json:"timeout,omitempty"`
	// MaxRetries on another endpoint after a connection failure, for idempotent
	// services (default 2).
	MaxRetries *int `json:"maxRetries,omitempty"`
}

// RateLimit is a token bucket: RequestsPerSecond sustained, Burst at once.
type RateLimit struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	Burst             int     `json:"burst,omitempty"`
}

// HealthCheck is an active readiness probe: GET Path on every endpoint each Interval.
type HealthCheck struct {
	Path               string   `json:"path,omitempty"`               // default /v2/health/ready
	Interval           Duration `json:"interval,omitempty"`           // default 1s
	Timeout            Duration `json:"timeout,omitempty"`            // default 500ms
	UnhealthyThreshold int      `json:"unhealthyThreshold,omitempty"` // default 2
	HealthyThreshold   int      `json:"healthyThreshold,omitempty"`   // default 1
}

// OutlierDetection ejects an endpoint after consecutive failures, for BaseEjection times
// two to the number of earlier ejections (capped at MaxEjection), never more than
// MaxEjectionPercent of a revision's endpoints at once (at least one when it has two).
type OutlierDetection struct {
	ConsecutiveConnectionFailures int      `json:"consecutiveConnectionFailures,omitempty"` // default 2
	Consecutive5xx                int      `json:"consecutive5xx,omitempty"`                // default 5
	BaseEjection                  Duration `json:"baseEjection,omitempty"`                  // default 2s
	MaxEjection                   Duration `json:"maxEjection,omitempty"`                   // default 60s
	MaxEjectionPercent            int      `json:"maxEjectionPercent,omitempty"`            // default 50
}

// Duration is a time.Duration written as a Go duration string ("250ms", "2s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms"-style strings (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"2s\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Clone returns a deep copy, so a caller cannot mutate a table the gateway serves.
func (t RouteTable) Clone() RouteTable {
	b, err := json.Marshal(t)
	if err != nil {
		// Every field is JSON-safe; this cannot happen for a table that validated.
		panic(fmt.Sprintf("gateway: clone route table: %v", err))
	}
	var out RouteTable
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("gateway: clone route table: %v", err))
	}
	return out
}
