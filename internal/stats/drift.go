package stats

import (
	"fmt"
	"math"
	"slices"
)

// psiFloor replaces empty-bin proportions so that PSI stays finite (a common convention).
const psiFloor = 1e-4

// PSI is the population stability index between the expected (stable) and actual (canary)
// distributions of predicted probabilities in [0, 1], over `bins` equal-width bins:
// Σ (a_i − e_i) · ln(a_i / e_i), with empty-bin proportions floored at 1e-4. Rules of thumb:
// < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift. Values outside [0, 1], NaN and
// empty samples are errors.
func PSI(expected, actual []float64, bins int) (float64, error) {
	if bins < 1 {
		return 0, fmt.Errorf("psi: bins must be >= 1, got %d", bins)
	}
	e, err := binProbabilities("expected", expected, bins)
	if err != nil {
		return 0, err
	}
	a, err := binProbabilities("actual", actual, bins)
	if err != nil {
		return 0, err
	}
	return PSIFromCounts(e, a)
}

func binProbabilities(name string, v []float64, bins int) ([]float64, error) {
	if len(v) == 0 {
		return nil, fmt.Errorf("psi: %s sample is empty", name)
	}
	counts := make([]float64, bins)
	for i, p := range v {
		if math.IsNaN(p) || p < 0 || p > 1 {
			return nil, fmt.Errorf("psi: %s[%d] must be a probability in [0, 1], got %v", name, i, p)
		}
		counts[min(int(p*float64(bins)), bins-1)]++
	}
	return counts, nil
}

// PSIFromCounts computes PSI from per-bin counts (or proportions) of the two distributions.
func PSIFromCounts(expected, actual []float64) (float64, error) {
	if len(expected) != len(actual) || len(expected) == 0 {
		return 0, fmt.Errorf("psi: need the same nonzero number of bins, got %d and %d", len(expected), len(actual))
	}
	var se, sa float64
	for i := range expected {
		if math.IsNaN(expected[i]) || expected[i] < 0 || math.IsNaN(actual[i]) || actual[i] < 0 ||
			math.IsInf(expected[i], 0) || math.IsInf(actual[i], 0) {
			return 0, fmt.Errorf("psi: bin %d counts must be finite and >= 0, got %v and %v", i, expected[i], actual[i])
		}
		se += expected[i]
		sa += actual[i]
	}
	if se == 0 || sa == 0 {
		return 0, fmt.Errorf("psi: both distributions need a nonzero total, got %v and %v", se, sa)
	}
	var psi float64
	for i := range expected {
		e := math.Max(expected[i]/se, psiFloor)
		a := math.Max(actual[i]/sa, psiFloor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi, nil
}

// KSResult is a two-sample Kolmogorov-Smirnov comparison.
type KSResult struct {
	// D is sup_x |F_a(x) − F_b(x)|.
	D float64
	// PValue is the asymptotic two-sided p-value (Kolmogorov distribution with Stephens'
	// small-sample correction of the effective size).
	PValue float64
}

// KolmogorovSmirnov compares two samples (e.g. predicted probabilities of stable and canary).
// NaN values and empty samples are errors.
func KolmogorovSmirnov(a, b []float64) (KSResult, error) {
	if len(a) == 0 || len(b) == 0 {
		return KSResult{}, fmt.Errorf("ks: both samples need values, got %d and %d", len(a), len(b))
	}
	if err := checkFinite("ks: a", a); err != nil {
		return KSResult{}, err
	}
	if err := checkFinite("ks: b", b); err != nil {
		return KSResult{}, err
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	na, nb := float64(len(x)), float64(len(y))
	var i, j int
	var d float64
	for i < len(x) && j < len(y) {
		// Step past every copy of the smaller value in both samples, then compare CDFs.
		v := math.Min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	ne := na * nb / (na + nb)
	sq := math.Sqrt(ne)
	return KSResult{D: d, PValue: kolmogorovQ((sq + 0.12 + 0.11/sq) * d)}, nil
}

// kolmogorovQ is P(K > λ) for the Kolmogorov distribution: 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}.
func kolmogorovQ(lambda float64) float64 {
	if lambda < 0.2 {
		return 1 // the series converges slowly here and the value is 1 to many digits
	}
	var sum float64
	sign := 1.0
	for k := 1; k <= 100; k++ {
		term := sign * math.Exp(-2*float64(k*k)*lambda*lambda)
		sum += term
		if math.Abs(term) < 1e-16 {
			break
		}
		sign = -sign
	}
	return math.Min(1, math.Max(0, 2*sum))
}
