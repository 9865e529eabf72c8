package v1alpha1

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Argo Rollouts' defaults (utils/defaults in Argo), used by SetDefaults*.
const (
	DefaultReplicas                            int32 = 1
	DefaultRevisionHistoryLimit                int32 = 10
	DefaultProgressDeadlineSeconds             int32 = 600
	DefaultMaxSurge                                  = "25%"
	DefaultMaxUnavailable                            = "25%"
	DefaultScaleDownDelaySeconds               int32 = 30
	DefaultAbortScaleDownDelaySeconds          int32 = 30
	DefaultAutoPromotionEnabled                      = true
	DefaultAnalysisRunSuccessfulHistoryLimit   int32 = 5
	DefaultAnalysisRunUnsuccessfulHistoryLimit int32 = 5
	DefaultConsecutiveErrorLimit               int32 = 4
	DefaultWebMetricTimeoutSeconds             int64 = 10
	DefaultMirrorPercentage                    int32 = 100
	// MaxDelaySeconds caps scale-down and promotion delays (one day), as Argo does.
	MaxDelaySeconds int32 = 86400
)

func ptr[T any](v T) *T { return &v }

// SetDefaultsRollout fills every unset field that has a default, in place. Decode does not call
// it (so validation sees what was written); Parse does.
func SetDefaultsRollout(r *Rollout) {
	s := &r.Spec
	if s.Replicas == nil {
		s.Replicas = ptr(DefaultReplicas)
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr(DefaultRevisionHistoryLimit)
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr(DefaultProgressDeadlineSeconds)
	}
	if s.Analysis == nil {
		s.Analysis = &AnalysisRunStrategy{}
	}
	if s.Analysis.SuccessfulRunHistoryLimit == nil {
		s.Analysis.SuccessfulRunHistoryLimit = ptr(DefaultAnalysisRunSuccessfulHistoryLimit)
	}
	if s.Analysis.UnsuccessfulRunHistoryLimit == nil {
		s.Analysis.UnsuccessfulRunHistoryLimit = ptr(DefaultAnalysisRunUnsuccessfulHistoryLimit)
	}
	for i := range s.RollbackTriggers {
		if s.RollbackTriggers[i].Operator == "" {
			s.RollbackTriggers[i].Operator = ">"
		}
	}
	if bg := s.Strategy.BlueGreen; bg != nil {
		if bg.AutoPromotionEnabled == nil {
			bg.AutoPromotionEnabled = ptr(DefaultAutoPromotionEnabled)
		}
		if bg.ScaleDownDelaySeconds == nil {
			bg.ScaleDownDelaySeconds = ptr(DefaultScaleDownDelaySeconds)
		}
		if bg.AbortScaleDownDelaySeconds == nil {
			bg.AbortScaleDownDelaySeconds = ptr(DefaultAbortScaleDownDelaySeconds)
		}
	}
	if c := s.Strategy.Canary; c != nil {
		if c.MaxSurge == nil {
			c.MaxSurge = ptr(intstr.FromString(DefaultMaxSurge))
		}
		if c.MaxUnavailable == nil {
			c.MaxUnavailable = ptr(intstr.FromString(DefaultMaxUnavailable))
		}
		// Argo applies these delays only when a traffic router holds the weights.
		if c.TrafficRouting != nil {
			if c.ScaleDownDelaySeconds == nil {
				c.ScaleDownDelaySeconds = ptr(DefaultScaleDownDelaySeconds)
			}
			if c.AbortScaleDownDelaySeconds == nil {
				c.AbortScaleDownDelaySeconds = ptr(DefaultAbortScaleDownDelaySeconds)
			}
		}
		for i := range c.Steps {
			if m := c.Steps[i].SetMirrorRoute; m != nil && m.Percentage == nil && len(m.Match) > 0 {
				m.Percentage = ptr(DefaultMirrorPercentage)
			}
		}
	}
	if rl := s.Strategy.Rolling; rl != nil {
		if rl.MaxSurge == nil {
			rl.MaxSurge = ptr(intstr.FromString(DefaultMaxSurge))
		}
		if rl.MaxUnavailable == nil {
			rl.MaxUnavailable = ptr(intstr.FromString(DefaultMaxUnavailable))
		}
	}
}

// SetDefaultsAnalysisTemplateSpec fills metric defaults in place: consecutiveErrorLimit 4,
// failureLimit and inconclusiveLimit 0, web method GET and timeout 10s.
func SetDefaultsAnalysisTemplateSpec(s *AnalysisTemplateSpec) {
	SetDefaultsMetrics(s.Metrics)
}

// SetDefaultsMetrics fills metric defaults in place (see SetDefaultsAnalysisTemplateSpec).
func SetDefaultsMetrics(metrics []Metric) {
	for i := range metrics {
		m := &metrics[i]
		if m.ConsecutiveErrorLimit == nil {
			m.ConsecutiveErrorLimit = ptr(intstr.FromInt32(DefaultConsecutiveErrorLimit))
		}
		if m.FailureLimit == nil {
			m.FailureLimit = ptr(intstr.FromInt32(0))
		}
		if m.InconclusiveLimit == nil {
			m.InconclusiveLimit = ptr(intstr.FromInt32(0))
		}
		if w := m.Provider.Web; w != nil {
			if w.Method == "" {
				w.Method = WebMetricMethodGet
			}
			if w.TimeoutSeconds == 0 {
				w.TimeoutSeconds = DefaultWebMetricTimeoutSeconds
			}
		}
	}
}

// Duration parses a Go duration string; empty is zero.
func (d DurationString) Duration() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", string(d), err)
	}
	return v, nil
}

// PauseDuration returns how long the pause lasts. ok is false for an indefinite pause (no
// duration: wait for promote, or for pause.analysis). Integers are seconds; strings are Go
// durations ("10m") or, as in Argo, a number of seconds ("30").
func (p RolloutPause) PauseDuration() (d time.Duration, ok bool, err error) {
	if p.Duration == nil {
		return 0, false, nil
	}
	d, err = parseIntOrDuration(*p.Duration)
	if err != nil {
		return 0, false, err
	}
	return d, true, nil
}

func parseIntOrDuration(v intstr.IntOrString) (time.Duration, error) {
	if v.Type == intstr.Int {
		return time.Duration(v.IntVal) * time.Second, nil
	}
	if n, err := strconv.ParseInt(v.StrVal, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v.StrVal)
	if err != nil {
		return 0, fmt.Errorf("must be integer seconds or a Go duration such as \"10m\"")
	}
	return d, nil
}

// AutoPromotionEnabledOrDefault is spec.strategy.blueGreen.autoPromotionEnabled, true if unset.
func (b *BlueGreenStrategy) AutoPromotionEnabledOrDefault() bool {
	if b == nil || b.AutoPromotionEnabled == nil {
		return DefaultAutoPromotionEnabled
	}
	return *b.AutoPromotionEnabled
}

// IsDryRun reports whether a metric is marked dry-run by name or regular expression.
func IsDryRun(dryRun []DryRun, metricName string) bool {
	for _, d := range dryRun {
		if d.MetricName == metricName || d.MetricName == "*" {
			return true
		}
		if re, err := CompileDryRunPattern(d.MetricName); err == nil && re.MatchString(metricName) {
			return true
		}
	}
	return false
}

// CompileDryRunPattern compiles a dry-run metric pattern, matched against the whole metric name.
func CompileDryRunPattern(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + pattern + ")$")
}
