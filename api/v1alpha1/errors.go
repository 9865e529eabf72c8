package v1alpha1

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
	// Document is the 0-based index of the document in its file.
	Document int
	// Line is the 1-based line of the field, or of the document, when known (0 otherwise).
	Line int
	// Kind and Name identify the object when they could be read.
	Kind string
	Name string
	// Field is the field path, the rule and the value.
	Field *field.Error
}

// Error renders "document 2 (Rollout/web) line 14: spec.x: rule, got value".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Document+1)
	if e.Kind != "" || e.Name != "" {
		fmt.Fprintf(&b, " (%s/%s)", e.Kind, e.Name)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
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
	path := e.Field
	if path == "" {
		path = "<document>"
	}
	switch e.Type {
	case field.ErrorTypeRequired:
		if e.Detail != "" {
			return path + ": is required: " + e.Detail
		}
		return path + ": is required"
	case field.ErrorTypeDuplicate:
		return fmt.Sprintf("%s: must be unique, got duplicate %s", path, formatValue(e.BadValue))
	case field.ErrorTypeNotSupported:
		return fmt.Sprintf("%s: %s, got %s", path, e.Detail, formatValue(e.BadValue))
	case field.ErrorTypeForbidden, field.ErrorTypeInternal, field.ErrorTypeNotFound:
		return path + ": " + e.Detail
	case field.ErrorTypeTooLong, field.ErrorTypeTooMany:
		return path + ": " + e.Detail
	}
	if _, omit := e.BadValue.(field.OmitValueType); omit || e.BadValue == nil {
		return path + ": " + e.Detail
	}
	return fmt.Sprintf("%s: %s, got %s", path, e.Detail, formatValue(e.BadValue))
}

// formatValue prints scalars plainly, strings quoted, and dereferences pointers.
func formatValue(v any) string {
	if v == nil {
		return "null"
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
