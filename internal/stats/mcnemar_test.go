package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Hand-computed: Beta(5,5) truncated to p > ½ (c = 10), discordant pairs 3 stable-only, 1
// canary-only: BF = B(8,6)/B(5,5) / ½⁴ · P(Beta(8,6) > ½)/½.
// B(8,6)/B(5,5) = (7!5!/13!)/(4!4!/9!) = 105/1716; P(Beta(8,6) > ½) = P(Bin(13, ½) ≤ 7)
// = 1 − Σ_{j=8}^{13} C(13,j)/2¹³ = 1 − 2380/8192. So BF = 105/1716 · 16 · (5812/8192) / ½.
func TestMcNemarKnownBayesFactor(t *testing.T) {
	m, err := NewMcNemarTest(McNemarConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Update(PairCounts{BothRight: 90, StableOnlyRight: 3, CanaryOnlyRight: 1, BothWrong: 6}); err != nil {
		t.Fatal(err)
	}
	// C(13,8..13) = 1287+715+286+78+13+1 = 2380.
	tail := 1 - 2380.0/8192
	want := (105.0 / 1716) * 16 * tail / 0.5 // = 1.389177
	v := m.Verdict()
	if math.Abs(v.BayesFactor-want)/want > 1e-9 {
		t.Fatalf("BF = %.12g, want %.12g", v.BayesFactor, want)
	}
	if v.Outcome != OutcomeNoEvidence || v.Samples != 100 || math.Abs(v.Estimate-(-0.02)) > 1e-12 {
		t.Fatalf("verdict = %+v, want no-evidence over 100 pairs, accuracy diff -0.02", v)
	}
}

func TestMcNemarAAFalseRejectionBelowAlpha(t *testing.T) {
	const alpha, runs, labels = 0.05, 300, 2000
	rng := rand.New(rand.NewPCG(3, 4))
	rejected := 0
	for range runs {
		m, _ := NewMcNemarTest(McNemarConfig{Alpha: alpha})
		for range labels / 10 {
			var p PairCounts
			for range 10 { // both models 90% accurate, errors independent
				s, c := rng.Float64() < 0.9, rng.Float64() < 0.9
				switch {
				case s && c:
					p.BothRight++
				case s:
					p.StableOnlyRight++
				case c:
					p.CanaryOnlyRight++
				default:
					p.BothWrong++
				}
			}
			if err := m.Update(p); err != nil {
				t.Fatal(err)
			}
			if m.Verdict().Outcome == OutcomeCanaryWorse {
				rejected++
				break
			}
		}
	}
	rate := float64(rejected) / runs
	if limit := alpha + 3*math.Sqrt(alpha*(1-alpha)/runs); rate > limit {
		t.Fatalf("A/A false rejection rate %.3f > %.3f", rate, limit)
	}
}

func TestMcNemarDetectsAccuracyDrop(t *testing.T) {
	m, _ := NewMcNemarTest(McNemarConfig{})
	// 40 labels per update: canary loses 6 points, gains 1.
	for i := 0; i < 20 && m.Verdict().Outcome != OutcomeCanaryWorse; i++ {
		if err := m.Update(PairCounts{BothRight: 32, StableOnlyRight: 3, CanaryOnlyRight: 1, BothWrong: 4}); err != nil {
			t.Fatal(err)
		}
	}
	if v := m.Verdict(); v.Outcome != OutcomeCanaryWorse || v.Value != 1 {
		t.Fatalf("verdict = %+v, want canary-worse", v)
	}
}

func TestMcNemarEmptyAndInvalid(t *testing.T) {
	m, _ := NewMcNemarTest(McNemarConfig{MinPairs: 10})
	if v := m.Verdict(); v.Outcome != OutcomeInsufficient || !math.IsNaN(v.Value) {
		t.Fatalf("empty verdict = %+v, want insufficient", v)
	}
	if err := m.Update(PairCounts{StableOnlyRight: -1}); err == nil {
		t.Fatal("negative counts accepted")
	}
	if err := m.Update(PairCounts{BothRight: 5}); err != nil {
		t.Fatal(err)
	}
	if v := m.Verdict(); v.Outcome != OutcomeInsufficient {
		t.Fatalf("5 of 10 pairs: %+v, want insufficient", v)
	}
}
