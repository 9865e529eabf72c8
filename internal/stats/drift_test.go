package stats

import (
	"math"
	"testing"
)

// e = (½, ½), a = (0.8, 0.2): PSI = 0.3·ln 1.6 + 0.3·ln 2.5 = 0.4158883.
func TestPSIKnownValue(t *testing.T) {
	var expected, actual []float64
	for i := 0; i < 50; i++ {
		expected = append(expected, 0.1, 0.9)
	}
	for i := 0; i < 80; i++ {
		actual = append(actual, 0.2)
	}
	for i := 0; i < 20; i++ {
		actual = append(actual, 0.7)
	}
	got, err := PSI(expected, actual, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-0.41588830833596724) > 1e-12 {
		t.Fatalf("PSI = %.15g, want 0.415888308335967", got)
	}
	if same, _ := PSI(expected, expected, 10); same != 0 {
		t.Fatalf("PSI of identical samples = %v, want 0", same)
	}
}

func TestPSIRejectsBadInput(t *testing.T) {
	for _, c := range [][2][]float64{
		{nil, {0.5}},
		{{0.5}, {}},
		{{math.NaN()}, {0.5}},
		{{0.5}, {1.5}},
		{{-0.1}, {0.5}},
	} {
		if _, err := PSI(c[0], c[1], 10); err == nil {
			t.Errorf("PSI(%v, %v) accepted bad input", c[0], c[1])
		}
	}
	if _, err := PSIFromCounts([]float64{0, 0}, []float64{1, 1}); err == nil {
		t.Error("PSIFromCounts accepted an all-zero distribution")
	}
}

// a = {1,2,3,4}, b = {3,...,8}: largest CDF gap at 4: 1 − 2/6 = 2/3. n_e = 24/10, λ =
// (√2.4 + 0.12 + 0.11/√2.4)·⅔ = 1.160132, Q(λ) = 0.1354739.
func TestKolmogorovSmirnovKnownValue(t *testing.T) {
	r, err := KolmogorovSmirnov([]float64{4, 2, 3, 1}, []float64{8, 3, 4, 5, 6, 7})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.D-2.0/3) > 1e-15 || math.Abs(r.PValue-0.13547386007256818) > 1e-12 {
		t.Fatalf("KS = %+v, want D=2/3 p=0.1354739", r)
	}
	same, _ := KolmogorovSmirnov([]float64{1, 2, 3}, []float64{3, 2, 1})
	if same.D != 0 || same.PValue != 1 {
		t.Fatalf("identical samples: %+v, want D=0 p=1", same)
	}
	if _, err := KolmogorovSmirnov([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Error("KS accepted NaN")
	}
	if _, err := KolmogorovSmirnov(nil, []float64{1}); err == nil {
		t.Error("KS accepted an empty sample")
	}
}
