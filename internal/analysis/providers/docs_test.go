package providers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// docTemplates returns the AnalysisTemplates of docs/analysis.md's ```yaml blocks that are
// whole documents (the rollbackTriggers fragment is not).
func docTemplates(t *testing.T) map[string]v1alpha1.AnalysisTemplateSpec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "analysis.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1alpha1.AnalysisTemplateSpec{}
	parts := strings.Split(string(raw), "```yaml\n")
	for _, p := range parts[1:] {
		block := p[:strings.Index(p, "```")]
		if !strings.HasPrefix(block, "apiVersion:") {
			continue
		}
		objs, err := manifest.Parse([]byte(block))
		if err != nil {
			t.Fatalf("docs/analysis.md block does not parse:\n%s\n%v", block, err)
		}
		for _, o := range objs {
			if o.AnalysisTemplate == nil {
				t.Fatalf("unexpected %s in docs", o.Kind)
			}
			out[o.AnalysisTemplate.Name] = o.AnalysisTemplate.Spec
		}
	}
	if len(out) != 3 {
		t.Fatalf("found templates %v, want the builtin, prometheus and web examples", len(out))
	}
	return out
}

// steadySource: the canary and stable both see 100 requests with one error per snapshot.
type steadySource struct{}

func (steadySource) Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot {
	s := gateway.RevisionSnapshot{Service: service, Revision: revision, Requests: 100,
		Latency: gateway.LatencyHistogram{Bounds: gateway.LatencyBounds(), Counts: make([]uint64, len(gateway.LatencyBounds())+1)}}
	s.StatusClass[2], s.StatusClass[5] = 99, 1
	s.Latency.Counts[5] = 99
	for i := range s.Probability.Counts {
		s.Probability.Counts[i] = 2
	}
	return s
}

func run(t *testing.T, reg *analysis.Registry, name string, spec v1alpha1.AnalysisTemplateSpec, args map[string]string, steps int) *v1alpha1.AnalysisRun {
	t.Helper()
	var in []v1alpha1.Argument
	for k, v := range args {
		in = append(in, v1alpha1.Argument{Name: k, Value: &v})
	}
	r, err := analysis.BuildRun(analysis.RunInput{Name: name, Templates: []analysis.Template{{Name: name, Spec: spec}}, Args: in,
		Service: "detector", Revision: "canary", StableRevision: "stable"})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := analysis.NewExecutor(analysis.Options{Providers: reg})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < steps; i++ {
		next := exec.Reconcile(context.Background(), r, now)
		if next.IsZero() {
			break
		}
		now = next
	}
	for _, res := range r.Status.MetricResults {
		for _, m := range res.Measurements {
			if m.Phase == v1alpha1.AnalysisPhaseError {
				t.Fatalf("%s: metric %s measurement Error: %s", name, res.Name, m.Message)
			}
		}
	}
	return r
}

func TestDocsTemplatesRun(t *testing.T) {
	tmpls := docTemplates(t)

	// Prometheus: an HTTP server answering the API, recording the rendered query.
	var mu sync.Mutex
	var queries []string
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		queries = append(queries, r.Form.Get("query"))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.01"]}]}}`)
	}))
	defer prom.Close()
	// Web: the JSON document the web example reads; GET needs the bearer token.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Authorization") != "Bearer local-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			var body map[string]string
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["revision"] != "canary" {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
		}
		_, _ = io.WriteString(w, `{"data":{"ok":true,"revisions":[{"name":"stable","p99":120},{"name":"canary","p99":180}]}}`)
	}))
	defer web.Close()

	reg, err := NewRegistry(Deps{Traffic: steadySource{}, HTTPClient: web.Client()})
	if err != nil {
		t.Fatal(err)
	}

	r := run(t, reg, "web-health", tmpls["web-health"], map[string]string{"url": web.URL}, 5)
	if r.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("web example: %s %s", r.Status.Phase, r.Status.Message)
	}

	r = run(t, reg, "prometheus-error-rate", tmpls["prometheus-error-rate"], map[string]string{"service": "detector", "canary-hash": "abc", "prometheus": prom.URL}, 10)
	if r.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(r.Status.MetricResults[0].Measurements) != 5 {
		t.Fatalf("prometheus example: %s %s", r.Status.Phase, r.Status.Message)
	}
	if !strings.Contains(queries[0], `service="detector",revision="abc",code=~"5.."`) {
		t.Fatalf("rendered query %q", queries[0])
	}

	// The builtin example measures indefinitely: run it for a few minutes of fake time.
	r = run(t, reg, "detector-judge", tmpls["detector-judge"], map[string]string{"service": "detector"}, 40)
	if r.Status.Phase != v1alpha1.AnalysisPhaseRunning {
		t.Fatalf("builtin example: %s %s", r.Status.Phase, r.Status.Message)
	}
	for _, res := range r.Status.MetricResults {
		if len(res.Measurements) == 0 {
			t.Fatalf("builtin example: metric %s never measured", res.Name)
		}
	}
}
