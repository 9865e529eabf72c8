package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Validate checks every object and the references between them (rollouts → templates in the
// same set), reporting all problems in one pass. It returns warnings (e.g. a referenced
// template that is not in objs, which is fine when it lives elsewhere) and an error that is an
// ErrorList when anything is invalid.
func Validate(objs []Object) (warnings ErrorList, err error) {
	var errs ErrorList
	wrap := func(o *Object, list field.ErrorList) ErrorList {
		out := make(ErrorList, 0, len(list))
		for _, fe := range list {
			out = append(out, &Error{Source: o.Source, Document: o.Index, Line: o.LineOf(fe.Field),
				Kind: o.Kind, Name: o.Name(), Field: fe})
		}
		return out
	}
	for i := range objs {
		errs = append(errs, wrap(&objs[i], ValidateObject(&objs[i]))...)
		warnings = append(warnings, wrap(&objs[i], extensionWarnings(&objs[i]))...)
	}
	idx := indexTemplates(objs)
	for i := range objs {
		if objs[i].Rollout == nil {
			continue
		}
		refErrs, refWarns := validateRolloutRefs(objs[i].Rollout, idx)
		errs = append(errs, wrap(&objs[i], refErrs)...)
		warnings = append(warnings, wrap(&objs[i], refWarns)...)
	}
	errs = append(errs, duplicateNames(objs)...)
	sortErrors(errs)
	if len(errs) > 0 {
		return warnings, errs
	}
	return warnings, nil
}

// ValidateObject checks one object on its own (no cross-object references). Shipsafe
// extensions under argoproj.io/v1alpha1 are not errors; Validate warns about them.
func ValidateObject(o *Object) field.ErrorList {
	return validateOwnRules(o)
}

func validateOwnRules(o *Object) field.ErrorList {
	switch {
	case o.Rollout != nil:
		if o.ConvertedFrom != "" {
			// Paths of a converted Deployment are the Deployment's: only its rolling strategy
			// moved, from spec.strategy.rollingUpdate.
			return renameRolling(ValidateRollout(o.Rollout))
		}
		return ValidateRollout(o.Rollout)
	case o.AnalysisTemplate != nil:
		return ValidateAnalysisTemplate(&o.AnalysisTemplate.ObjectMeta, &o.AnalysisTemplate.Spec)
	case o.ClusterAnalysisTemplate != nil:
		return ValidateAnalysisTemplate(&o.ClusterAnalysisTemplate.ObjectMeta, &o.ClusterAnalysisTemplate.Spec)
	case o.AnalysisRun != nil:
		return ValidateAnalysisRun(o.AnalysisRun)
	}
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("empty object"))}
}

func renameRolling(list field.ErrorList) field.ErrorList {
	for _, e := range list {
		e.Field = strings.Replace(e.Field, "spec.strategy.rolling", "spec.strategy.rollingUpdate", 1)
	}
	return list
}

// Parse decodes, validates and defaults a file: the one call a loader needs. Every problem
// (decoding and rules) is reported in one pass as an ErrorList; objects are returned only
// when the whole file is valid. Documents of other kinds (Services, ...) are ignored.
func Parse(data []byte) ([]Object, error) {
	objs, _, err := ParseWithWarnings(data)
	return objs, err
}

// ParseWithWarnings is Parse that also returns the warnings of valid input (e.g. shipsafe
// extensions in an argoproj.io/v1alpha1 document).
func ParseWithWarnings(data []byte) ([]Object, ErrorList, error) {
	objs, _, errs := decodeAll(data, DefaultLimits())
	warnings, err := Validate(objs)
	var list ErrorList
	if errors.As(err, &list) {
		errs = append(errs, withoutEchoes(list, errs)...)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, warnings, errs
	}
	objs = resolveWorkloadRefs(objs)
	for i := range objs {
		SetDefaults(&objs[i])
	}
	return objs, warnings, nil
}

// resolveWorkloadRefs copies the selector and pod template of a Deployment named by a
// rollout's workloadRef into the rollout (as Argo does when it reconciles), and drops that
// Deployment from the list: it is a template holder, not a workload of its own.
func resolveWorkloadRefs(objs []Object) []Object {
	used := map[int]bool{}
	for i := range objs {
		r := objs[i].Rollout
		if r == nil || r.Spec.WorkloadRef == nil || objs[i].ConvertedFrom != "" {
			continue
		}
		for j := range objs {
			d := objs[j].Rollout
			if objs[j].ConvertedFrom == "" || d == nil || d.Name != r.Spec.WorkloadRef.Name || d.Namespace != r.Namespace {
				continue
			}
			r.Spec.Selector = d.Spec.Selector
			r.Spec.Template = d.Spec.Template
			used[j] = true
		}
	}
	if len(used) == 0 {
		return objs
	}
	out := objs[:0]
	for i := range objs {
		if !used[i] {
			out = append(out, objs[i])
		}
	}
	return out
}

