package builtin

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/stats"
)

// The judges are anytime-valid sequential tests of "the canary is worse than the
// baseline". The provider keeps no state but a cache: every measurement replays the run's
// data from its start as a sequence of slices (Options.Step wide) into a fresh test, so a verdict
// extends the previous one, survives restarts, and may be taken as often as wanted. The
// verdict's value is 1 (canary worse), 0 (no evidence yet) or NaN (not enough data), so a
// template says `failureCondition: result == 1`.

// slice is what one arm did in one time slice.
type slice struct {
	requests, errors uint64
	// labelled and wrong count the served predictions whose ground truth arrived, and the
	// wrong ones among them.
	labelled, wrong uint64
	latency         []uint64
	mirror          gateway.MirrorStats
}

func sliceOf(s gateway.RevisionSnapshot) slice {
	return slice{
		requests: s.Requests,
		errors:   s.StatusClass[5] + s.StatusClass[0],
		labelled: s.Confusion.Total(),
		wrong:    s.Confusion.FalsePositive + s.Confusion.FalseNegative,
		latency:  append([]uint64(nil), s.Latency.Counts...),
		mirror:   s.Mirror,
	}
}

// minus is a − b for cumulative slices (a starts earlier, so it holds b). Each count
// saturates at zero: if a snapshot could not be read (the source then returns an empty
// one), the slice shows no events rather than a wrapped-around count, so a failed read can
// only weaken the evidence, never invent it.
func (a slice) minus(b slice) slice {
	out := slice{requests: sub(a.requests, b.requests), errors: sub(a.errors, b.errors),
		labelled: sub(a.labelled, b.labelled), wrong: sub(a.wrong, b.wrong), latency: make([]uint64, len(a.latency))}
	for i := range a.latency {
		if i < len(b.latency) {
			out.latency[i] = sub(a.latency[i], b.latency[i])
		}
	}
	am, bm := a.mirror, b.mirror
	out.mirror = gateway.MirrorStats{
		Compared: sub(am.Compared, bm.Compared), Agreed: sub(am.Agreed, bm.Agreed), Disagreed: sub(am.Disagreed, bm.Disagreed),
		ServedRightMirrorWrong: sub(am.ServedRightMirrorWrong, bm.ServedRightMirrorWrong),
		ServedWrongMirrorRight: sub(am.ServedWrongMirrorRight, bm.ServedWrongMirrorRight),
		BothRight:              sub(am.BothRight, bm.BothRight), BothWrong: sub(am.BothWrong, bm.BothWrong),
	}
	return out
}

// sub is a − b, or 0 when b > a.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func (s slice) answered() uint64 {
	var n uint64
	for _, c := range s.latency {
		n += c
	}
	return n
}

// series returns the per-slice counts of revision from r.since to now, oldest first, by
// differencing cumulative snapshots (Snapshot only sums "since t until now"). Slices that
// ended before now never change again (the recorder writes only into the current bucket),
// so they are cached: a new verdict reads only the slices added since the last one.
func (p *Provider) series(r *request, revision string) []slice {
	var bounds []time.Time
	for t := r.since; !t.After(r.now); t = t.Add(p.opts.Step) {
		bounds = append(bounds, t)
	}
	out := make([]slice, len(bounds))
	key := func(i int) sliceKey {
		return sliceKey{service: r.service, revision: revision, from: bounds[i].UnixNano(), step: p.opts.Step}
	}
	first := 0 // the first slice not in the cache; the last slice is never cached
	for ; first < len(bounds)-1; first++ {
		s, ok := p.slices.get(key(first))
		if !ok {
			break
		}
		out[first] = s
	}
	next := sliceOf(p.opts.Source.Snapshot(r.service, revision, bounds[len(bounds)-1]))
	out[len(bounds)-1] = next
	for i := len(bounds) - 2; i >= first; i-- {
		cum := sliceOf(p.opts.Source.Snapshot(r.service, revision, bounds[i]))
		out[i] = cum.minus(next)
		p.slices.put(key(i), out[i])
		next = cum
	}
	return out
}

// sliceKey names one completed slice of one revision.
type sliceKey struct {
	service, revision string
	from              int64
	step              time.Duration
}

// maxCachedSlices bounds the slice cache (about 300 bytes a slice).
const maxCachedSlices = 1 << 15

