// Package analysis executes AnalysisRuns: it takes the measurements that are due
// from metric providers, judges them with the metric's conditions and limits, and
// keeps every measurement on the run. Providers live in providers/<name> and are
// chosen by name from a Registry value.
package analysis

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Measurement is what a provider observed.
type Measurement struct {
	// Value is what conditions see as `result`: a float64, a []float64 (a Prometheus
	// vector), a bool, a string, or decoded JSON (map[string]any, []any). nil means no data.
	Value any
	// Metadata is kept on the run's measurement (e.g. the query that was run).
	Metadata map[string]string
}

// Provider takes one measurement of a metric. An error means the value could not be
// measured (the executor records phase Error), never that the value was bad.
type Provider interface {
	Type() string
	Measure(ctx context.Context, metric v1alpha1.Metric, args map[string]string) (Measurement, error)
}

// Provider type names, as in MetricProvider's fields.
const (
	TypeBuiltin    = "builtin"
	TypePrometheus = "prometheus"
	TypeWeb        = "web"
	TypeJob        = "job"
)

// Registry holds providers by Type(). It is a value owned by its caller: no globals.
type Registry struct {
	byType map[string]Provider
}

// NewRegistry registers providers; two with the same Type() is an error.
func NewRegistry(providers ...Provider) (*Registry, error) {
	r := &Registry{byType: make(map[string]Provider, len(providers))}
	for _, p := range providers {
		if _, dup := r.byType[p.Type()]; dup {
			return nil, fmt.Errorf("analysis: provider type %q registered twice", p.Type())
		}
		r.byType[p.Type()] = p
	}
	return r, nil
}

// Types lists the registered provider types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.byType))
	for t := range r.byType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// For returns the provider that measures metric.
func (r *Registry) For(metric v1alpha1.Metric) (Provider, error) {
	typ, err := ProviderType(metric.Provider)
	if err != nil {
		return nil, fmt.Errorf("metrics[%s].provider: %w", metric.Name, err)
	}
	p, ok := r.byType[typ]
	if !ok {
		return nil, fmt.Errorf("metrics[%s].provider.%s: no %q provider is configured here (have: %s)",
			metric.Name, typ, typ, strings.Join(r.Types(), ", "))
	}
	return p, nil
}

// ProviderType names the one provider set in mp.
func ProviderType(mp v1alpha1.MetricProvider) (string, error) {
	var set []string
	if mp.Builtin != nil {
		set = append(set, TypeBuiltin)
	}
	if mp.Prometheus != nil {
		set = append(set, TypePrometheus)
	}
	if mp.Web != nil {
		set = append(set, TypeWeb)
	}
	if mp.Job != nil {
		set = append(set, TypeJob)
	}
	for name := range mp.Plugin {
		set = append(set, "plugin/"+name)
	}
	unsupported := map[string][]byte{
		"kayenta": mp.Kayenta, "datadog": mp.Datadog, "wavefront": mp.Wavefront, "newRelic": mp.NewRelic,
		"cloudWatch": mp.CloudWatch, "graphite": mp.Graphite, "influxdb": mp.Influxdb, "skywalking": mp.SkyWalking,
	}
	for name, raw := range unsupported {
		if len(raw) > 0 {
			set = append(set, name)
		}
	}
	sort.Strings(set)
	switch len(set) {
	case 0:
		return "", fmt.Errorf("exactly one provider must be set, got none")
	case 1:
		return set[0], nil
	default:
		return "", fmt.Errorf("exactly one provider must be set, got %s", strings.Join(set, ", "))
	}
}
