package flags

import (
	"fmt"
)

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

// semverTest returns the comparison of a sem_ver operator.
func semverTest(op string) (func(cmp int, a, b semver) bool, bool) {
	switch op {
	case "=":
		return func(cmp int, _, _ semver) bool { return cmp == 0 }, true
	case "!=":
		return func(cmp int, _, _ semver) bool { return cmp != 0 }, true
	case "<":
		return func(cmp int, _, _ semver) bool { return cmp < 0 }, true
	case "<=":
		return func(cmp int, _, _ semver) bool { return cmp <= 0 }, true
	case ">":
		return func(cmp int, _, _ semver) bool { return cmp > 0 }, true
	case ">=":
		return func(cmp int, _, _ semver) bool { return cmp >= 0 }, true
	case "^":
		return func(_ int, a, b semver) bool { return a.major == b.major }, true
	case "~":
		return func(_ int, a, b semver) bool { return a.major == b.major && a.minor == b.minor }, true
	}
	return nil, false
}

const semverOps = "=, !=, <, <=, >, >=, ^, ~"

// compileSemVer compiles flagd's sem_ver operator: [version, operator, version]. As in
// flagd, a wrong argument count, an unknown operator or an operand that is not a semantic
// version (after an optional leading v; "2.0.0.0" and "not-a-version" are not) makes the
// targeting null: the flag resolves to its default variant with reason DEFAULT. Constant
// cases are reported as warnings.
func (c *ruleCompiler) compileSemVer(args []any, path string) (expr, error) {
	items, _, err := c.compileList(args, path)
	if err != nil {
		return expr{}, err
	}
	fail := func(at, format string, a ...any) (expr, error) {
		msg := fmt.Sprintf(format, a...)
		c.warn(at, "%s; the targeting evaluates to null (the default variant)", msg)
		return abortExpr(at + ": " + msg), nil
	}
	if len(items) != 3 {
		return fail(path, "sem_ver needs 3 arguments (version, operator, version), got %d", len(items))
	}
	left, opExpr, right := items[0], items[1], items[2]
	var test func(cmp int, a, b semver) bool
	if opExpr.konst {
		t, ok := semverTest(opExpr.val.s)
		if !ok || opExpr.val.kind != KindString {
			return fail(path+"[1]", "sem_ver operator must be one of %s; got %s", semverOps, describeJSON(opExpr.val.ToJSON()))
		}
		test = t
	}
	for i, side := range []expr{left, right} {
		if side.konst {
			if _, ok := parseSemver(side.val.toString()); !ok {
				return fail(fmt.Sprintf("%s[%d]", path, 2*i), "not a semantic version: %s", describeJSON(side.val.ToJSON()))
			}
		}
	}
	badVersion := path + ": an operand is not a semantic version"
	badOp := path + ": the operator is not one of " + semverOps
	return expr{fn: func(st *evalState) Value {
		a, ok := parseSemver(left.fn(st).toString())
		if !ok {
			st.abort(badVersion)
			return Value{}
		}
		b, ok := parseSemver(right.fn(st).toString())
		if !ok {
			st.abort(badVersion)
			return Value{}
		}
		t := test
		if t == nil {
			op := opExpr.fn(st)
			if t, ok = semverTest(op.s); !ok || op.kind != KindString {
				st.abort(badOp)
				return Value{}
			}
		}
		return Bool(t(compareSemver(a, b), a, b))
	}}, nil
}
