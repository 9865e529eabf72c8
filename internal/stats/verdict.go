package stats

import "math"

// Outcome is what a judge test concludes at one point in time.
type Outcome int

const (
	// OutcomeInsufficient means the test has not seen enough valid data to say anything.
	// It is never a pass: callers must treat it as inconclusive.
	OutcomeInsufficient Outcome = iota
	// OutcomeNoEvidence means the test ran on valid data and has not (yet) shown the canary
	// to be worse. It is not a proof that the canary is fine.
	OutcomeNoEvidence
	// OutcomeCanaryWorse means the evidence that the canary is worse than stable reached the
	// test's level: the anytime-valid p-value is at or below alpha.
	OutcomeCanaryWorse
)

// String names the outcome as it appears in measurements and docs.
func (o Outcome) String() string {
	switch o {
	case OutcomeNoEvidence:
		return "no-evidence"
	case OutcomeCanaryWorse:
		return "canary-worse"
	default:
		return "insufficient-data"
	}
}

// Verdict is one judge decision, shaped so that the analysis layer can store it as a
// measurement: Value is 1 when the canary is worse, 0 when there is no evidence of that,
// and NaN when data is insufficient (NaN never satisfies a success condition).
type Verdict struct {
	Outcome Outcome
	// Value is the measurement value: 1 canary worse, 0 no evidence, NaN insufficient.
	Value float64
	// BayesFactor is the current e-value (test martingale) for "canary worse"; 1 when none.
	BayesFactor float64
	// PValue is the anytime-valid p-value, min(1, 1/max BayesFactor so far); 1 when none.
	// For fixed-sample tests (Mann-Whitney) it is the ordinary p-value.
	PValue float64
	// Estimate is the test's effect estimate (e.g. canary/stable event-rate ratio); NaN if none.
	Estimate float64
	// Samples is how many observations (events, pairs, requests) the test has used.
	Samples int64
	// Reason is a short human-readable explanation.
	Reason string
}

// insufficientVerdict is the verdict for a test that cannot conclude anything yet.
func insufficientVerdict(samples int64, reason string) Verdict {
	return Verdict{
		Outcome:     OutcomeInsufficient,
		Value:       math.NaN(),
		BayesFactor: 1,
		PValue:      1,
		Estimate:    math.NaN(),
		Samples:     samples,
		Reason:      reason,
	}
}

// decidedVerdict builds a verdict for a test with enough data.
func decidedVerdict(worse bool, bf, p, estimate float64, samples int64, reason string) Verdict {
	v := Verdict{
		Outcome:     OutcomeNoEvidence,
		Value:       0,
		BayesFactor: bf,
		PValue:      p,
		Estimate:    estimate,
		Samples:     samples,
		Reason:      reason,
	}
	if worse {
		v.Outcome = OutcomeCanaryWorse
		v.Value = 1
	}
	return v
}
