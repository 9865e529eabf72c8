package e2e

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/loadgen"
)

// traffic sends labelled inference requests through the gateway at a steady rate until
// stopped, in back-to-back loadgen runs (each run finishes its in-flight requests before it
// returns, so stopping never cancels a request). It also records when each successful
// answer arrived, so a test can show traffic never stalled.
type traffic struct {
	t      *testing.T
	start  time.Time
	stopCh chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	requests int
	errors   int
	runs     int
	byVer    map[string]int
	lastOK   time.Time
	maxGap   time.Duration
	gapAt    time.Time
	maxP99   time.Duration
	slow     []slowRequest
	firstErr []string
}

// trafficSummary is what a traffic run did.
type trafficSummary struct {
	Requests int
	Errors   int
	// MaxGap is the longest time between two successful answers.
	MaxGap time.Duration
	// GapAt is when the longest gap ended.
	GapAt     time.Time
	ByVersion map[string]int
	Elapsed   time.Duration
	// MaxP99 is the highest per-run, per-version p99 latency.
	MaxP99 time.Duration
	// Slowest are the five slowest requests over 500ms.
	Slowest []slowRequest
}

// okRecorder wraps the transport and notes every 200 answer.
type okRecorder struct {
	base http.RoundTripper
	tr   *traffic
}

func (o okRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := o.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK {
		o.tr.noteOK(time.Now())
	}
	o.tr.noteSlow(sent, time.Since(sent))
	return resp, err
}

// slowRequest is one request that took long (headers received after Took).
type slowRequest struct {
	At   time.Duration // since the traffic started
	Took time.Duration
}

// noteSlow keeps the slowest requests, so a stall can be lined up with what happened.
func (tr *traffic) noteSlow(sent time.Time, took time.Duration) {
	if took < 500*time.Millisecond {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.slow = append(tr.slow, slowRequest{At: sent.Sub(tr.start), Took: took})
	slices.SortFunc(tr.slow, func(a, b slowRequest) int { return cmp.Compare(b.Took, a.Took) })
	if len(tr.slow) > 5 {
		tr.slow = tr.slow[:5]
	}
}

func (tr *traffic) noteOK(at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !tr.lastOK.IsZero() {
		if gap := at.Sub(tr.lastOK); gap > tr.maxGap {
			tr.maxGap, tr.gapAt = gap, at
		}
	}
	if at.After(tr.lastOK) {
		tr.lastOK = at
	}
}

// startTraffic sends rate req/s to the gateway service svc until stop is called or ctx ends.
func startTraffic(ctx context.Context, t *testing.T, gateway, svc string, rate float64) *traffic {
	t.Helper()
	tr := &traffic{t: t, start: time.Now(), stopCh: make(chan struct{}), done: make(chan struct{}), byVer: map[string]int{}}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns, base.MaxIdleConnsPerHost = 64, 64
	client := &http.Client{Transport: okRecorder{base: base, tr: tr}}
	go func() {
		defer close(tr.done)
		defer base.CloseIdleConnections()
		for {
			select {
			case <-tr.stopCh:
				return
			case <-ctx.Done():
				return
			default:
			}
			rep, err := loadgen.Run(ctx, loadgen.Config{
				URL: "http://" + gateway + "/svc/" + svc, Rate: rate, Concurrency: 16,
				Duration: 2 * time.Second, Client: client, Timeout: 10 * time.Second,
			})
			if rep == nil {
				tr.mu.Lock()
				tr.firstErr = append(tr.firstErr, err.Error())
				tr.mu.Unlock()
				return
			}
			tr.mu.Lock()
			tr.runs++
			tr.requests += rep.Requests
			tr.errors += rep.Errors
			for v, vr := range rep.ByVersion {
				tr.byVer[v] += vr.Requests
				tr.maxP99 = max(tr.maxP99, vr.P99)
			}
			tr.mu.Unlock()
		}
	}()
	t.Cleanup(func() { tr.stop() })
	return tr
}

// stop ends the traffic (after the run in flight) and returns what it did.
func (tr *traffic) stop() trafficSummary {
	select {
	case <-tr.stopCh:
	default:
		close(tr.stopCh)
	}
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, e := range tr.firstErr {
		tr.t.Errorf("traffic: %s", e)
	}
	tr.firstErr = nil
	s := trafficSummary{Requests: tr.requests, Errors: tr.errors, MaxGap: tr.maxGap, GapAt: tr.gapAt, ByVersion: map[string]int{}, Elapsed: time.Since(tr.start), MaxP99: tr.maxP99, Slowest: slices.Clone(tr.slow)}
	for v, n := range tr.byVer {
		s.ByVersion[v] = n
	}
	return s
}

// snapshot returns the counts so far without stopping.
func (tr *traffic) snapshot() (requests, errors int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.requests, tr.errors
}
