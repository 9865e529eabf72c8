package manifest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// validateCanary checks the canary strategy and every step.
func validateCanary(c *v1alpha1.CanaryStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.CanaryService != "" {
		errs = append(errs, validateServiceName(c.CanaryService, p.Child("canaryService"))...)
	}
	if c.StableService != "" {
		errs = append(errs, validateServiceName(c.StableService, p.Child("stableService"))...)
		if c.StableService == c.CanaryService {
			errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, "must differ from canaryService"))
		}
	}
	errs = append(errs, validateSurgeUnavailable(c.MaxSurge, c.MaxUnavailable, p)...)
	if c.ScaleDownDelaySeconds != nil {
		errs = append(errs, validateRange(*c.ScaleDownDelaySeconds, 0, v1alpha1.MaxDelaySeconds, p.Child("scaleDownDelaySeconds"))...)
	}
	if c.AbortScaleDownDelaySeconds != nil {
		errs = append(errs, validateRange(*c.AbortScaleDownDelaySeconds, 0, v1alpha1.MaxDelaySeconds, p.Child("abortScaleDownDelaySeconds"))...)
	}
	errs = append(errs, validateNonNegative(c.ScaleDownDelayRevisionLimit, p.Child("scaleDownDelayRevisionLimit"))...)
	errs = append(errs, validateNonNegative(c.MinPodsPerReplicaSet, p.Child("minPodsPerReplicaSet"))...)
	errs = append(errs, validateAntiAffinity(c.AntiAffinity, p.Child("antiAffinity"))...)
	if pp := c.PingPong; pp != nil {
		if pp.PingService == "" {
			errs = append(errs, field.Required(p.Child("pingPong", "pingService"), ""))
		}
		if pp.PongService == "" {
			errs = append(errs, field.Required(p.Child("pingPong", "pongService"), ""))
		}
	}
	if c.TrafficRouting == nil {
		if c.ScaleDownDelaySeconds != nil {
			errs = append(errs, field.Forbidden(p.Child("scaleDownDelaySeconds"), "can only be used with trafficRouting"))
		}
		if c.DynamicStableScale {
			errs = append(errs, field.Forbidden(p.Child("dynamicStableScale"), "can only be used with trafficRouting"))
		}
	} else {
		if c.ScaleDownDelaySeconds != nil && c.DynamicStableScale {
			errs = append(errs, field.Forbidden(p.Child("dynamicStableScale"), "must not be used with scaleDownDelaySeconds"))
		}
		if needsServices(c) {
			if c.StableService == "" {
				errs = append(errs, field.Required(p.Child("stableService"), "the traffic router needs stableService and canaryService"))
			}
			if c.CanaryService == "" {
				errs = append(errs, field.Required(p.Child("canaryService"), "the traffic router needs stableService and canaryService"))
			}
		}
	}
	maxWeight := int32(100)
	managed := map[string]bool{}
	if tr := c.TrafficRouting; tr != nil {
		tp := p.Child("trafficRouting")
		if tr.MaxTrafficWeight != nil {
			if *tr.MaxTrafficWeight < 1 {
				errs = append(errs, field.Invalid(tp.Child("maxTrafficWeight"), *tr.MaxTrafficWeight, "must be greater than 0"))
			} else {
				maxWeight = *tr.MaxTrafficWeight
			}
		}
		for i, r := range tr.ManagedRoutes {
			rp := tp.Child("managedRoutes").Index(i)
			errs = append(errs, uniqueName(r.Name, managed, rp.Child("name"))...)
		}
	}
	if a := c.Analysis; a != nil {
		ap := p.Child("analysis")
		errs = append(errs, validateRolloutAnalysis(&a.RolloutAnalysis, ap)...)
		if a.StartingStep != nil {
			hi := int32(len(c.Steps)) - 1
			if hi < 0 {
				hi = 0
			}
			if *a.StartingStep < 0 || *a.StartingStep > hi {
				errs = append(errs, field.Invalid(ap.Child("startingStep"), *a.StartingStep,
					fmt.Sprintf("must be between 0 and %d (a step index)", hi)))
			}
		}
	}
	for i := range c.Steps {
		errs = append(errs, validateStep(c, i, maxWeight, managed, p.Child("steps").Index(i))...)
	}
	return errs
}

// stepKinds are the step fields of which at most one may be set (as in Argo); the route and
// scale fields may accompany each other, e.g. setCanaryScale with setHeaderRoute.
const stepKinds = "setWeight, pause, analysis, experiment, plugin"

