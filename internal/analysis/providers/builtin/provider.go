// Package builtin is the metric provider that reads the gateway's per-revision windows:
// request counts, error and success rates, latency quantiles, accuracy from joined labels,
// shadow agreement, prediction drift, the resource use of a revision's instances, and the
// anytime-valid judge (canary versus stable) whose verdict is a measurement like any other.
package builtin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/platform"
)

// Source is what the provider reads traffic from; *gateway.Recorder implements it.
// Snapshot sums what service/revision did from since until the source's now.
type Source interface {
	Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot
}

// UsageSource reports a revision's resource use; every platform.Platform implements it.
type UsageSource interface {
	Usage(ctx context.Context, svc, revision string) (platform.Usage, error)
}

// Defaults.
const (
	// DefaultWindow is how far back window measures look when the metric sets no window.
	DefaultWindow = time.Minute
	// DefaultStep is the slice width the judges feed their sequential tests with.
	DefaultStep = 5 * time.Second
	// DefaultHistory is how far back the source keeps data (the gateway's default).
	DefaultHistory = 15 * time.Minute
)

// Options configure the provider.
type Options struct {
	// Source is required.
	Source Source
	// Usage enables the cpu and memory measures; nil makes them errors.
	Usage UsageSource
	// Now is the clock; it must agree with the source's clock. Default time.Now.
	Now func() time.Time
	// Step is the judges' slice width (default DefaultStep); use a multiple of the
	// recorder's bucket width.
	Step time.Duration
	// History caps how far back any measure looks (default DefaultHistory).
	History time.Duration
}

// Provider measures builtin metrics.
type Provider struct {
	opts   Options
	slices *sliceCache
}

// New returns a builtin provider.
func New(opts Options) (*Provider, error) {
	if opts.Source == nil {
		return nil, fmt.Errorf("builtin provider: Options.Source is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Step <= 0 {
		opts.Step = DefaultStep
	}
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	return &Provider{opts: opts, slices: &sliceCache{}}, nil
}

// Type implements analysis.Provider.
func (p *Provider) Type() string { return analysis.TypeBuiltin }

// request is one metric, resolved: whose traffic, over which time, with which params.
type request struct {
	field    string // "metrics[<name>].provider.builtin" for errors
	name     string
	service  string
	revision string // the revision measured (the canary by default)
	// baseline is the revision compared with (stable by default); baselineErr says why it
	// could not be resolved, reported only by measures that compare.
	baseline    string
	baselineErr error
	since       time.Time
	now         time.Time
	params      map[string]string
	ctx         context.Context
}

// measureFunc computes one measure.
type measureFunc func(p *Provider, r *request) (analysis.Measurement, error)

// Measure implements analysis.Provider.
func (p *Provider) Measure(ctx context.Context, metric v1alpha1.Metric, args map[string]string) (analysis.Measurement, error) {
	b := metric.Provider.Builtin
	field := fmt.Sprintf("metrics[%s].provider.builtin", metric.Name)
	if b == nil {
		return analysis.Measurement{}, fmt.Errorf("%s: not set", field)
	}
	fn, ok := measures[b.Metric]
	if !ok {
		return analysis.Measurement{}, fmt.Errorf("%s.metric: unknown measure %q (known: %s)", field, b.Metric, strings.Join(MeasureNames(), ", "))
	}
	r, err := p.resolve(ctx, field, b, args)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if compares[b.Metric] && r.baselineErr != nil {
		return analysis.Measurement{}, r.baselineErr
	}
	m, err := fn(p, r)
	if err != nil {
		return analysis.Measurement{}, err
	}
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	m.Metadata["service"] = r.service
	m.Metadata["revision"] = r.revision
	m.Metadata["since"] = r.since.UTC().Format(time.RFC3339)
	return m, nil
}

// MeasureNames lists the builtin measures, sorted.
func MeasureNames() []string {
	out := make([]string, 0, len(measures))
	for n := range measures {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (p *Provider) resolve(ctx context.Context, field string, b *v1alpha1.BuiltinMetric, args map[string]string) (*request, error) {
	info, _ := analysis.RunInfoFrom(ctx)
	r := &request{field: field, name: b.Metric, params: b.Params, now: p.opts.Now(), ctx: ctx}
	r.service = firstNonEmpty(b.Params["service"], args["service"], analysis.RunLabel(info.Labels, analysis.LabelService))
	if r.service == "" {
		return nil, fmt.Errorf("%s.params.service: required (or an arg \"service\", or the run label %s)", field, analysis.LabelService)
	}
	var err error
	if r.revision, err = revisionName(b.Revision, "canary", args, info); err != nil {
		return nil, fmt.Errorf("%s.revision: %w", field, err)
	}
	if r.baseline, err = revisionName(b.Params["baseline"], "stable", args, info); err != nil {
		r.baselineErr = fmt.Errorf("%s.params.baseline: %w", field, err)
	}
	oldest := r.now.Add(-p.opts.History)
	switch {
	case b.Window != "":
		d, err := time.ParseDuration(string(b.Window))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s.window: must be a positive Go duration such as 1m, got %q", field, b.Window)
		}
		r.since = r.now.Add(-d)
	case judges[b.Metric] && !info.StartedAt.IsZero():
		// A judge looks at everything since its run started, so each verdict extends the last.
		r.since = info.StartedAt
	default:
		r.since = r.now.Add(-DefaultWindow)
	}
	if r.since.Before(oldest) {
		r.since = oldest
	}
	return r, nil
}

// revisionName maps "canary" / "stable" (or empty, meaning def) to the revision the run is
// about, taken from the run's labels or the canary-hash / stable-hash args; anything
// else names a revision directly.
func revisionName(v, def string, args map[string]string, info analysis.RunInfo) (string, error) {
	if v == "" {
		v = def
	}
	switch v {
	case "canary", "latest":
		if n := firstNonEmpty(analysis.RunLabel(info.Labels, analysis.LabelRevision), args["canary-hash"], args["latest-hash"]); n != "" {
			return n, nil
		}
		return "", fmt.Errorf("%q needs the run label %s or an arg canary-hash", v, analysis.LabelRevision)
	case "stable":
		if n := firstNonEmpty(analysis.RunLabel(info.Labels, analysis.LabelStableRevision), args["stable-hash"]); n != "" {
			return n, nil
		}
		return "", fmt.Errorf("%q needs the run label %s or an arg stable-hash", v, analysis.LabelStableRevision)
	}
	return v, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// floatParam reads params[name] as a number, def when absent; errors name the field.
func (r *request) floatParam(name string, def float64) (float64, error) {
	s, ok := r.params[name]
	if !ok || s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s.params.%s: must be a number, got %q", r.field, name, s)
	}
	return v, nil
}