func duplicateNames(objs []Object) ErrorList {
	var errs ErrorList
	seen := map[string]bool{}
	for i := range objs {
		o := &objs[i]
		key := o.Kind + "/" + o.namespace() + "/" + o.Name()
		if o.Name() == "" {
			continue
		}
		if seen[key] {
			errs = append(errs, &Error{Source: o.Source, Document: o.Index, Line: o.LineOf("metadata.name"),
				Kind: o.Kind, Name: o.Name(),
				Field: field.Duplicate(field.NewPath("metadata", "name"), o.Name())})
		}
		seen[key] = true
	}
	return errs
}

func (o *Object) namespace() string {
	switch {
	case o.Rollout != nil:
		return o.Rollout.Namespace
	case o.AnalysisTemplate != nil:
		return o.AnalysisTemplate.Namespace
	case o.AnalysisRun != nil:
		return o.AnalysisRun.Namespace
	}
	return ""
}

// sortErrors orders errors by source, document and line, keeping the order of equal ones.
func sortErrors(errs ErrorList) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Document != b.Document {
			return a.Document < b.Document
		}
		return a.Line < b.Line
	})
}

// validateName checks metadata.name as Kubernetes does for most resources (DNS-1123
// subdomain).
func validateName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

// validateServiceName checks a Service name (DNS-1035 label, as Kubernetes requires).
func validateServiceName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1035Label(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateNonNegative(v *int32, path *field.Path) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(path, *v, "must be greater than or equal to 0")}
	}
	return nil
}

func validateRange(v int32, lo, hi int32, path *field.Path) field.ErrorList {
	if v < lo || v > hi {
		return field.ErrorList{field.Invalid(path, v, fmt.Sprintf("must be between %d and %d", lo, hi))}
	}
	return nil
}

// validateIntOrPercent checks maxSurge-like values: a non-negative integer or "N%" with N in
// 0..100.
func validateIntOrPercent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return field.ErrorList{field.Invalid(path, v.IntVal, "must be greater than or equal to 0")}
		}
		return nil
	}
	n, ok := parsePercent(v.StrVal)
	if !ok {
		return field.ErrorList{field.Invalid(path, v.StrVal, "must be an integer or a percentage such as \"25%\"")}
	}
	if n < 0 || n > 100 {
		return field.ErrorList{field.Invalid(path, v.StrVal, "percentage must be between 0% and 100%")}
	}
	return nil
}

func parsePercent(s string) (int, bool) {
	if !strings.HasSuffix(s, "%") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	return n, err == nil
}

// isZeroIntOrPercent is true for 0 and "0%".
func isZeroIntOrPercent(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	n, ok := parsePercent(v.StrVal)
	return ok && n == 0
}

// validateDuration checks a Go duration string; positive requires > 0.
func validateDuration(d v1alpha1.DurationString, path *field.Path, positive bool) field.ErrorList {
	if d == "" {
		return nil
	}
	if isArgPlaceholder(string(d)) {
		return nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return field.ErrorList{field.Invalid(path, string(d), "must be a Go duration such as \"30s\" or \"5m\"")}
	}
	if v < 0 || (positive && v == 0) {
		rule := "must not be negative"
		if positive {
			rule = "must be greater than 0"
		}
		return field.ErrorList{field.Invalid(path, string(d), rule)}
	}
	return nil
}

// isArgPlaceholder is true for a value that is exactly one {{args.x}} reference; Argo resolves
// those when the run is created, so they cannot be checked earlier.
func isArgPlaceholder(s string) bool {
	loc := argPlaceholder.FindStringIndex(strings.TrimSpace(s))
	return loc != nil && loc[0] == 0 && loc[1] == len(strings.TrimSpace(s))
}

// uniqueName requires a non-empty name not seen before in its list, and records it.
func uniqueName(name string, seen map[string]bool, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if seen[name] {
		return field.ErrorList{field.Duplicate(p, name)}
	}
	seen[name] = true
	return nil
}