func validateStep(c *v1alpha1.CanaryStrategy, i int, maxWeight int32, managed map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	st := &c.Steps[i]
	kinds, total := 0, 0
	for _, b := range []bool{st.SetWeight != nil, st.Pause != nil, st.Analysis != nil, st.Experiment != nil, st.Plugin != nil} {
		if b {
			kinds++
		}
	}
	total = kinds
	for _, b := range []bool{st.SetCanaryScale != nil, st.SetHeaderRoute != nil, st.SetMirrorRoute != nil} {
		if b {
			total++
		}
	}
	if total == 0 {
		return field.ErrorList{field.Required(p, "one of "+stepKinds+", setCanaryScale, setHeaderRoute, setMirrorRoute")}
	}
	if kinds > 1 {
		errs = append(errs, field.Invalid(p, description(fmt.Sprintf("%d of them", kinds)), "must set at most one of "+stepKinds))
	}
	routed := c.TrafficRouting != nil
	if st.SetWeight != nil {
		errs = append(errs, validateRange(*st.SetWeight, 0, maxWeight, p.Child("setWeight"))...)
	}
	if st.Pause != nil {
		errs = append(errs, validatePause(c, i, p.Child("pause"))...)
	}
	if st.Analysis != nil {
		errs = append(errs, validateRolloutAnalysis(st.Analysis, p.Child("analysis"))...)
	}
	if st.Experiment != nil {
		errs = append(errs, validateExperiment(st.Experiment, routed, p.Child("experiment"))...)
	}
	if st.Plugin != nil && st.Plugin.Name == "" {
		errs = append(errs, field.Required(p.Child("plugin", "name"), ""))
	}
	if st.SetCanaryScale != nil {
		errs = append(errs, requireRouting(routed, p.Child("setCanaryScale"))...)
		errs = append(errs, validateSetCanaryScale(st.SetCanaryScale, p.Child("setCanaryScale"))...)
	}
	if st.SetHeaderRoute != nil {
		errs = append(errs, requireRouting(routed, p.Child("setHeaderRoute"))...)
		errs = append(errs, validateHeaderRoute(st.SetHeaderRoute, managed, p.Child("setHeaderRoute"))...)
	}
	if st.SetMirrorRoute != nil {
		errs = append(errs, requireRouting(routed, p.Child("setMirrorRoute"))...)
		errs = append(errs, validateMirrorRoute(st.SetMirrorRoute, managed, p.Child("setMirrorRoute"))...)
	}
	return errs
}

// requireRouting: scale and route steps need a traffic router to hold exact weights and routes.
func requireRouting(routed bool, p *field.Path) field.ErrorList {
	if routed {
		return nil
	}
	return field.ErrorList{field.Forbidden(p, "needs spec.strategy.canary.trafficRouting (e.g. gateway: {})")}
}

func validatePause(c *v1alpha1.CanaryStrategy, i int, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	pause := c.Steps[i].Pause
	if pause.Duration != nil {
		d, _, err := pause.PauseDuration()
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Child("duration"), pause.Duration.String(), err.Error()))
		case d < 0:
			errs = append(errs, field.Invalid(p.Child("duration"), pause.Duration.String(), "must not be negative"))
		}
	}
	pa := pause.Analysis
	if pa == nil {
		return errs
	}
	ap := p.Child("analysis")
	if pause.Duration != nil {
		errs = append(errs, field.Forbidden(ap, "must not be set together with pause.duration"))
	}
	if strings.TrimSpace(pa.SuccessCondition) == "" {
		errs = append(errs, field.Required(ap.Child("successCondition"), "the condition the pause waits for"))
	} else if _, err := CompileConditionTemplate(pa.SuccessCondition); err != nil {
		errs = append(errs, field.Invalid(ap.Child("successCondition"), pa.SuccessCondition, "must compile: "+oneLine(err.Error())))
	}
	// The pause reads the background analysis, so one must be running by this step.
	switch {
	case c.Analysis == nil:
		errs = append(errs, field.Forbidden(ap, "needs a background analysis (spec.strategy.canary.analysis) to read measurements from"))
	case c.Analysis.StartingStep != nil && int(*c.Analysis.StartingStep) > i:
		errs = append(errs, field.Forbidden(ap, fmt.Sprintf("needs the background analysis running by this step, but it starts at step %d", *c.Analysis.StartingStep)))
	}
	return errs
}

func validateSetCanaryScale(s *v1alpha1.SetCanaryScale, p *field.Path) field.ErrorList {
	set := 0
	for _, b := range []bool{s.Weight != nil, s.Replicas != nil, s.MatchTrafficWeight} {
		if b {
			set++
		}
	}
	if set != 1 {
		return field.ErrorList{field.Invalid(p, description(fmt.Sprintf("%d settings", set)), "must set exactly one of weight, replicas, matchTrafficWeight")}
	}
	if s.Weight != nil {
		return validateRange(*s.Weight, 0, 100, p.Child("weight"))
	}
	return validateNonNegative(s.Replicas, p.Child("replicas"))
}

func validateManagedName(name string, managed map[string]bool, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if !managed[name] {
		return field.ErrorList{field.Invalid(p, name, "must be listed in spec.strategy.canary.trafficRouting.managedRoutes")}
	}
	return nil
}

