// Package none is the router for platforms without a traffic router: traffic follows ready
// replicas (a Kubernetes Service selecting the rollout's pods), so there is nothing to set;
// the engine scales revisions instead of shifting weights, as Argo does without
// trafficRouting.
package none

import (
	"context"

	"github.com/shipsafe/shipsafe/internal/traffic"
)

// Router sets no traffic.
type Router struct{}

var _ traffic.Router = Router{}

// Type is "none".
func (Router) Type() string { return "none" }

// HasTrafficRouting is false: weights are replica ratios.
func (Router) HasTrafficRouting() bool { return false }

// SetTraffic does nothing.
func (Router) SetTraffic(context.Context, traffic.Ref, traffic.Desired) error { return nil }

// Verify is always true: what serves traffic is what is ready.
func (Router) Verify(context.Context, traffic.Ref, traffic.Desired) (bool, error) { return true, nil }

// Remove does nothing.
func (Router) Remove(context.Context, traffic.Ref) error { return nil }
