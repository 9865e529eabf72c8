package flags

import (
	"fmt"
	"sort"
	"strings"
)

// node is one compiled JSON Logic expression. Rules are compiled once per flag-set version
// into a tree of closures; evaluating a rule is a walk of that tree with no parsing, no
// reflection and, for scalar data, no allocation.
type node func(st *evalState) Value

// evalState is what a node sees while one flag is evaluated.
type evalState struct {
	ctx     *Context
	scope   *Value // element data inside map/filter/all/some/none/reduce; nil: ctx
	now     func() int64
	errCode ErrorCode
	errMsg  string
	// aborted is set when an operator met arguments it cannot work with (a sem_ver
	// operand that is not a version, starts_with on a number, fractional weights summing
	// to 0, ...). flagd's operators return null then, and the whole targeting resolves to
	// the default variant with reason DEFAULT, not to an error.
	aborted  bool
	abortMsg string
}

// fail records a hard evaluation error (the flag resolves to ERROR, not to its default).
func (st *evalState) fail(code ErrorCode, msg string) {
	if st.errCode == "" && !st.aborted {
		st.errCode, st.errMsg = code, msg
	}
}

// abort records an operator error: the targeting's result is null (default variant).
func (st *evalState) abort(msg string) {
	if st.errCode == "" && !st.aborted {
		st.aborted, st.abortMsg = true, msg
	}
}

// abortExpr is an operator that cannot work with its (constant) arguments: it makes the
// targeting null each time it is evaluated, as flagd's operator would.
func abortExpr(msg string) expr {
	return expr{fn: func(st *evalState) Value {
		st.abort(msg)
		return Value{}
	}}
}

// expr is a compiled expression plus, when it is a constant, its value (for folding).
type expr struct {
	fn    node
	konst bool
	val   Value
	// test, when set, computes fn's truthiness without building a Value (conditions).
	test func(st *evalState) bool
	// attr names the context attribute when the expression is a plain {"var": "name"}.
	attr string
}

// asTest returns e's truthiness as a predicate, using the specialised form when there is one.
func asTest(e expr) func(*evalState) bool {
	if e.test != nil {
		return e.test
	}
	fn := e.fn
	return func(st *evalState) bool { return fn(st).truthy() }
}

// predicate builds an expression from a boolean test.
func predicate(test func(*evalState) bool) expr {
	return expr{test: test, fn: func(st *evalState) Value { return Bool(test(st)) }}
}

// attrValue finds a top-level attribute without copying it (nil if absent).
func attrValue(st *evalState, name string) *Value {
	if st.scope == nil {
		c := st.ctx
		if c == nil {
			return nil
		}
		for i := range c.Attrs {
			if c.Attrs[i].Name == name {
				return &c.Attrs[i].Value
			}
		}
		if name == "targetingKey" && c.TargetingKey != "" {
			v := String(c.TargetingKey)
			return &v
		}
		return nil
	}
	v, ok := st.scope.field(name)
	if !ok {
		if v, ok = st.scope.index(name); !ok {
			return nil
		}
	}
	return &v
}

func constExpr(v Value) expr {
	return expr{fn: func(*evalState) Value { return v }, konst: true, val: v}
}

// ruleCompiler compiles the targeting rules of one flag.
type ruleCompiler struct {
	flagKey    string
	variants   map[string]int // variant name → index
	evaluators map[string]any // the flag set's $evaluators
	refStack   []string
	// warnings collects rules that load but do not do what they seem to (flagd accepts
	// them; `flags validate` reports them). nil: not collected.
	warnings *[]Warning
	// keyedSplits: fractional without a bucketing expression requires a targeting key
	// (TARGETING_KEY_MISSING) instead of hashing flagKey + "" as flagd does. Set for the
	// seed form, whose rollouts must never bucket unidentified subjects together.
	keyedSplits bool
}

