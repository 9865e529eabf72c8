// Package providers assembles the metric providers shipsafe ships (builtin, prometheus,
// web) into an analysis.Registry. Adding a provider means a folder here and a line below;
// the executor and the engine do not change.
package providers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/builtin"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/prometheus"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/web"
)

// Deps are what the providers need from the rest of shipsafe. Zero values turn optional
// parts off.
type Deps struct {
	// Traffic is the gateway's recorder; nil leaves the builtin provider out.
	Traffic builtin.Source
	// Usage reports revisions' CPU and memory (the platform); nil disables those measures.
	Usage builtin.UsageSource
	// Now must agree with the recorder's clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient is used by prometheus and web; nil means a fresh client.
	HTTPClient *http.Client
	// PrometheusAddress is used by prometheus metrics that name no address.
	PrometheusAddress string
}

// NewRegistry returns the registry of every provider that deps allow.
func NewRegistry(deps Deps) (*analysis.Registry, error) {
	ps := []analysis.Provider{
		prometheus.New(deps.HTTPClient, deps.PrometheusAddress),
		web.New(deps.HTTPClient),
	}
	if deps.Traffic != nil {
		b, err := builtin.New(builtin.Options{Source: deps.Traffic, Usage: deps.Usage, Now: deps.Now})
		if err != nil {
			return nil, fmt.Errorf("builtin provider: %w", err)
		}
		ps = append(ps, b)
	}
	return analysis.NewRegistry(ps...)
}
