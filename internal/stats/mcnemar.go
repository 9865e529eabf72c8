package stats

import (
	"fmt"
	"math"
)

// PairCounts tallies labelled requests answered by both models (shadow traffic): whether the
// stable and the canary prediction matched the late-arriving ground-truth label.
type PairCounts struct {
	BothRight       int64
	StableOnlyRight int64 // stable right, canary wrong: evidence the canary is worse
	CanaryOnlyRight int64 // canary right, stable wrong: evidence the canary is better
	BothWrong       int64
}

func (p PairCounts) total() int64 {
	return p.BothRight + p.StableOnlyRight + p.CanaryOnlyRight + p.BothWrong
}

// McNemarConfig configures a McNemarTest.
type McNemarConfig struct {
	// Alpha is the level (default DefaultAlpha).
	Alpha float64
	// Concentration of the Beta mixture over "share of discordant pairs where only stable was
	// right" (default 10: Beta(5,5) centred on the null ½, kept above ½).
	Concentration float64
	// MinPairs is how many labelled pairs are needed before the verdict leaves
	// insufficient-data (default 1).
	MinPairs int64
}

// McNemarTest is a sequential McNemar test for "the canary is less accurate than stable".
// Only discordant pairs carry information: under the null (equal accuracy) each is "only
// stable right" with probability ½. The statistic is the one-sided beta-binomial mixture
// martingale on the discordant pairs (a two-arm CountTest with shares ½/½), so it may be
// checked after every label without inflating false rollbacks.
type McNemarTest struct {
	cfg    McNemarConfig
	counts *CountTest
	pairs  PairCounts
	buf    [2]int64
}

var halfShares = [2]float64{0.5, 0.5}

// NewMcNemarTest validates cfg and returns an empty test.
func NewMcNemarTest(cfg McNemarConfig) (*McNemarTest, error) {
	if cfg.Concentration == 0 {
		cfg.Concentration = 10
	}
	if cfg.MinPairs == 0 {
		cfg.MinPairs = 1
	}
	if cfg.MinPairs < 1 {
		return nil, fmt.Errorf("mcnemar test: minPairs must be >= 1, got %d", cfg.MinPairs)
	}
	ct, err := NewCountTest(CountTestConfig{Arms: 2, Alpha: cfg.Alpha, Concentration: cfg.Concentration, PriorRateRatio: 1})
	if err != nil {
		return nil, fmt.Errorf("mcnemar test: %w", err)
	}
	return &McNemarTest{cfg: cfg, counts: ct}, nil
}

// Update adds newly labelled pairs (counts since the last update). Negative counts return an
// error and change nothing.
func (m *McNemarTest) Update(p PairCounts) error {
	if p.BothRight < 0 || p.StableOnlyRight < 0 || p.CanaryOnlyRight < 0 || p.BothWrong < 0 {
		return fmt.Errorf("mcnemar test update: pair counts must be >= 0, got %+v", p)
	}
	m.buf = [2]int64{p.StableOnlyRight, p.CanaryOnlyRight}
	shares := halfShares
	if err := m.counts.Update(m.buf[:], shares[:]); err != nil {
		return fmt.Errorf("mcnemar test update: %w", err)
	}
	m.pairs.BothRight += p.BothRight
	m.pairs.StableOnlyRight += p.StableOnlyRight
	m.pairs.CanaryOnlyRight += p.CanaryOnlyRight
	m.pairs.BothWrong += p.BothWrong
	return nil
}

// Pairs returns the cumulative pair counts.
func (m *McNemarTest) Pairs() PairCounts { return m.pairs }

// Verdict: Estimate is the accuracy difference canary − stable over all labelled pairs.
func (m *McNemarTest) Verdict() Verdict {
	n := m.pairs.total()
	if n < m.cfg.MinPairs {
		return insufficientVerdict(n, fmt.Sprintf("%d labelled pairs, need at least %d", n, m.cfg.MinPairs))
	}
	diff := float64(m.pairs.CanaryOnlyRight-m.pairs.StableOnlyRight) / float64(n)
	reason := fmt.Sprintf("discordant pairs: stable-only right %d, canary-only right %d; Bayes factor %.3g",
		m.pairs.StableOnlyRight, m.pairs.CanaryOnlyRight, m.counts.BayesFactor())
	bf := m.counts.BayesFactor()
	if math.IsNaN(bf) {
		return insufficientVerdict(n, "numerical failure in the Bayes factor")
	}
	return decidedVerdict(m.counts.Reject(), bf, m.counts.PValue(), diff, n, reason)
}
