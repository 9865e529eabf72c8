// Package traffic defines how the control plane sets a rollout's traffic: the Router
// interface, one per rollout, in the shape of Argo Rollouts' TrafficRoutingReconciler and
// Flagger's router.Interface. Implementations live one per folder — the embedded gateway in
// traffic/gateway, "none" (traffic follows ready replicas) in traffic/none — and adding one
// (a Gateway API HTTPRoute router, say) touches no control-plane code.
package traffic

import (
	"context"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Ref names the rollout whose traffic is set.
type Ref struct {
	Namespace string
	Rollout   string
}

// String is "namespace/rollout", or the rollout alone in the default namespace.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Rollout
	}
	return r.Namespace + "/" + r.Rollout
}

// Desired is the routing one rollout wants, in the rollout's own terms.
type Desired struct {
	// Services names the rollout's services.
	Services Services
	// Traffic is the engine's plan: weights per revision, header routes, mirrors and the
	// revision behind the preview.
	Traffic rollout.Traffic
	// CanaryRevision is the revision behind Services.Canary ("" when none is in flight).
	CanaryRevision string
	// Backends are the ready endpoints ("host:port") of each revision, for routers that
	// route to endpoints themselves; a revision without any must receive no traffic.
	Backends map[string][]string
	// Select, when set, lets a feature flag pick the revision per request.
	Select *Selection
	// StickyHeader keeps requests with the same value of this header on one revision as
	// weights move ("" when not sticky).
	StickyHeader string
	// Settings are how the data plane treats the service's requests.
	Settings Settings
}

// Services names a rollout's services: Main carries its traffic (Argo's stableService or
// activeService, else the rollout's name); Preview reaches the blue-green preview; Canary
// reaches only the canary (Argo's canaryService). Empty names are not routed.
type Services struct {
	Main, Preview, Canary string
}

// Selection maps a feature flag's variants to revisions. When a variant's revision has no
// ready endpoint the router falls back along Fallback, in order.
type Selection struct {
	Flag               string
	TargetingKeyHeader string
	// Variants maps a variant ("canary", "stable", "fallback") to a revision.
	Variants map[string]string
	Fallback []string
}

// Settings are per-service request handling.
type Settings struct {
	// Idempotent requests may be retried on another endpoint after a connection failure.
	Idempotent bool
	// Timeout bounds one request's upstream exchange, retries included.
	Timeout time.Duration
}

// Router sets the traffic of rollouts.
type Router interface {
	// Type names the implementation ("gateway", "none", "httproute").
	Type() string
	// HasTrafficRouting is false when traffic simply follows ready replicas: the engine
	// then scales instead of shifting weights (Argo without trafficRouting).
	HasTrafficRouting() bool
	// SetTraffic makes the rollout's routing d. It is idempotent and cheap when nothing
	// changed: a router writes to its data plane only when the result differs.
	SetTraffic(ctx context.Context, ref Ref, d Desired) error
	// Verify reports whether the data plane serves d for the rollout now (a data plane that
	// restarted, or was changed behind the router's back, does not).
	Verify(ctx context.Context, ref Ref, d Desired) (bool, error)
	// Remove deletes the rollout's routes.
	Remove(ctx context.Context, ref Ref) error
}

// Served is what one revision of a service answered.
type Served struct {
	// Requests answered to clients (mirrored copies excluded).
	Requests int64
	// Errors among them: 5xx answers and failed connections.
	Errors int64
}

// Counter is an optional capability of a router whose data plane counts requests: the
// deployment history records how many requests each revision served.
type Counter interface {
	Served(ctx context.Context, service, revision string, since time.Time) (Served, error)
}
