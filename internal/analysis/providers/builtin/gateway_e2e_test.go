package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// settableClock drives the real gateway's recorder buckets, so the test controls time
// without sleeping; request latency is still measured on the real monotonic clock.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// modelBackend is a real HTTP server on 127.0.0.1 answering OIP inference like the
// detector: it predicts label with probability prob, fails every failEvery-th request with
// a 500 (0: never) and takes delay to answer.
type modelBackend struct {
	addr          string
	hits, errors5 atomic.Int64
}

func startModel(t testing.TB, label int, prob float64, failEvery int64, delay time.Duration) *modelBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &modelBackend{addr: ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		id := ""
		if i := strings.Index(string(body), `"id":"`); i >= 0 {
			rest := string(body)[i+6:]
			id = rest[:strings.IndexByte(rest, '"')]
		}
		if delay > 0 {
			time.Sleep(delay) // the backend's own service time; the test never waits on a clock
		}
		if failEvery > 0 && n%failEvery == 0 {
			b.errors5.Add(1)
			http.Error(w, "model failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"model_name":"detector","outputs":[{"name":"probability","datatype":"FP32","shape":[1],"data":[%g]},{"name":"label","datatype":"INT64","shape":[1],"data":[%d]}]}`, id, prob, label)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

func serveGateway(t testing.TB, g *gateway.Gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("gateway Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func post(ctx context.Context, c *http.Client, url, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// infer sends n inference requests for service through the gateway with 8 workers and
// returns their ids.
func infer(t *testing.T, c *http.Client, base, service, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	jobs := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ids[i] = fmt.Sprintf("%s-%d", prefix, i)
				if _, err := post(context.Background(), c, base+"/svc/"+service+"/v2/models/detector/infer", fmt.Sprintf(`{"id":%q,"inputs":[]}`, ids[i])); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("request through the gateway: %v", err)
	}
	return ids
}

// testFeedbackKey derives the feedback token the test labels with.
const testFeedbackKey = "test-feedback-key"

func feedback(t *testing.T, c *http.Client, base string, ids []string, label int) {
	t.Helper()
	for _, id := range ids {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/feedback", strings.NewReader(fmt.Sprintf(`{"id":%q,"label":%d}`, id, label)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+gateway.FeedbackToken(testFeedbackKey, ""))
		resp, err := c.Do(req)
		code := 0
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("feedback %s: %d %v", id, code, err)
		}
	}
}

// TestBuiltinAgainstRealGateway drives real requests through a real gateway to real HTTP
// backends and measures through the gateway's own recorder.
func TestBuiltinAgainstRealGateway(t *testing.T) {
	clk := &settableClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	// detector: the canary fails every 5th request, answers 80ms slower and predicts the
	// other label. aa: two identical healthy revisions failing every 25th request.
	// shadow: stable serves, the canary only sees mirrored copies.
	stable := startModel(t, 1, 0.9, 0, 0)
	canary := startModel(t, 0, 0.2, 5, 80*time.Millisecond)
	aaA, aaB := startModel(t, 1, 0.9, 25, 0), startModel(t, 1, 0.9, 25, 0)
	shadowStable, shadowCanary := startModel(t, 1, 0.9, 0, 0), startModel(t, 0, 0.2, 0, 0)

	eps := func(a string) []gateway.Endpoint { return []gateway.Endpoint{{Address: a}} }
	routes := gateway.RouteTable{Services: map[string]gateway.Service{
		"detector": {Revisions: []gateway.Revision{{Name: "stable", Weight: 1, Endpoints: eps(stable.addr)}, {Name: "canary", Weight: 1, Endpoints: eps(canary.addr)}}},
		"aa":       {Revisions: []gateway.Revision{{Name: "stable", Weight: 1, Endpoints: eps(aaA.addr)}, {Name: "canary", Weight: 1, Endpoints: eps(aaB.addr)}}},
		"shadow": {Revisions: []gateway.Revision{{Name: "stable", Weight: 1, Endpoints: eps(shadowStable.addr)}, {Name: "canary", Weight: 0, Endpoints: eps(shadowCanary.addr)}},
			Mirror: &gateway.Mirror{Revision: "canary", Percent: 100}},
	}}
	g := gateway.New(gateway.Config{Clock: clk, FeedbackKey: testFeedbackKey}, nil)
	if err := g.SetRoutes(routes); err != nil {
		t.Fatal(err)
	}
	base := serveGateway(t, g)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	runStart := clk.Now()

	var detectorIDs []string
	for round := 0; round < 12; round++ {
		detectorIDs = append(detectorIDs, infer(t, c, base, "detector", fmt.Sprintf("d%d", round), 40)...)
		infer(t, c, base, "aa", fmt.Sprintf("a%d", round), 40)
		clk.advance(5 * time.Second)
	}
	shadowIDs := infer(t, c, base, "shadow", "s", 30)
	// Mirrored copies are sent asynchronously; wait (bounded) until all were compared.
	deadline := time.Now().Add(10 * time.Second)
	for g.Recorder().Snapshot("shadow", "canary", runStart).Mirror.Compared < 30 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	feedback(t, c, base, detectorIDs, 1)
	feedback(t, c, base, shadowIDs, 1)
	clk.advance(time.Second)

	p, err := New(Options{Source: g.Recorder(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctxFor := func(service string) context.Context {
		return analysis.WithRunInfo(context.Background(), analysis.RunInfo{Name: "run", StartedAt: runStart,
			Labels: map[string]string{analysis.LabelService: service, analysis.LabelRevision: "canary", analysis.LabelStableRevision: "stable"}})
	}
	get := func(service string, b v1alpha1.BuiltinMetric) analysis.Measurement {
		t.Helper()
		m, err := p.Measure(ctxFor(service), builtinMetric(b.Metric, b), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", service, b.Metric, err)
		}
		return m
	}
	f := func(service string, b v1alpha1.BuiltinMetric) float64 {
		t.Helper()
		m := get(service, b)
		v, ok := m.Value.(float64)
		if !ok {
			t.Fatalf("%s %s: value %#v (%v), want a number", service, b.Metric, m.Value, m.Metadata)
		}
		return v
	}

	// Counts agree with what the backends themselves saw.
	wantRate := float64(canary.errors5.Load()) / float64(canary.hits.Load())
	if got := f("detector", v1alpha1.BuiltinMetric{Metric: "error-rate", Window: "5m"}); math.Abs(got-wantRate) > 1e-12 || got == 0 {
		t.Errorf("canary error-rate %v, backend saw %v", got, wantRate)
	}
	if got := f("detector", v1alpha1.BuiltinMetric{Metric: "request-count", Window: "5m"}); got != float64(canary.hits.Load()) {
		t.Errorf("canary request-count %v, backend saw %d", got, canary.hits.Load())
	}
	if got := f("detector", v1alpha1.BuiltinMetric{Metric: "error-rate", Revision: "stable", Window: "5m"}); got != 0 {
		t.Errorf("stable error-rate %v, want 0", got)
	}
	cp50 := f("detector", v1alpha1.BuiltinMetric{Metric: "latency-p50", Window: "5m"})
	sp50 := f("detector", v1alpha1.BuiltinMetric{Metric: "latency-p50", Revision: "stable", Window: "5m"})
	if cp50 < 80 || !(sp50 < cp50) {
		t.Errorf("latency-p50 canary %vms stable %vms; the canary sleeps 80ms", cp50, sp50)
	}
	// Labels joined through POST /v1/feedback: stable always right, canary always wrong.
	if acc := f("detector", v1alpha1.BuiltinMetric{Metric: "accuracy", Window: "5m"}); acc != 0 {
		t.Errorf("canary accuracy %v, want 0", acc)
	}
	if drop := f("detector", v1alpha1.BuiltinMetric{Metric: "accuracy-drop", Window: "5m"}); drop != 1 {
		t.Errorf("accuracy-drop %v, want 1", drop)
	}
	if psi := f("detector", v1alpha1.BuiltinMetric{Metric: "drift-psi", Window: "5m"}); psi < 0.25 {
		t.Errorf("drift-psi %v, want a major shift (> 0.25)", psi)
	}
	if ks := f("detector", v1alpha1.BuiltinMetric{Metric: "drift-ks", Window: "5m"}); ks != 1 {
		t.Errorf("drift-ks %v, want 1 (disjoint predictions)", ks)
	}
	if agr := f("shadow", v1alpha1.BuiltinMetric{Metric: "shadow-agreement", Window: "5m"}); agr != 0 {
		t.Errorf("shadow-agreement %v, want 0", agr)
	}

	// Judges: the bad canary is caught on errors, latency and (via shadow labels) accuracy;
	// the A/A pair is not.
	if v := get("detector", v1alpha1.BuiltinMetric{Metric: "judge-errors"}); v.Value != 1.0 {
		t.Errorf("judge-errors on the failing canary: %v %v", v.Value, v.Metadata)
	}
	if v := get("detector", v1alpha1.BuiltinMetric{Metric: "judge-latency", Params: map[string]string{"warmup": "50"}}); v.Value != 1.0 {
		t.Errorf("judge-latency on the slow canary: %v %v", v.Value, v.Metadata)
	}
	if v := get("shadow", v1alpha1.BuiltinMetric{Metric: "judge-accuracy"}); v.Value != 1.0 {
		t.Errorf("judge-accuracy on the wrong shadow canary: %v %v", v.Value, v.Metadata)
	}
	if v := get("aa", v1alpha1.BuiltinMetric{Metric: "judge-errors"}); v.Value != 0.0 {
		t.Errorf("judge-errors on identical revisions: %v %v", v.Value, v.Metadata)
	}

	// The same verdicts through the executor: a judge is a metric like any other.
	reg, err := analysis.NewRegistry(p)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := analysis.NewExecutor(analysis.Options{Providers: reg})
	if err != nil {
		t.Fatal(err)
	}
	judgeMetric := builtinMetric("judge-errors", v1alpha1.BuiltinMetric{Metric: "judge-errors"})
	judgeMetric.FailureCondition = "result == 1"
	for _, tc := range []struct {
		service string
		want    v1alpha1.AnalysisPhase
	}{{"detector", v1alpha1.AnalysisPhaseFailed}, {"aa", v1alpha1.AnalysisPhaseSuccessful}} {
		run, err := analysis.BuildRun(analysis.RunInput{Name: tc.service + "-run", Service: tc.service, Revision: "canary", StableRevision: "stable",
			Templates: []analysis.Template{{Name: "judge", Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{judgeMetric}}}}})
		if err != nil {
			t.Fatal(err)
		}
		// The run started with the traffic; measured now, the judge replays it all.
		started := metav1.NewTime(runStart)
		run.Status.StartedAt = &started
		exec.Reconcile(context.Background(), run, clk.Now())
		if run.Status.Phase != tc.want {
			t.Errorf("%s run: %s (%s), want %s", tc.service, run.Status.Phase, run.Status.Message, tc.want)
		}
	}
}