func validateHeaderRoute(r *v1alpha1.SetHeaderRoute, managed map[string]bool, p *field.Path) field.ErrorList {
	errs := validateManagedName(r.Name, managed, p.Child("name"))
	for i, m := range r.Match {
		mp := p.Child("match").Index(i)
		if m.HeaderName == "" {
			errs = append(errs, field.Required(mp.Child("headerName"), ""))
		}
		if m.HeaderValue == nil {
			errs = append(errs, field.Required(mp.Child("headerValue"), "one of exact, prefix, regex"))
		} else {
			errs = append(errs, validateStringMatch(m.HeaderValue, mp.Child("headerValue"))...)
		}
	}
	return errs
}

func validateMirrorRoute(r *v1alpha1.SetMirrorRoute, managed map[string]bool, p *field.Path) field.ErrorList {
	errs := validateManagedName(r.Name, managed, p.Child("name"))
	if r.Percentage != nil {
		errs = append(errs, validateRange(*r.Percentage, 0, 100, p.Child("percentage"))...)
	}
	for i, m := range r.Match {
		mp := p.Child("match").Index(i)
		if m.Method == nil && m.Path == nil && len(m.Headers) == 0 {
			errs = append(errs, field.Required(mp, "at least one of method, path, headers"))
		}
		if m.Method != nil {
			errs = append(errs, validateStringMatch(m.Method, mp.Child("method"))...)
		}
		if m.Path != nil {
			errs = append(errs, validateStringMatch(m.Path, mp.Child("path"))...)
		}
		for _, k := range sortedKeys(m.Headers) {
			v := m.Headers[k]
			errs = append(errs, validateStringMatch(&v, mp.Child("headers").Key(k))...)
		}
	}
	return errs
}

func validateStringMatch(m *v1alpha1.StringMatch, p *field.Path) field.ErrorList {
	set := 0
	for _, s := range []string{m.Exact, m.Prefix, m.Regex} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return field.ErrorList{field.Invalid(p, description(fmt.Sprintf("%d matchers", set)), "must set exactly one of exact, prefix, regex")}
	}
	if m.Regex != "" {
		if _, err := regexp.Compile(m.Regex); err != nil {
			return field.ErrorList{field.Invalid(p.Child("regex"), m.Regex, "must be a valid regular expression: "+err.Error())}
		}
	}
	return nil
}

// validateExperiment checks the shape only: experiments are accepted and the engine reports
// them as not supported when it reaches the step.
func validateExperiment(e *v1alpha1.RolloutExperimentStep, routed bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(e.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "at least one template"))
	}
	names := map[string]bool{}
	for i, t := range e.Templates {
		tp := p.Child("templates").Index(i)
		errs = append(errs, uniqueName(t.Name, names, tp.Child("name"))...)
		if t.SpecRef != "stable" && t.SpecRef != "canary" {
			errs = append(errs, mustBeOneOf(tp.Child("specRef"), t.SpecRef, "stable", "canary"))
		}
		errs = append(errs, validateNonNegative(t.Replicas, tp.Child("replicas"))...)
		if t.Weight != nil {
			errs = append(errs, validateRange(*t.Weight, 0, 100, tp.Child("weight"))...)
			errs = append(errs, requireRouting(routed, tp.Child("weight"))...)
		}
	}
	errs = append(errs, validateDuration(e.Duration, p.Child("duration"), false)...)
	for i, a := range e.Analyses {
		ap := p.Child("analyses").Index(i)
		if a.Name == "" {
			errs = append(errs, field.Required(ap.Child("name"), ""))
		}
		if a.TemplateName == "" {
			errs = append(errs, field.Required(ap.Child("templateName"), ""))
		}
		errs = append(errs, validateRunArgs(a.Args, ap.Child("args"))...)
	}
	return errs
}

// needsServices mirrors Argo: routers other than shipsafe's gateway select pods through the
// stable and canary services, except Istio with subsets (destinationRule) and ping-pong.
func needsServices(c *v1alpha1.CanaryStrategy) bool {
	tr := c.TrafficRouting
	if c.PingPong != nil {
		return false
	}
	if len(tr.Istio) > 0 {
		var istio struct {
			DestinationRule json.RawMessage `json:"destinationRule"`
		}
		if json.Unmarshal(tr.Istio, &istio) == nil && len(istio.DestinationRule) > 0 && string(istio.DestinationRule) != "null" {
			return false
		}
		return true
	}
	return len(tr.Nginx) > 0 || len(tr.ALB) > 0 || len(tr.SMI) > 0 || len(tr.Ambassador) > 0 ||
		len(tr.AppMesh) > 0 || len(tr.Traefik) > 0 || len(tr.Apisix) > 0 || len(tr.Plugins) > 0
}

// oneLine keeps the first line of a multi-line message (expr appends a caret diagram).
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.Join(strings.Fields(first), " ")
}