// sliceCache keeps completed slices; when full it is emptied (the next verdicts rebuild it).
type sliceCache struct {
	mu      sync.Mutex
	entries map[sliceKey]slice
}

func (c *sliceCache) get(k sliceKey) (slice, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.entries[k]
	return s, ok
}

func (c *sliceCache) put(k sliceKey, s slice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedSlices {
		c.entries = make(map[sliceKey]slice)
	}
	c.entries[k] = s
}

func (r *request) alpha() (float64, error) {
	a, err := r.floatParam("alpha", stats.DefaultAlpha)
	if err != nil {
		return 0, err
	}
	if !(a > 0 && a < 1) {
		return 0, fmt.Errorf("%s.params.alpha: must be between 0 and 1 (exclusive), got %v", r.field, a)
	}
	return a, nil
}

func verdict(v stats.Verdict, extra map[string]string) analysis.Measurement {
	meta := map[string]string{
		"outcome":     v.Outcome.String(),
		"pValue":      fmtF(v.PValue),
		"bayesFactor": fmtF(v.BayesFactor),
		"estimate":    fmtF(v.Estimate),
		"samples":     strconv.FormatInt(v.Samples, 10),
		"reason":      v.Reason,
	}
	for k, val := range extra {
		meta[k] = val
	}
	return analysis.Measurement{Value: v.Value, Metadata: meta}
}

// judgeErrors: Lindon & Malek's count test on errors (5xx or no answer), canary vs
// baseline, with each slice's request counts as the traffic shares.
func judgeErrors(p *Provider, r *request) (analysis.Measurement, error) {
	return countJudge(p, r, func(s slice) (events, trials uint64) { return s.errors, s.requests }, "Requests")
}

// countJudge feeds Lindon & Malek's count test, slice by slice, with each arm's events and
// the trials they fell among (the shares); a slice where either arm had no trials is not
// evidence. unit names the trials in the verdict's metadata.
func countJudge(p *Provider, r *request, count func(slice) (events, trials uint64), unit string) (analysis.Measurement, error) {
	alpha, err := r.alpha()
	if err != nil {
		return analysis.Measurement{}, err
	}
	test, err := stats.NewCanaryErrorTest(alpha)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("%s: %w", r.field, err)
	}
	canary, base := p.series(r, r.revision), p.series(r, r.baseline)
	var cn, sn uint64
	for i := range canary {
		ce, ct := count(canary[i])
		se, st := count(base[i])
		if ct == 0 || st == 0 {
			continue
		}
		cn, sn = cn+ct, sn+st
		if err := test.Update([]int64{int64(ce), int64(se)}, []float64{float64(ct), float64(st)}); err != nil {
			return analysis.Measurement{}, fmt.Errorf("%s: slice %d: %w", r.field, i, err)
		}
	}
	return verdict(test.Verdict(), map[string]string{"canary" + unit: u(cn), "baseline" + unit: u(sn)}), nil
}

// judgeLatency: slow-request counts. A request is slow when it lands above the histogram
// bound at the baseline's running quantile (params.quantile, default 0.9), fixed from the
// baseline's earlier slices before a slice is looked at; slow counts feed the count test
// with answered requests as shares. No slice is tested until the baseline has
// params.warmup answered requests (default 200).
func judgeLatency(p *Provider, r *request) (analysis.Measurement, error) {
	alpha, err := r.alpha()
	if err != nil {
		return analysis.Measurement{}, err
	}
	q, err := r.floatParam("quantile", 0.9)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if !(q > 0 && q < 1) {
		return analysis.Measurement{}, fmt.Errorf("%s.params.quantile: must be between 0 and 1 (exclusive), got %v", r.field, q)
	}
	warmup, err := r.minCount("warmup", 200)
	if err != nil {
		return analysis.Measurement{}, err
	}
	test, err := stats.NewCanaryErrorTest(alpha)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("%s: %w", r.field, err)
	}
	bounds := gateway.LatencyBounds()
	canary, base := p.series(r, r.revision), p.series(r, r.baseline)
	var seen gateway.LatencyHistogram
	seen.Bounds = bounds
	seen.Counts = make([]uint64, len(bounds)+1)
	threshold := math.NaN()
	for i := range canary {
		c, s := canary[i], base[i]
		if seen.Total() >= warmup && c.answered() > 0 && s.answered() > 0 {
			j := boundIndex(bounds, seen.Quantile(q))
			threshold = bounds[j] * 1000
			cs, ss := sumFrom(c.latency, j+1), sumFrom(s.latency, j+1)
			if err := test.Update([]int64{int64(cs), int64(ss)}, []float64{float64(c.answered()), float64(s.answered())}); err != nil {
				return analysis.Measurement{}, fmt.Errorf("%s: slice %d: %w", r.field, i, err)
			}
		}
		for k, n := range s.latency {
			seen.Counts[k] += n
		}
	}
	v := test.Verdict()
	if math.IsNaN(threshold) {
		v = stats.Verdict{Outcome: stats.OutcomeInsufficient, Value: math.NaN(), BayesFactor: 1, PValue: 1, Estimate: math.NaN(),
			Samples: int64(seen.Total()), Reason: fmt.Sprintf("baseline has %d answered requests, need %d before testing", seen.Total(), warmup)}
	}
	return verdict(v, map[string]string{"slowThresholdMs": fmtF(threshold), "quantile": fmtF(q)}), nil
}

