package manifest

import (
	"fmt"
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// ValidateRollout checks a rollout on its own and returns every problem with its path.
func ValidateRollout(r *v1alpha1.Rollout) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateName(r.Name, field.NewPath("metadata", "name"))...)
	errs = append(errs, metavalidation.ValidateLabels(r.Labels, field.NewPath("metadata", "labels"))...)
	spec := field.NewPath("spec")
	s := &r.Spec
	errs = append(errs, validateNonNegative(s.Replicas, spec.Child("replicas"))...)
	errs = append(errs, validateNonNegative(&s.MinReadySeconds, spec.Child("minReadySeconds"))...)
	errs = append(errs, validateNonNegative(s.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
	if p := s.ProgressDeadlineSeconds; p != nil {
		if *p <= 0 {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *p, "must be greater than 0"))
		} else if *p <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), *p,
				fmt.Sprintf("must be greater than minReadySeconds (%d)", s.MinReadySeconds)))
		}
	}
	if s.Analysis != nil {
		errs = append(errs, validateNonNegative(s.Analysis.SuccessfulRunHistoryLimit, spec.Child("analysis", "successfulRunHistoryLimit"))...)
		errs = append(errs, validateNonNegative(s.Analysis.UnsuccessfulRunHistoryLimit, spec.Child("analysis", "unsuccessfulRunHistoryLimit"))...)
	}
	if s.WorkloadRef != nil {
		errs = append(errs, validateWorkloadRef(s, spec)...)
	} else {
		errs = append(errs, validateSelector(s.Selector, s.Template.Labels, spec)...)
		errs = append(errs, validatePodTemplate(&s.Template, spec.Child("template"))...)
	}
	errs = append(errs, validateStrategy(s, spec.Child("strategy"))...)
	errs = append(errs, validateRollbackTriggers(s.RollbackTriggers, spec.Child("rollbackTriggers"))...)
	return errs
}

func validateWorkloadRef(s *v1alpha1.RolloutSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := spec.Child("workloadRef")
	if s.WorkloadRef.Kind != v1alpha1.KindDeployment {
		errs = append(errs, mustBeOneOf(p.Child("kind"), s.WorkloadRef.Kind, v1alpha1.KindDeployment))
	}
	if s.WorkloadRef.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	switch s.WorkloadRef.ScaleDown {
	case "", "never", "onsuccess", "progressively":
	default:
		errs = append(errs, mustBeOneOf(p.Child("scaleDown"), s.WorkloadRef.ScaleDown, "never", "onsuccess", "progressively"))
	}
	if len(s.Template.Spec.Containers) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("template"), "must be empty when workloadRef is set"))
	}
	return errs
}

func validateSelector(sel *metav1.LabelSelector, tmplLabels map[string]string, spec *field.Path) field.ErrorList {
	p := spec.Child("selector")
	if sel == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return field.ErrorList{field.Invalid(p, "{}", "must not be empty (it would select every pod)")}
	}
	errs := metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, p)
	errs = append(errs, metavalidation.ValidateLabels(tmplLabels, spec.Child("template", "metadata", "labels"))...)
	if len(errs) > 0 {
		return errs
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(p, describe(nil), err.Error())}
	}
	if !selector.Matches(labels.Set(tmplLabels)) {
		return field.ErrorList{field.Invalid(spec.Child("template", "metadata", "labels"), labels.Set(tmplLabels).String(),
			fmt.Sprintf("must match spec.selector (%s)", selector.String()))}
	}
	return nil
}

func validateStrategy(s *v1alpha1.RolloutSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := 0
	for _, b := range []bool{s.Strategy.BlueGreen != nil, s.Strategy.Canary != nil, s.Strategy.Rolling != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return field.ErrorList{field.Invalid(p, description(fmt.Sprintf("%d strategies", set)), "must set exactly one of blueGreen, canary, rolling")}
	}
	switch {
	case s.Strategy.BlueGreen != nil:
		errs = append(errs, validateBlueGreen(s.Strategy.BlueGreen, s, p.Child("blueGreen"))...)
	case s.Strategy.Canary != nil:
		errs = append(errs, validateCanary(s.Strategy.Canary, p.Child("canary"))...)
	case s.Strategy.Rolling != nil:
		rp := p.Child("rolling")
		errs = append(errs, validateSurgeUnavailable(s.Strategy.Rolling.MaxSurge, s.Strategy.Rolling.MaxUnavailable, rp)...)
	}
	return errs
}

