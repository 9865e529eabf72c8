package stats

import (
	"fmt"
	"math"
)

// RateRatioCS is an anytime-valid confidence sequence for the canary/stable event-rate ratio
// δ (canary events per request over stable events per request), by test inversion: for every
// δ₀ on a log-spaced grid it runs the two-sided count test of "events fall in the canary with
// probability ∝ share·δ₀", and δ₀ stays in the set while that test has never rejected. With
// probability ≥ 1−α the true ratio's grid neighbours are never both excluded, at every update.
// It costs one CountTest update per grid point, so it is opt-in (dashboards, reports), not
// part of the judge's decision.
type RateRatioCS struct {
	grid   []float64
	tests  []*CountTest
	shares [2]float64
}

// NewRateRatioCS builds a confidence sequence at level alpha (0: DefaultAlpha) over `points`
// grid values log-spaced between lo and hi (e.g. 0.1, 20, 61).
func NewRateRatioCS(alpha, lo, hi float64, points int) (*RateRatioCS, error) {
	if !(lo > 0 && hi > lo) || math.IsInf(hi, 0) {
		return nil, fmt.Errorf("rate ratio cs: need 0 < lo < hi < inf, got lo=%v hi=%v", lo, hi)
	}
	if points < 2 {
		return nil, fmt.Errorf("rate ratio cs: points must be >= 2, got %d", points)
	}
	cs := &RateRatioCS{grid: make([]float64, points), tests: make([]*CountTest, points)}
	step := math.Log(hi/lo) / float64(points-1)
	for i := range points {
		cs.grid[i] = lo * math.Exp(step*float64(i))
		if i == points-1 {
			cs.grid[i] = hi // exact end point despite rounding
		}
		t, err := NewCountTest(CountTestConfig{Arms: 2, Alpha: alpha, TwoSided: true})
		if err != nil {
			return nil, fmt.Errorf("rate ratio cs: %w", err)
		}
		cs.tests[i] = t
	}
	return cs, nil
}

// Update adds one window: events {canary, stable} and traffic shares {canary, stable}, as for
// CountTest. Invalid input changes nothing.
func (cs *RateRatioCS) Update(counts []int64, shares []float64) error {
	if len(counts) != 2 || len(shares) != 2 {
		return fmt.Errorf("rate ratio cs update: want 2 counts and 2 shares, got %d and %d", len(counts), len(shares))
	}
	// Validate once through the first test's rules before touching any state.
	for i, s := range shares {
		if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 || counts[i] < 0 || (s == 0 && counts[i] > 0) {
			return fmt.Errorf("rate ratio cs update: invalid arm %d: count %d, share %v", i, counts[i], s)
		}
	}
	if !(shares[0]+shares[1] > 0) {
		return fmt.Errorf("rate ratio cs update: shares must not all be 0")
	}
	for i, t := range cs.tests {
		cs.shares = [2]float64{shares[0] * cs.grid[i], shares[1]}
		if err := t.Update(counts, cs.shares[:]); err != nil {
			return fmt.Errorf("rate ratio cs update: %w", err)
		}
	}
	return nil
}

// Interval returns the smallest grid-aligned interval holding every ratio not yet excluded:
// from the excluded grid point just below the lowest surviving one to the excluded point just
// above the highest (or the grid ends). ok is false when every grid point is excluded, which
// means the true ratio lies outside the grid (or a 1−α miss).
func (cs *RateRatioCS) Interval() (lo, hi float64, ok bool) {
	first, last := -1, -1
	for i, t := range cs.tests {
		if !t.Reject() {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return math.NaN(), math.NaN(), false
	}
	lo, hi = cs.grid[first], cs.grid[last]
	if first > 0 {
		lo = cs.grid[first-1]
	}
	if last < len(cs.grid)-1 {
		hi = cs.grid[last+1]
	}
	return lo, hi, true
}
