package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCircuitBreakerAndRateLimit(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered.Done()
			<-release
		}
		fmt.Fprint(w, "ok")
	}))
	clk := newFakeClock()
	tbl := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(slow.addr)})
	svc := tbl.Services["detector"]
	svc.Limits = Limits{MaxInFlight: 2, RateLimit: &RateLimit{RequestsPerSecond: 1, Burst: 4}, MaxBodyBytes: 10}
	tbl.Services["detector"] = svc
	g := New(Config{Clock: clk}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()

	entered.Add(2)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(base + "/slow")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	entered.Wait()
	start := time.Now()
	resp, err := c.Get(base + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || time.Since(start) > time.Second {
		t.Errorf("third concurrent request: %d after %v, want fast 503", resp.StatusCode, time.Since(start))
	}
	close(release)
	wg.Wait()
	// Four tokens were burst: two slow + one refused by the breaker; one left.
	if resp, _ := c.Get(base + "/fast"); resp.StatusCode != 200 {
		t.Errorf("within burst: %d", resp.StatusCode)
	}
	resp, err = c.Get(base + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the rate: %d Retry-After %q, want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.Advance(time.Second)
	if resp, _ := c.Post(base+"/fast", "text/plain", strings.NewReader("way more than ten bytes")); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("large body: %d, want 413", resp.StatusCode)
	}
	if s := g.Recorder().Window("detector", "stable", time.Minute); s.CircuitOpen != 1 {
		t.Errorf("circuit open count %d", s.CircuitOpen)
	}
}

func TestDrainLetsInFlightRequestFinish(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	be := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		fmt.Fprint(w, "done")
	}))
	g := New(Config{DrainTimeout: 5 * time.Second}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "a", Weight: 1, Endpoints: eps(be.addr)})); err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		resp, err := testClient().Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request during drain got %q", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after drain")
	}
}

func TestUpstreamTimeoutGives504AndIsRecorded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	tbl := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(slow.addr)})
	svc := tbl.Services["detector"]
	svc.Limits.Timeout = Duration(150 * time.Millisecond)
	tbl.Services["detector"] = svc
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	start := time.Now()
	resp, err := testClient().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || time.Since(start) > 3*time.Second {
		t.Errorf("got %d after %v, want 504 after ~150ms", resp.StatusCode, time.Since(start))
	}
	if s := g.Recorder().Window("detector", "stable", time.Minute); s.Timeouts != 1 || s.StatusClass[0] != 1 {
		t.Errorf("timeouts %d, no-answer %d", s.Timeouts, s.StatusClass[0])
	}
}

func TestActiveReadinessCheckTakesEndpointOut(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	mk := func(name string, gate *atomic.Bool) *testBackend {
		return startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/health/ready" {
				if gate != nil && !gate.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
				return
			}
			fmt.Fprint(w, name)
		}))
	}
	flaky, steady := mk("flaky", &ready), mk("steady", nil)
	tbl := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(flaky.addr, steady.addr)})
	svc := tbl.Services["detector"]
	svc.HealthCheck = &HealthCheck{Interval: Duration(20 * time.Millisecond), UnhealthyThreshold: 2}
	tbl.Services["detector"] = svc
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	ready.Store(false)
	ep := g.endpoints[flaky.addr]
	deadline := time.Now().Add(5 * time.Second)
	for ep.healthy.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ep.healthy.Load() {
		t.Fatal("endpoint failing its readiness check still marked healthy")
	}
	c := testClient()
	for i := 0; i < 20; i++ {
		resp, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "steady" {
			t.Fatalf("request went to %q while it was not ready", b)
		}
	}
	ready.Store(true)
	for !ep.healthy.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !ep.healthy.Load() {
		t.Error("endpoint did not come back after passing its readiness check")
	}
}
