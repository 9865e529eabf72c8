package manifest

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// templateIndex holds the templates found among the objects being validated, by name.
type templateIndex struct {
	namespaced map[string]*v1alpha1.AnalysisTemplateSpec
	cluster    map[string]*v1alpha1.AnalysisTemplateSpec
}

func indexTemplates(objs []Object) templateIndex {
	idx := templateIndex{namespaced: map[string]*v1alpha1.AnalysisTemplateSpec{}, cluster: map[string]*v1alpha1.AnalysisTemplateSpec{}}
	for i := range objs {
		if t := objs[i].AnalysisTemplate; t != nil {
			idx.namespaced[t.Name] = &t.Spec
		}
		if t := objs[i].ClusterAnalysisTemplate; t != nil {
			idx.cluster[t.Name] = &t.Spec
		}
	}
	return idx
}

func (idx templateIndex) lookup(ref v1alpha1.AnalysisTemplateRef) *v1alpha1.AnalysisTemplateSpec {
	if ref.ClusterScope {
		return idx.cluster[ref.TemplateName]
	}
	return idx.namespaced[ref.TemplateName]
}

// validateRolloutRefs checks a rollout's analysis references against the templates in the set:
// arguments the templates need are given, metric names do not collide, and pause.analysis
// names a metric of the background analysis. A template not in the set is only a warning.
func validateRolloutRefs(r *v1alpha1.Rollout, idx templateIndex) (errs, warns field.ErrorList) {
	strategy := field.NewPath("spec", "strategy")
	check := func(a *v1alpha1.RolloutAnalysis, p *field.Path) []*v1alpha1.AnalysisTemplateSpec {
		specs, e, w := resolveAnalysis(a, idx, p)
		errs = append(errs, e...)
		warns = append(warns, w...)
		return specs
	}
	if bg := r.Spec.Strategy.BlueGreen; bg != nil {
		if bg.PrePromotionAnalysis != nil {
			check(bg.PrePromotionAnalysis, strategy.Child("blueGreen", "prePromotionAnalysis"))
		}
		if bg.PostPromotionAnalysis != nil {
			check(bg.PostPromotionAnalysis, strategy.Child("blueGreen", "postPromotionAnalysis"))
		}
	}
	c := r.Spec.Strategy.Canary
	if c == nil {
		return errs, warns
	}
	cp := strategy.Child("canary")
	var background []*v1alpha1.AnalysisTemplateSpec
	if c.Analysis != nil {
		background = check(&c.Analysis.RolloutAnalysis, cp.Child("analysis"))
	}
	for i, st := range c.Steps {
		sp := cp.Child("steps").Index(i)
		if st.Analysis != nil {
			check(st.Analysis, sp.Child("analysis"))
		}
		if pa := pauseAnalysis(st); pa != nil && pa.MetricName != "" && background != nil {
			if !hasMetric(background, pa.MetricName) {
				errs = append(errs, field.Invalid(sp.Child("pause", "analysis", "metricName"), pa.MetricName,
					"must name a metric of the background analysis templates"))
			}
		}
		if st.Experiment != nil {
			for j, a := range st.Experiment.Analyses {
				ref := v1alpha1.AnalysisTemplateRef{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}
				if a.TemplateName != "" && idx.lookup(ref) == nil {
					warns = append(warns, notInSet(sp.Child("experiment", "analyses").Index(j).Child("templateName"), ref))
				}
			}
		}
	}
	return errs, warns
}

func pauseAnalysis(st v1alpha1.CanaryStep) *v1alpha1.PauseAnalysis {
	if st.Pause == nil {
		return nil
	}
	return st.Pause.Analysis
}

// resolveAnalysis finds the referenced templates; it returns them only when all were found.
func resolveAnalysis(a *v1alpha1.RolloutAnalysis, idx templateIndex, p *field.Path) (specs []*v1alpha1.AnalysisTemplateSpec, errs, warns field.ErrorList) {
	complete := true
	for i, ref := range a.Templates {
		if ref.TemplateName == "" {
			complete = false // selected by label: cannot be resolved here
			continue
		}
		spec := idx.lookup(ref)
		if spec == nil {
			warns = append(warns, notInSet(p.Child("templates").Index(i).Child("templateName"), ref))
			complete = false
			continue
		}
		specs = append(specs, spec)
	}
	if !complete {
		return nil, nil, warns
	}
	given := map[string]bool{}
	for _, arg := range a.Args {
		given[arg.Name] = true
	}
	metricOwner := map[string]string{}
	for i, spec := range specs {
		name := a.Templates[i].TemplateName
		for _, arg := range spec.Args {
			if arg.Value == nil && arg.ValueFrom == nil && !given[arg.Name] {
				errs = append(errs, field.Required(p.Child("args"),
					fmt.Sprintf("argument %q is needed by template %q", arg.Name, name)))
				given[arg.Name] = true // report once
			}
		}
		for _, m := range spec.Metrics {
			if owner, dup := metricOwner[m.Name]; dup && owner != name {
				errs = append(errs, field.Invalid(p.Child("templates"), name,
					fmt.Sprintf("metric %q is defined by both template %q and template %q", m.Name, owner, name)))
			}
			metricOwner[m.Name] = name
		}
	}
	return specs, errs, warns
}

func notInSet(p *field.Path, ref v1alpha1.AnalysisTemplateRef) *field.Error {
	kind := v1alpha1.KindAnalysisTemplate
	if ref.ClusterScope {
		kind = v1alpha1.KindClusterAnalysisTemplate
	}
	return &field.Error{Type: field.ErrorTypeNotFound, Field: p.String(), BadValue: ref.TemplateName,
		Detail: fmt.Sprintf("%s %q is not among the validated files (fine if it exists where the rollout runs)", kind, ref.TemplateName)}
}

func hasMetric(specs []*v1alpha1.AnalysisTemplateSpec, name string) bool {
	for _, s := range specs {
		for _, m := range s.Metrics {
			if m.Name == name {
				return true
			}
		}
	}
	return false
}
