package manifest

import (
	"regexp"

	"github.com/shipsafe/shipsafe/internal/condition"
)

// MaxConditionLength caps the length of a successCondition or failureCondition.
const MaxConditionLength = condition.MaxLength

// Condition is a compiled successCondition or failureCondition. Conditions are compiled only
// by internal/condition (validation, the analysis executor and the engine's pause conditions
// all use it), so what validates is exactly what runs.
type Condition = condition.Condition

// CompileCondition compiles a condition that must evaluate to a boolean. It fails on syntax
// errors, unknown names and non-boolean expressions. Argument placeholders ({{args.x}}) must
// be substituted before calling it; see CompileConditionTemplate for validation.
func CompileCondition(src string) (*Condition, error) { return condition.Compile(src) }

// argPlaceholder matches Argo's argument references such as {{args.error-rate}} or
// {{ args.name }}.
var argPlaceholder = regexp.MustCompile(`{{\s*args\.[A-Za-z0-9_.-]+\s*}}`)

// CompileConditionTemplate checks a condition that may still contain {{args.x}} placeholders by
// substituting 0 for each; it reports syntax errors and unknown names, not argument values.
func CompileConditionTemplate(src string) (*Condition, error) {
	return CompileCondition(argPlaceholder.ReplaceAllString(src, "0"))
}
