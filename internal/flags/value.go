package flags

import (
	"math"
	"strconv"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON types a Value can hold.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// Value is a JSON value as the evaluator sees it. Scalars live inline so that evaluating a
// rule over scalar attributes never allocates; arrays and objects sit behind a pointer.
type Value struct {
	kind Kind
	// split marks a value chosen by the fractional operator, so a targeting result that is
	// a pseudorandom split reports reason SPLIT rather than TARGETING_MATCH.
	split bool
	b     bool
	// variant is the index+1 of the flag variant this string names, resolved when the rule
	// was compiled (0: not resolved; look the name up).
	variant int32
	n       float64
	s       string
	c       *composite
}

type composite struct {
	items []Value
	keys  []string // non-nil for objects: keys[i] names items[i]
}

// Null, Bool, Number and String build scalar Values.
func Null() Value               { return Value{} }
func Bool(b bool) Value         { return Value{kind: KindBool, b: b} }
func Number(f float64) Value    { return Value{kind: KindNumber, n: f} }
func String(s string) Value     { return Value{kind: KindString, s: s} }
func Array(items []Value) Value { return Value{kind: KindArray, c: &composite{items: items}} }

// Object builds an object Value from parallel key and value slices.
func Object(keys []string, items []Value) Value {
	if keys == nil {
		keys = []string{}
	}
	return Value{kind: KindObject, c: &composite{items: items, keys: keys}}
}

// Kind reports the JSON type of v.
func (v Value) Kind() Kind { return v.kind }

// Str returns the string held by v ("" unless v is a string).
func (v Value) Str() string { return v.s }

// field returns the member name of an object value.
func (v Value) field(name string) (Value, bool) {
	if v.kind != KindObject {
		return Value{}, false
	}
	for i, k := range v.c.keys {
		if k == name {
			return v.c.items[i], true
		}
	}
	return Value{}, false
}

// index returns element i of an array value.
func (v Value) index(seg string) (Value, bool) {
	if v.kind != KindArray {
		return Value{}, false
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 || i >= len(v.c.items) {
		return Value{}, false
	}
	return v.c.items[i], true
}

// truthy follows JavaScript (and so JSON Logic) truthiness.
func (v Value) truthy() bool {
	switch v.kind {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case KindString:
		return v.s != ""
	case KindArray:
		return len(v.c.items) > 0
	case KindObject:
		return true
	}
	return false
}

// toNumber follows JavaScript's Number() for the types JSON Logic meets.
func (v Value) toNumber() float64 {
	switch v.kind {
	case KindNumber:
		return v.n
	case KindBool:
		if v.b {
			return 1
		}
		return 0
	case KindString:
		if v.s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(v.s, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case KindNull:
		return 0
	case KindArray:
		if len(v.c.items) == 0 {
			return 0
		}
		if len(v.c.items) == 1 {
			return v.c.items[0].toNumber()
		}
	}
	return math.NaN()
}

// toString follows JavaScript's String() for scalars. Only strings avoid allocating.
func (v Value) toString() string {
	switch v.kind {
	case KindString:
		return v.s
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	case KindNumber:
		return formatNumber(v.n)
	case KindNull:
		return "null"
	case KindArray:
		out := ""
		for i, it := range v.c.items {
			if i > 0 {
				out += ","
			}
			if it.kind != KindNull {
				out += it.toString()
			}
		}
		return out
	}
	return "[object Object]"
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// strictEqual is JavaScript's === for JSON values (arrays/objects compare by identity,
// which for values built from JSON means never equal unless the same pointer).
func strictEqual(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case KindNull:
		return true
	case KindBool:
		return a.b == b.b
	case KindNumber:
		return a.n == b.n
	case KindString:
		return a.s == b.s
	}
	return a.c == b.c
}

// looseEqual is JavaScript's == restricted to JSON values.
func looseEqual(a, b Value) bool {
	if a.kind == b.kind {
		return strictEqual(a, b)
	}
	if a.kind == KindNull || b.kind == KindNull {
		return false
	}
	if a.kind == KindArray || a.kind == KindObject {
		return looseEqual(String(a.toString()), b)
	}
	if b.kind == KindArray || b.kind == KindObject {
		return looseEqual(a, String(b.toString()))
	}
	return a.toNumber() == b.toNumber()
}

// lessThan is JavaScript's < : strings compare as strings, everything else as numbers.
func lessThan(a, b Value) bool {
	if a.kind == KindString && b.kind == KindString {
		return a.s < b.s
	}
	return a.toNumber() < b.toNumber()
}

func lessOrEqual(a, b Value) bool {
	if a.kind == KindString && b.kind == KindString {
		return a.s <= b.s
	}
	return a.toNumber() <= b.toNumber()
}

// FromJSON converts a value decoded by encoding/json (into any) to a Value.
func FromJSON(x any) Value {
	switch t := x.(type) {
	case nil:
		return Value{}
	case bool:
		return Bool(t)
	case float64:
		return Number(t)
	case int:
		return Number(float64(t))
	case string:
		return String(t)
	case []any:
		items := make([]Value, len(t))
		for i, e := range t {
			items[i] = FromJSON(e)
		}
		return Array(items)
	case map[string]any:
		keys := make([]string, 0, len(t))
		items := make([]Value, 0, len(t))
		for k, e := range t {
			keys = append(keys, k)
			items = append(items, FromJSON(e))
		}
		return Object(keys, items)
	}
	return Value{}
}

// ToJSON converts v back to the encoding/json representation.
func (v Value) ToJSON() any {
	switch v.kind {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n
	case KindString:
		return v.s
	case KindArray:
		out := make([]any, len(v.c.items))
		for i, it := range v.c.items {
			out[i] = it.ToJSON()
		}
		return out
	case KindObject:
		out := make(map[string]any, len(v.c.items))
		for i, it := range v.c.items {
			out[v.c.keys[i]] = it.ToJSON()
		}
		return out
	}
	return nil
}
