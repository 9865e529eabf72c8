// Package adapter converts between the Argo-compatible API types (api/v1alpha1) and the pure
// engine's own types (internal/rollout). The engine stays free of Kubernetes' packages; this
// is the one place that knows both shapes.
package adapter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// TemplateHash is the revision identity of a pod template: a short hex digest of its JSON
// (labels and annotations included, as Argo's pod-template-hash). Same template, same hash.
func TemplateHash(t corev1.PodTemplateSpec) string {
	b, err := json.Marshal(t)
	if err != nil { // a PodTemplateSpec always marshals
		panic(fmt.Sprintf("marshal pod template: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}

// Spec converts a (defaulted, validated) Rollout into the engine's Spec.
func Spec(ro *v1alpha1.Rollout) (rollout.Spec, error) {
	s := ro.Spec
	out := rollout.Spec{
		Name:                  ro.Name,
		Replicas:              deref(s.Replicas, 1),
		TemplateHash:          TemplateHash(s.Template),
		ProgressDeadlineAbort: s.ProgressDeadlineAbort,
		Paused:                s.Paused,
	}
	if s.ProgressDeadlineSeconds != nil {
		out.ProgressDeadlineSeconds = *s.ProgressDeadlineSeconds
	}
	if s.RevisionHistoryLimit != nil {
		out.RevisionHistoryLimit = *s.RevisionHistoryLimit
	}
	switch st := s.Strategy; {
	case st.Canary != nil:
		c, err := canary(st.Canary)
		if err != nil {
			return out, err
		}
		out.Canary = c
	case st.BlueGreen != nil:
		bg := st.BlueGreen
		out.BlueGreen = &rollout.BlueGreenStrategy{
			ActiveService: bg.ActiveService, PreviewService: bg.PreviewService,
			PreviewReplicaCount: bg.PreviewReplicaCount, AutoPromotionEnabled: bg.AutoPromotionEnabled,
			AutoPromotionSeconds: bg.AutoPromotionSeconds, ScaleDownDelaySeconds: bg.ScaleDownDelaySeconds,
			AbortScaleDownDelaySeconds: bg.AbortScaleDownDelaySeconds,
			PrePromotionAnalysis:       analysisSpec(bg.PrePromotionAnalysis),
			PostPromotionAnalysis:      analysisSpec(bg.PostPromotionAnalysis),
		}
	case st.Rolling != nil:
		out.Rolling = &rollout.RollingStrategy{MaxSurge: intOrPercent(st.Rolling.MaxSurge), MaxUnavailable: intOrPercent(st.Rolling.MaxUnavailable)}
	default:
		return out, fmt.Errorf("spec.strategy: one of canary, blueGreen or rolling is required")
	}
	return out, nil
}

func canary(c *v1alpha1.CanaryStrategy) (*rollout.CanaryStrategy, error) {
	out := &rollout.CanaryStrategy{
		MaxSurge: intOrPercent(c.MaxSurge), MaxUnavailable: intOrPercent(c.MaxUnavailable),
		ScaleDownDelaySeconds: c.ScaleDownDelaySeconds, AbortScaleDownDelaySeconds: c.AbortScaleDownDelaySeconds,
	}
	if c.Analysis != nil {
		bg := &rollout.BackgroundAnalysis{AnalysisSpec: *analysisSpec(&c.Analysis.RolloutAnalysis)}
		if c.Analysis.StartingStep != nil {
			bg.StartingStep = *c.Analysis.StartingStep
		}
		out.Analysis = bg
	}
	for i, st := range c.Steps {
		var step rollout.CanaryStep
		switch {
		case st.SetWeight != nil:
			step.SetWeight = st.SetWeight
		case st.Pause != nil:
			p := &rollout.PauseStep{}
			if st.Pause.Duration != nil {
				d, err := pauseDuration(*st.Pause.Duration)
				if err != nil {
					return nil, fmt.Errorf("spec.strategy.canary.steps[%d].pause.duration: %w", i, err)
				}
				p.Duration = &d
			}
			if st.Pause.Analysis != nil {
				p.Analysis = &rollout.PauseAnalysis{SuccessCondition: st.Pause.Analysis.SuccessCondition, MetricName: st.Pause.Analysis.MetricName}
			}
			step.Pause = p
		case st.Analysis != nil:
			step.Analysis = analysisSpec(st.Analysis)
		case st.SetCanaryScale != nil || st.SetHeaderRoute != nil || st.SetMirrorRoute != nil:
			// These three may share a step, as in Argo.
			if st.SetCanaryScale != nil {
				step.SetCanaryScale = &rollout.SetCanaryScale{Weight: st.SetCanaryScale.Weight, Replicas: st.SetCanaryScale.Replicas, MatchTrafficWeight: st.SetCanaryScale.MatchTrafficWeight}
			}
			if st.SetHeaderRoute != nil {
				hr := &rollout.HeaderRoute{Name: st.SetHeaderRoute.Name}
				for _, m := range st.SetHeaderRoute.Match {
					hm := rollout.HeaderMatch{HeaderName: m.HeaderName}
					if m.HeaderValue != nil {
						hm.HeaderValue = stringMatch(*m.HeaderValue)
					}
					hr.Match = append(hr.Match, hm)
				}
				step.SetHeaderRoute = hr
			}
			if st.SetMirrorRoute != nil {
				mr := &rollout.MirrorRoute{Name: st.SetMirrorRoute.Name, Percentage: deref(st.SetMirrorRoute.Percentage, 100)} // Argo: defaults to 100
				for _, m := range st.SetMirrorRoute.Match {
					rm := rollout.RouteMatch{}
					if m.Method != nil {
						v := stringMatch(*m.Method)
						rm.Method = &v
					}
					if m.Path != nil {
						v := stringMatch(*m.Path)
						rm.Path = &v
					}
					if len(m.Headers) > 0 {
						rm.Headers = map[string]rollout.StringMatch{}
						for k, v := range m.Headers {
							rm.Headers[k] = stringMatch(v)
						}
					}
					mr.Match = append(mr.Match, rm)
				}
				step.SetMirrorRoute = mr
			}
		case st.Experiment != nil, st.Plugin != nil:
			step.Experiment = true
		}
		out.Steps = append(out.Steps, step)
	}
	return out, nil
}

// pauseDuration reads an integer (seconds) or a Go duration string ("10m", "30s").
func pauseDuration(v intstr.IntOrString) (time.Duration, error) {
	if v.Type == intstr.Int {
		return time.Duration(v.IntVal) * time.Second, nil
	}
	s := strings.TrimSpace(v.StrVal)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		return time.Duration(n) * time.Second, nil
	}
	return 0, fmt.Errorf("must be seconds or a duration like \"10m\", got %q", s)
}

func analysisSpec(a *v1alpha1.RolloutAnalysis) *rollout.AnalysisSpec {
	if a == nil {
		return nil
	}
	out := &rollout.AnalysisSpec{}
	for _, t := range a.Templates {
		out.Templates = append(out.Templates, rollout.TemplateRef{TemplateName: t.TemplateName, ClusterScope: t.ClusterScope})
	}
	for _, arg := range a.Args {
		ra := rollout.AnalysisArg{Name: arg.Name, Value: arg.Value}
		if vf := arg.ValueFrom; vf != nil {
			if vf.PodTemplateHashValue != nil {
				ra.PodTemplateHashValue = string(*vf.PodTemplateHashValue)
			}
			if vf.FieldRef != nil {
				ra.FieldPath = vf.FieldRef.FieldPath
			}
		}
		out.Args = append(out.Args, ra)
	}
	return out
}

func stringMatch(m v1alpha1.StringMatch) rollout.StringMatch {
	return rollout.StringMatch{Exact: m.Exact, Prefix: m.Prefix, Regex: m.Regex}
}

func intOrPercent(v *intstr.IntOrString) *rollout.IntOrPercent {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		return &rollout.IntOrPercent{Value: v.IntVal}
	}
	s := strings.TrimSuffix(strings.TrimSpace(v.StrVal), "%")
	var n int32
	fmt.Sscanf(s, "%d", &n)
	return &rollout.IntOrPercent{Value: n, Percent: true}
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
