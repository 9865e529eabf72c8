package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func mustCountTest(t testing.TB, cfg CountTestConfig) *CountTest {
	t.Helper()
	ct, err := NewCountTest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// Hand-computed: two arms, shares ½/½, Dirichlet(1,1) (c=2), counts (3,1):
// BF = Γ(2)/Γ(6) · Γ(4)Γ(2)/(Γ(1)Γ(1)) / 0.5⁴ = (1/120)·6·16 = 0.8.
func TestCountTestTwoSidedKnownBayesFactor(t *testing.T) {
	ct := mustCountTest(t, CountTestConfig{Arms: 2, Concentration: 2, TwoSided: true})
	if err := ct.Update([]int64{3, 1}, []float64{0.5, 0.5}); err != nil {
		t.Fatal(err)
	}
	if got := ct.BayesFactor(); math.Abs(got-0.8) > 1e-12 {
		t.Fatalf("BayesFactor = %.15g, want 0.8", got)
	}
}

// One-sided, same data: the mixture is Beta(1,1) truncated to θ > ½. Posterior Beta(4,2) has
// P(θ > ½) = 1 − I_½(4,2) = 1 − 6/32 = 26/32, prior mass ½, so BF = 0.8 · (26/32) / ½ = 1.3.
func TestCountTestOneSidedKnownBayesFactor(t *testing.T) {
	ct := mustCountTest(t, CountTestConfig{Arms: 2, Concentration: 2, PriorRateRatio: 1})
	if err := ct.Update([]int64{3, 1}, []float64{1, 1}); err != nil {
		t.Fatal(err)
	}
	if got := ct.BayesFactor(); math.Abs(got-1.3) > 1e-12 {
		t.Fatalf("BayesFactor = %.15g, want 1.3", got)
	}
}

// Three arms, shares (0.2, 0.3, 0.5), c = 10 → α = (2, 3, 5), counts (4, 0, 1):
// BF = Γ(10)/Γ(15) · Γ(6)/Γ(2) · Γ(6)/Γ(5) / (0.2⁴ · 0.5).
func TestCountTestThreeArmsMatchesClosedForm(t *testing.T) {
	ct := mustCountTest(t, CountTestConfig{Arms: 3, Concentration: 10, TwoSided: true})
	if err := ct.Update([]int64{4, 0, 1}, []float64{0.2, 0.3, 0.5}); err != nil {
		t.Fatal(err)
	}
	want := (362880.0 / 87178291200.0) * (120.0 / 1.0) * (120.0 / 24.0) / (math.Pow(0.2, 4) * 0.5)
	if got := ct.BayesFactor(); math.Abs(got-want)/want > 1e-12 {
		t.Fatalf("BayesFactor = %.15g, want %.15g", got, want)
	}
}

// With constant shares the Bayes factor depends only on the totals, not on how the events
// were batched, and shares may be given as request counts.
func TestCountTestBatchingAndShareScaleInvariance(t *testing.T) {
	for _, twoSided := range []bool{false, true} {
		whole := mustCountTest(t, CountTestConfig{Arms: 2, TwoSided: twoSided})
		steps := mustCountTest(t, CountTestConfig{Arms: 2, TwoSided: twoSided})
		if err := whole.Update([]int64{12, 80}, []float64{0.05, 0.95}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 92; i++ {
			c := []int64{0, 1}
			if i%8 == 0 && i < 96 {
				c = []int64{1, 0}
			}
			if err := steps.Update(c, []float64{5, 95}); err != nil {
				t.Fatal(err)
			}
		}
		if steps.Events() != 92 {
			t.Fatalf("events = %d, want 92", steps.Events())
		}
		if d := whole.LogBayesFactor() - steps.LogBayesFactor(); math.Abs(d) > 1e-9 {
			t.Fatalf("twoSided=%v: batched log BF %v != one-at-a-time %v", twoSided, whole.LogBayesFactor(), steps.LogBayesFactor())
		}
	}
}

// Property: under the null (events fall in arms by traffic share, shares changing over time)
// the chance that the test ever rejects in a long, bounded stream stays below alpha.
func TestCountTestAAFalseRejectionBelowAlpha(t *testing.T) {
	const alpha, runs, events = 0.05, 300, 1000
	for _, twoSided := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(42, 7))
		rejected := 0
		for range runs {
			ct := mustCountTest(t, CountTestConfig{Arms: 2, Alpha: alpha, TwoSided: twoSided})
			share := 0.05
			for e := 0; e < events; e++ {
				if e%300 == 0 { // canary steps 5% → 20% → 35% ...
					share = math.Min(0.5, share+0.15*float64(e/300))
				}
				c := []int64{0, 1}
				if rng.Float64() < share {
					c = []int64{1, 0}
				}
				if err := ct.Update(c, []float64{share, 1 - share}); err != nil {
					t.Fatal(err)
				}
				if ct.Reject() {
					rejected++
					break
				}
			}
		}
		rate := float64(rejected) / runs
		// Binomial noise allowance: 3 standard deviations at the worst case rate alpha.
		limit := alpha + 3*math.Sqrt(alpha*(1-alpha)/runs)
		if rate > limit {
			t.Errorf("twoSided=%v: false rejection rate %.3f > %.3f (alpha %.2f)", twoSided, rate, limit, alpha)
		}
		t.Logf("twoSided=%v: A/A false rejection rate %.4f over %d runs of %d events (alpha %.2f)", twoSided, rate, runs, events, alpha)
	}
}

