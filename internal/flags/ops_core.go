package flags

import (
	"math"
	"strings"
)

// opBuilder builds an operator's node from its compiled arguments.
type opBuilder func(args []expr, path string) (expr, error)

// lookupOp returns the builder of a JSON Logic operator (core or flagd's string operators).
// A switch rather than a package-level map keeps the package free of mutable globals.
func lookupOp(op string) (opBuilder, bool) {
	switch op {
	case "if", "?:":
		return opIf, true
	case "==":
		return cmp2(func(a, b Value) bool { return looseEqual(a, b) }), true
	case "===":
		return cmp2(strictEqual), true
	case "!=":
		return cmp2(func(a, b Value) bool { return !looseEqual(a, b) }), true
	case "!==":
		return cmp2(func(a, b Value) bool { return !strictEqual(a, b) }), true
	case "<":
		return between(lessThan), true
	case "<=":
		return between(lessOrEqual), true
	case ">":
		return cmp2(func(a, b Value) bool { return lessThan(b, a) }), true
	case ">=":
		return cmp2(func(a, b Value) bool { return lessOrEqual(b, a) }), true
	case "!":
		return negation(true), true
	case "!!":
		return negation(false), true
	case "or":
		return opOr, true
	case "and":
		return opAnd, true
	case "in":
		return opIn, true
	case "cat":
		return opCat, true
	case "substr":
		return opSubstr, true
	case "+", "*", "-", "/", "%", "min", "max":
		return arith(op), true
	case "merge":
		return opMerge, true
	case "missing":
		return opMissing, true
	case "missing_some":
		return opMissingSome, true
	case "log":
		return unary(func(v Value) Value { return v }), true
	case "starts_with":
		return stringPredicate(strings.HasPrefix, true), true
	case "ends_with":
		return stringPredicate(strings.HasSuffix, false), true
	}
	return nil, false
}

func arg(args []expr, i int) node {
	if i < len(args) {
		return args[i].fn
	}
	return func(*evalState) Value { return Value{} }
}

func opIf(args []expr, _ string) (expr, error) {
	if len(args) == 3 {
		// The common shape {"if": [cond, then, else]}: no loop, constants returned inline.
		cond, then, els := asTest(args[0]), args[1], args[2]
		switch {
		case then.konst && els.konst:
			tv, ev := then.val, els.val
			return expr{fn: func(st *evalState) Value {
				if cond(st) {
					return tv
				}
				return ev
			}}, nil
		case then.konst:
			tv, ef := then.val, els.fn
			return expr{fn: func(st *evalState) Value {
				if cond(st) {
					return tv
				}
				return ef(st)
			}}, nil
		}
		tf, ef := then.fn, els.fn
		return expr{fn: func(st *evalState) Value {
			if cond(st) {
				return tf(st)
			}
			return ef(st)
		}}, nil
	}
	return expr{fn: func(st *evalState) Value {
		i := 0
		for ; i+1 < len(args); i += 2 {
			if args[i].fn(st).truthy() {
				return args[i+1].fn(st)
			}
		}
		if i < len(args) {
			return args[i].fn(st)
		}
		return Value{}
	}}, nil
}

func cmp2(f func(a, b Value) bool) opBuilder {
	return func(args []expr, path string) (expr, error) {
		if len(args) != 2 {
			return expr{}, errAt(path, "needs 2 arguments, got %d", len(args))
		}
		a, b := args[0].fn, args[1].fn
		return predicate(func(st *evalState) bool { return f(a(st), b(st)) }), nil
	}
}

// between handles the 2-argument comparison and JSON Logic's 3-argument "between" form.
func between(f func(a, b Value) bool) opBuilder {
	return func(args []expr, path string) (expr, error) {
		switch len(args) {
		case 2:
			return cmp2(f)(args, path)
		case 3:
			a, b, c := args[0].fn, args[1].fn, args[2].fn
			return expr{fn: func(st *evalState) Value {
				bv := b(st)
				return Bool(f(a(st), bv) && f(bv, c(st)))
			}}, nil
		}
		return expr{}, errAt(path, "needs 2 or 3 arguments, got %d", len(args))
	}
}

