package manifest

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error is one problem in one document of a manifest: where it is (document index, line,
// kind and name), the field path, and the rule it breaks.
type Error struct {
	// Source is the file the document came from, when the caller set Object.Source.
	Source string
	// Document is the 0-based index of the document in its file.
	Document int
	// Line is the 1-based line of the field, or of the document, when known (0 otherwise).
	Line int
	// Kind and Name identify the object when they could be read.
	Kind string
	Name string
	// Field is the field path, the rule and the value.
	Field *field.Error

	// skip marks a document of a foreign kind that DecodeAll skips.
	skip bool
}

// Error renders "file:14: Rollout/web: spec.x: rule, got value" (or "document 2 line 14: ..."
// when the source is unknown).
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	} else {
		fmt.Fprintf(&b, "document %d", e.Document+1)
		if e.Line > 0 {
			fmt.Fprintf(&b, " line %d", e.Line)
		}
	}
	b.WriteString(": ")
	if e.Kind != "" || e.Name != "" {
		fmt.Fprintf(&b, "%s/%s: ", e.Kind, e.Name)
	}
	b.WriteString(FormatFieldError(e.Field))
	return b.String()
}

// ErrorList is every problem found in a file, in document order. Decode, Validate and Parse
// return it (as error) so callers can list each problem with its path.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// FormatFieldError renders a field error as "path: rule, got value" — shipsafe's error form —
// instead of apimachinery's "path: Invalid value: value: rule".
func FormatFieldError(e *field.Error) string {
	if e == nil {
		return ""
	}
	prefix := ""
	// A nil *field.Path renders as "<nil>": document-level errors have no field.
	if e.Field != "" && e.Field != "<nil>" {
		prefix = e.Field + ": "
	}
	switch e.Type {
	case field.ErrorTypeRequired:
		if e.Detail != "" {
			return prefix + "is required: " + e.Detail
		}
		return prefix + "is required"
	case field.ErrorTypeDuplicate:
		return fmt.Sprintf("%smust be unique, got duplicate %s", prefix, formatValue(e.BadValue))
	case field.ErrorTypeNotSupported:
		return fmt.Sprintf("%s%s, got %s", prefix, e.Detail, formatValue(e.BadValue))
	case field.ErrorTypeForbidden, field.ErrorTypeInternal, field.ErrorTypeNotFound,
		field.ErrorTypeTooLong, field.ErrorTypeTooMany:
		return prefix + e.Detail
	}
	if _, omit := e.BadValue.(field.OmitValueType); omit || e.BadValue == nil {
		return prefix + e.Detail
	}
	return fmt.Sprintf("%s%s, got %s", prefix, e.Detail, formatValue(e.BadValue))
}

// formatValue prints scalars plainly, strings quoted, and dereferences pointers.
func formatValue(v any) string {
	if v == nil {
		return "null"
	}
	if d, ok := v.(description); ok {
		return string(d)
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "null"
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		s := rv.String()
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		return fmt.Sprintf("%q", s)
	case reflect.Struct:
		if is, ok := rv.Interface().(intstr.IntOrString); ok && is.Type == intstr.Int {
			return fmt.Sprintf("%d", is.IntVal)
		}
		if s, ok := rv.Interface().(fmt.Stringer); ok {
			return fmt.Sprintf("%q", s.String())
		}
	}
	return fmt.Sprintf("%v", rv.Interface())
}

// mustBeOneOf builds a NotSupported error whose detail reads as a rule.
func mustBeOneOf(path *field.Path, value any, valid ...string) *field.Error {
	quoted := make([]string, len(valid))
	for i, v := range valid {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return &field.Error{
		Type:     field.ErrorTypeNotSupported,
		Field:    path.String(),
		BadValue: value,
		Detail:   "must be one of " + strings.Join(quoted, ", "),
	}
}
