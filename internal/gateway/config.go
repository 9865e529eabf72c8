package gateway

import (
	"time"
)

// Clock tells the time. The recorder, the id store, the rate limiter and outlier ejection
// read it, so unit tests can drive them with a fake clock.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// VariantSelector evaluates a feature flag for a targeting key (internal/flags implements
// it). ok=false means "no decision": the gateway then routes by weight.
type VariantSelector interface {
	SelectVariant(flagKey, targetingKey string) (variant string, ok bool)
}

// RegionSelector is the hook where multi-region routing plugs in (internal/regions). The
// gateway does not call it yet; it is carried in Config so the region work can wire it
// without changing the gateway's API.
type RegionSelector interface {
	// SelectRegion returns the region that should serve a request for service from a
	// client in clientRegion (may be empty), or ok=false to serve locally.
	SelectRegion(service, clientRegion string) (region string, ok bool)
}

// Config holds the gateway's process-level settings. Zero values take the documented
// defaults.
type Config struct {
	// Clock defaults to the wall clock.
	Clock Clock
	// Selector enables Service.Select (flag-based model selection); nil turns it off.
	Selector VariantSelector
	// Regions is reserved for region routing (not called yet).
	Regions RegionSelector

	// MaxBodyBytes is the largest request body accepted by the listener (default 32 MiB);
	// larger bodies get 413 before routing.
	MaxBodyBytes int
	// ServiceMaxBodyBytes is a service's body limit when its Limits.MaxBodyBytes is unset
	// (default 8 MiB, cmd/detector's own limit). It must not exceed what the model server
	// accepts: the gateway answers 413 itself instead of sending a body the replica would
	// refuse by closing the connection (which would look like a replica failure).
	ServiceMaxBodyBytes int
	// UpstreamIdleTimeout closes idle upstream keep-alive connections (default 4s, below
	// the 5s idle timeout of net/http, uvicorn and Node servers).
	UpstreamIdleTimeout time.Duration
	// IdleTimeout closes idle client keep-alive connections (default 90s).
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one client request (default 60s).
	ReadTimeout time.Duration
	// DrainTimeout bounds the graceful drain after the Serve context is cancelled
	// (default 15s).
	DrainTimeout time.Duration
	// MaxConnsPerEndpoint bounds upstream connections per endpoint (default 1024).
	MaxConnsPerEndpoint int

	// RecordBucket is the width of one recorder bucket (default 1s) and RecordBuckets how
	// many are kept (default 900, so 15 minutes of history per revision).
	RecordBucket  time.Duration
	RecordBuckets int
	// PredictionTTL is how long a request id stays joinable with feedback (default 1h)
	// and MaxPredictions how many ids are kept at most (default 200000).
	PredictionTTL  time.Duration
	MaxPredictions int
	// MaxConcurrentMirrors bounds mirrored requests in flight; extra ones are dropped and
	// counted (default 256).
	MaxConcurrentMirrors int

	// AdminToken authorises PUT /admin/routes. Empty disables route changes over HTTP.
	AdminToken string
	// FeedbackKey is the secret that per-service feedback tokens are derived from
	// (FeedbackToken). POST /v1/feedback needs "Authorization: Bearer <token>"; without a
	// key the gateway accepts no labels.
	FeedbackKey string
	// Forwarded says which client-address headers are added to proxied requests, as
	// reverse proxies do: "x-forwarded-for" (default: X-Forwarded-For, the client address
	// appended to any list the client sent, and X-Forwarded-Proto), "forwarded" (RFC 7239
	// Forwarded: for=...;proto=http, appended likewise), "both" or "none".
	Forwarded string
	// FeedbackPath (default /v1/feedback), MetricsPath (default /metrics) and AdminPath
	// (default /admin/routes) are served by the gateway itself instead of being proxied.
	FeedbackPath string
	MetricsPath  string
	AdminPath    string
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = ClockFunc(time.Now)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.ServiceMaxBodyBytes <= 0 {
		c.ServiceMaxBodyBytes = 8 << 20
	}
	if c.ServiceMaxBodyBytes > c.MaxBodyBytes {
		c.ServiceMaxBodyBytes = c.MaxBodyBytes
	}
	if c.UpstreamIdleTimeout <= 0 {
		c.UpstreamIdleTimeout = 4 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.ReadTimeout <= 0 {
		// Also keeps a read deadline armed between requests: with none, fasthttp clears
		// and re-adds the timer each request, which wakes the netpoller (more syscalls).
		c.ReadTimeout = 60 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.MaxConnsPerEndpoint <= 0 {
		c.MaxConnsPerEndpoint = 1024
	}
	if c.RecordBucket <= 0 {
		c.RecordBucket = time.Second
	}
	if c.RecordBuckets <= 0 {
		c.RecordBuckets = 900
	}
	if c.PredictionTTL <= 0 {
		c.PredictionTTL = time.Hour
	}
	if c.MaxPredictions <= 0 {
		c.MaxPredictions = 200_000
	}
	if c.MaxConcurrentMirrors <= 0 {
		c.MaxConcurrentMirrors = 256
	}
	if c.Forwarded == "" {
		c.Forwarded = ForwardedXFF
	}
	if c.FeedbackPath == "" {
		c.FeedbackPath = "/v1/feedback"
	}
	if c.MetricsPath == "" {
		c.MetricsPath = "/metrics"
	}
	if c.AdminPath == "" {
		c.AdminPath = "/admin/routes"
	}
	return c
}

// Config.Forwarded values.
const (
	ForwardedXFF     = "x-forwarded-for"
	ForwardedRFC7239 = "forwarded"
	ForwardedBoth    = "both"
	ForwardedNone    = "none"
)

// Defaults applied per service when the table leaves them zero.
const (
	defaultTimeout            = 30 * time.Second
	defaultMaxRetries         = 2
	defaultHealthPath         = "/v2/health/ready"
	defaultHealthInterval     = time.Second
	defaultHealthTimeout      = 500 * time.Millisecond
	defaultUnhealthyThreshold = 2
	defaultHealthyThreshold   = 1
	defaultConnFailures       = 2
	defaultConsecutive5xx     = 5
	defaultBaseEjection       = 2 * time.Second
	defaultMaxEjection        = 60 * time.Second
	defaultMaxEjectionPercent = 50
	// RequestIDHeader carries the inference request id back to the client (and to the
	// backend), so feedback can be joined even when the client sent no id.
	RequestIDHeader = "x-shipsafe-request-id"
)
