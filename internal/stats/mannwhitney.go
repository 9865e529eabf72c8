package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Alternative is the direction of a fixed-sample test.
type Alternative int

const (
	// Greater: the first sample (canary) tends to be larger than the second (stable).
	Greater Alternative = iota
	// Less: the first sample tends to be smaller.
	Less
	// TwoSided: either direction.
	TwoSided
)

// MannWhitneyResult is the outcome of a Mann-Whitney U test of x against y.
type MannWhitneyResult struct {
	// U is the statistic of x: the number of (x, y) pairs with x > y, ties counting ½.
	U float64
	// Z is the normal score (continuity- and tie-corrected); 0 when Exact.
	Z float64
	// PValue for the requested alternative.
	PValue float64
	// Exact reports that the p-value comes from the exact null distribution of U (small
	// samples without ties) instead of the normal approximation.
	Exact bool
}

// exactLimit is the largest per-sample size for which the exact U distribution is used.
const exactLimit = 25

// MannWhitney compares x (canary) with y (stable), e.g. per-interval error rates as in
// Kayenta-style templates. Without ties and with both samples of at most 25 values the
// p-value is exact; otherwise it uses the normal approximation with tie correction and a
// continuity correction. NaN or infinite values and empty samples are errors.
func MannWhitney(x, y []float64, alt Alternative) (MannWhitneyResult, error) {
	if len(x) == 0 || len(y) == 0 {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: both samples need values, got %d and %d", len(x), len(y))
	}
	if err := checkFinite("mann-whitney: x", x); err != nil {
		return MannWhitneyResult{}, err
	}
	if err := checkFinite("mann-whitney: y", y); err != nil {
		return MannWhitneyResult{}, err
	}
	if alt < Greater || alt > TwoSided {
		return MannWhitneyResult{}, errors.New("mann-whitney: unknown alternative")
	}
	n1, n2 := len(x), len(y)
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	// Midranks; tieTerm = Σ (t³ - t) over tie groups.
	var rankSumX, tieTerm float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].fromX {
				rankSumX += mid
			}
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	f1, f2 := float64(n1), float64(n2)
	u := rankSumX - f1*(f1+1)/2
	res := MannWhitneyResult{U: u}
	if tieTerm == 0 && n1 <= exactLimit && n2 <= exactLimit {
		res.Exact = true
		res.PValue = exactUPValue(n1, n2, u, alt)
		return res, nil
	}
	n := f1 + f2
	mean := f1 * f2 / 2
	variance := f1 * f2 / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if variance <= 0 {
		// Every value tied: no evidence in any direction.
		res.PValue = 1
		return res, nil
	}
	sd := math.Sqrt(variance)
	switch alt {
	case Greater:
		res.Z = (u - mean - 0.5) / sd
		res.PValue = normalUpper(res.Z)
	case Less:
		res.Z = (u - mean + 0.5) / sd
		res.PValue = normalUpper(-res.Z)
	default:
		d := math.Max(math.Abs(u-mean)-0.5, 0)
		res.Z = math.Copysign(d/sd, u-mean)
		res.PValue = math.Min(1, 2*normalUpper(d/sd))
	}
	return res, nil
}

// normalUpper is P(Z > z) for a standard normal Z.
func normalUpper(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// exactUPValue computes the p-value of U = u from the exact null distribution: the number of
// arrangements of n1 x's and n2 y's with a given U follows
// c(m, n, k) = c(m-1, n, k-n) + c(m, n-1, k), all arrangements equally likely.
func exactUPValue(n1, n2 int, u float64, alt Alternative) float64 {
	maxU := n1 * n2
	// dist[n][k] for the current m, built up from m = 0.
	prev := make([][]float64, n2+1)
	for n := range prev {
		prev[n] = make([]float64, maxU+1)
		prev[n][0] = 1 // m = 0: only U = 0
	}
	for m := 1; m <= n1; m++ {
		cur := make([][]float64, n2+1)
		for n := 0; n <= n2; n++ {
			cur[n] = make([]float64, maxU+1)
			for k := 0; k <= m*n; k++ {
				var v float64
				if k-n >= 0 {
					v += prev[n][k-n] // largest value is an x: it beats all n y's
				}
				if n > 0 {
					v += cur[n-1][k] // largest value is a y
				}
				cur[n][k] = v
			}
		}
		prev = cur
	}
	dist := prev[n2]
	var total float64
	for _, c := range dist {
		total += c
	}
	k := int(math.Round(u))
	var upper, lower float64 // P(U >= k), P(U <= k)
	for i, c := range dist {
		if i >= k {
			upper += c
		}
		if i <= k {
			lower += c
		}
	}
	upper /= total
	lower /= total
	switch alt {
	case Greater:
		return upper
	case Less:
		return lower
	default:
		return math.Min(1, 2*math.Min(upper, lower))
	}
}

// MannWhitneyVerdict judges "canary worse" from interval series: with higherIsWorse the
// canary is worse when its values are significantly larger (one-sided, level alpha).
// Empty or invalid input is insufficient data, never a pass.
func MannWhitneyVerdict(canary, stable []float64, higherIsWorse bool, alpha float64) Verdict {
	n := int64(len(canary) + len(stable))
	alt := Greater
	if !higherIsWorse {
		alt = Less
	}
	r, err := MannWhitney(canary, stable, alt)
	if err != nil {
		return insufficientVerdict(n, err.Error())
	}
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	worse := r.PValue <= alpha
	bf := 1.0 // a fixed-sample p-value is not an e-value: no Bayes factor to report
	reason := fmt.Sprintf("Mann-Whitney U=%.1f p=%.4g (exact=%v)", r.U, r.PValue, r.Exact)
	// Estimate: the probability that a canary value exceeds a stable one (common-language effect).
	return decidedVerdict(worse, bf, r.PValue, r.U/float64(len(canary)*len(stable)), n, reason)
}
