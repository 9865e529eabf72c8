package stats

import (
	"fmt"
	"math"
)

// Log-spaced buckets cover 1e-6 … ~1e6 (seconds or milliseconds alike) with 2% relative width;
// values outside fall in the first or last bucket. Fixed buckets keep memory constant and
// make two arms' empirical CDFs comparable at the same points.
const (
	histMin     = 1e-6
	histGrowth  = 1.02
	histBuckets = 1400 // histMin·1.02^1400 ≈ 1e6
)

// logHistogram is a fixed log-bucketed histogram of nonnegative values.
type logHistogram struct {
	counts [histBuckets]int64
	total  int64
}

var logHistGrowth = math.Log(histGrowth)

// bucket returns the bucket index of v (v must not be NaN).
func bucketOf(v float64) int {
	if v <= histMin {
		return 0
	}
	b := int(math.Log(v/histMin)/logHistGrowth) + 1
	return min(b, histBuckets-1)
}

// upperEdge is the largest value that falls in bucket b.
func upperEdge(b int) float64 {
	if b >= histBuckets-1 {
		return math.Inf(1)
	}
	return histMin * math.Pow(histGrowth, float64(b))
}

// checkSamples rejects NaN, Inf and negative samples, naming the offending index.
func checkSamples(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return fmt.Errorf("%s[%d] must be a finite number >= 0, got %v", name, i, x)
		}
	}
	return nil
}

func (h *logHistogram) add(v []float64) {
	for _, x := range v {
		h.counts[bucketOf(x)]++
	}
	h.total += int64(len(v))
}

// quantile returns the upper edge of the bucket holding the q-quantile (NaN when empty).
func (h *logHistogram) quantile(q float64) float64 {
	if h.total == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var cum int64
	for b, c := range h.counts {
		cum += c
		if cum >= rank {
			return upperEdge(b)
		}
	}
	return math.Inf(1)
}

// checkFinite rejects NaN and infinite values, naming the offending index.
func checkFinite(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] must be finite, got %v", name, i, x)
		}
	}
	return nil
}
