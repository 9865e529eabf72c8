package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lognormalWindow draws n latencies (seconds) with median med and log-sd 0.5.
func lognormalWindow(rng *rand.Rand, n int, med float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = med * math.Exp(0.5*rng.NormFloat64())
	}
	return v
}

func TestSlowRequestTestAAAndRegression(t *testing.T) {
	const alpha, runs = 0.05, 150
	rng := rand.New(rand.NewPCG(5, 6))
	falseRejects := 0
	for range runs {
		s, err := NewSlowRequestTest(SlowRequestConfig{Alpha: alpha})
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			if err := s.Update(lognormalWindow(rng, 3, 0.1), lognormalWindow(rng, 47, 0.1)); err != nil {
				t.Fatal(err)
			}
			if s.Verdict().Outcome == OutcomeCanaryWorse {
				falseRejects++
				break
			}
		}
	}
	rate := float64(falseRejects) / runs
	if limit := alpha + 3*math.Sqrt(alpha*(1-alpha)/runs); rate > limit {
		t.Fatalf("A/A false rejection rate %.3f > %.3f", rate, limit)
	}
	s, _ := NewSlowRequestTest(SlowRequestConfig{})
	for i := 0; i < 300 && s.Verdict().Outcome != OutcomeCanaryWorse; i++ {
		if err := s.Update(lognormalWindow(rng, 3, 0.2), lognormalWindow(rng, 47, 0.1)); err != nil {
			t.Fatal(err)
		}
	}
	if v := s.Verdict(); v.Outcome != OutcomeCanaryWorse {
		t.Fatalf("canary twice as slow not detected: %+v", v)
	}
	if thr := s.Threshold(); thr < 0.15 || thr > 0.23 {
		t.Errorf("p90 threshold %v, want near 0.1·e^(0.5·1.2816) = 0.19", thr)
	}
}

func TestSlowRequestTestWarmupAndBadInput(t *testing.T) {
	s, _ := NewSlowRequestTest(SlowRequestConfig{WarmupSamples: 100})
	if v := s.Verdict(); v.Outcome != OutcomeInsufficient || !math.IsNaN(v.Value) {
		t.Fatalf("empty: %+v, want insufficient", v)
	}
	if err := s.Update([]float64{math.NaN()}, []float64{0.1}); err == nil {
		t.Fatal("NaN latency accepted")
	}
	if err := s.Update(nil, []float64{-1}); err == nil {
		t.Fatal("negative latency accepted")
	}
	if err := s.Update([]float64{9, 9, 9}, make([]float64, 50)); err != nil {
		t.Fatal(err)
	}
	if v := s.Verdict(); v.Outcome != OutcomeInsufficient {
		t.Fatalf("during warm-up: %+v, want insufficient", v)
	}
}

func TestDistributionTestAAAndShift(t *testing.T) {
	const alpha, runs = 0.05, 100
	rng := rand.New(rand.NewPCG(8, 9))
	falseRejects := 0
	for range runs {
		d, _ := NewDistributionTest(alpha, 0)
		for range 100 {
			if err := d.Update(lognormalWindow(rng, 5, 0.1), lognormalWindow(rng, 45, 0.1)); err != nil {
				t.Fatal(err)
			}
		}
		if d.Verdict().Outcome == OutcomeCanaryWorse {
			falseRejects++
		}
	}
	if rate := float64(falseRejects) / runs; rate > alpha {
		t.Fatalf("A/A false rejection rate %.3f > alpha %.2f (the band test is conservative)", rate, alpha)
	}
	d, _ := NewDistributionTest(0, 0)
	for i := 0; i < 200 && d.Verdict().Outcome != OutcomeCanaryWorse; i++ {
		if err := d.Update(lognormalWindow(rng, 5, 0.2), lognormalWindow(rng, 45, 0.1)); err != nil {
			t.Fatal(err)
		}
	}
	if v := d.Verdict(); v.Outcome != OutcomeCanaryWorse {
		t.Fatalf("canary twice as slow not detected: %+v", v)
	}
	empty, _ := NewDistributionTest(0, 0)
	if v := empty.Verdict(); v.Outcome != OutcomeInsufficient {
		t.Fatalf("empty: %+v, want insufficient", v)
	}
	if err := empty.Update([]float64{math.Inf(1)}, nil); err == nil {
		t.Fatal("Inf accepted")
	}
}

func TestDKWHalfWidthShrinks(t *testing.T) {
	a := dkwHalfWidth(1, 100, 0.01)
	// u=1: sqrt(ln(2·2/0.01)/200) = sqrt(ln 400 / 200).
	if want := math.Sqrt(math.Log(400) / 200); math.Abs(a-want) > 1e-15 {
		t.Fatalf("half-width %v, want %v", a, want)
	}
	if b := dkwHalfWidth(10, 10000, 0.01); b >= a {
		t.Fatalf("half-width did not shrink: %v then %v", a, b)
	}
}
