package stats

import (
	"fmt"
	"math"
)

// SlowRequestConfig configures a SlowRequestTest.
type SlowRequestConfig struct {
	// Quantile of the stable latency distribution above which a request counts as slow
	// (default 0.9: a request slower than stable's running p90 is "slow").
	Quantile float64
	// Alpha is the level of the underlying count test (default DefaultAlpha).
	Alpha float64
	// WarmupSamples is how many stable latencies are needed before the threshold is trusted
	// and windows are tested (default 200).
	WarmupSamples int64
}

// SlowRequestTest judges latency as counts: a request is slow when it takes longer than the
// stable arm's running Quantile, and the per-arm slow counts feed a one-sided CountTest with
// the window's request counts as shares. The threshold of a window is fixed from earlier
// stable windows before the window is looked at, so under the null (same latency distribution
// in both arms) each request of the window is slow with the same probability in either arm
// and the count test's guarantee carries over, however the threshold moves.
type SlowRequestTest struct {
	cfg    SlowRequestConfig
	stable logHistogram
	counts *CountTest
	slow   [2]int64
	shares [2]float64
	tested int64
}

// NewSlowRequestTest validates cfg and returns an empty test.
func NewSlowRequestTest(cfg SlowRequestConfig) (*SlowRequestTest, error) {
	if cfg.Quantile == 0 {
		cfg.Quantile = 0.9
	}
	if !(cfg.Quantile > 0 && cfg.Quantile < 1) {
		return nil, fmt.Errorf("slow-request test: quantile must be in (0, 1), got %v", cfg.Quantile)
	}
	if cfg.WarmupSamples == 0 {
		cfg.WarmupSamples = 200
	}
	if cfg.WarmupSamples < 1 {
		return nil, fmt.Errorf("slow-request test: warmupSamples must be >= 1, got %d", cfg.WarmupSamples)
	}
	// A slow-request share under the null is 1-Quantile, so a 2× rate ratio is the natural
	// centre here too (p90 exceeded by 20% of canary requests instead of 10%).
	ct, err := NewCountTest(CountTestConfig{Arms: 2, Alpha: cfg.Alpha})
	if err != nil {
		return nil, fmt.Errorf("slow-request test: %w", err)
	}
	return &SlowRequestTest{cfg: cfg, counts: ct}, nil
}

// Threshold is the current slow-request threshold (NaN during warm-up).
func (s *SlowRequestTest) Threshold() float64 {
	if s.stable.total < s.cfg.WarmupSamples {
		return math.NaN()
	}
	return s.stable.quantile(s.cfg.Quantile)
}

// Update adds one window of latencies per arm. Values must be finite and >= 0; invalid input
// returns an error and changes nothing.
func (s *SlowRequestTest) Update(canary, stable []float64) error {
	if err := checkSamples("canary", canary); err != nil {
		return fmt.Errorf("slow-request test update: %w", err)
	}
	if err := checkSamples("stable", stable); err != nil {
		return fmt.Errorf("slow-request test update: %w", err)
	}
	if thr := s.Threshold(); !math.IsNaN(thr) && len(canary)+len(stable) > 0 {
		s.slow = [2]int64{countAbove(canary, thr), countAbove(stable, thr)}
		s.shares = [2]float64{float64(len(canary)), float64(len(stable))}
		if err := s.counts.Update(s.slow[:], s.shares[:]); err != nil {
			return fmt.Errorf("slow-request test update: %w", err)
		}
		s.tested += int64(len(canary))
	}
	s.stable.add(stable)
	return nil
}

func countAbove(v []float64, thr float64) int64 {
	var n int64
	for _, x := range v {
		if x > thr {
			n++
		}
	}
	return n
}

// Verdict is insufficient until warm-up is done and a canary request has been tested.
func (s *SlowRequestTest) Verdict() Verdict {
	if s.stable.total < s.cfg.WarmupSamples {
		return insufficientVerdict(0, fmt.Sprintf("warming up: %d of %d stable latencies", s.stable.total, s.cfg.WarmupSamples))
	}
	if s.tested == 0 {
		return insufficientVerdict(0, "no canary requests tested yet")
	}
	v := s.counts.Verdict()
	v.Samples = s.tested
	if v.Outcome != OutcomeInsufficient {
		v.Reason = fmt.Sprintf("requests slower than stable p%g (%.4g): %s", s.cfg.Quantile*100, s.Threshold(), v.Reason)
	}
	return v
}

