package manifest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// ValidateAnalysisTemplate checks an AnalysisTemplate or ClusterAnalysisTemplate.
func ValidateAnalysisTemplate(meta *metav1.ObjectMeta, spec *v1alpha1.AnalysisTemplateSpec) field.ErrorList {
	errs := validateName(meta.Name, field.NewPath("metadata", "name"))
	return append(errs, ValidateAnalysisTemplateSpec(spec, field.NewPath("spec"))...)
}

// ValidateAnalysisTemplateSpec checks metrics, arguments and dry-run settings, and that every
// {{args.x}} a metric uses is declared.
func ValidateAnalysisTemplateSpec(spec *v1alpha1.AnalysisTemplateSpec, p *field.Path) field.ErrorList {
	errs := validateMetrics(spec.Metrics, p.Child("metrics"))
	declared := map[string]bool{}
	for i, a := range spec.Args {
		ap := p.Child("args").Index(i)
		errs = append(errs, uniqueName(a.Name, declared, ap.Child("name"))...)
		errs = append(errs, validateArgumentSource(&a, ap)...)
	}
	for i := range spec.Metrics {
		for _, name := range argRefs(&spec.Metrics[i]) {
			if !declared[name] {
				errs = append(errs, field.Invalid(p.Child("metrics").Index(i), "{{args."+name+"}}",
					fmt.Sprintf("uses argument %q, which spec.args does not declare", name)))
			}
		}
	}
	errs = append(errs, validateDryRun(spec.DryRun, p.Child("dryRun"))...)
	for i, r := range spec.MeasurementRetention {
		rp := p.Child("measurementRetention").Index(i)
		if r.MetricName == "" {
			errs = append(errs, field.Required(rp.Child("metricName"), ""))
		}
		if r.Limit < 1 {
			errs = append(errs, field.Invalid(rp.Child("limit"), r.Limit, "must be greater than 0"))
		}
	}
	return errs
}

// ValidateAnalysisRun checks a run's metrics and arguments.
func ValidateAnalysisRun(run *v1alpha1.AnalysisRun) field.ErrorList {
	errs := validateName(run.Name, field.NewPath("metadata", "name"))
	p := field.NewPath("spec")
	errs = append(errs, validateMetrics(run.Spec.Metrics, p.Child("metrics"))...)
	for i, a := range run.Spec.Args {
		errs = append(errs, validateArgumentSource(&a, p.Child("args").Index(i))...)
	}
	return append(errs, validateDryRun(run.Spec.DryRun, p.Child("dryRun"))...)
}

func validateArgumentSource(a *v1alpha1.Argument, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if a.Value != nil && a.ValueFrom != nil {
		errs = append(errs, field.Forbidden(p, "must set only one of value, valueFrom"))
	}
	if vf := a.ValueFrom; vf != nil {
		vp := p.Child("valueFrom")
		if (vf.SecretKeyRef == nil) == (vf.FieldRef == nil) {
			errs = append(errs, field.Invalid(vp, describe(map[string]any{}), "must set exactly one of secretKeyRef, fieldRef"))
		}
		if s := vf.SecretKeyRef; s != nil {
			if s.Name == "" {
				errs = append(errs, field.Required(vp.Child("secretKeyRef", "name"), ""))
			}
			if s.Key == "" {
				errs = append(errs, field.Required(vp.Child("secretKeyRef", "key"), ""))
			}
		}
		if vf.FieldRef != nil && vf.FieldRef.FieldPath == "" {
			errs = append(errs, field.Required(vp.Child("fieldRef", "fieldPath"), ""))
		}
	}
	return errs
}

func validateDryRun(d []v1alpha1.DryRun, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range d {
		rp := p.Index(i).Child("metricName")
		if r.MetricName == "" {
			errs = append(errs, field.Required(rp, ""))
		} else if r.MetricName != "*" {
			if _, err := v1alpha1.CompileDryRunPattern(r.MetricName); err != nil {
				errs = append(errs, field.Invalid(rp, r.MetricName, "must be a metric name or a regular expression: "+err.Error()))
			}
		}
	}
	return errs
}

func validateMetrics(metrics []v1alpha1.Metric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(metrics) == 0 {
		errs = append(errs, field.Required(p, "at least one metric"))
	}
	names := map[string]bool{}
	for i := range metrics {
		m := &metrics[i]
		mp := p.Index(i)
		errs = append(errs, uniqueName(m.Name, names, mp.Child("name"))...)
		errs = append(errs, validateMetric(m, mp)...)
	}
	return errs
}

