package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// schemaChecker compares a decoded JSON-like tree with a Go type, the way strict,
// case-sensitive JSON decoding would, but reports every unknown field and type mismatch with
// its exact path (including list indexes) instead of stopping at the first.
type schemaChecker struct {
	errs field.ErrorList
	// maxErrs stops collecting after this many problems in one document.
	maxErrs int
	// fields caches jsonFields per struct type for this check.
	fields map[reflect.Type]map[string]reflect.Type
}

func (c *schemaChecker) fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := c.fields[t]; ok {
		return f
	}
	if c.fields == nil {
		c.fields = map[reflect.Type]map[string]reflect.Type{}
	}
	f := jsonFields(t)
	c.fields[t] = f
	return f
}

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	intOrStringType     = reflect.TypeOf(intstr.IntOrString{})
	rawMessageType      = reflect.TypeOf(json.RawMessage{})
)

// add records a problem and returns false, so callers can "return c.add(...)".
func (c *schemaChecker) add(e *field.Error) bool {
	if len(c.errs) < c.maxErrs {
		c.errs = append(c.errs, e)
	}
	return false
}

// check reports problems of v against t and removes unusable parts (unknown fields, values
// of the wrong type) from maps and lists, so the rest still decodes and can be validated in
// the same pass. It returns false when v itself is unusable and its parent should drop it.
func (c *schemaChecker) check(v any, t reflect.Type, path *field.Path) bool {
	if v == nil {
		// JSON null leaves any Go value at its zero value.
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType:
		return true
	case t == intOrStringType:
		switch n := v.(type) {
		case string:
		case int64:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return c.add(field.Invalid(path, n, "must fit in a 32-bit integer"))
			}
		default:
			return c.add(field.Invalid(path, describe(v), "must be an integer or a string"))
		}
		return true
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType) && t.Kind() != reflect.Slice:
		return c.checkUnmarshaler(v, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return c.add(field.Invalid(path, describe(v), "must be an object"))
		}
		fields := c.fieldsOf(t)
		for _, k := range sortedKeys(m) {
			ft, known := fields[k]
			if !known {
				c.add(field.Forbidden(path.Child(k), "unknown field"+suggest(k, fields)))
				delete(m, k)
				continue
			}
			if !c.check(m[k], ft, path.Child(k)) {
				delete(m, k)
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return c.add(field.Invalid(path, describe(v), "must be an object"))
		}
		for _, k := range sortedKeys(m) {
			if !c.check(m[k], t.Elem(), path.Key(k)) {
				delete(m, k)
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); !ok {
				return c.add(field.Invalid(path, describe(v), "must be a base64 string"))
			}
			return true
		}
		s, ok := v.([]any)
		if !ok {
			return c.add(field.Invalid(path, describe(v), "must be a list"))
		}
		for i, e := range s {
			if !c.check(e, t.Elem(), path.Index(i)) {
				s[i] = nil
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return c.add(field.Invalid(path, describe(v), "must be a string (quote it)"))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return c.add(field.Invalid(path, describe(v), "must be true or false"))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return c.checkInt(v, t, path)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := v.(int64); !ok || n < 0 {
			return c.add(field.Invalid(path, describe(v), "must be a non-negative integer"))
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			return c.add(field.Invalid(path, describe(v), "must be a number"))
		}
	case reflect.Interface:
	default:
		return c.add(field.InternalError(path, fmt.Errorf("no schema rule for Go kind %s", t.Kind())))
	}
	return true
}

func (c *schemaChecker) checkInt(v any, t reflect.Type, path *field.Path) bool {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return c.add(field.Invalid(path, x, "must be an integer"))
		}
		n = int64(x)
	default:
		return c.add(field.Invalid(path, describe(v), "must be an integer"))
	}
	bits := t.Bits()
	if bits < 64 {
		lo, hi := -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
		if n < lo || n > hi {
			return c.add(field.Invalid(path, n, fmt.Sprintf("must fit in a %d-bit integer", bits)))
		}
	}
	return true
}

// checkUnmarshaler lets types with their own JSON form (quantities, times) judge the value.
func (c *schemaChecker) checkUnmarshaler(v any, t reflect.Type, path *field.Path) bool {
	raw, err := json.Marshal(v)
	if err != nil {
		return c.add(field.Invalid(path, describe(v), err.Error()))
	}
	target := reflect.New(t).Interface().(json.Unmarshaler)
	if err := target.UnmarshalJSON(raw); err != nil {
		return c.add(field.Invalid(path, describe(v), strings.TrimPrefix(err.Error(), "json: ")))
	}
	return true
}

// jsonFields maps JSON names to field types for a struct, following embedded and inline
// structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, shadowed := out[k]; !shadowed {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" && strings.Contains(opts, "inline") && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}

// suggest names the known field closest to k: same letters in another case, or at most two
// edits away (a typo such as "pasue").
func suggest(k string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3
	for _, name := range sortedKeys(fields) {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" || len(k) < 4 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, capped in effect by short field names.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// description is a value summary printed without quotes ("an object", "a list of 3").
type description string

// describe renders a value for an error message without dumping whole objects.
func describe(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return description("an object")
	case []any:
		return description("a list of " + strconv.Itoa(len(x)))
	}
	return v
}