// boundIndex is the index of the first histogram bound at or above v (the last bound
// when v is beyond all).
func boundIndex(bounds []float64, v float64) int {
	for i, b := range bounds {
		if b >= v {
			return i
		}
	}
	return len(bounds) - 1
}

func sumFrom(counts []uint64, from int) uint64 {
	var n uint64
	for i := from; i < len(counts); i++ {
		n += counts[i]
	}
	return n
}

// judgeAccuracy: sequential McNemar on shadow pairs with ground truth. Only requests the
// canary answered as the mirror target of the serving baseline and whose label arrived
// count; discordant pairs carry the evidence.
func judgeAccuracy(p *Provider, r *request) (analysis.Measurement, error) {
	alpha, err := r.alpha()
	if err != nil {
		return analysis.Measurement{}, err
	}
	minPairs, err := r.minCount("minPairs", 1)
	if err != nil {
		return analysis.Measurement{}, err
	}
	test, err := stats.NewMcNemarTest(stats.McNemarConfig{Alpha: alpha, MinPairs: int64(max(minPairs, 1))})
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("%s: %w", r.field, err)
	}
	for i, s := range p.series(r, r.revision) {
		m := s.mirror
		pc := stats.PairCounts{BothRight: int64(m.BothRight), StableOnlyRight: int64(m.ServedRightMirrorWrong),
			CanaryOnlyRight: int64(m.ServedWrongMirrorRight), BothWrong: int64(m.BothWrong)}
		if pc == (stats.PairCounts{}) {
			continue
		}
		if err := test.Update(pc); err != nil {
			return analysis.Measurement{}, fmt.Errorf("%s: slice %d: %w", r.field, i, err)
		}
	}
	return verdict(test.Verdict(), nil), nil
}

// judgeLatencyMannWhitney is the Kayenta-style comparison: the per-slice latency quantile
// (params.quantile, default 0.99) of canary and baseline, compared with a one-sided
// Mann-Whitney U test. It is a fixed-sample test: use it at the end of a run (count: 1
// with an initialDelay), not peeked at repeatedly.
func judgeLatencyMannWhitney(p *Provider, r *request) (analysis.Measurement, error) {
	alpha, err := r.alpha()
	if err != nil {
		return analysis.Measurement{}, err
	}
	q, err := r.quantileParam(-1)
	if err != nil {
		return analysis.Measurement{}, err
	}
	minReq, err := r.minCount("minRequests", 10)
	if err != nil {
		return analysis.Measurement{}, err
	}
	bounds := gateway.LatencyBounds()
	canary, base := p.series(r, r.revision), p.series(r, r.baseline)
	var cq, sq []float64
	for i := range canary {
		c, s := canary[i], base[i]
		if c.answered() < max(minReq, 1) || s.answered() < max(minReq, 1) {
			continue
		}
		cq = append(cq, gateway.LatencyHistogram{Bounds: bounds, Counts: c.latency}.Quantile(q)*1000)
		sq = append(sq, gateway.LatencyHistogram{Bounds: bounds, Counts: s.latency}.Quantile(q)*1000)
	}
	return verdict(stats.MannWhitneyVerdict(cq, sq, true, alpha), map[string]string{"intervals": strconv.Itoa(len(cq)), "quantile": fmtF(q)}), nil
}

func statsPSI(expected, actual []float64) (float64, error) {
	return stats.PSIFromCounts(expected, actual)
}
