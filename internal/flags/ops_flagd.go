package flags

import (
	"fmt"
	"math"
)

// fractionalBucket is one [variant, weight] entry of a fractional rule.
type fractionalBucket struct {
	variant expr
	weight  uint64
}

// compileFractional compiles flagd's fractional operator:
//
//	{"fractional": [<bucketing expression>?, [variant, weight?], ...]}
//
// The bucket of a subject is murmur3_x86_32(value, seed 0) × totalWeight >> 32, where value
// is the bucketing expression's string or, without one, flagKey + targetingKey. The first
// variant whose cumulative weight exceeds the bucket wins. Because buckets are laid out in
// declaration order, growing the first variant's weight only moves subjects into it: a
// subject already in the first variant stays there (stickiness as a rollout grows).
func (c *ruleCompiler) compileFractional(args []any, path string) (expr, error) {
	if len(args) == 0 {
		return expr{}, errAt(path, "fractional needs at least one [variant, weight] entry")
	}
	var bucketBy []expr // parts whose strings are hashed one after another (cat is streamed)
	hasBucketBy := false
	if _, isList := args[0].([]any); !isList {
		hasBucketBy = true
		parts := []any{args[0]}
		partsPath := path + "[0]"
		if m, ok := args[0].(map[string]any); ok && len(m) == 1 {
			if catArgs, ok := m["cat"]; ok {
				parts = argList(catArgs)
				partsPath += ".cat"
			}
		}
		for i, p := range parts {
			pp := partsPath
			if len(parts) > 1 || partsPath != path+"[0]" {
				pp = fmt.Sprintf("%s[%d]", partsPath, i)
			}
			e, err := c.compile(p, pp)
			if err != nil {
				return expr{}, err
			}
			bucketBy = append(bucketBy, e)
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return expr{}, errAt(path, "fractional needs at least one [variant, weight] entry after the bucketing expression")
	}
	offset := 0
	if hasBucketBy {
		offset = 1
	}
	buckets := make([]fractionalBucket, len(args))
	var total uint64
	for i, raw := range args {
		ep := fmt.Sprintf("%s[%d]", path, i+offset)
		entry, ok := raw.([]any)
		if !ok || len(entry) == 0 || len(entry) > 2 {
			return expr{}, errAt(ep, "must be [variant, weight] (weight optional, default 1), got %s", describeJSON(raw))
		}
		v, err := c.compile(entry[0], ep+"[0]")
		if err != nil {
			return expr{}, err
		}
		if v.konst {
			v.val.split = true
			v = constExpr(v.val)
		} else {
			inner := v.fn
			v.fn = func(st *evalState) Value { r := inner(st); r.split = true; return r }
		}
		w := int64(1)
		if len(entry) == 2 {
			var ok bool
			if w, ok = parseIntArg(entry[1]); !ok || w < 0 || w > math.MaxInt32 {
				return expr{}, errAt(ep+"[1]", "weight must be an integer between 0 and %d, got %s", math.MaxInt32, describeJSON(entry[1]))
			}
		}
		buckets[i] = fractionalBucket{variant: v, weight: uint64(w)}
		total += uint64(w)
	}
	if total > math.MaxInt32 {
		return expr{}, errAt(path, "sum of weights must be at most %d, got %d", math.MaxInt32, total)
	}
	if total == 0 {
		return expr{}, errAt(path, "sum of weights must be positive, got 0")
	}
	var prefix murmur3 // hash state after the flag key, reused for every subject
	prefix.writeString(c.flagKey)
	flagKey := c.flagKey

	pick := func(st *evalState, h uint32) Value {
		bucket := uint64(h) * total >> 32
		var end uint64
		for i := range buckets {
			end += buckets[i].weight
			if bucket < end {
				if buckets[i].variant.konst {
					return buckets[i].variant.val
				}
				return buckets[i].variant.fn(st)
			}
		}
		return Value{}
	}
	byTargetingKey := func(st *evalState) Value {
		key := ""
		if st.ctx != nil {
			key = st.ctx.TargetingKey
		}
		if key == "" { // an attribute named targetingKey (Context.Set) counts too
			if tk, ok := st.ctx.lookup("targetingKey"); ok && tk.kind == KindString {
				key = tk.s
			}
		}
		if key == "" {
			st.fail(ErrTargetingKeyMissing, fmt.Sprintf("flag %q: fractional without a bucketing expression needs a targetingKey in the context", flagKey))
			return Value{}
		}
		h := prefix
		h.writeString(key)
		return pick(st, h.sum32())
	}
	if !hasBucketBy {
		return expr{fn: byTargetingKey}, nil
	}
	return expr{fn: func(st *evalState) Value {
		var h murmur3
		for _, p := range bucketBy {
			v := p.fn(st)
			switch {
			case v.kind == KindString:
				h.writeString(v.s)
			case len(bucketBy) > 1:
				h.writeString(v.toString()) // cat stringifies its parts
			case v.kind == KindNull:
				// flagd: a missing bucketing value falls back to flagKey + targetingKey.
				return byTargetingKey(st)
			default:
				return Value{} // flagd: a non-string bucketing value makes the rule null
			}
		}
		return pick(st, h.sum32())
	}}, nil
}

// describeJSON renders a small JSON fragment for error messages.
func describeJSON(x any) string {
	switch t := x.(type) {
	case string:
		return fmt.Sprintf("%q", t)
	case float64:
		return formatNumber(t)
	case nil:
		return "null"
	case bool:
		return fmt.Sprint(t)
	}
	return jsonTypeName(x)
}

// compileSemVer compiles flagd's sem_ver operator: [version, operator, version].
func (c *ruleCompiler) compileSemVer(args []any, path string) (expr, error) {
	if len(args) != 3 {
		return expr{}, errAt(path, "sem_ver needs 3 arguments (version, operator, version), got %d", len(args))
	}
	op, ok := args[1].(string)
	if !ok {
		return expr{}, errAt(path+"[1]", "sem_ver operator must be a string, got %s", describeJSON(args[1]))
	}
	var test func(cmp int, a, b semver) bool
	switch op {
	case "=":
		test = func(cmp int, _, _ semver) bool { return cmp == 0 }
	case "!=":
		test = func(cmp int, _, _ semver) bool { return cmp != 0 }
	case "<":
		test = func(cmp int, _, _ semver) bool { return cmp < 0 }
	case "<=":
		test = func(cmp int, _, _ semver) bool { return cmp <= 0 }
	case ">":
		test = func(cmp int, _, _ semver) bool { return cmp > 0 }
	case ">=":
		test = func(cmp int, _, _ semver) bool { return cmp >= 0 }
	case "^":
		test = func(_ int, a, b semver) bool { return a.major == b.major }
	case "~":
		test = func(_ int, a, b semver) bool { return a.major == b.major && a.minor == b.minor }
	default:
		return expr{}, errAt(path+"[1]", "sem_ver operator must be one of =, !=, <, <=, >, >=, ^, ~; got %q", op)
	}
	left, err := c.compile(args[0], path+"[0]")
	if err != nil {
		return expr{}, err
	}
	right, err := c.compile(args[2], path+"[2]")
	if err != nil {
		return expr{}, err
	}
	if right.konst {
		if _, ok := parseSemver(right.val.toString()); !ok {
			return expr{}, errAt(path+"[2]", "not a semantic version: %s", describeJSON(right.val.ToJSON()))
		}
	}
	return expr{fn: func(st *evalState) Value {
		a, ok := parseSemver(left.fn(st).toString())
		if !ok {
			return Bool(false)
		}
		b, ok := parseSemver(right.fn(st).toString())
		if !ok {
			return Bool(false)
		}
		return Bool(test(compareSemver(a, b), a, b))
	}}, nil
}
