package prometheus

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	promtest "github.com/shipsafe/shipsafe/test/prometheus"
)

// scrapeTarget serves a client_golang registry on a real loopback listener.
func scrapeTarget(t *testing.T) string {
	t.Helper()
	reg := promclient.NewRegistry()
	gauges := promclient.NewGaugeVec(promclient.GaugeOpts{Name: "shipsafe_test_value", Help: "values the test queries"}, []string{"kind"})
	reg.MustRegister(gauges)
	gauges.WithLabelValues("quarter").Set(0.25)
	gauges.WithLabelValues("nan").Set(math.NaN())
	gauges.WithLabelValues("posinf").Set(math.Inf(1))
	gauges.WithLabelValues("neginf").Set(math.Inf(-1))
	requests := promclient.NewCounterVec(promclient.CounterOpts{Name: "shipsafe_test_requests_total", Help: "requests by code"}, []string{"code"})
	reg.MustRegister(requests)
	requests.WithLabelValues("200").Add(990)
	requests.WithLabelValues("500").Add(10)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// startPrometheus runs a real Prometheus that has scraped the test target at least once.
func startPrometheus(t *testing.T) *promtest.Server {
	t.Helper()
	target := scrapeTarget(t)
	prom := promtest.Start(t, time.Second, target)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prom.WaitForSeries(ctx, `shipsafe_test_value{kind="quarter"}`); err != nil {
		t.Fatalf("%v\nprometheus log:\n%s", err, prom.Log())
	}
	return prom
}

func TestQueryAgainstRealPrometheus(t *testing.T) {
	prom := startPrometheus(t)
	ctx := context.Background()
	client := &http.Client{}
	query := func(t *testing.T, q string) Result {
		t.Helper()
		res, err := Query(ctx, client, prom.Address, q, 5*time.Second, nil)
		if err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
		return res
	}

	t.Run("vector", func(t *testing.T) {
		res := query(t, `shipsafe_test_value{kind="quarter"}`)
		if res.Type != "vector" || len(res.Vector) != 1 || res.Vector[0] != 0.25 {
			t.Fatalf("got %+v, want vector [0.25]", res)
		}
		if res.Labels[0]["kind"] != "quarter" {
			t.Fatalf("labels %v, want kind=quarter", res.Labels[0])
		}
	})
	t.Run("scalar", func(t *testing.T) {
		res := query(t, `scalar(sum(shipsafe_test_requests_total{code="500"}) / sum(shipsafe_test_requests_total))`)
		if res.Type != "scalar" || math.Abs(res.Scalar-0.01) > 1e-12 {
			t.Fatalf("got %+v, want scalar 0.01", res)
		}
	})
	t.Run("NaN and Inf as Prometheus sends them", func(t *testing.T) {
		cases := map[string]func(float64) bool{
			"nan":    math.IsNaN,
			"posinf": func(f float64) bool { return math.IsInf(f, 1) },
			"neginf": func(f float64) bool { return math.IsInf(f, -1) },
		}
		for kind, ok := range cases {
			res := query(t, `shipsafe_test_value{kind="`+kind+`"}`)
			if len(res.Vector) != 1 || !ok(res.Vector[0]) {
				t.Fatalf("%s: got %+v", kind, res)
			}
		}
		// A scalar division by zero is NaN on the server side too.
		res := query(t, `scalar(vector(0) / vector(0))`)
		if !math.IsNaN(res.Scalar) {
			t.Fatalf("0/0: got %v, want NaN", res.Scalar)
		}
	})
	t.Run("no data is an empty vector", func(t *testing.T) {
		res := query(t, `shipsafe_test_value{kind="absent"}`)
		if res.Type != "vector" || len(res.Vector) != 0 {
			t.Fatalf("got %+v, want empty vector", res)
		}
	})
	t.Run("bad query is an error naming the query", func(t *testing.T) {
		_, err := Query(ctx, client, prom.Address, `sum(`, 5*time.Second, nil)
		if err == nil {
			t.Fatal("want an error for a syntactically bad query")
		}
	})
	t.Run("provider: vector, scalar and no data as conditions see them", func(t *testing.T) {
		p := New(nil, prom.Address)
		timeout := int64(5)
		m := func(q string) v1alpha1.Metric {
			return v1alpha1.Metric{Name: "error-rate", Provider: v1alpha1.MetricProvider{
				Prometheus: &v1alpha1.PrometheusMetric{Query: q, Timeout: &timeout,
					Headers: []v1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "tenant-1"}}}}}
		}
		got, err := p.Measure(ctx, m(`sum(shipsafe_test_requests_total{code="500"}) / sum(shipsafe_test_requests_total)`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got.Value.([]float64); !ok || len(v) != 1 || math.Abs(v[0]-0.01) > 1e-12 {
			t.Fatalf("vector value %#v, want []float64{0.01}", got.Value)
		}
		if got.Metadata["resultType"] != "vector" || got.Metadata["address"] != prom.Address {
			t.Fatalf("metadata %v", got.Metadata)
		}
		got, err = p.Measure(ctx, m(`scalar(shipsafe_test_value{kind="quarter"})`), nil)
		if err != nil || got.Value != 0.25 {
			t.Fatalf("scalar: %#v, %v", got.Value, err)
		}
		got, err = p.Measure(ctx, m(`shipsafe_test_value{kind="absent"}`), nil)
		if err != nil || got.Value != nil {
			t.Fatalf("no data: %#v, %v; want nil value", got.Value, err)
		}
	})
	t.Run("range vector is rejected", func(t *testing.T) {
		_, err := Query(ctx, client, prom.Address, `shipsafe_test_value[1m]`, 5*time.Second, nil)
		if err == nil {
			t.Fatal("want an error for a matrix result")
		}
	})
}

func TestQueryUnreachableAddressIsError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Query(context.Background(), &http.Client{}, "http://"+addr, "up", time.Second, nil)
	if err == nil {
		t.Fatal("want an error from a closed port")
	}
}

func TestQueryTimeout(t *testing.T) {
	// A loopback server that never answers within the timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { close(release); _ = srv.Close() })
	_, err = Query(context.Background(), &http.Client{}, "http://"+l.Addr().String(), "up", 50*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
}
