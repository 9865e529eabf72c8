package simulate

import (
	"math"

	"github.com/shipsafe/shipsafe/internal/stats"
)

// Window is one second of traffic as the gateway records it per revision.
type Window struct {
	CanaryRequests, CanaryErrors, StableRequests, StableErrors int64
}

// Method is one decision rule fed one window per second; it returns true to roll back.
type Method interface {
	Observe(second int, w Window) (rollback bool, err error)
}

// MethodFactory names a rule and builds a fresh instance for each run.
type MethodFactory struct {
	Name string
	New  func() (Method, error)
}

// DefaultMethods are the judge with its production configuration ("sequential"), the
// threshold rule ("threshold") and the fixed-horizon z-test peeked every minute ("ztest").
func DefaultMethods() []MethodFactory {
	return Methods(stats.CanaryErrorTestConfig(0))
}

// Methods is DefaultMethods with the judge built from judge (e.g. to compare priors).
func Methods(judge stats.CountTestConfig) []MethodFactory {
	return []MethodFactory{
		{Name: "sequential", New: func() (Method, error) { return newSequential(judge, 0) }},
		{Name: "threshold", New: func() (Method, error) { return &thresholdRule{limit: 0.05, failureLimit: 3}, nil }},
		{Name: "ztest", New: func() (Method, error) { return &peekedZTest{z: 1.6448536269514722}, nil }},
	}
}

// sequential is the judge: the one-sided count test (stats.CanaryErrorTestConfig in
// production), fed each second's error counts with that second's request counts as shares,
// exactly as the builtin provider feeds it from the gateway's per-revision windows.
type sequential struct {
	test *stats.CountTest
	// configuredShare, when > 0, replaces the realised request split by the configured
	// canary weight (valid only when every request is routed independently at that weight).
	configuredShare float64
	counts          [2]int64
	shares          [2]float64
}

func newSequential(cfg stats.CountTestConfig, configuredShare float64) (*sequential, error) {
	t, err := stats.NewCountTest(cfg)
	if err != nil {
		return nil, err
	}
	return &sequential{test: t, configuredShare: configuredShare}, nil
}

// ConfiguredShareJudge is the judge fed the configured canary weight as its share instead of
// each window's realised request split, named "sequential-configured-share": a comparison
// for docs, not what the builtin provider does.
func ConfiguredShareJudge(judge stats.CountTestConfig, canaryShare float64) MethodFactory {
	return MethodFactory{Name: "sequential-configured-share", New: func() (Method, error) {
		return newSequential(judge, canaryShare)
	}}
}

func (s *sequential) Observe(_ int, w Window) (bool, error) {
	if w.CanaryRequests+w.StableRequests == 0 {
		return false, nil
	}
	s.counts = [2]int64{w.CanaryErrors, w.StableErrors}
	s.shares = [2]float64{float64(w.CanaryRequests), float64(w.StableRequests)}
	if s.configuredShare > 0 {
		s.shares = [2]float64{s.configuredShare, 1 - s.configuredShare}
	}
	if err := s.test.Update(s.counts[:], s.shares[:]); err != nil {
		return false, err
	}
	return s.test.Verdict().Outcome == stats.OutcomeCanaryWorse, nil
}

// thresholdRule is the Argo/Flagger style check: every minute, the canary's error rate over
// that minute fails if above limit; the rollout aborts when failures exceed failureLimit
// (i.e. on the 4th failure with failureLimit 3). A minute without canary requests is
// inconclusive, not a failure.
type thresholdRule struct {
	limit        float64
	failureLimit int
	failures     int
	req, errs    int64
}

func (t *thresholdRule) Observe(second int, w Window) (bool, error) {
	t.req += w.CanaryRequests
	t.errs += w.CanaryErrors
	if second%60 != 0 {
		return false, nil
	}
	if t.req > 0 && float64(t.errs)/float64(t.req) > t.limit {
		t.failures++
	}
	t.req, t.errs = 0, 0
	return t.failures > t.failureLimit, nil
}

// peekedZTest is a fixed-horizon one-sided two-proportion z-test (pooled variance) on the
// cumulative counts, looked at every minute and stopping at the first z above the critical
// value (one-sided 5%): the common "peeking" misuse the judge replaces.
type peekedZTest struct {
	z                      float64
	cReq, cErr, sReq, sErr int64
}

func (p *peekedZTest) Observe(second int, w Window) (bool, error) {
	p.cReq += w.CanaryRequests
	p.cErr += w.CanaryErrors
	p.sReq += w.StableRequests
	p.sErr += w.StableErrors
	if second%60 != 0 || p.cReq == 0 || p.sReq == 0 {
		return false, nil
	}
	nc, ns := float64(p.cReq), float64(p.sReq)
	pooled := float64(p.cErr+p.sErr) / (nc + ns)
	se := math.Sqrt(pooled * (1 - pooled) * (1/nc + 1/ns))
	if se == 0 {
		return false, nil
	}
	z := (float64(p.cErr)/nc - float64(p.sErr)/ns) / se
	return z > p.z, nil
}

// OracleMethod is a reference, not a deployable rule: Wald's SPRT that knows the stable rate
// and tests it against a canary at alternativeRate, at level alpha (threshold ln(1/alpha)).
// No test that must learn the rates from data can be expected to beat it.
func OracleMethod(stableRate, alternativeRate, alpha float64) MethodFactory {
	return MethodFactory{Name: "oracle-sprt", New: func() (Method, error) {
		return &oracleSPRT{
			errLLR: math.Log(alternativeRate / stableRate),
			okLLR:  math.Log((1 - alternativeRate) / (1 - stableRate)),
			bound:  -math.Log(alpha),
		}, nil
	}}
}

type oracleSPRT struct{ errLLR, okLLR, bound, llr float64 }

func (o *oracleSPRT) Observe(_ int, w Window) (bool, error) {
	o.llr += float64(w.CanaryErrors)*o.errLLR + float64(w.CanaryRequests-w.CanaryErrors)*o.okLLR
	return o.llr >= o.bound, nil
}

func nan() float64 { return math.NaN() }