func unary(f func(Value) Value) opBuilder {
	return func(args []expr, _ string) (expr, error) {
		a := arg(args, 0)
		return expr{fn: func(st *evalState) Value { return f(a(st)) }}, nil
	}
}

// negation builds "!" (negate) and "!!" (truthiness) as predicates.
func negation(negate bool) opBuilder {
	return func(args []expr, _ string) (expr, error) {
		if len(args) == 0 {
			return constExpr(Bool(negate)), nil
		}
		t := asTest(args[0])
		if negate {
			return predicate(func(st *evalState) bool { return !t(st) }), nil
		}
		return predicate(t), nil
	}
}

func opOr(args []expr, _ string) (expr, error) {
	return expr{fn: func(st *evalState) Value {
		var v Value
		for _, a := range args {
			if v = a.fn(st); v.truthy() {
				return v
			}
		}
		return v
	}}, nil
}

func opAnd(args []expr, _ string) (expr, error) {
	return expr{fn: func(st *evalState) Value {
		var v Value
		for _, a := range args {
			if v = a.fn(st); !v.truthy() {
				return v
			}
		}
		return v
	}}, nil
}

// opIn: substring test when the haystack is a string, membership when it is an array.
func opIn(args []expr, path string) (expr, error) {
	if len(args) != 2 {
		return expr{}, errAt(path, "needs 2 arguments, got %d", len(args))
	}
	needle, hay := args[0].fn, args[1].fn
	// A constant list of strings (the common "user id in [...]" rule) becomes a set.
	if args[1].konst && args[1].val.kind == KindArray && len(args[1].val.c.items) > 8 {
		set := make(map[string]struct{}, len(args[1].val.c.items))
		allStrings := true
		for _, it := range args[1].val.c.items {
			if it.kind != KindString {
				allStrings = false
				break
			}
			set[it.s] = struct{}{}
		}
		if allStrings {
			return predicate(func(st *evalState) bool {
				n := needle(st)
				if n.kind != KindString {
					return false
				}
				_, ok := set[n.s]
				return ok
			}), nil
		}
	}
	return predicate(func(st *evalState) bool {
		h := hay(st)
		switch h.kind {
		case KindString:
			return strings.Contains(h.s, needle(st).toString())
		case KindArray:
			n := needle(st)
			for _, it := range h.c.items {
				if strictEqual(n, it) {
					return true
				}
			}
		}
		return false
	}), nil
}

func opCat(args []expr, _ string) (expr, error) {
	return expr{fn: func(st *evalState) Value {
		if len(args) == 1 {
			return String(args[0].fn(st).toString())
		}
		var b strings.Builder
		for _, a := range args {
			b.WriteString(a.fn(st).toString())
		}
		return String(b.String())
	}}, nil
}

func opSubstr(args []expr, path string) (expr, error) {
	if len(args) < 2 || len(args) > 3 {
		return expr{}, errAt(path, "needs 2 or 3 arguments (string, start[, length]), got %d", len(args))
	}
	return expr{fn: func(st *evalState) Value {
		r := []rune(args[0].fn(st).toString())
		start := int(args[1].fn(st).toNumber())
		if start < 0 {
			start = max(len(r)+start, 0)
		}
		start = min(start, len(r))
		end := len(r)
		if len(args) == 3 {
			l := int(args[2].fn(st).toNumber())
			if l < 0 {
				end = max(len(r)+l, start)
			} else {
				end = min(start+l, len(r))
			}
		}
		return String(string(r[start:end]))
	}}, nil
}

