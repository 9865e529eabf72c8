package flags

// compileArrayOp handles the operators whose second argument is a rule applied to each
// element of the first (the element becomes the data that var reads).
func (c *ruleCompiler) compileArrayOp(op string, args []any, path string) (expr, error) {
	if max := 2 + btoi(op == "reduce"); len(args) < 2 || len(args) > max {
		c.warn(path, "%s needs an array and a rule%s, got %d arguments; JSON Logic treats missing arguments as null and ignores extra ones",
			op, map[bool]string{true: " (and an initial value)", false: ""}[op == "reduce"], len(args))
		for len(args) < 2 {
			args = append(args, nil)
		}
		args = args[:min(len(args), max)]
	}
	src, err := c.compile(args[0], path+"[0]")
	if err != nil {
		return expr{}, err
	}
	rule, err := c.compile(args[1], path+"[1]")
	if err != nil {
		return expr{}, err
	}
	items := func(st *evalState) []Value {
		v := src.fn(st)
		if v.kind != KindArray {
			return nil
		}
		return v.c.items
	}
	apply := func(st *evalState, el Value) Value {
		saved := st.scope
		st.scope = &el
		out := rule.fn(st)
		st.scope = saved
		return out
	}
	switch op {
	case "map":
		return expr{fn: func(st *evalState) Value {
			in := items(st)
			out := make([]Value, len(in))
			for i, el := range in {
				out[i] = apply(st, el)
			}
			return Array(out)
		}}, nil
	case "filter":
		return expr{fn: func(st *evalState) Value {
			var out []Value
			for _, el := range items(st) {
				if apply(st, el).truthy() {
					out = append(out, el)
				}
			}
			return Array(out)
		}}, nil
	case "all":
		return expr{fn: func(st *evalState) Value {
			in := items(st)
			if len(in) == 0 {
				return Bool(false)
			}
			for _, el := range in {
				if !apply(st, el).truthy() {
					return Bool(false)
				}
			}
			return Bool(true)
		}}, nil
	case "some", "none":
		want := op == "some"
		return expr{fn: func(st *evalState) Value {
			for _, el := range items(st) {
				if apply(st, el).truthy() {
					return Bool(want)
				}
			}
			return Bool(!want)
		}}, nil
	}
	// reduce: [array, rule, initial]; the rule sees {"current": el, "accumulator": acc}.
	var initial expr = constExpr(Null())
	if len(args) > 2 {
		if initial, err = c.compile(args[2], path+"[2]"); err != nil {
			return expr{}, err
		}
	}
	return expr{fn: func(st *evalState) Value {
		acc := initial.fn(st)
		for _, el := range items(st) {
			acc = apply(st, Object([]string{"current", "accumulator"}, []Value{el, acc}))
		}
		return acc
	}}, nil
}
