package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
)

// Condition is a compiled successCondition or failureCondition.
type Condition interface {
	// Eval reports whether the condition holds for result.
	Eval(result any) (bool, error)
}

// CompileFunc compiles a condition expression. The executor uses the one compiler the
// API package exports, so a condition that validates is the condition that runs.
type CompileFunc func(expr string) (Condition, error)

// CompileAPICondition compiles with manifest.CompileCondition (Argo's variables and
// helpers: result, asInt, asFloat, isNaN, isInf, isNil, default).
func CompileAPICondition(expr string) (Condition, error) {
	c, err := manifest.CompileCondition(expr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// noValue says why a value can never pass, or "" when it is a real value.
func noValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "no data"
	case float64:
		if math.IsNaN(x) {
			return "result is NaN"
		}
	case float32:
		if math.IsNaN(float64(x)) {
			return "result is NaN"
		}
	case []float64:
		if len(x) == 0 {
			return "no data"
		}
		for _, f := range x {
			if math.IsNaN(f) {
				return "result contains NaN"
			}
		}
	case []any:
		if len(x) == 0 {
			return "no data"
		}
		for _, e := range x {
			if f, ok := e.(float64); ok && math.IsNaN(f) {
				return "result contains NaN"
			}
		}
	case map[string]any:
		if len(x) == 0 {
			return "no data"
		}
	case string:
		if strings.TrimSpace(x) == "" {
			return "no data"
		}
	}
	return ""
}

// assess turns a measured value into a measurement phase with Argo's rules:
//   - both conditions: failure → Failed, else success → Successful, else Inconclusive;
//   - only success: true → Successful, else Failed;
//   - only failure: true → Failed, else Successful;
//   - neither: Successful.
//
// shipsafe's rule on top: no data and NaN never pass. For such a value only the
// failureCondition is consulted (a template can say `isNaN(result) || isNil(result)` to make
// it a failure); otherwise the measurement is Inconclusive. A condition that cannot be
// evaluated on a real value is an Error (could not judge), not a Failure.
func assess(success, failure Condition, value any) (v1alpha1.AnalysisPhase, string) {
	if why := noValue(value); why != "" {
		if failure != nil {
			if failed, err := failure.Eval(value); err == nil && failed {
				return v1alpha1.AnalysisPhaseFailed, why + ": failureCondition holds"
			}
		}
		return v1alpha1.AnalysisPhaseInconclusive, why + ": never a pass"
	}
	var failed, succeeded bool
	var err error
	if failure != nil {
		if failed, err = failure.Eval(value); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Sprintf("evaluate failureCondition: %v", err)
		}
	}
	if success != nil {
		if succeeded, err = success.Eval(value); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Sprintf("evaluate successCondition: %v", err)
		}
	}
	switch {
	case failure != nil && failed:
		return v1alpha1.AnalysisPhaseFailed, "failureCondition holds"
	case success != nil && failure != nil:
		if succeeded {
			return v1alpha1.AnalysisPhaseSuccessful, ""
		}
		return v1alpha1.AnalysisPhaseInconclusive, "neither successCondition nor failureCondition holds"
	case success != nil:
		if succeeded {
			return v1alpha1.AnalysisPhaseSuccessful, ""
		}
		return v1alpha1.AnalysisPhaseFailed, "successCondition does not hold"
	default:
		return v1alpha1.AnalysisPhaseSuccessful, ""
	}
}

// formatValue renders a measured value as the run keeps it: numbers as Go prints them
// (NaN, +Inf, -Inf included), vectors as "[a,b]", strings as they are, the rest as JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []float64:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case bool, int, int32, int64:
		return fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