// validateSurgeUnavailable checks maxSurge and maxUnavailable; both zero would never progress.
func validateSurgeUnavailable(s, u *intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateIntOrPercent(s, p.Child("maxSurge"))...)
	errs = append(errs, validateIntOrPercent(u, p.Child("maxUnavailable"))...)
	if isZeroIntOrPercent(s) && isZeroIntOrPercent(u) {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), *u, "must not be 0 when maxSurge is 0"))
	}
	return errs
}

func validateBlueGreen(bg *v1alpha1.BlueGreenStrategy, s *v1alpha1.RolloutSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if bg.ActiveService == "" {
		errs = append(errs, field.Required(p.Child("activeService"), ""))
	} else {
		errs = append(errs, validateServiceName(bg.ActiveService, p.Child("activeService"))...)
	}
	if bg.PreviewService != "" {
		errs = append(errs, validateServiceName(bg.PreviewService, p.Child("previewService"))...)
		if bg.PreviewService == bg.ActiveService {
			errs = append(errs, field.Invalid(p.Child("previewService"), bg.PreviewService, "must differ from activeService"))
		}
	}
	if bg.PreviewReplicaCount != nil {
		errs = append(errs, validateRange(*bg.PreviewReplicaCount, 1, math.MaxInt32, p.Child("previewReplicaCount"))...)
	}
	errs = append(errs, validateRange(bg.AutoPromotionSeconds, 0, v1alpha1.MaxDelaySeconds, p.Child("autoPromotionSeconds"))...)
	if bg.ScaleDownDelaySeconds != nil {
		errs = append(errs, validateRange(*bg.ScaleDownDelaySeconds, 0, v1alpha1.MaxDelaySeconds, p.Child("scaleDownDelaySeconds"))...)
	}
	if bg.AbortScaleDownDelaySeconds != nil {
		errs = append(errs, validateRange(*bg.AbortScaleDownDelaySeconds, 0, v1alpha1.MaxDelaySeconds, p.Child("abortScaleDownDelaySeconds"))...)
	}
	errs = append(errs, validateNonNegative(bg.ScaleDownDelayRevisionLimit, p.Child("scaleDownDelayRevisionLimit"))...)
	if l, h := bg.ScaleDownDelayRevisionLimit, s.RevisionHistoryLimit; l != nil && *l > valueOr(h, v1alpha1.DefaultRevisionHistoryLimit) {
		errs = append(errs, field.Invalid(p.Child("scaleDownDelayRevisionLimit"), *l,
			fmt.Sprintf("must not exceed revisionHistoryLimit (%d)", valueOr(h, v1alpha1.DefaultRevisionHistoryLimit))))
	}
	errs = append(errs, validateIntOrPercent(bg.MaxUnavailable, p.Child("maxUnavailable"))...)
	if bg.PrePromotionAnalysis != nil {
		errs = append(errs, validateRolloutAnalysis(bg.PrePromotionAnalysis, p.Child("prePromotionAnalysis"))...)
	}
	if bg.PostPromotionAnalysis != nil {
		errs = append(errs, validateRolloutAnalysis(bg.PostPromotionAnalysis, p.Child("postPromotionAnalysis"))...)
	}
	errs = append(errs, validateAntiAffinity(bg.AntiAffinity, p.Child("antiAffinity"))...)
	return errs
}

