package stats

import "math"

// logBeta returns ln B(a, b) for a, b > 0.
func logBeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// logBetaUpperTail returns ln P(θ > x) for θ ~ Beta(a, b), i.e. ln(1 - I_x(a, b)), where I is
// the regularized incomplete beta function. It works in logs so that the tiny tail masses of
// a long-running test do not underflow.
func logBetaUpperTail(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return math.Inf(-1)
	}
	// 1 - I_x(a,b) = I_{1-x}(b,a). Evaluate the continued fraction directly on whichever side
	// converges fast (x below the mean-ish point), so no tail mass is formed by subtraction.
	if x > (a+1)/(a+b+2) {
		return logIncBetaCF(1-x, b, a)
	}
	return log1mExp(logIncBetaCF(x, a, b))
}

// logIncBetaCF returns ln I_x(a, b) through the continued fraction of DLMF 8.17.22, evaluated
// with the modified Lentz method. It converges quickly for x < (a+1)/(a+b+2).
func logIncBetaCF(x, a, b float64) float64 {
	const (
		tiny    = 1e-300
		eps     = 1e-15
		maxIter = 100000
	)
	logFront := a*math.Log(x) + b*math.Log1p(-x) - math.Log(a) - logBeta(a, b)
	f, c, d := 1.0, 1.0, 0.0
	for i := 0; i <= maxIter; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -((a + m) * (a + b + m) * x) / ((a + 2*m) * (a + 2*m + 1))
		}
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		d = 1 / d
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		cd := c * d
		f *= cd
		if math.Abs(1-cd) < eps {
			break
		}
	}
	// The Lentz product above evaluates 1/(1+d1/(1+d2/...)) times 1 from the i=0 term; the
	// continued fraction value is f-1 over the seed, see DLMF 8.17.22: I = front * (1/(1+...)).
	return logFront + math.Log(f-1)
}

// log1mExp returns ln(1 - e^v) for v <= 0 accurately.
func log1mExp(v float64) float64 {
	if v > -math.Ln2 {
		return math.Log(-math.Expm1(v))
	}
	return math.Log1p(-math.Exp(v))
}
