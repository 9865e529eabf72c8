// Package condition compiles and evaluates analysis conditions (successCondition,
// failureCondition, pause.analysis) with expr-lang/expr and Argo Rollouts' environment:
// result, asInt, asFloat, isNaN, isInf, isNil, default. It imports nothing but expr and the
// standard library, so both the API package (validation, the analysis executor) and the pure
// rollout engine use it: what validates is exactly what runs.
package condition

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// MaxLength caps the length of a condition.
const MaxLength = 4096

// Condition is a compiled condition.
type Condition struct {
	// Source is the expression as written (after argument substitution, if any).
	Source  string
	program *vm.Program
}

// conditionEnv is the environment conditions see, the same names Argo Rollouts provides:
// result, asInt, asFloat, isNaN, isInf, isNil, default.
type conditionEnv struct {
	Result  any                `expr:"result"`
	AsInt   func(any) int64    `expr:"asInt"`
	AsFloat func(any) float64  `expr:"asFloat"`
	IsNaN   func(float64) bool `expr:"isNaN"`
	IsInf   func(float64) bool `expr:"isInf"`
	IsNil   func(any) bool     `expr:"isNil"`
	Default func(any, any) any `expr:"default"`
}

func newConditionEnv(result any) conditionEnv {
	return conditionEnv{
		Result:  result,
		AsInt:   condAsInt,
		AsFloat: condAsFloat,
		IsNaN:   math.IsNaN,
		IsInf:   func(f float64) bool { return math.IsInf(f, 0) },
		IsNil:   condIsNil,
		Default: func(v, d any) any {
			if condIsNil(v) {
				return d
			}
			return v
		},
	}
}

// Compile compiles a condition that must evaluate to a boolean. It fails on syntax errors,
// unknown names and non-boolean expressions. Argument placeholders ({{args.x}}) must be
// substituted before calling it.
func Compile(src string) (*Condition, error) {
	if len(src) > MaxLength {
		return nil, fmt.Errorf("condition is %d characters, more than %d", len(src), MaxLength)
	}
	prog, err := expr.Compile(src, expr.Env(conditionEnv{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	return &Condition{Source: src, program: prog}, nil
}

// Eval runs the condition against a measurement's value. A panic in a helper (asInt of a
// non-number) becomes an error, never a pass.
func (c *Condition) Eval(result any) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("condition %q panicked: %v", c.Source, r)
		}
	}()
	out, err := expr.Run(c.program, newConditionEnv(result))
	if err != nil {
		return false, fmt.Errorf("evaluate %q: %w", c.Source, err)
	}
	b, isBool := out.(bool)
	if !isBool {
		return false, fmt.Errorf("condition %q returned %T, not a boolean", c.Source, out)
	}
	return b, nil
}

var errNotNumber = errors.New("value is not a number")

func condAsInt(in any) int64 {
	switch v := in.(type) {
	case string:
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			panic(fmt.Errorf("asInt(%q): %w", v, err))
		}
		return i
	case float64:
		return int64(v)
	case float32:
		return int64(v)
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Errorf("asInt(%v): %w", in, errNotNumber))
}

func condAsFloat(in any) float64 {
	switch v := in.(type) {
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(fmt.Errorf("asFloat(%q): %w", v, err))
		}
		return f
	case float64:
		return v
	case float32:
		return float64(v)
	case int:
		return float64(v)
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	}
	panic(fmt.Errorf("asFloat(%v): %w", in, errNotNumber))
}

// condIsNil is true for nil and for typed nil pointers, maps, slices and interfaces.
func condIsNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
