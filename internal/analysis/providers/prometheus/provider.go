package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
)

// DefaultTimeout bounds a query when the metric sets no timeout.
const DefaultTimeout = 30 * time.Second

// Provider measures prometheus metrics.
type Provider struct {
	client   *http.Client
	insecure *http.Client
	// defaultAddress is used when a metric names no address.
	defaultAddress string
}

// New returns a prometheus provider. defaultAddress (may be empty) is used for
// metrics without an address; client nil means a fresh http.Client.
func New(client *http.Client, defaultAddress string) *Provider {
	client, insecure := analysis.HTTPClients(client)
	return &Provider{client: client, insecure: insecure, defaultAddress: defaultAddress}
}

// Type implements analysis.Provider.
func (p *Provider) Type() string { return analysis.TypePrometheus }

// Measure implements analysis.Provider. A scalar is `result` as a float64, a vector as a
// []float64 (so conditions write result[0]); an empty vector is no data (nil).
func (p *Provider) Measure(ctx context.Context, metric v1alpha1.Metric, _ map[string]string) (analysis.Measurement, error) {
	pm := metric.Provider.Prometheus
	if pm == nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.prometheus: not set", metric.Name)
	}
	if len(pm.RangeQuery) > 0 {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.prometheus.rangeQuery: range queries are not supported; use an instant query", metric.Name)
	}
	address := pm.Address
	if address == "" {
		address = p.defaultAddress
	}
	if address == "" {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.prometheus.address: required (no default Prometheus address is configured)", metric.Name)
	}
	timeout := DefaultTimeout
	if pm.Timeout != nil && *pm.Timeout > 0 {
		timeout = time.Duration(*pm.Timeout) * time.Second
	}
	headers := http.Header{}
	for _, h := range pm.Headers {
		headers.Set(h.Key, h.Value)
	}
	client := p.client
	if pm.Insecure {
		client = p.insecure
	}
	res, err := Query(ctx, client, address, pm.Query, timeout, headers)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s]: %w", metric.Name, err)
	}
	meta := map[string]string{"address": address, "query": pm.Query, "resultType": res.Type}
	switch res.Type {
	case "scalar":
		return analysis.Measurement{Value: res.Scalar, Metadata: meta}, nil
	case "vector":
		if len(res.Vector) == 0 {
			return analysis.Measurement{Value: nil, Metadata: meta}, nil
		}
		return analysis.Measurement{Value: res.Vector, Metadata: meta}, nil
	default:
		return analysis.Measurement{Value: res.String, Metadata: meta}, nil
	}
}
