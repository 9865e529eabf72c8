package stats

import (
	"math"
	"testing"
)

func TestLogBetaUpperTailKnownValues(t *testing.T) {
	cases := []struct {
		x, a, b, want float64 // want = P(θ > x), θ ~ Beta(a, b)
	}{
		{0.3, 1, 1, 0.7},
		{0.5, 7, 7, 0.5},
		{0.2, 3, 1, 1 - math.Pow(0.2, 3)},         // I_x(a,1) = x^a
		{0.2, 1, 4, math.Pow(0.8, 4)},             // I_x(1,b) = 1-(1-x)^b
		{0.05, 1, 19, math.Pow(0.95, 19)},         // small share
		{0.9, 2, 2, 1 - (3*0.81 - 2*0.729)},       // I_x(2,2) = 3x²-2x³
		{0.01, 2, 2, 1 - (3*0.0001 - 2*0.000001)}, // far lower tail
	}
	for _, c := range cases {
		got := math.Exp(logBetaUpperTail(c.x, c.a, c.b))
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("P(Beta(%v,%v) > %v) = %.15g, want %.15g", c.a, c.b, c.x, got, c.want)
		}
	}
}

func TestLogBetaUpperTailLargeParameters(t *testing.T) {
	// Symmetric Beta(a,a) has half its mass above 0.5 for any a.
	for _, a := range []float64{0.5, 10, 1000, 1e5} {
		got := math.Exp(logBetaUpperTail(0.5, a, a))
		if math.Abs(got-0.5) > 1e-9 {
			t.Errorf("P(Beta(%v,%v) > 0.5) = %v, want 0.5", a, a, got)
		}
	}
	// A far tail stays finite in logs instead of underflowing to -Inf.
	v := logBetaUpperTail(0.5, 10, 5000)
	if math.IsInf(v, 0) || math.IsNaN(v) || v > -1000 {
		t.Errorf("far tail log mass = %v, want a large finite negative number", v)
	}
}