func validateAntiAffinity(a *v1alpha1.AntiAffinity, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	if (a.PreferredDuringSchedulingIgnoredDuringExecution == nil) == (a.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		return field.ErrorList{field.Invalid(p, describe(map[string]any{}),
			"must set exactly one of preferredDuringSchedulingIgnoredDuringExecution, requiredDuringSchedulingIgnoredDuringExecution")}
	}
	if pr := a.PreferredDuringSchedulingIgnoredDuringExecution; pr != nil {
		return validateRange(pr.Weight, 1, 100, p.Child("preferredDuringSchedulingIgnoredDuringExecution", "weight"))
	}
	return nil
}

// validateRolloutAnalysis checks an analysis reference (inline step, background, pre/post).
func validateRolloutAnalysis(a *v1alpha1.RolloutAnalysis, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(a.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "at least one template"))
	}
	for i, t := range a.Templates {
		tp := p.Child("templates").Index(i)
		switch {
		case t.TemplateName == "" && t.TemplateRefLabelSelector == nil:
			errs = append(errs, field.Required(tp.Child("templateName"), ""))
		case t.TemplateName != "" && t.TemplateRefLabelSelector != nil:
			errs = append(errs, field.Forbidden(tp, "must set only one of templateName, templateRefLabelSelector"))
		case t.TemplateName != "":
			errs = append(errs, validateName(t.TemplateName, tp.Child("templateName"))...)
		}
	}
	errs = append(errs, validateRunArgs(a.Args, p.Child("args"))...)
	errs = append(errs, validateDryRun(a.DryRun, p.Child("dryRun"))...)
	return errs
}

func validateRunArgs(args []v1alpha1.AnalysisRunArgument, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, a := range args {
		ap := p.Index(i)
		errs = append(errs, uniqueName(a.Name, seen, ap.Child("name"))...)
		if a.Value != "" && a.ValueFrom != nil {
			errs = append(errs, field.Forbidden(ap, "must set only one of value, valueFrom"))
		}
		if vf := a.ValueFrom; vf != nil {
			vp := ap.Child("valueFrom")
			if (vf.PodTemplateHashValue == nil) == (vf.FieldRef == nil) {
				errs = append(errs, field.Invalid(vp, describe(map[string]any{}), "must set exactly one of podTemplateHashValue, fieldRef"))
			}
			if h := vf.PodTemplateHashValue; h != nil && *h != v1alpha1.Stable && *h != v1alpha1.Latest {
				errs = append(errs, mustBeOneOf(vp.Child("podTemplateHashValue"), string(*h), string(v1alpha1.Stable), string(v1alpha1.Latest)))
			}
			if vf.FieldRef != nil && vf.FieldRef.FieldPath == "" {
				errs = append(errs, field.Required(vp.Child("fieldRef", "fieldPath"), ""))
			}
		}
	}
	return errs
}

var validOperators = []string{">", ">=", "<", "<="}

func validateRollbackTriggers(ts []v1alpha1.RollbackTrigger, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range ts {
		tp := p.Index(i)
		errs = append(errs, uniqueName(t.Name, seen, tp.Child("name"))...)
		if t.Metric == "" {
			errs = append(errs, field.Required(tp.Child("metric"), "a builtin metric name such as error-rate"))
		}
		switch t.Operator {
		case "", ">", ">=", "<", "<=":
		default:
			errs = append(errs, mustBeOneOf(tp.Child("operator"), t.Operator, validOperators...))
		}
		if math.IsNaN(t.Threshold) || math.IsInf(t.Threshold, 0) {
			errs = append(errs, field.Invalid(tp.Child("threshold"), t.Threshold, "must be a finite number"))
		}
		errs = append(errs, validateDuration(t.For, tp.Child("for"), false)...)
		switch t.Action {
		case v1alpha1.RollbackImmediate, v1alpha1.RollbackStaged, v1alpha1.RollbackCanary:
		case "":
			errs = append(errs, field.Required(tp.Child("action"), "one of immediate, staged, canary"))
		default:
			errs = append(errs, mustBeOneOf(tp.Child("action"), string(t.Action),
				string(v1alpha1.RollbackImmediate), string(v1alpha1.RollbackStaged), string(v1alpha1.RollbackCanary)))
		}
	}
	return errs
}

func valueOr(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}
