package gateway

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder keeps, per service and revision, a ring of fixed-width time buckets with what
// that revision did. Memory per revision is bounded by Config.RecordBuckets; older buckets
// are overwritten. Its methods are safe for concurrent use.
type Recorder struct {
	clock   Clock
	width   int64 // bucket width in nanoseconds
	buckets int

	mu   sync.RWMutex
	revs map[revisionKey]*revisionRecorder

	feedbackResults                                    [feedbackResultCount]atomic.Uint64
	feedbackInvalid, feedbackUnauthorized, disputedIDs atomic.Uint64
}

type revisionKey struct{ service, revision string }

// revisionRecorder is one revision's ring. The hot path holds a pointer to it (resolved
// when a route table is compiled), so recording needs no map lookup.
type revisionRecorder struct {
	key      revisionKey
	inFlight atomic.Int64

	mu   sync.Mutex
	ring []bucket
	rec  *Recorder
}

type bucket struct {
	index int64 // absolute bucket number (unix nanos / width); identifies stale slots
	c     counts
}

// counts is everything one bucket holds.
type counts struct {
	requests, timeouts, connErrors, retries, circuitOpen, fallbacks uint64
	status                                                          [6]uint64
	latency                                                         [len(latencyBounds) + 1]uint64
	predictions                                                     [2]uint64
	predictionsOther                                                uint64
	probability                                                     [ProbabilityBins]uint64
	confusion                                                       ConfusionMatrix
	mirror                                                          MirrorStats
}

func newRecorder(clock Clock, width time.Duration, n int) *Recorder {
	return &Recorder{clock: clock, width: int64(width), buckets: n, revs: map[revisionKey]*revisionRecorder{}}
}

