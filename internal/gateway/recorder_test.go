package gateway

import (
	"math"
	"testing"
	"time"
)

func TestRecorderWindowsAndExpiry(t *testing.T) {
	clk := newFakeClock()
	r := newRecorder(clk, time.Second, 60)
	rr := r.revision("detector", "canary")
	for i := 0; i < 10; i++ {
		rr.recordRequest(clk.Now(), 200, 3*time.Millisecond, outcomeAnswered, 0)
	}
	rr.recordRequest(clk.Now(), 503, 50*time.Millisecond, outcomeAnswered, 1)
	rr.recordRequest(clk.Now(), 0, 0, outcomeTimeout, 0)
	rr.recordRequest(clk.Now(), 0, 0, outcomeConnError, 2)
	rr.recordPrediction(clk.Now(), prediction{label: 1, hasLabel: true, prob: 0.9, hasProb: true})
	rr.recordPrediction(clk.Now(), prediction{label: 0, hasLabel: true, prob: 0.1, hasProb: true})

	clk.Advance(10 * time.Second)
	rr.recordRequest(clk.Now(), 200, 3*time.Millisecond, outcomeAnswered, 0)

	all := r.Window("detector", "canary", time.Minute)
	if all.Requests != 14 || all.StatusClass[2] != 11 || all.StatusClass[5] != 1 || all.StatusClass[0] != 2 {
		t.Errorf("window: %+v", all)
	}
	if all.Timeouts != 1 || all.ConnectionErrors != 1 || all.Retries != 3 {
		t.Errorf("timeouts %d conn %d retries %d", all.Timeouts, all.ConnectionErrors, all.Retries)
	}
	if all.Predictions != [2]uint64{1, 1} || all.Probability.Total() != 2 || all.Probability.Counts[45] != 1 || all.Probability.Counts[5] != 1 {
		t.Errorf("predictions %v probability %v", all.Predictions, all.Probability.Counts)
	}
	if got := all.ErrorRate(); math.Abs(got-3.0/14) > 1e-9 {
		t.Errorf("error rate %v", got)
	}
	if recent := r.Window("detector", "canary", 5*time.Second); recent.Requests != 1 {
		t.Errorf("last 5s: %d requests, want 1", recent.Requests)
	}
	// After the ring wraps, old buckets are gone.
	clk.Advance(2 * time.Minute)
	if old := r.Snapshot("detector", "canary", clk.Now().Add(-time.Hour)); old.Requests != 0 {
		t.Errorf("expired buckets still counted: %d", old.Requests)
	}
	if none := r.Window("detector", "nope", time.Hour); none.Requests != 0 || len(none.Latency.Counts) != len(latencyBounds)+1 {
		t.Errorf("unknown revision snapshot: %+v", none)
	}
}

func TestLatencyQuantile(t *testing.T) {
	clk := newFakeClock()
	r := newRecorder(clk, time.Second, 10)
	rr := r.revision("s", "r")
	for i := 0; i < 99; i++ {
		rr.recordRequest(clk.Now(), 200, 4*time.Millisecond, outcomeAnswered, 0) // bucket (3ms, 5ms]
	}
	rr.recordRequest(clk.Now(), 200, 800*time.Millisecond, outcomeAnswered, 0) // (0.75, 1]
	h := r.Window("s", "r", time.Minute).Latency
	if p50 := h.Quantile(0.5); p50 <= 0.003 || p50 > 0.005 {
		t.Errorf("p50 = %v", p50)
	}
	if p100 := h.Quantile(1); p100 <= 0.75 || p100 > 1 {
		t.Errorf("p100 = %v", p100)
	}
	if !math.IsNaN((LatencyHistogram{Bounds: LatencyBounds(), Counts: make([]uint64, 27)}).Quantile(0.5)) {
		t.Error("empty histogram quantile should be NaN")
	}
}

func TestLatencyIndexMatchesBounds(t *testing.T) {
	for i, b := range latencyBounds {
		if got := latencyIndex(b); got != i {
			t.Errorf("latencyIndex(%v) = %d, want %d", b, got, i)
		}
	}
	if got := latencyIndex(1000); got != len(latencyBounds) {
		t.Errorf("overflow index %d", got)
	}
}

func TestRemovedRevisionsArePrunedAfterTheirHistoryAgesOut(t *testing.T) {
	clk := newFakeClock()
	g := New(Config{Clock: clk, RecordBuckets: 60}, nil)
	defer g.Close()
	if err := g.SetRoutes(split(90, 10)); err != nil {
		t.Fatal(err)
	}
	g.rec.revision("detector", "canary").recordRequest(clk.Now(), 200, time.Millisecond, outcomeAnswered, 0)
	if err := g.SetRoutes(split(100, 0)); err != nil { // canary still listed (weight 0)
		t.Fatal(err)
	}
	only := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps("127.0.0.1:8081")})
	if err := g.SetRoutes(only); err != nil {
		t.Fatal(err)
	}
	if n := len(g.Recorder().Revisions()); n != 2 {
		t.Fatalf("canary pruned while its history is still readable (%d revisions)", n)
	}
	clk.Advance(2 * time.Minute)
	if err := g.SetRoutes(only); err != nil {
		t.Fatal(err)
	}
	if got := g.Recorder().Revisions(); len(got) != 1 || got[0][1] != "stable" {
		t.Errorf("after aging out: %v", got)
	}
}