func validateMetric(m *v1alpha1.Metric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDuration(m.Interval, p.Child("interval"), true)...)
	errs = append(errs, validateDuration(m.InitialDelay, p.Child("initialDelay"), false)...)
	count, countErrs := limitValue(m.Count, 0, p.Child("count"))
	errs = append(errs, countErrs...)
	failureLimit, flErrs := limitValue(m.FailureLimit, -1, p.Child("failureLimit"))
	errs = append(errs, flErrs...)
	inconclusiveLimit, ilErrs := limitValue(m.InconclusiveLimit, 0, p.Child("inconclusiveLimit"))
	errs = append(errs, ilErrs...)
	_, ceErrs := limitValue(m.ConsecutiveErrorLimit, 0, p.Child("consecutiveErrorLimit"))
	errs = append(errs, ceErrs...)
	_, csErrs := limitValue(m.ConsecutiveSuccessLimit, 0, p.Child("consecutiveSuccessLimit"))
	errs = append(errs, csErrs...)
	if count != nil && *count > 1 && m.Interval == "" {
		errs = append(errs, field.Required(p.Child("interval"), fmt.Sprintf("needed when count is more than 1 (count is %d)", *count)))
	}
	if count != nil && *count > 0 {
		if failureLimit != nil && *failureLimit > *count {
			errs = append(errs, field.Invalid(p.Child("failureLimit"), *failureLimit, fmt.Sprintf("must not exceed count (%d)", *count)))
		}
		if inconclusiveLimit != nil && *inconclusiveLimit > *count {
			errs = append(errs, field.Invalid(p.Child("inconclusiveLimit"), *inconclusiveLimit, fmt.Sprintf("must not exceed count (%d)", *count)))
		}
	}
	for _, c := range []struct {
		name, src string
	}{{"successCondition", m.SuccessCondition}, {"failureCondition", m.FailureCondition}} {
		if c.src == "" {
			continue
		}
		if _, err := CompileConditionTemplate(c.src); err != nil {
			errs = append(errs, field.Invalid(p.Child(c.name), c.src, "must compile: "+oneLine(err.Error())))
		}
	}
	return append(errs, validateProvider(&m.Provider, p.Child("provider"))...)
}

// limitValue reads a count or limit that may be an integer, an integer string, or an
// {{args.x}} placeholder (nil value, no error: resolved at run time).
func limitValue(v *intstr.IntOrString, min int, p *field.Path) (*int, field.ErrorList) {
	if v == nil {
		return nil, nil
	}
	n := int(v.IntVal)
	if v.Type == intstr.String {
		if isArgPlaceholder(v.StrVal) {
			return nil, nil
		}
		parsed, err := strconv.Atoi(v.StrVal)
		if err != nil {
			return nil, field.ErrorList{field.Invalid(p, v.StrVal, "must be an integer or an {{args.name}} reference")}
		}
		n = parsed
	}
	if n < min {
		return nil, field.ErrorList{field.Invalid(p, n, fmt.Sprintf("must be greater than or equal to %d", min))}
	}
	return &n, nil
}

func validateProvider(pr *v1alpha1.MetricProvider, p *field.Path) field.ErrorList {
	set := pr.ProviderNames()
	if len(set) != 1 {
		got := "none"
		if len(set) > 1 {
			got = strings.Join(set, ", ")
		}
		return field.ErrorList{field.Invalid(p, description(got), "must set exactly one provider (builtin, prometheus, web, job, ...)")}
	}
	var errs field.ErrorList
	switch {
	case pr.Builtin != nil:
		if pr.Builtin.Metric == "" {
			errs = append(errs, field.Required(p.Child("builtin", "metric"), "a builtin metric name such as error-rate"))
		}
		errs = append(errs, validateDuration(pr.Builtin.Window, p.Child("builtin", "window"), true)...)
	case pr.Prometheus != nil:
		if strings.TrimSpace(pr.Prometheus.Query) == "" {
			errs = append(errs, field.Required(p.Child("prometheus", "query"), ""))
		}
		if t := pr.Prometheus.Timeout; t != nil && *t < 0 {
			errs = append(errs, field.Invalid(p.Child("prometheus", "timeout"), *t, "must be greater than or equal to 0"))
		}
	case pr.Web != nil:
		errs = append(errs, validateWeb(pr.Web, p.Child("web"))...)
	case pr.Job != nil:
		if len(pr.Job.Spec.Template.Spec.Containers) == 0 {
			errs = append(errs, field.Required(p.Child("job", "spec", "template", "spec", "containers"), "at least one container"))
		}
	}
	return errs
}

func validateWeb(w *v1alpha1.WebMetric, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if w.URL == "" {
		errs = append(errs, field.Required(p.Child("url"), ""))
	}
	switch w.Method {
	case "", v1alpha1.WebMetricMethodGet, v1alpha1.WebMetricMethodPost, v1alpha1.WebMetricMethodPut:
	default:
		errs = append(errs, mustBeOneOf(p.Child("method"), string(w.Method), "GET", "POST", "PUT"))
	}
	hasBody := w.Body != "" || len(w.JSONBody) > 0
	if w.Body != "" && len(w.JSONBody) > 0 {
		errs = append(errs, field.Forbidden(p.Child("jsonBody"), "must not be set together with body"))
	}
	if hasBody && (w.Method == "" || w.Method == v1alpha1.WebMetricMethodGet) {
		errs = append(errs, field.Forbidden(p.Child("method"), "must be POST or PUT when a body is set"))
	}
	if w.TimeoutSeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), w.TimeoutSeconds, "must be greater than or equal to 0"))
	}
	if w.JSONPath != "" && (!strings.HasPrefix(w.JSONPath, "{") || !strings.HasSuffix(w.JSONPath, "}")) {
		errs = append(errs, field.Invalid(p.Child("jsonPath"), w.JSONPath, "must be a JSONPath template in braces, such as \"{$.data.ok}\""))
	}
	for i, h := range w.Headers {
		if h.Key == "" {
			errs = append(errs, field.Required(p.Child("headers").Index(i).Child("key"), ""))
		}
	}
	return errs
}

// argRef matches {{args.name}} and captures the name.
var argRef = regexp.MustCompile(`{{\s*args\.([A-Za-z0-9_.-]+)\s*}}`)

// argRefs lists the argument names a metric refers to, sorted and unique.
func argRefs(m *v1alpha1.Metric) []string {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, match := range argRef.FindAllSubmatch(raw, -1) {
		seen[string(match[1])] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
