package v1alpha1

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
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
}

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	intOrStringType     = reflect.TypeOf(intstr.IntOrString{})
	rawMessageType      = reflect.TypeOf(json.RawMessage{})
)

func (c *schemaChecker) add(e *field.Error) {
	if len(c.errs) < c.maxErrs {
		c.errs = append(c.errs, e)
	}
}

func (c *schemaChecker) check(v any, t reflect.Type, path *field.Path) {
	if len(c.errs) >= c.maxErrs {
		return
	}
	if v == nil {
		// JSON null leaves any Go value at its zero value.
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType:
		return
	case t == intOrStringType:
		switch n := v.(type) {
		case string:
		case int64:
			if n < math.MinInt32 || n > math.MaxInt32 {
				c.add(field.Invalid(path, n, "must fit in a 32-bit integer"))
			}
		default:
			c.add(field.Invalid(path, v, "must be an integer or a string"))
		}
		return
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType) && t.Kind() != reflect.Slice:
		c.checkUnmarshaler(v, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(field.Invalid(path, describe(v), "must be an object"))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, known := fields[k]
			if !known {
				c.add(field.Forbidden(path.Child(k), "unknown field"+suggest(k, fields)))
				continue
			}
			c.check(m[k], ft, path.Child(k))
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(field.Invalid(path, describe(v), "must be an object"))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.check(m[k], t.Elem(), path.Key(k))
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); !ok {
				c.add(field.Invalid(path, describe(v), "must be a base64 string"))
			}
			return
		}
		s, ok := v.([]any)
		if !ok {
			c.add(field.Invalid(path, describe(v), "must be a list"))
			return
		}
		for i, e := range s {
			c.check(e, t.Elem(), path.Index(i))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			c.add(field.Invalid(path, v, "must be a string (quote it)"))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			c.add(field.Invalid(path, v, "must be true or false"))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.checkInt(v, t, path)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(int64)
		if !ok || n < 0 {
			c.add(field.Invalid(path, v, "must be a non-negative integer"))
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			c.add(field.Invalid(path, v, "must be a number"))
		}
	case reflect.Interface:
	default:
		c.add(field.InternalError(path, fmt.Errorf("no schema rule for Go kind %s", t.Kind())))
	}
}

func (c *schemaChecker) checkInt(v any, t reflect.Type, path *field.Path) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			c.add(field.Invalid(path, x, "must be an integer"))
			return
		}
		n = int64(x)
	default:
		c.add(field.Invalid(path, v, "must be an integer"))
		return
	}
	bits := t.Bits()
	if bits < 64 {
		lo, hi := -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1
		if n < lo || n > hi {
			c.add(field.Invalid(path, n, fmt.Sprintf("must fit in a %d-bit integer", bits)))
		}
	}
}

// checkUnmarshaler lets types with their own JSON form (quantities, times) judge the value.
func (c *schemaChecker) checkUnmarshaler(v any, t reflect.Type, path *field.Path) {
	raw, err := json.Marshal(v)
	if err != nil {
		c.add(field.Invalid(path, describe(v), err.Error()))
		return
	}
	target := reflect.New(t).Interface().(json.Unmarshaler)
	if err := target.UnmarshalJSON(raw); err != nil {
		c.add(field.Invalid(path, describe(v), strings.TrimPrefix(err.Error(), "json: ")))
	}
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

// suggest names a known field that differs from k only by case, a common mistake.
func suggest(k string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}

// describe renders a value for an error message without dumping whole objects.
func describe(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list of " + strconv.Itoa(len(x))
	}
	return v
}