// revision returns (creating if needed) the ring for service/revision.
func (r *Recorder) revision(service, revision string) *revisionRecorder {
	k := revisionKey{service, revision}
	r.mu.RLock()
	rr := r.revs[k]
	r.mu.RUnlock()
	if rr != nil {
		return rr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if rr = r.revs[k]; rr == nil {
		rr = &revisionRecorder{key: k, ring: make([]bucket, r.buckets), rec: r}
		for i := range rr.ring {
			rr.ring[i].index = -1
		}
		r.revs[k] = rr
	}
	return rr
}

// Revisions lists the service/revision pairs that have recorded anything, sorted.
func (r *Recorder) Revisions() [][2]string {
	r.mu.RLock()
	out := make([][2]string, 0, len(r.revs))
	for k := range r.revs {
		out = append(out, [2]string{k.service, k.revision})
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

// Snapshot sums what service/revision did from since until now (bucket granularity;
// limited to the kept history). A revision never seen returns a zero snapshot.
func (r *Recorder) Snapshot(service, revision string, since time.Time) RevisionSnapshot {
	now := r.clock.Now()
	snap := RevisionSnapshot{Service: service, Revision: revision, From: since, To: now}
	snap.Latency.Bounds = LatencyBounds()
	snap.Latency.Counts = make([]uint64, len(latencyBounds)+1)
	r.mu.RLock()
	rr := r.revs[revisionKey{service, revision}]
	r.mu.RUnlock()
	if rr == nil {
		return snap
	}
	snap.InFlight = rr.inFlight.Load()
	lo, hi := since.UnixNano()/r.width, now.UnixNano()/r.width
	if oldest := hi - int64(r.buckets) + 1; lo < oldest {
		lo = oldest
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for i := range rr.ring {
		b := &rr.ring[i]
		if b.index < lo || b.index > hi {
			continue
		}
		addCounts(&snap, &b.c)
	}
	return snap
}

// Window is Snapshot over the last d.
func (r *Recorder) Window(service, revision string, d time.Duration) RevisionSnapshot {
	return r.Snapshot(service, revision, r.clock.Now().Add(-d))
}

// pruneIdle drops the rings of revisions not in keep whose newest bucket is older than
// the kept history (nothing left to report), and returns their keys.
func (r *Recorder) pruneIdle(keep map[revisionKey]bool) []revisionKey {
	oldest := r.clock.Now().UnixNano()/r.width - int64(r.buckets)
	r.mu.Lock()
	defer r.mu.Unlock()
	var dropped []revisionKey
	for k, rr := range r.revs {
		if keep[k] || rr.inFlight.Load() != 0 {
			continue
		}
		rr.mu.Lock()
		newest := int64(-1)
		for i := range rr.ring {
			newest = max(newest, rr.ring[i].index)
		}
		rr.mu.Unlock()
		if newest < oldest {
			delete(r.revs, k)
			dropped = append(dropped, k)
		}
	}
	return dropped
}

// Feedback returns the gateway-wide feedback outcome counts since start.
func (r *Recorder) Feedback() FeedbackStats {
	return FeedbackStats{
		Joined:       r.feedbackResults[feedbackJoined].Load(),
		Unknown:      r.feedbackResults[feedbackUnknown].Load(),
		Expired:      r.feedbackResults[feedbackExpired].Load(),
		Duplicate:    r.feedbackResults[feedbackDuplicate].Load(),
		Conflict:     r.feedbackResults[feedbackConflict].Load(),
		Invalid:      r.feedbackInvalid.Load(),
		Unauthorized: r.feedbackUnauthorized.Load(),
		DisputedIDs:  r.disputedIDs.Load(),
	}
}

func addCounts(s *RevisionSnapshot, c *counts) {
	s.Requests += c.requests
	s.Timeouts += c.timeouts
	s.ConnectionErrors += c.connErrors
	s.Retries += c.retries
	s.CircuitOpen += c.circuitOpen
	s.Fallbacks += c.fallbacks
	for i, v := range c.status {
		s.StatusClass[i] += v
	}
	for i, v := range c.latency {
		s.Latency.Counts[i] += v
	}
	s.Predictions[0] += c.predictions[0]
	s.Predictions[1] += c.predictions[1]
	s.PredictionsOther += c.predictionsOther
	for i, v := range c.probability {
		s.Probability.Counts[i] += v
	}
	s.Confusion.TruePositive += c.confusion.TruePositive
	s.Confusion.FalsePositive += c.confusion.FalsePositive
	s.Confusion.TrueNegative += c.confusion.TrueNegative
	s.Confusion.FalseNegative += c.confusion.FalseNegative
	m, o := &s.Mirror, &c.mirror
	m.Sent += o.Sent
	m.Dropped += o.Dropped
	m.Failed += o.Failed
	m.Compared += o.Compared
	m.Agreed += o.Agreed
	m.Disagreed += o.Disagreed
	m.ServedRightMirrorWrong += o.ServedRightMirrorWrong
	m.ServedWrongMirrorRight += o.ServedWrongMirrorRight
	m.BothRight += o.BothRight
	m.BothWrong += o.BothWrong
}

// at locks the ring and returns the bucket for now, resetting a stale slot. The caller
// must unlock rr.mu.
func (rr *revisionRecorder) at(now time.Time) *counts {
	idx := now.UnixNano() / rr.rec.width
	rr.mu.Lock()
	b := &rr.ring[int(idx%int64(len(rr.ring)))]
	if b.index != idx {
		b.index = idx
		b.c = counts{}
	}
	return &b.c
}

// outcome is how one proxied request ended.
type outcome uint8

const (
	outcomeAnswered outcome = iota
	outcomeTimeout
	outcomeConnError
	outcomeCircuitOpen
)

// recordRequest records one request's end. status is the HTTP status sent to the client.
func (rr *revisionRecorder) recordRequest(now time.Time, status int, latency time.Duration, how outcome, retries int) {
	c := rr.at(now)
	c.requests++
	c.retries += uint64(retries)
	switch how {
	case outcomeAnswered:
		cls := status / 100
		if cls < 1 || cls > 5 {
			cls = 0
		}
		c.status[cls]++
		c.latency[latencyIndex(latency.Seconds())]++
	case outcomeTimeout:
		c.status[0]++
		c.timeouts++
	case outcomeConnError:
		c.status[0]++
		c.connErrors++
	case outcomeCircuitOpen:
		c.status[0]++
		c.circuitOpen++
	}
	rr.mu.Unlock()
}

// recordPrediction counts one readable OIP answer.
func (rr *revisionRecorder) recordPrediction(now time.Time, p prediction) {
	c := rr.at(now)
	switch {
	case p.hasLabel && (p.label == 0 || p.label == 1):
		c.predictions[p.label]++
	default:
		c.predictionsOther++
	}
	if p.hasProb {
		c.probability[probabilityBin(p.prob)]++
	}
	rr.mu.Unlock()
}

// recordLabel adds delta (1, or -1 to take a label back) to the confusion-matrix cell of
// one ground-truth label, in the bucket of at. A retraction whose bucket has left the
// ring changes nothing (that history is gone).
func (rr *revisionRecorder) recordLabel(at time.Time, predicted, actual int64, delta int) {
	c := rr.bucketFor(at, delta < 0)
	if c == nil {
		return
	}
	var cell *uint64
	switch {
	case actual == 1 && predicted == 1:
		cell = &c.confusion.TruePositive
	case actual == 0 && predicted == 1:
		cell = &c.confusion.FalsePositive
	case actual == 0 && predicted == 0:
		cell = &c.confusion.TrueNegative
	case actual == 1 && predicted == 0:
		cell = &c.confusion.FalseNegative
	}
	addCount(cell, delta)
	rr.mu.Unlock()
}

// recordPair adds delta to the paired (served, mirror) outcome of one label, for McNemar.
func (rr *revisionRecorder) recordPair(at time.Time, servedRight, mirrorRight bool, delta int) {
	c := rr.bucketFor(at, delta < 0)
	if c == nil {
		return
	}
	m := &c.mirror
	switch {
	case servedRight && mirrorRight:
		addCount(&m.BothRight, delta)
	case servedRight:
		addCount(&m.ServedRightMirrorWrong, delta)
	case mirrorRight:
		addCount(&m.ServedWrongMirrorRight, delta)
	default:
		addCount(&m.BothWrong, delta)
	}
	rr.mu.Unlock()
}

// bucketFor is at(t), or, when existingOnly, the bucket only if it still holds t's slot
// (nil, unlocked, otherwise).
func (rr *revisionRecorder) bucketFor(t time.Time, existingOnly bool) *counts {
	if !existingOnly {
		return rr.at(t)
	}
	idx := t.UnixNano() / rr.rec.width
	rr.mu.Lock()
	b := &rr.ring[int(idx%int64(len(rr.ring)))]
	if b.index != idx {
		rr.mu.Unlock()
		return nil
	}
	return &b.c
}

func addCount(cell *uint64, delta int) {
	switch {
	case cell == nil:
	case delta >= 0:
		*cell += uint64(delta)
	case *cell >= uint64(-delta):
		*cell -= uint64(-delta)
	}
}

// recordMirror updates this (mirror target) revision's comparison counts with f.
func (rr *revisionRecorder) recordMirror(now time.Time, f func(m *MirrorStats)) {
	c := rr.at(now)
	f(&c.mirror)
	rr.mu.Unlock()
}

func (rr *revisionRecorder) recordFallback(now time.Time) {
	c := rr.at(now)
	c.fallbacks++
	rr.mu.Unlock()
}

func latencyIndex(sec float64) int {
	// Binary search over a small fixed array; cheaper than sort.SearchFloat64s' closure.
	lo, hi := 0, len(latencyBounds)
	for lo < hi {
		m := (lo + hi) / 2
		if sec <= latencyBounds[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