// DistributionTest is a sequential one-sided Kolmogorov-Smirnov test that the canary's values
// (latencies) are stochastically larger than stable's. Each arm's empirical CDF carries a
// time-uniform DKW band: at the u-th update the band half-width is
// sqrt(ln(2·u(u+1)/(α/2)) / (2n)) for n samples, a union bound over updates of Massart's
// DKW inequality, so both bands hold at every update simultaneously with probability
// ≥ 1-α. The test rejects when stable's lower band lies above canary's upper band somewhere:
// max_x (F̂_stable(x) − F̂_canary(x)) > ε_stable + ε_canary. CDFs are compared on fixed
// log-spaced bucket edges (2% apart), which only costs power, never validity.
type DistributionTest struct {
	alpha          float64
	minSamples     int64
	canary, stable logHistogram
	updates        int64
	maxGap, margin float64
	rejected       bool
}

// NewDistributionTest returns a test at level alpha (0: DefaultAlpha) that needs minSamples
// per arm (0: 50) before it concludes.
func NewDistributionTest(alpha float64, minSamples int64) (*DistributionTest, error) {
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("distribution test: alpha must be in (0, 1), got %v", alpha)
	}
	if minSamples == 0 {
		minSamples = 50
	}
	if minSamples < 1 {
		return nil, fmt.Errorf("distribution test: minSamples must be >= 1, got %d", minSamples)
	}
	return &DistributionTest{alpha: alpha, minSamples: minSamples}, nil
}

// dkwHalfWidth is the time-uniform band half-width after update u with n samples at level a.
func dkwHalfWidth(u, n int64, a float64) float64 {
	if n == 0 {
		return 1
	}
	uf := float64(u)
	return math.Sqrt(math.Log(2*uf*(uf+1)/a) / (2 * float64(n)))
}

// Update adds one window of values per arm; invalid input changes nothing.
func (d *DistributionTest) Update(canary, stable []float64) error {
	if err := checkSamples("canary", canary); err != nil {
		return fmt.Errorf("distribution test update: %w", err)
	}
	if err := checkSamples("stable", stable); err != nil {
		return fmt.Errorf("distribution test update: %w", err)
	}
	d.canary.add(canary)
	d.stable.add(stable)
	d.updates++
	if d.canary.total == 0 || d.stable.total == 0 {
		return nil
	}
	var cumC, cumS int64
	gap := math.Inf(-1)
	for b := range d.canary.counts {
		cumC += d.canary.counts[b]
		cumS += d.stable.counts[b]
		gap = math.Max(gap, float64(cumS)/float64(d.stable.total)-float64(cumC)/float64(d.canary.total))
	}
	d.maxGap = gap
	d.margin = dkwHalfWidth(d.updates, d.canary.total, d.alpha/2) + dkwHalfWidth(d.updates, d.stable.total, d.alpha/2)
	if gap > d.margin {
		d.rejected = true
	}
	return nil
}

// Verdict: canary worse once the bands separated at some update; insufficient before each arm
// has minSamples values.
func (d *DistributionTest) Verdict() Verdict {
	n := d.canary.total + d.stable.total
	if d.canary.total < d.minSamples || d.stable.total < d.minSamples {
		return insufficientVerdict(n, fmt.Sprintf("need %d samples per arm, have canary %d, stable %d", d.minSamples, d.canary.total, d.stable.total))
	}
	reason := fmt.Sprintf("max CDF gap %.4f vs time-uniform margin %.4f", d.maxGap, d.margin)
	// The e-value/p-value of a band test is only "reject or not": report p = alpha on reject.
	p, bf := 1.0, 1.0
	if d.rejected {
		p, bf = d.alpha, 1/d.alpha
	}
	return decidedVerdict(d.rejected, bf, p, d.maxGap, n, reason)
}