// warn records a warning at path.
func (c *ruleCompiler) warn(path, format string, args ...any) {
	if c.warnings != nil {
		*c.warnings = append(*c.warnings, Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
}

// compileError is a rule error located by its JSON path.
type compileError struct {
	path string
	msg  string
}

func (e *compileError) Error() string { return e.path + ": " + e.msg }

func errAt(path, format string, args ...any) error {
	return &compileError{path: path, msg: fmt.Sprintf(format, args...)}
}

func (c *ruleCompiler) literalString(s string) Value {
	v := String(s)
	if i, ok := c.variants[s]; ok {
		v.variant = int32(i + 1)
	}
	return v
}

// compile turns decoded JSON (any) into an expression.
func (c *ruleCompiler) compile(x any, path string) (expr, error) {
	switch t := x.(type) {
	case nil:
		return constExpr(Null()), nil
	case bool:
		return constExpr(Bool(t)), nil
	case float64:
		return constExpr(Number(t)), nil
	case string:
		return constExpr(c.literalString(t)), nil
	case []any:
		return c.compileArray(t, path)
	case map[string]any:
		return c.compileObject(t, path)
	}
	return expr{}, errAt(path, "unsupported JSON value %T", x)
}

func (c *ruleCompiler) compileArray(t []any, path string) (expr, error) {
	items, allConst, err := c.compileList(t, path)
	if err != nil {
		return expr{}, err
	}
	if allConst {
		vals := make([]Value, len(items))
		for i, it := range items {
			vals[i] = it.val
		}
		return constExpr(Array(vals)), nil
	}
	return expr{fn: func(st *evalState) Value {
		vals := make([]Value, len(items))
		for i, it := range items {
			vals[i] = it.fn(st)
		}
		return Array(vals)
	}}, nil
}

func (c *ruleCompiler) compileList(t []any, path string) ([]expr, bool, error) {
	items := make([]expr, len(t))
	allConst := true
	for i, e := range t {
		it, err := c.compile(e, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, false, err
		}
		items[i] = it
		allConst = allConst && it.konst
	}
	return items, allConst, nil
}

func (c *ruleCompiler) compileObject(t map[string]any, path string) (expr, error) {
	if len(t) == 0 {
		return constExpr(Object(nil, nil)), nil
	}
	if len(t) != 1 {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return expr{}, errAt(path, "a rule object must have exactly one operator, got %d keys (%s)", len(t), strings.Join(keys, ", "))
	}
	for op, rawArgs := range t {
		opPath := path + "." + op
		if op == "$ref" {
			return c.compileRef(rawArgs, opPath)
		}
		// Operators whose arguments are not plain sub-expressions.
		switch op {
		case "fractional":
			return c.compileFractional(argList(rawArgs), opPath)
		case "map", "filter", "all", "some", "none", "reduce":
			return c.compileArrayOp(op, argList(rawArgs), opPath)
		case "var":
			return c.compileVar(argList(rawArgs), opPath)
		case "sem_ver":
			return c.compileSemVer(argList(rawArgs), opPath)
		}
		args, _, err := c.compileList(argList(rawArgs), opPath)
		if err != nil {
			return expr{}, err
		}
		build, ok := lookupOp(op)
		if !ok {
			return expr{}, errAt(opPath, "unknown operator %q", op)
		}
		if op == "starts_with" || op == "ends_with" {
			if len(args) != 2 {
				c.warn(opPath, "%s needs 2 arguments (value, affix), got %d; the targeting evaluates to null (the default variant)", op, len(args))
				return abortExpr(fmt.Sprintf("%s: %s needs 2 arguments, got %d", opPath, op, len(args))), nil
			}
		} else {
			args = c.fitArity(op, args, opPath)
		}
		e, err := build(args, opPath)
		if err != nil {
			return expr{}, err
		}
		if op == "missing" || op == "missing_some" {
			return e, nil // they read the context: never fold
		}
		return foldIfConst(e, args), nil
	}
	panic("unreachable")
}

// foldIfConst evaluates an operator whose arguments are all constants once, at compile time.
func foldIfConst(e expr, args []expr) expr {
	for _, a := range args {
		if !a.konst {
			return e
		}
	}
	var st evalState
	v := e.fn(&st)
	if st.errCode != "" || st.aborted {
		return e
	}
	return constExpr(v)
}

// argList normalises an operator's arguments: JSON Logic allows a single non-array argument.
func argList(raw any) []any {
	if l, ok := raw.([]any); ok {
		return l
	}
	return []any{raw}
}

func (c *ruleCompiler) compileRef(raw any, path string) (expr, error) {
	name, ok := raw.(string)
	if !ok {
		return expr{}, errAt(path, "$ref must be a string naming an entry of $evaluators, got %s", jsonTypeName(raw))
	}
	def, ok := c.evaluators[name]
	if !ok {
		return expr{}, errAt(path, "$ref %q: no such entry in $evaluators", name)
	}
	for _, r := range c.refStack {
		if r == name {
			return expr{}, errAt(path, "$ref %q: cycle through %s", name, strings.Join(append(c.refStack, name), " → "))
		}
	}
	c.refStack = append(c.refStack, name)
	defer func() { c.refStack = c.refStack[:len(c.refStack)-1] }()
	// Errors inside a shared evaluator are reported at the evaluator's own path.
	return c.compile(def, "$evaluators."+name)
}

// compileVar handles {"var": name} and {"var": [name, default]}.
func (c *ruleCompiler) compileVar(args []any, path string) (expr, error) {
	var def expr
	if len(args) > 1 {
		d, err := c.compile(args[1], path+"[1]")
		if err != nil {
			return expr{}, err
		}
		def = d
	}
	orDefault := func(v Value, found bool, st *evalState) Value {
		if (!found || v.kind == KindNull) && def.fn != nil {
			return def.fn(st)
		}
		return v
	}
	if len(args) == 0 || args[0] == nil || args[0] == "" {
		return expr{fn: func(st *evalState) Value {
			if st.scope != nil {
				return *st.scope
			}
			return st.ctx.asObject()
		}}, nil
	}
	var name string
	switch t := args[0].(type) {
	case string:
		name = t
	case float64:
		name = formatNumber(t)
	default:
		dyn, err := c.compile(args[0], path+"[0]")
		if err != nil {
			return expr{}, err
		}
		return expr{fn: func(st *evalState) Value {
			v, found := lookupPath(st, strings.Split(dyn.fn(st).toString(), "."))
			return orDefault(v, found, st)
		}}, nil
	}
	switch name {
	case "$flagd.flagKey":
		return constExpr(String(c.flagKey)), nil
	case "$flagd.timestamp":
		return expr{fn: func(st *evalState) Value {
			if st.now == nil {
				return Number(0)
			}
			return Number(float64(st.now()))
		}}, nil
	}
	segs := strings.Split(name, ".")
	if len(segs) == 1 && def.fn == nil {
		// The hot case: a top-level attribute without a default.
		return expr{attr: name, fn: func(st *evalState) Value {
			if st.scope == nil {
				v, _ := st.ctx.lookup(name)
				return v
			}
			v, found := st.scope.field(name)
			if !found {
				v, _ = st.scope.index(name)
			}
			return v
		}}, nil
	}
	if len(segs) == 1 {
		return expr{fn: func(st *evalState) Value {
			var v Value
			var found bool
			if st.scope != nil {
				v, found = st.scope.field(name)
				if !found {
					v, found = st.scope.index(name)
				}
			} else {
				v, found = st.ctx.lookup(name)
			}
			return orDefault(v, found, st)
		}}, nil
	}
	return expr{fn: func(st *evalState) Value {
		v, found := lookupPath(st, segs)
		return orDefault(v, found, st)
	}}, nil
}

func lookupPath(st *evalState, segs []string) (Value, bool) {
	var cur Value
	var found bool
	if st.scope != nil {
		cur = *st.scope
		found = true
	} else {
		cur, found = st.ctx.lookup(segs[0])
		segs = segs[1:]
	}
	for _, s := range segs {
		if !found {
			return Value{}, false
		}
		switch cur.kind {
		case KindObject:
			cur, found = cur.field(s)
		case KindArray:
			cur, found = cur.index(s)
		default:
			return Value{}, false
		}
	}
	return cur, found
}

// parseIntArg reads a constant integer argument (used for weights and similar).
func parseIntArg(x any) (int64, bool) {
	f, ok := x.(float64)
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
