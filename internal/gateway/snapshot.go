package gateway

import (
	"math"
	"time"
)

// LatencyBounds are the upper bounds, in seconds, of the latency histogram buckets used by
// the recorder and by shipsafe_request_duration_seconds. The last recorder bucket counts
// everything above the final bound.
var latencyBounds = [...]float64{
	0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
	0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60,
}

// LatencyBounds returns a copy of the latency histogram's bucket upper bounds (seconds).
func LatencyBounds() []float64 { return append([]float64(nil), latencyBounds[:]...) }

// ProbabilityBins is the number of equal-width bins over [0,1] in which predicted
// probabilities are counted (bin i holds [i/N, (i+1)/N), the last bin includes 1).
const ProbabilityBins = 50

// RevisionSnapshot is what one revision did in a time window. Counts are sums over the
// recorder buckets whose start lies in [From, To].
type RevisionSnapshot struct {
	Service  string
	Revision string
	From, To time.Time

	// Requests proxied to this revision (including those answered with an error).
	Requests uint64
	// StatusClass[k] counts responses with status k×100..k×100+99 (k = 1..5); [0] counts
	// requests that got no upstream answer (connection errors, timeouts, circuit open).
	StatusClass [6]uint64
	// Timeouts and ConnectionErrors count upstream failures after retries; Retries counts
	// retry attempts; CircuitOpen counts requests refused by MaxInFlight.
	Timeouts         uint64
	ConnectionErrors uint64
	Retries          uint64
	CircuitOpen      uint64
	// InFlight is the number of requests in progress now (not windowed).
	InFlight int64
	// Latency of answered requests.
	Latency LatencyHistogram

	// Predictions counts OIP answers by predicted label (index 0 and 1); PredictionsOther
	// counts answers whose label was not 0/1 or could not be read.
	Predictions      [2]uint64
	PredictionsOther uint64
	// Probability is the histogram of predicted probabilities (for PSI / KS drift).
	Probability ProbabilityHistogram
	// Confusion holds ground-truth labels joined to this revision's predictions, by the
	// time the label arrived.
	Confusion ConfusionMatrix
	// Mirror holds comparisons where this revision was the mirror (shadow) target and both
	// it and the serving revision answered.
	Mirror MirrorStats
	// Fallbacks counts requests that were routed away from this revision because it had
	// no ready endpoint (flag selection fallback chain).
	Fallbacks uint64
}

// ErrorRate is the share of requests that got a 5xx or no answer; 0 when there were none.
func (s RevisionSnapshot) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.StatusClass[5]+s.StatusClass[0]) / float64(s.Requests)
}

// LatencyHistogram counts latencies: Counts[i] for i < len(Bounds) holds values <=
// Bounds[i] (and above the previous bound); the last element holds the rest.
type LatencyHistogram struct {
	Bounds []float64
	Counts []uint64
}

// Total is the number of observations.
func (h LatencyHistogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0..1) in seconds by linear interpolation inside the
// bucket; NaN when empty. Values in the overflow bucket report the last bound.
func (h LatencyHistogram) Quantile(q float64) float64 {
	total := h.Total()
	if total == 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := q * float64(total)
	var cum float64
	for i, c := range h.Counts {
		next := cum + float64(c)
		if next >= rank && c > 0 {
			if i >= len(h.Bounds) {
				return h.Bounds[len(h.Bounds)-1]
			}
			lo := 0.0
			if i > 0 {
				lo = h.Bounds[i-1]
			}
			return lo + (h.Bounds[i]-lo)*(rank-cum)/float64(c)
		}
		cum = next
	}
	return h.Bounds[len(h.Bounds)-1]
}

// ProbabilityHistogram counts predicted probabilities in ProbabilityBins equal bins.
type ProbabilityHistogram struct {
	Counts [ProbabilityBins]uint64
}

// Total is the number of probabilities counted.
func (h ProbabilityHistogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// BinEdges returns the ProbabilityBins+1 bin edges from 0 to 1.
func (ProbabilityHistogram) BinEdges() []float64 {
	out := make([]float64, ProbabilityBins+1)
	for i := range out {
		out[i] = float64(i) / ProbabilityBins
	}
	return out
}

func probabilityBin(p float64) int {
	if !(p > 0) { // also catches NaN
		return 0
	}
	b := int(p * ProbabilityBins)
	if b >= ProbabilityBins {
		b = ProbabilityBins - 1
	}
	return b
}

// ConfusionMatrix of binary predictions against joined ground truth (1 = pneumonia).
type ConfusionMatrix struct {
	TruePositive, FalsePositive, TrueNegative, FalseNegative uint64
}

// Total is the number of joined labels.
func (c ConfusionMatrix) Total() uint64 {
	return c.TruePositive + c.FalsePositive + c.TrueNegative + c.FalseNegative
}

// Accuracy is the share of correct predictions; NaN when no label joined.
func (c ConfusionMatrix) Accuracy() float64 {
	t := c.Total()
	if t == 0 {
		return math.NaN()
	}
	return float64(c.TruePositive+c.TrueNegative) / float64(t)
}

// MirrorStats compares a mirror (candidate) revision with the revision that served the
// same request. Compared = Agreed + Disagreed (both answered with a readable label). The
// labelled counts feed a sequential McNemar test: only discordant pairs matter.
type MirrorStats struct {
	Sent      uint64 // mirrored copies sent to this revision
	Dropped   uint64 // copies not sent because too many mirrors were in flight
	Failed    uint64 // copies that got no answer or a non-2xx answer
	Compared  uint64
	Agreed    uint64
	Disagreed uint64
	// Over requests whose ground truth later joined:
	ServedRightMirrorWrong uint64 // stable right, canary wrong
	ServedWrongMirrorRight uint64 // stable wrong, canary right
	BothRight              uint64
	BothWrong              uint64
}

// FeedbackStats counts POST /v1/feedback outcomes for the whole gateway.
type FeedbackStats struct {
	Joined    uint64 // labels joined to a remembered prediction
	Unknown   uint64 // ids never seen, or evicted for space
	Expired   uint64 // ids seen but older than the prediction TTL
	Duplicate uint64 // a label for an id that already had one (ignored)
	Invalid   uint64 // malformed feedback bodies
	// Conflict: a label that differs from the one already joined; both are dropped (the
	// first taken back out of the counts) and the id takes no more labels.
	Conflict uint64
	// Unauthorized: feedback requests without a valid token (refused whole, 401).
	Unauthorized uint64
	// DisputedIDs: ids seen again with another answer (or labelled in conflict); they
	// take no label.
	DisputedIDs uint64
}
