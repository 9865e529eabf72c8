package builtin

import (
	"fmt"
	"math"
	"strconv"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// measures is the catalogue, by name. A measure with no data returns a nil value (which
// the executor never counts as a pass), not zero.
var measures = map[string]measureFunc{
	"request-count":           requestCount,
	"error-rate":              errorRate,
	"success-rate":            successRate,
	"error-rate-delta":        errorRateDelta,
	"latency-p50":             latencyQuantile(0.50),
	"latency-p90":             latencyQuantile(0.90),
	"latency-p95":             latencyQuantile(0.95),
	"latency-p99":             latencyQuantile(0.99),
	"latency-quantile":        latencyQuantile(-1),
	"latency-p99-delta-ms":    latencyDelta(0.99),
	"latency-delta-ms":        latencyDelta(-1),
	"accuracy":                accuracy,
	"accuracy-drop":           accuracyDrop,
	"shadow-agreement":        shadowAgreement,
	"drift-psi":               driftPSI,
	"drift-ks":                driftKS,
	"cpu":                     cpu,
	"memory":                  memory,
	"judge-errors":            judgeErrors,
	"judge-latency":           judgeLatency,
	"judge-accuracy":          judgeAccuracy,
	"judge-misclassification": judgeMisclassification,
	"judge-latency-mw":        judgeLatencyMannWhitney,
}

// compares lists the measures that read the baseline revision too.
var compares = map[string]bool{
	"error-rate-delta": true, "latency-p99-delta-ms": true, "latency-delta-ms": true, "accuracy-drop": true,
	"drift-psi": true, "drift-ks": true, "judge-errors": true, "judge-latency": true, "judge-latency-mw": true, "judge-misclassification": true,
}

// judges compare over the run's lifetime by default.
var judges = map[string]bool{"judge-errors": true, "judge-latency": true, "judge-accuracy": true, "judge-latency-mw": true, "judge-misclassification": true}

func (p *Provider) snap(r *request, revision string) gateway.RevisionSnapshot {
	return p.opts.Source.Snapshot(r.service, revision, r.since)
}

func number(v float64, meta map[string]string) analysis.Measurement {
	return analysis.Measurement{Value: v, Metadata: meta}
}

func noData(why string) analysis.Measurement {
	return analysis.Measurement{Value: nil, Metadata: map[string]string{"noData": why}}
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func requestCount(p *Provider, r *request) (analysis.Measurement, error) {
	s := p.snap(r, r.revision)
	return number(float64(s.Requests), nil), nil
}

func errorRate(p *Provider, r *request) (analysis.Measurement, error) {
	s := p.snap(r, r.revision)
	if s.Requests == 0 {
		return noData("no requests in the window"), nil
	}
	return number(s.ErrorRate(), map[string]string{"requests": u(s.Requests), "errors": u(s.StatusClass[5] + s.StatusClass[0])}), nil
}

func successRate(p *Provider, r *request) (analysis.Measurement, error) {
	m, err := errorRate(p, r)
	if err != nil || m.Value == nil {
		return m, err
	}
	m.Value = 1 - m.Value.(float64)
	return m, nil
}

func errorRateDelta(p *Provider, r *request) (analysis.Measurement, error) {
	c, s := p.snap(r, r.revision), p.snap(r, r.baseline)
	if c.Requests == 0 || s.Requests == 0 {
		return noData("canary or baseline has no requests in the window"), nil
	}
	return number(c.ErrorRate()-s.ErrorRate(), map[string]string{"canary": fmtF(c.ErrorRate()), "baseline": fmtF(s.ErrorRate())}), nil
}

// quantileParam is q when fixed, else params.quantile (0..1).
func (r *request) quantileParam(q float64) (float64, error) {
	if q >= 0 {
		return q, nil
	}
	v, err := r.floatParam("quantile", 0.99)
	if err != nil {
		return 0, err
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("%s.params.quantile: must be between 0 and 1 (exclusive), got %v", r.field, v)
	}
	return v, nil
}

// latencyQuantile is the q-quantile of answered requests' latency, in milliseconds.
func latencyQuantile(q float64) measureFunc {
	return func(p *Provider, r *request) (analysis.Measurement, error) {
		q, err := r.quantileParam(q)
		if err != nil {
			return analysis.Measurement{}, err
		}
		s := p.snap(r, r.revision)
		if s.Latency.Total() == 0 {
			return noData("no answered requests in the window"), nil
		}
		return number(s.Latency.Quantile(q)*1000, map[string]string{"quantile": fmtF(q), "samples": u(s.Latency.Total())}), nil
	}
}

// latencyDelta is canary minus baseline latency at quantile q, in milliseconds.
func latencyDelta(q float64) measureFunc {
	return func(p *Provider, r *request) (analysis.Measurement, error) {
		q, err := r.quantileParam(q)
		if err != nil {
			return analysis.Measurement{}, err
		}
		c, s := p.snap(r, r.revision), p.snap(r, r.baseline)
		if c.Latency.Total() == 0 || s.Latency.Total() == 0 {
			return noData("canary or baseline has no answered requests in the window"), nil
		}
		cq, sq := c.Latency.Quantile(q)*1000, s.Latency.Quantile(q)*1000
		return number(cq-sq, map[string]string{"quantile": fmtF(q), "canaryMs": fmtF(cq), "baselineMs": fmtF(sq)}), nil
	}
}

// minLabels is params.minLabels (default 1).
func (r *request) minCount(name string, def float64) (uint64, error) {
	v, err := r.floatParam(name, def)
	if err != nil {
		return 0, err
	}
	if v < 0 || math.IsNaN(v) {
		return 0, fmt.Errorf("%s.params.%s: must be 0 or more, got %v", r.field, name, v)
	}
	return uint64(v), nil
}

func accuracy(p *Provider, r *request) (analysis.Measurement, error) {
	minLabels, err := r.minCount("minLabels", 1)
	if err != nil {
		return analysis.Measurement{}, err
	}
	c := p.snap(r, r.revision).Confusion
	if c.Total() == 0 || c.Total() < minLabels {
		return noData(fmt.Sprintf("%d labels joined, need %d", c.Total(), max(minLabels, 1))), nil
	}
	return number(c.Accuracy(), map[string]string{"labels": u(c.Total())}), nil
}

// accuracyDrop is baseline accuracy minus canary accuracy (positive: the canary is worse).
func accuracyDrop(p *Provider, r *request) (analysis.Measurement, error) {
	minLabels, err := r.minCount("minLabels", 1)
	if err != nil {
		return analysis.Measurement{}, err
	}
	c, s := p.snap(r, r.revision).Confusion, p.snap(r, r.baseline).Confusion
	need := max(minLabels, 1)
	if c.Total() < need || s.Total() < need {
		return noData(fmt.Sprintf("labels joined: canary %d, baseline %d; need %d each", c.Total(), s.Total(), need)), nil
	}
	return number(s.Accuracy()-c.Accuracy(), map[string]string{"canary": fmtF(c.Accuracy()), "baseline": fmtF(s.Accuracy()),
		"canaryLabels": u(c.Total()), "baselineLabels": u(s.Total())}), nil
}

// shadowAgreement is the share of mirrored requests where the revision (as the mirror
// target) gave the same label as the revision that served the request.
func shadowAgreement(p *Provider, r *request) (analysis.Measurement, error) {
	m := p.snap(r, r.revision).Mirror
	if m.Compared == 0 {
		return noData("no mirrored request compared in the window"), nil
	}
	return number(float64(m.Agreed)/float64(m.Compared), map[string]string{"compared": u(m.Compared), "sent": u(m.Sent), "failed": u(m.Failed)}), nil
}

func probabilityCounts(h gateway.ProbabilityHistogram) []float64 {
	out := make([]float64, len(h.Counts))
	for i, c := range h.Counts {
		out[i] = float64(c)
	}
	return out
}

// minSamples is params.minSamples for the drift measures (default 50 predictions each).
func (r *request) driftInputs(p *Provider) (canary, baseline gateway.ProbabilityHistogram, enough bool, err error) {
	need, err := r.minCount("minSamples", 50)
	if err != nil {
		return canary, baseline, false, err
	}
	canary, baseline = p.snap(r, r.revision).Probability, p.snap(r, r.baseline).Probability
	need = max(need, 1)
	return canary, baseline, canary.Total() >= need && baseline.Total() >= need, nil
}

// driftPSI is the population stability index of the canary's predicted probabilities
// against the baseline's, over the gateway's equal-width bins.
func driftPSI(p *Provider, r *request) (analysis.Measurement, error) {
	c, s, ok, err := r.driftInputs(p)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if !ok {
		return noData(fmt.Sprintf("predictions: canary %d, baseline %d; not enough for drift", c.Total(), s.Total())), nil
	}
	v, err := statsPSI(probabilityCounts(s), probabilityCounts(c))
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("%s: %w", r.field, err)
	}
	return number(v, map[string]string{"canarySamples": u(c.Total()), "baselineSamples": u(s.Total())}), nil
}

// driftKS is the two-sample Kolmogorov-Smirnov distance between the binned predicted-
// probability distributions (the largest gap between the two empirical CDFs at bin edges).
func driftKS(p *Provider, r *request) (analysis.Measurement, error) {
	c, s, ok, err := r.driftInputs(p)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if !ok {
		return noData(fmt.Sprintf("predictions: canary %d, baseline %d; not enough for drift", c.Total(), s.Total())), nil
	}
	var cc, sc, d float64
	ct, st := float64(c.Total()), float64(s.Total())
	for i := range c.Counts {
		cc += float64(c.Counts[i])
		sc += float64(s.Counts[i])
		d = math.Max(d, math.Abs(cc/ct-sc/st))
	}
	return number(d, map[string]string{"canarySamples": u(c.Total()), "baselineSamples": u(s.Total())}), nil
}

func (p *Provider) usage(r *request) (cores, rss float64, procs int, err error) {
	if p.opts.Usage == nil {
		return 0, 0, 0, fmt.Errorf("%s.metric: %q needs a platform that reports usage; none is configured", r.field, r.name)
	}
	us, err := p.opts.Usage.Usage(r.ctx, r.service, r.revision)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: usage of %s/%s: %w", r.field, r.service, r.revision, err)
	}
	return us.CPUCores, float64(us.RSSBytes), us.Processes, nil
}

// cpu is the revision's CPU use in cores, summed over its instances.
func cpu(p *Provider, r *request) (analysis.Measurement, error) {
	cores, _, procs, err := p.usage(r)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if procs == 0 {
		return noData("no running instances"), nil
	}
	return number(cores, map[string]string{"instances": strconv.Itoa(procs)}), nil
}

// memory is the revision's resident memory in bytes, summed over its instances.
func memory(p *Provider, r *request) (analysis.Measurement, error) {
	_, rss, procs, err := p.usage(r)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if procs == 0 {
		return noData("no running instances"), nil
	}
	return number(rss, map[string]string{"instances": strconv.Itoa(procs)}), nil
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
