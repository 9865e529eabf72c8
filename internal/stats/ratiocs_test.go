package stats

import (
	"math/rand/v2"
	"testing"
)

func TestRateRatioCSCoversAndShrinks(t *testing.T) {
	const alpha, runs = 0.05, 20
	rng := rand.New(rand.NewPCG(11, 12))
	misses := 0
	var lastWidth float64
	for r := range runs {
		cs, err := NewRateRatioCS(alpha, 0.25, 16, 19)
		if err != nil {
			t.Fatal(err)
		}
		// True ratio 2, canary share moving from 10% to 40%.
		for e := 0; e < 1000; e++ {
			w := 0.1 + 0.3*float64(e)/1000
			p := 2 * w / (2*w + 1 - w)
			c := []int64{0, 1}
			if rng.Float64() < p {
				c = []int64{1, 0}
			}
			if err := cs.Update(c, []float64{w, 1 - w}); err != nil {
				t.Fatal(err)
			}
		}
		lo, hi, ok := cs.Interval()
		if !ok || lo > 2 || hi < 2 {
			misses++
		}
		if r == 0 {
			lastWidth = hi / lo
			t.Logf("run 0: ratio interval [%.3g, %.3g] after 1000 events (true 2)", lo, hi)
		}
	}
	if misses > 4 { // expect ≤ α·runs = 1; allow noise
		t.Fatalf("true ratio missed in %d of %d runs", misses, runs)
	}
	if lastWidth > 3 {
		t.Errorf("interval after 1000 events spans a factor %.2f, want a usable width", lastWidth)
	}
	if _, err := NewRateRatioCS(0, 2, 1, 10); err == nil {
		t.Error("lo > hi accepted")
	}
	cs, _ := NewRateRatioCS(0, 0.5, 4, 5)
	if err := cs.Update([]int64{1, 0}, []float64{0, 1}); err == nil {
		t.Error("events in a zero-share arm accepted")
	}
	if lo, hi, ok := cs.Interval(); !ok || lo != 0.5 || hi != 4 {
		t.Errorf("no data: interval %v..%v ok=%v, want the whole grid", lo, hi, ok)
	}
}