func arith(op string) opBuilder {
	return func(args []expr, path string) (expr, error) {
		switch op {
		case "/", "%":
			if len(args) != 2 {
				return expr{}, errAt(path, "needs 2 arguments, got %d", len(args))
			}
		case "-":
			if len(args) < 1 || len(args) > 2 {
				return expr{}, errAt(path, "needs 1 or 2 arguments, got %d", len(args))
			}
		}
		return expr{fn: func(st *evalState) Value {
			switch op {
			case "+":
				s := 0.0
				for _, a := range args {
					s += a.fn(st).toNumber()
				}
				return Number(s)
			case "*":
				p := 1.0
				for _, a := range args {
					p *= a.fn(st).toNumber()
				}
				return Number(p)
			case "-":
				if len(args) == 1 {
					return Number(-args[0].fn(st).toNumber())
				}
				return Number(args[0].fn(st).toNumber() - args[1].fn(st).toNumber())
			case "/":
				return Number(args[0].fn(st).toNumber() / args[1].fn(st).toNumber())
			case "%":
				return Number(math.Mod(args[0].fn(st).toNumber(), args[1].fn(st).toNumber()))
			}
			if len(args) == 0 {
				return Value{}
			}
			best := args[0].fn(st).toNumber()
			for _, a := range args[1:] {
				n := a.fn(st).toNumber()
				if (op == "min" && n < best) || (op == "max" && n > best) || math.IsNaN(n) {
					best = n
				}
			}
			return Number(best)
		}}, nil
	}
}

func opMerge(args []expr, _ string) (expr, error) {
	return expr{fn: func(st *evalState) Value {
		var out []Value
		for _, a := range args {
			v := a.fn(st)
			if v.kind == KindArray {
				out = append(out, v.c.items...)
			} else {
				out = append(out, v)
			}
		}
		return Array(out)
	}}, nil
}

// missingNames returns the names (from vals) whose context value is absent, null or "".
func missingNames(st *evalState, vals []Value) []Value {
	var out []Value
	for _, n := range vals {
		name := n.toString()
		v, found := lookupPath(st, strings.Split(name, "."))
		if !found || v.kind == KindNull || (v.kind == KindString && v.s == "") {
			out = append(out, String(name))
		}
	}
	return out
}

func opMissing(args []expr, _ string) (expr, error) {
	return expr{fn: func(st *evalState) Value {
		var names []Value
		for _, a := range args {
			v := a.fn(st)
			if v.kind == KindArray {
				names = append(names, v.c.items...)
			} else {
				names = append(names, v)
			}
		}
		return Array(missingNames(st, names))
	}}, nil
}

func opMissingSome(args []expr, path string) (expr, error) {
	if len(args) != 2 {
		return expr{}, errAt(path, "needs 2 arguments (minimum, names), got %d", len(args))
	}
	return expr{fn: func(st *evalState) Value {
		need := int(args[0].fn(st).toNumber())
		names := args[1].fn(st)
		if names.kind != KindArray {
			return Array(nil)
		}
		miss := missingNames(st, names.c.items)
		if len(names.c.items)-len(miss) >= need {
			return Array(nil)
		}
		return Array(miss)
	}}, nil
}

// stringPredicate builds flagd's starts_with / ends_with. As in flagd, an operand that is
// not a string makes the targeting null (the default variant, reason DEFAULT), not false;
// the wrong number of arguments is handled by compileObject the same way.
func stringPredicate(f func(s, affix string) bool, prefix bool) opBuilder {
	return func(args []expr, path string) (expr, error) {
		if len(args) != 2 {
			return expr{}, errAt(path, "needs 2 arguments (value, affix), got %d", len(args))
		}
		a, b := args[0].fn, args[1].fn
		notString := path + ": both arguments must be strings"
		if args[1].konst && args[1].val.kind == KindString {
			affix := args[1].val.s
			if name := args[0].attr; name != "" {
				// {"ends_with": [{"var": "email"}, "@x.org"]}: one closure, no Value copies.
				if prefix {
					return predicate(func(st *evalState) bool {
						v := attrValue(st, name)
						if v == nil || v.kind != KindString {
							st.abort(notString)
							return false
						}
						return strings.HasPrefix(v.s, affix)
					}), nil
				}
				return predicate(func(st *evalState) bool {
					v := attrValue(st, name)
					if v == nil || v.kind != KindString {
						st.abort(notString)
						return false
					}
					return strings.HasSuffix(v.s, affix)
				}), nil
			}
			return predicate(func(st *evalState) bool {
				s := a(st)
				if s.kind != KindString {
					st.abort(notString)
					return false
				}
				return f(s.s, affix)
			}), nil
		}
		return predicate(func(st *evalState) bool {
			s, affix := a(st), b(st)
			if s.kind != KindString || affix.kind != KindString {
				st.abort(notString)
				return false
			}
			return f(s.s, affix.s)
		}), nil
	}
}
