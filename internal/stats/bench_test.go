package stats

import (
	"math/rand/v2"
	"testing"
)

// One second of latencies at 50 req/s with a 5% canary: about 3 canary and 47 stable values.
func latencyWindows(n int) (canary, stable [][]float64) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range n {
		canary = append(canary, lognormalWindow(rng, 3, 0.1))
		stable = append(stable, lognormalWindow(rng, 47, 0.1))
	}
	return canary, stable
}

func BenchmarkSlowRequestTestUpdate(b *testing.B) {
	canary, stable := latencyWindows(64)
	s, err := NewSlowRequestTest(SlowRequestConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Update(canary[i%64], stable[i%64]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDistributionTestUpdate(b *testing.B) {
	canary, stable := latencyWindows(64)
	d, err := NewDistributionTest(0, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := d.Update(canary[i%64], stable[i%64]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMcNemarTestUpdate(b *testing.B) {
	m, err := NewMcNemarTest(McNemarConfig{})
	if err != nil {
		b.Fatal(err)
	}
	batches := []PairCounts{{BothRight: 8, StableOnlyRight: 1}, {BothRight: 9, CanaryOnlyRight: 1}, {BothRight: 10}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.Update(batches[i%3]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRateRatioCSUpdate(b *testing.B) {
	cs, err := NewRateRatioCS(0, 0.25, 16, 25)
	if err != nil {
		b.Fatal(err)
	}
	counts := [][]int64{{0, 1}, {0, 0}, {1, 0}, {0, 2}}
	shares := []float64{5, 95}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := cs.Update(counts[i%4], shares); err != nil {
			b.Fatal(err)
		}
	}
}