func TestCountTestDetectsWorseCanary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ct := mustCountTest(t, CountTestConfig{Arms: 2})
	// Canary has 20% of traffic and 5× the error rate: P(event in canary) = 1.0/(1.0+0.8).
	for e := 0; e < 2000 && !ct.Reject(); e++ {
		c := []int64{0, 1}
		if rng.Float64() < 1.0/1.8 {
			c = []int64{1, 0}
		}
		if err := ct.Update(c, []float64{0.2, 0.8}); err != nil {
			t.Fatal(err)
		}
	}
	v := ct.Verdict()
	if v.Outcome != OutcomeCanaryWorse || v.Value != 1 || v.PValue > 0.01 {
		t.Fatalf("verdict = %+v, want canary-worse with p <= 0.01", v)
	}
	if v.Estimate < 3 || v.Estimate > 8 {
		t.Errorf("rate ratio estimate %v, want near 5", v.Estimate)
	}
}

func TestCountTestBetterCanaryIsNotWorse(t *testing.T) {
	ct := mustCountTest(t, CountTestConfig{Arms: 2})
	for range 500 {
		if err := ct.Update([]int64{0, 10}, []float64{0.5, 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	if v := ct.Verdict(); v.Outcome != OutcomeNoEvidence || v.Value != 0 {
		t.Fatalf("verdict = %+v, want no-evidence", v)
	}
}

func TestCountTestInvalidInputNeverConcludes(t *testing.T) {
	ct := mustCountTest(t, CountTestConfig{Arms: 2, MinEvents: 5})
	if v := ct.Verdict(); v.Outcome != OutcomeInsufficient || !math.IsNaN(v.Value) {
		t.Fatalf("empty verdict = %+v, want insufficient with NaN value", v)
	}
	bad := []struct {
		counts []int64
		shares []float64
	}{
		{[]int64{1, 1}, []float64{math.NaN(), 1}},
		{[]int64{1, 1}, []float64{math.Inf(1), 1}},
		{[]int64{1, 1}, []float64{-1, 1}},
		{[]int64{-1, 1}, []float64{1, 1}},
		{[]int64{1, 1}, []float64{0, 0}},
		{[]int64{3, 0}, []float64{0, 1}},
		{[]int64{1}, []float64{1}},
		{nil, nil},
	}
	for _, b := range bad {
		if err := ct.Update(b.counts, b.shares); err == nil {
			t.Errorf("Update(%v, %v) accepted invalid input", b.counts, b.shares)
		}
	}
	if v := ct.Verdict(); v.Outcome != OutcomeInsufficient || ct.Events() != 0 {
		t.Fatalf("after invalid input verdict = %+v, events %d; want insufficient, 0", v, ct.Events())
	}
	if err := ct.Update([]int64{1, 2}, []float64{1, 1}); err != nil {
		t.Fatal(err)
	}
	if v := ct.Verdict(); v.Outcome != OutcomeInsufficient {
		t.Fatalf("3 of 5 required events: verdict = %+v, want insufficient", v)
	}
}

func TestNewCountTestRejectsBadConfig(t *testing.T) {
	for _, cfg := range []CountTestConfig{
		{Arms: 1},
		{Arms: 2, Alpha: 1},
		{Arms: 2, Alpha: -0.1},
		{Arms: 2, Concentration: -1},
		{Arms: 2, Concentration: math.Inf(1)},
		{Arms: 2, WorseArm: 2},
		{Arms: 2, PriorRateRatio: math.NaN()},
		{Arms: 2, MinEvents: -1},
	} {
		if _, err := NewCountTest(cfg); err == nil {
			t.Errorf("NewCountTest(%+v) accepted a bad config", cfg)
		}
	}
}

func BenchmarkCountTestUpdate(b *testing.B) {
	for _, bc := range []struct {
		name   string
		shares func(i int) []float64
	}{
		{"constant-shares", func(int) []float64 { return []float64{5, 95} }},
		{"changing-shares", func(i int) []float64 { return []float64{float64(2 + i%5), 48} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ct := mustCountTest(b, CountTestConfig{Arms: 2})
			counts := [][]int64{{0, 1}, {0, 0}, {1, 0}, {0, 2}}
			shares := make([][]float64, 5)
			for i := range shares {
				shares[i] = bc.shares(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := ct.Update(counts[i%4], shares[i%5]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
