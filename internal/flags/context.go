package flags

import (
	"errors"
	"fmt"
)

// Attr is one named attribute of an evaluation context.
type Attr struct {
	Name  string
	Value Value
}

// Context is the evaluation context. It is a small typed struct rather than a
// map[string]any so that the hot path (a gateway picking a model per request) can build
// one on the stack and evaluate without allocating: attribute lookups are a linear scan
// over a handful of names, which beats hashing for the few attributes rules use.
//
// A Context carries the scratch state of the evaluation running on it, so one Context must
// not be evaluated by two goroutines at once (build one per request).
type Context struct {
	// TargetingKey identifies the subject (user, patient, study) for sticky bucketing.
	TargetingKey string
	Attrs        []Attr
	st           evalState
}

// Set adds or replaces the attribute name.
func (c *Context) Set(name string, v Value) {
	for i := range c.Attrs {
		if c.Attrs[i].Name == name {
			c.Attrs[i].Value = v
			return
		}
	}
	c.Attrs = append(c.Attrs, Attr{Name: name, Value: v})
}

// lookup returns the top-level attribute name. "targetingKey" resolves to TargetingKey
// when it is set, as flagd exposes the targeting key under that name.
func (c *Context) lookup(name string) (Value, bool) {
	if c == nil {
		return Value{}, false
	}
	for i := range c.Attrs {
		if c.Attrs[i].Name == name {
			return c.Attrs[i].Value, true
		}
	}
	if name == "targetingKey" && c.TargetingKey != "" {
		return String(c.TargetingKey), true
	}
	return Value{}, false
}

// asObject builds the whole context as one object value (for {"var": ""}).
func (c *Context) asObject() Value {
	if c == nil {
		return Object(nil, nil)
	}
	keys := make([]string, 0, len(c.Attrs)+1)
	items := make([]Value, 0, len(c.Attrs)+1)
	for _, a := range c.Attrs {
		keys = append(keys, a.Name)
		items = append(items, a.Value)
	}
	if c.TargetingKey != "" {
		keys = append(keys, "targetingKey")
		items = append(items, String(c.TargetingKey))
	}
	return Object(keys, items)
}

// errInvalidContext is wrapped by ContextFromJSON's errors.
var errInvalidContext = errors.New("invalid evaluation context")

// ContextFromJSON converts an OpenFeature JSON evaluation context (as decoded by
// encoding/json) to a Context. This is the convenient path for OFREP; it allocates.
func ContextFromJSON(raw any) (Context, error) {
	var c Context
	if raw == nil {
		return c, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return c, fmt.Errorf("%w: context must be a JSON object, got %s", errInvalidContext, jsonTypeName(raw))
	}
	c.Attrs = make([]Attr, 0, len(m))
	for k, v := range m {
		if k == "targetingKey" {
			s, ok := v.(string)
			if !ok && v != nil {
				return c, fmt.Errorf("%w: context.targetingKey must be a string, got %s", errInvalidContext, jsonTypeName(v))
			}
			c.TargetingKey = s
			continue
		}
		c.Attrs = append(c.Attrs, Attr{Name: k, Value: FromJSON(v)})
	}
	return c, nil
}

func jsonTypeName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", x)
}
