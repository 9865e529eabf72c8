package flags

import (
	"fmt"
	"math"
)

// fractionalBucket is one [variant, weight] entry of a fractional rule. Both parts may be
// expressions (flagd-testbed's @fractional-nested); constant weights are resolved once.
type fractionalBucket struct {
	variant expr
	weight  expr
	konstW  uint64 // the weight when weight.konst
}

// compileFractional compiles flagd's fractional operator:
//
//	{"fractional": [<bucketing expression>?, [variant, weight?], ...]}
//
// The bucket of a subject is murmur3_x86_32(value, seed 0) × totalWeight >> 32, where value
// is the bucketing expression's string or, without one, flagKey + targetingKey (an absent
// targeting key hashes as "", as in flagd). The first variant whose cumulative weight
// exceeds the bucket wins. Because buckets are laid out in declaration order, growing the
// first variant's weight only moves subjects into it (stickiness as a rollout grows).
//
// As in flagd, what the operator cannot work with makes the targeting null (the default
// variant, reason DEFAULT): no entries, an entry that is not [variant, weight?], a weight
// that is not a number, weights summing to 0 (negative weights count as 0), a bucketing
// value that is null or not a string. Constant cases are also reported as warnings.
func (c *ruleCompiler) compileFractional(args []any, path string) (expr, error) {
	fail := func(at, format string, a ...any) (expr, error) {
		msg := fmt.Sprintf(format, a...)
		c.warn(at, "%s; the targeting evaluates to null (the default variant)", msg)
		return abortExpr(at + ": " + msg), nil
	}
	if len(args) == 0 {
		return fail(path, "fractional needs at least one [variant, weight] entry")
	}
	var bucketBy []expr // parts whose strings are hashed one after another (cat is streamed)
	hasBucketBy, isCat := false, false
	if _, isList := args[0].([]any); !isList {
		hasBucketBy = true
		parts := []any{args[0]}
		partsPath := path + "[0]"
		if m, ok := args[0].(map[string]any); ok && len(m) == 1 {
			if catArgs, ok := m["cat"]; ok {
				parts, isCat = argList(catArgs), true
				partsPath += ".cat"
			}
		}
		for i, p := range parts {
			pp := partsPath
			if isCat {
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
		return fail(path, "fractional needs at least one [variant, weight] entry after the bucketing expression")
	}
	buckets, total, allConst, err := c.compileBuckets(args, path, btoi(hasBucketBy))
	if err != nil {
		return expr{}, err
	}
	if buckets == nil {
		return abortExpr(path + ": invalid fractional entry"), nil // warned by compileBuckets
	}
	if allConst && total == 0 {
		return fail(path, "sum of weights must be positive, got 0")
	}
	if allConst && total > math.MaxInt32 {
		return fail(path, "sum of weights must be at most %d, got %d", math.MaxInt32, total)
	}
	var prefix murmur3 // hash state after the flag key, reused for every subject
	prefix.writeString(c.flagKey)
	keyMissing := fmt.Sprintf("flag %q: fractional without a bucketing expression needs a targetingKey in the context", c.flagKey)
	keyed := c.keyedSplits
	pick := func(st *evalState, h uint32) Value { return pickBucket(st, buckets, total, allConst, h, path) }

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
		if key == "" && keyed {
			st.fail(ErrTargetingKeyMissing, keyMissing)
			return Value{}
		}
		h := prefix
		h.writeString(key)
		return pick(st, h.sum32())
	}
	if !hasBucketBy {
		return expr{fn: byTargetingKey}, nil
	}
	nullMsg := path + ": the bucketing value is null (missing from the context)"
	typeMsg := path + ": the bucketing value must be a string"
	return expr{fn: func(st *evalState) Value {
		var h murmur3
		for _, p := range bucketBy {
			v := p.fn(st)
			switch {
			case v.kind == KindString:
				h.writeString(v.s)
			case isCat:
				h.writeString(v.toString()) // cat stringifies its parts
			case v.kind == KindNull:
				st.abort(nullMsg)
				return Value{}
			default:
				st.abort(typeMsg)
				return Value{}
			}
		}
		return pick(st, h.sum32())
	}}, nil
}

// compileBuckets compiles the [variant, weight?] entries. buckets is nil (and a warning
// recorded) when an entry is malformed; total is the sum of the constant weights.
func (c *ruleCompiler) compileBuckets(args []any, path string, offset int) (buckets []fractionalBucket, total uint64, allConst bool, err error) {
	buckets = make([]fractionalBucket, len(args))
	allConst = true
	for i, raw := range args {
		ep := fmt.Sprintf("%s[%d]", path, i+offset)
		entry, ok := raw.([]any)
		if !ok || len(entry) == 0 || len(entry) > 2 {
			c.warn(ep, "must be [variant, weight] (weight optional, default 1), got %s; the targeting evaluates to null (the default variant)", describeJSON(raw))
			return nil, 0, false, nil
		}
		v, err := c.compile(entry[0], ep+"[0]")
		if err != nil {
			return nil, 0, false, err
		}
		if v.konst {
			v.val.split = true
			v = constExpr(v.val)
		} else {
			inner := v.fn
			v.fn = func(st *evalState) Value { r := inner(st); r.split = true; return r }
		}
		w := constExpr(Number(1))
		if len(entry) == 2 {
			if w, err = c.compile(entry[1], ep+"[1]"); err != nil {
				return nil, 0, false, err
			}
		}
		b := fractionalBucket{variant: v, weight: w}
		if w.konst {
			if w.val.kind != KindNumber {
				c.warn(ep+"[1]", "weight must be a number, got %s; the targeting evaluates to null (the default variant)", describeJSON(w.val.ToJSON()))
				return nil, 0, false, nil
			}
			switch n := w.val.n; {
			case n < 0:
				c.warn(ep+"[1]", "negative weight %s counts as 0", formatNumber(n))
			case n != math.Trunc(n):
				c.warn(ep+"[1]", "weights are integers: %s counts as %s", formatNumber(n), formatNumber(math.Trunc(n)))
			}
			b.konstW = weightValue(w.val.n)
			total += b.konstW
		} else {
			allConst = false
		}
		buckets[i] = b
	}
	return buckets, total, allConst, nil
}

// weightValue clamps a weight as flagd does: negative counts as 0, fractions are dropped.
func weightValue(n float64) uint64 {
	if n <= 0 || math.IsNaN(n) {
		return 0
	}
	return uint64(min(math.Trunc(n), math.MaxInt32+1))
}

// pickBucket chooses the bucket for hash h. With expression weights the weights are
// evaluated first (a non-number aborts the targeting) and summed.
func pickBucket(st *evalState, buckets []fractionalBucket, total uint64, allConst bool, h uint32, path string) Value {
	if !allConst {
		total = 0
		for i := range buckets {
			w, ok := bucketWeight(st, &buckets[i])
			if !ok {
				st.abort(path + ": a weight is not a number")
				return Value{}
			}
			total += w
		}
		if total == 0 || total > math.MaxInt32 {
			st.abort(path + ": sum of weights must be between 1 and 2147483647")
			return Value{}
		}
	}
	bucket := uint64(h) * total >> 32
	var end uint64
	for i := range buckets {
		w, _ := bucketWeight(st, &buckets[i])
		end += w
		if bucket < end {
			if buckets[i].variant.konst {
				return buckets[i].variant.val
			}
			return buckets[i].variant.fn(st)
		}
	}
	return Value{}
}

func bucketWeight(st *evalState, b *fractionalBucket) (uint64, bool) {
	if b.weight.konst {
		return b.konstW, true
	}
	v := b.weight.fn(st)
	if v.kind != KindNumber {
		return 0, false
	}
	return weightValue(v.n), true
}
