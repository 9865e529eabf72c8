package builtin

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// fakeSource is a recorder stand-in with 1s buckets and a settable clock, for unit tests.
// It keeps cumulative sums per second so a Snapshot costs O(1) buckets however long the
// stream. The real recorder is exercised in gateway_e2e_test.go.
type fakeSource struct {
	mu   sync.Mutex
	now  time.Time
	revs map[[2]string]*fakeRev
}

// fakeRev holds, per recorded second (ascending), the cumulative sum up to that second.
type fakeRev struct {
	secs []int64
	cum  []gateway.RevisionSnapshot
}

func newFakeSource(now time.Time) *fakeSource {
	return &fakeSource{now: now, revs: map[[2]string]*fakeRev{}}
}

func (f *fakeSource) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeSource) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func emptySnap() gateway.RevisionSnapshot {
	return gateway.RevisionSnapshot{Latency: gateway.LatencyHistogram{Bounds: gateway.LatencyBounds(), Counts: make([]uint64, len(gateway.LatencyBounds())+1)}}
}

// add records into the current second of service/revision through edit, which sees a
// zero snapshot and fills in what happened.
func (f *fakeSource) add(service, revision string, edit func(s *gateway.RevisionSnapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{service, revision}
	r := f.revs[k]
	if r == nil {
		r = &fakeRev{}
		f.revs[k] = r
	}
	sec := f.now.Unix()
	if n := len(r.secs); n == 0 || r.secs[n-1] != sec {
		next := emptySnap()
		if n > 0 {
			combine(&next, r.cum[n-1], false)
		}
		r.secs = append(r.secs, sec)
		r.cum = append(r.cum, next)
	}
	delta := emptySnap()
	edit(&delta)
	combine(&r.cum[len(r.cum)-1], delta, false)
}

// requests records n requests with errs errors, all answered in latency lat.
func (f *fakeSource) requests(service, revision string, n, errs uint64, lat time.Duration) {
	f.add(service, revision, func(s *gateway.RevisionSnapshot) {
		s.Requests += n
		s.StatusClass[2] += n - errs
		s.StatusClass[5] += errs
		idx := len(s.Latency.Bounds)
		for i, b := range s.Latency.Bounds {
			if lat.Seconds() <= b {
				idx = i
				break
			}
		}
		s.Latency.Counts[idx] += n
	})
}

// combine adds src into dst (or subtracts it when minus).
func combine(dst *gateway.RevisionSnapshot, src gateway.RevisionSnapshot, minus bool) {
	op := func(a *uint64, b uint64) {
		if minus {
			*a -= b
		} else {
			*a += b
		}
	}
	op(&dst.Requests, src.Requests)
	for i := range src.StatusClass {
		op(&dst.StatusClass[i], src.StatusClass[i])
	}
	for i := range src.Latency.Counts {
		op(&dst.Latency.Counts[i], src.Latency.Counts[i])
	}
	for i := range src.Probability.Counts {
		op(&dst.Probability.Counts[i], src.Probability.Counts[i])
	}
	c, sc := &dst.Confusion, src.Confusion
	op(&c.TruePositive, sc.TruePositive)
	op(&c.TrueNegative, sc.TrueNegative)
	op(&c.FalsePositive, sc.FalsePositive)
	op(&c.FalseNegative, sc.FalseNegative)
	m, sm := &dst.Mirror, src.Mirror
	for _, pair := range [][2]*uint64{{&m.Sent, &sm.Sent}, {&m.Compared, &sm.Compared}, {&m.Agreed, &sm.Agreed},
		{&m.Disagreed, &sm.Disagreed}, {&m.ServedRightMirrorWrong, &sm.ServedRightMirrorWrong},
		{&m.ServedWrongMirrorRight, &sm.ServedWrongMirrorRight}, {&m.BothRight, &sm.BothRight}, {&m.BothWrong, &sm.BothWrong}} {
		op(pair[0], *pair[1])
	}
}

// Snapshot sums the seconds in [since, now], like the recorder at 1s buckets.
func (f *fakeSource) Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := emptySnap()
	out.Service, out.Revision, out.From, out.To = service, revision, since, f.now
	r := f.revs[[2]string{service, revision}]
	if r == nil || len(r.secs) == 0 {
		return out
	}
	last := sort.Search(len(r.secs), func(i int) bool { return r.secs[i] > f.now.Unix() }) - 1
	first := sort.Search(len(r.secs), func(i int) bool { return r.secs[i] >= since.Unix() })
	if last < first {
		return out
	}
	combine(&out, r.cum[last], false)
	if first > 0 {
		combine(&out, r.cum[first-1], true)
	}
	return out
}

// runCtx is the context the executor gives a measurement of a run started at start.
func runCtx(start time.Time) context.Context {
	return analysis.WithRunInfo(context.Background(), analysis.RunInfo{
		Name: "run", StartedAt: start,
		Labels: map[string]string{analysis.LabelService: "detector", analysis.LabelRevision: "canary", analysis.LabelStableRevision: "stable"},
	})
}
