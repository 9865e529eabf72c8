// Package web is the metric provider that fetches a JSON document over HTTP and
// selects the measured value with a JSONPath (RFC 9535) expression.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/theory/jsonpath"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
)

// DefaultTimeout applies when a metric sets no timeoutSeconds (Argo's default).
const DefaultTimeout = 10 * time.Second

// maxBody bounds how much of an answer is read.
const maxBody = 16 << 20

// Provider measures web metrics.
type Provider struct {
	client   *http.Client
	insecure *http.Client
}

// New returns a web provider using client (nil means a fresh http.Client). Metrics with
// insecure: true use a copy whose TLS verification is off.
func New(client *http.Client) *Provider {
	client, insecure := analysis.HTTPClients(client)
	return &Provider{client: client, insecure: insecure}
}

// Type implements analysis.Provider.
func (p *Provider) Type() string { return analysis.TypeWeb }

// Measure implements analysis.Provider. The metric's args are already substituted.
func (p *Provider) Measure(ctx context.Context, metric v1alpha1.Metric, _ map[string]string) (analysis.Measurement, error) {
	w := metric.Provider.Web
	if w == nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.web: not set", metric.Name)
	}
	path, err := ParsePath(w.JSONPath)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.web.jsonPath: %w", metric.Name, err)
	}
	timeout := DefaultTimeout
	if w.TimeoutSeconds > 0 {
		timeout = time.Duration(w.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := buildRequest(ctx, w)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s].provider.web: %w", metric.Name, err)
	}
	client := p.client
	if w.Insecure {
		client = p.insecure
	}
	resp, err := client.Do(req)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s]: %s %s: %w", metric.Name, req.Method, w.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s]: read answer of %s: %w", metric.Name, w.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s]: %s %s answered HTTP %d: %s", metric.Name, req.Method, w.URL, resp.StatusCode, snippet(body))
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return analysis.Measurement{}, fmt.Errorf("metrics[%s]: answer of %s is not JSON: %w (%s)", metric.Name, w.URL, err, snippet(body))
	}
	return analysis.Measurement{
		Value:    Select(path, doc),
		Metadata: map[string]string{"url": w.URL, "status": fmt.Sprint(resp.StatusCode)},
	}, nil
}

func buildRequest(ctx context.Context, w *v1alpha1.WebMetric) (*http.Request, error) {
	method := strings.ToUpper(string(w.Method))
	if method == "" {
		method = http.MethodGet
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut:
	default:
		return nil, fmt.Errorf("method: must be GET, POST or PUT, got %q", w.Method)
	}
	if w.Body != "" && len(w.JSONBody) > 0 {
		return nil, fmt.Errorf("body and jsonBody: set at most one")
	}
	if method == http.MethodGet && (w.Body != "" || len(w.JSONBody) > 0) {
		return nil, fmt.Errorf("body: a GET request has no body; use method POST or PUT")
	}
	var body io.Reader
	switch {
	case len(w.JSONBody) > 0:
		body = bytes.NewReader(w.JSONBody)
	case w.Body != "":
		body = strings.NewReader(w.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.URL, body)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", w.URL, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("url %q: must be an http or https URL", w.URL)
	}
	if len(w.JSONBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range w.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	return req, nil
}

// ParsePath parses a JSONPath query. Argo's templates write it in Kubernetes' braces,
// "{$.data.ok}"; the braces are dropped so the same templates work. Empty means "$".
func ParsePath(expr string) (*jsonpath.Path, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "{") && strings.HasSuffix(e, "}") {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	if e == "" {
		e = "$"
	}
	if !strings.HasPrefix(e, "$") {
		// Kubernetes' jsonpath also accepts ".data.ok" without the root.
		e = "$" + e
	}
	p, err := jsonpath.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid JSONPath (RFC 9535): %w", expr, err)
	}
	return p, nil
}

// Select applies path to doc: no match is nil (no data), one match is that value,
// several matches are a []any.
func Select(path *jsonpath.Path, doc any) any {
	nodes := path.Select(doc)
	switch len(nodes) {
	case 0:
		return nil
	case 1:
		return nodes[0]
	default:
		return []any(nodes)
	}
}

func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
