package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// server is a real HTTP server on 127.0.0.1 answering like a metrics endpoint.
func server(t *testing.T) (*httptest.Server, chan struct{}) {
	t.Helper()
	hang := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-1" {
			http.Error(w, `{"error":"unauthorised"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"data":{"ok":true,"errorRate":0.012,"revisions":[{"name":"stable","p99":120},{"name":"canary","p99":180}]}}`)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, "not json", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "contentType": r.Header.Get("Content-Type"), "got": in})
	})
	mux.HandleFunc("PUT /raw", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{"body": string(body)})
	})
	mux.HandleFunc("GET /html", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>oops</html>") })
	mux.HandleFunc("GET /down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "backend down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { close(hang); srv.Close() })
	return srv, hang
}

func metric(w v1alpha1.WebMetric) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "web-metric", Provider: v1alpha1.MetricProvider{Web: &w}}
}

func TestMeasureAgainstRealServer(t *testing.T) {
	srv, _ := server(t)
	p := New(srv.Client())
	ctx := context.Background()
	auth := []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer token-1"}}

	cases := []struct {
		name string
		web  v1alpha1.WebMetric
		want any
	}{
		{"Argo braces, bool", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: "{$.data.ok}"}, true},
		{"number", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: "$.data.errorRate"}, 0.012},
		{"filter", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: `$.data.revisions[?@.name=="canary"].p99`}, 180.0},
		{"Kubernetes-style filter", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: `{$.data.revisions[?(@.name=="stable")].p99}`}, 120.0},
		{"several matches are a list", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: "$.data.revisions[*].p99"}, []any{120.0, 180.0}},
		{"no match is no data", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: "$.data.missing"}, nil},
		{"root without $", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Headers: auth, JSONPath: "{.data.errorRate}"}, 0.012},
		{"POST jsonBody", v1alpha1.WebMetric{Method: "POST", URL: srv.URL + "/echo", JSONBody: json.RawMessage(`{"q":"rate"}`), JSONPath: "$"},
			map[string]any{"method": "POST", "contentType": "application/json", "got": map[string]any{"q": "rate"}}},
		{"PUT body", v1alpha1.WebMetric{Method: "PUT", URL: srv.URL + "/raw", Body: "hello", JSONPath: "$.body"}, "hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := p.Measure(ctx, metric(c.web), nil)
			if err != nil {
				t.Fatalf("measure: %v", err)
			}
			if !reflect.DeepEqual(m.Value, c.want) {
				t.Fatalf("value %#v, want %#v", m.Value, c.want)
			}
		})
	}
}

func TestMeasureErrors(t *testing.T) {
	srv, _ := server(t)
	p := New(srv.Client())
	ctx := context.Background()
	cases := []struct {
		name string
		web  v1alpha1.WebMetric
		want string
	}{
		{"missing header gets 401", v1alpha1.WebMetric{URL: srv.URL + "/metrics", JSONPath: "$.data.ok"}, "HTTP 401"},
		{"5xx", v1alpha1.WebMetric{URL: srv.URL + "/down"}, "HTTP 503"},
		{"not JSON", v1alpha1.WebMetric{URL: srv.URL + "/html"}, "not JSON"},
		{"bad path", v1alpha1.WebMetric{URL: srv.URL + "/metrics", JSONPath: "$.data[?"}, "jsonPath"},
		{"bad method", v1alpha1.WebMetric{Method: "DELETE", URL: srv.URL + "/metrics"}, "method"},
		{"GET with body", v1alpha1.WebMetric{URL: srv.URL + "/metrics", Body: "x"}, "GET request has no body"},
		{"not http", v1alpha1.WebMetric{URL: "file:///etc/passwd"}, "http or https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Measure(ctx, metric(c.web), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestMeasureTimeout(t *testing.T) {
	srv, _ := server(t)
	p := New(srv.Client())
	// The context deadline stands in for timeoutSeconds (whole seconds only) to keep the test fast;
	// TestTimeoutSecondsApplies checks the field itself is honoured.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Measure(ctx, metric(v1alpha1.WebMetric{URL: srv.URL + "/hang", TimeoutSeconds: 30}), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
}

func TestTimeoutSecondsApplies(t *testing.T) {
	srv, _ := server(t)
	p := New(srv.Client())
	_, err := p.Measure(context.Background(), metric(v1alpha1.WebMetric{URL: srv.URL + "/hang", TimeoutSeconds: 1}), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded after timeoutSeconds", err)
	}
}

func TestInsecureSkipsTLSVerificationOnlyWhenAsked(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	p := New(nil) // trusts only the system roots, not the test server's certificate
	if _, err := p.Measure(context.Background(), metric(v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.ok}"}), nil); err == nil {
		t.Fatal("a self-signed certificate was accepted without insecure: true")
	}
	m, err := p.Measure(context.Background(), metric(v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.ok}", Insecure: true}), nil)
	if err != nil || m.Value != true {
		t.Fatalf("insecure: true: %v %v", m.Value, err)
	}
}
