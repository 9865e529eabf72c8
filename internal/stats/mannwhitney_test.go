package stats

import (
	"math"
	"testing"
)

func TestMannWhitneyExactKnownValues(t *testing.T) {
	cases := []struct {
		x, y  []float64
		alt   Alternative
		u, p  float64
		exact bool
	}{
		// All 20 arrangements of 3 vs 3 equally likely; full separation has probability 1/20.
		{[]float64{4, 5, 6}, []float64{1, 2, 3}, Greater, 9, 0.05, true},
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, Less, 0, 0.05, true},
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, Greater, 0, 1, true},
		{[]float64{4, 5, 6}, []float64{1, 2, 3}, TwoSided, 9, 0.1, true},
		// n1=3, n2=2: U frequencies 1,1,2,2,2,1,1 over 10 arrangements; U=3, P(U>=3)=6/10.
		{[]float64{1, 3, 5}, []float64{2, 4}, Greater, 3, 0.6, true},
	}
	for _, c := range cases {
		r, err := MannWhitney(c.x, c.y, c.alt)
		if err != nil {
			t.Fatal(err)
		}
		if r.U != c.u || math.Abs(r.PValue-c.p) > 1e-12 || r.Exact != c.exact {
			t.Errorf("MannWhitney(%v, %v, %v) = %+v, want U=%v p=%v exact=%v", c.x, c.y, c.alt, r, c.u, c.p, c.exact)
		}
	}
}

// Ties force the normal approximation. Midranks: x ranks 1, 3, 3, 6 → R=13, U=3; mean 8;
// Σ(t³−t)=48; var = 16/12·(9 − 48/56); z = (3 − 8 + ½)/sd = −1.365698; p = Φ(z) = 0.0860169.
func TestMannWhitneyNormalWithTies(t *testing.T) {
	r, err := MannWhitney([]float64{1, 2, 2, 3}, []float64{2, 3, 3, 4}, Less)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exact || r.U != 3 || math.Abs(r.Z-(-1.365698202000489)) > 1e-9 || math.Abs(r.PValue-0.08601685446091148) > 1e-9 {
		t.Fatalf("got %+v, want U=3 z=-1.365698 p=0.0860169 (normal)", r)
	}
}

func TestMannWhitneyAllTiedIsNoEvidence(t *testing.T) {
	r, err := MannWhitney([]float64{1, 1, 1}, []float64{1, 1}, Greater)
	if err != nil || r.PValue != 1 {
		t.Fatalf("got %+v, %v; want p=1", r, err)
	}
}

func TestMannWhitneyVerdictNeverPassesBadInput(t *testing.T) {
	for _, in := range [][2][]float64{
		{nil, {1, 2}},
		{{1, 2}, {}},
		{{math.NaN(), 1}, {1, 2}},
		{{1, 2}, {math.Inf(1)}},
	} {
		v := MannWhitneyVerdict(in[0], in[1], true, 0.05)
		if v.Outcome != OutcomeInsufficient || !math.IsNaN(v.Value) {
			t.Errorf("verdict for %v = %+v, want insufficient with NaN value", in, v)
		}
	}
	v := MannWhitneyVerdict([]float64{0.09, 0.1, 0.11, 0.12, 0.13}, []float64{0.01, 0.02, 0.015, 0.012, 0.018}, true, 0.05)
	if v.Outcome != OutcomeCanaryWorse || v.Value != 1 || v.Estimate != 1 {
		t.Errorf("clearly higher canary error rates: %+v, want canary-worse", v)
	}
	v = MannWhitneyVerdict([]float64{0.09, 0.1, 0.11}, []float64{0.01, 0.02, 0.015}, false, 0.05)
	if v.Outcome != OutcomeNoEvidence {
		t.Errorf("higher values when lower is worse: %+v, want no-evidence", v)
	}
}
