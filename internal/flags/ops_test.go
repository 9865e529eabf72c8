package flags

import "testing"

func TestCoreOperators(t *testing.T) {
	ctx := `{"targetingKey": "u-1", "email": "ann@hospital.org", "age": 42, "tier": "gold", "beta": true,
	         "user": {"name": "ann", "roles": ["radiologist", "admin"]}, "scores": [3, 9, 4], "empty": ""}`
	cases := []struct{ rule, want string }{
		// var, with default, nested, array index, targetingKey, $flagd
		{`{"var": "email"}`, `"ann@hospital.org"`},
		{`{"var": ["nope", "dflt"]}`, `"dflt"`},
		{`{"var": "user.name"}`, `"ann"`},
		{`{"var": "user.roles.1"}`, `"admin"`},
		{`{"var": "missing.deep"}`, `null`},
		{`{"var": "targetingKey"}`, `"u-1"`},
		{`{"var": "$flagd.flagKey"}`, `"flag"`},
		{`{"var": "$flagd.timestamp"}`, `1700000000`},
		// comparisons
		{`{"==": [1, "1"]}`, `true`},
		{`{"===": [1, "1"]}`, `false`},
		{`{"!=": [1, 2]}`, `true`},
		{`{"!==": [1, "1"]}`, `true`},
		{`{">": [{"var": "age"}, 40]}`, `true`},
		{`{">=": [{"var": "age"}, 42]}`, `true`},
		{`{"<": [{"var": "age"}, 40]}`, `false`},
		{`{"<=": [40, {"var": "age"}, 50]}`, `true`},
		{`{"<": [1, 5, 3]}`, `false`},
		{`{"<": ["a", "b"]}`, `true`},
		// logic
		{`{"!": [{"var": "beta"}]}`, `false`},
		{`{"!!": [{"var": "empty"}]}`, `false`},
		{`{"or": [false, 0, "x"]}`, `"x"`},
		{`{"and": [true, 1, 0]}`, `0`},
		{`{"if": [false, "a", false, "b", "c"]}`, `"c"`},
		{`{"if": [true, "a", "b"]}`, `"a"`},
		{`{"?:": [false, "a", "b"]}`, `"b"`},
		// in, cat, substr
		{`{"in": ["@hospital", {"var": "email"}]}`, `true`},
		{`{"in": [{"var": "tier"}, ["silver", "gold"]]}`, `true`},
		{`{"in": ["x", ["a","b","c","d","e","f","g","h","i","x"]]}`, `true`},
		{`{"in": ["z", ["a","b","c","d","e","f","g","h","i","x"]]}`, `false`},
		{`{"cat": ["a", 1, "-", true]}`, `"a1-true"`},
		{`{"substr": ["radiology", 0, 5]}`, `"radio"`},
		{`{"substr": ["radiology", -3]}`, `"ogy"`},
		// arithmetic
		{`{"+": [1, "2", 3]}`, `6`},
		{`{"-": [10, 4]}`, `6`},
		{`{"-": [3]}`, `-3`},
		{`{"*": [2, 3, 4]}`, `24`},
		{`{"/": [9, 2]}`, `4.5`},
		{`{"%": [9, 4]}`, `1`},
		{`{"min": [3, 1, 2]}`, `1`},
		{`{"max": [3, 1, 2]}`, `3`},
		// arrays
		{`{"merge": [[1, 2], 3, [4]]}`, `[1,2,3,4]`},
		{`{"map": [{"var": "scores"}, {"*": [{"var": ""}, 2]}]}`, `[6,18,8]`},
		{`{"filter": [{"var": "scores"}, {">": [{"var": ""}, 3]}]}`, `[9,4]`},
		{`{"all": [{"var": "scores"}, {">": [{"var": ""}, 2]}]}`, `true`},
		{`{"some": [{"var": "scores"}, {">": [{"var": ""}, 8]}]}`, `true`},
		{`{"none": [{"var": "scores"}, {">": [{"var": ""}, 8]}]}`, `false`},
		{`{"reduce": [{"var": "scores"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}`, `16`},
		{`{"log": "debug"}`, `"debug"`},
		{`{"missing": ["email", "phone", "empty"]}`, `["phone","empty"]`},
		{`{"missing_some": [1, ["email", "phone"]]}`, `[]`},
		{`{"missing_some": [2, ["email", "phone"]]}`, `["phone"]`},
	}
	for _, c := range cases {
		if got := toJSON(evalRule(t, c.rule, ctx)); got != c.want {
			t.Errorf("%s = %s, want %s", c.rule, got, c.want)
		}
	}
}

func TestStringOperators(t *testing.T) {
	ctx := `{"email": "noreply@example.com", "ip": "192.168.0.1", "n": 5}`
	cases := []struct{ rule, want string }{
		{`{"starts_with": [{"var": "ip"}, "192.168"]}`, `true`},
		{`{"starts_with": [{"var": "ip"}, "10.0"]}`, `false`},
		{`{"ends_with": [{"var": "email"}, "@example.com"]}`, `true`},
		{`{"ends_with": [{"var": "email"}, "@test.com"]}`, `false`},
		{`{"starts_with": [{"var": "n"}, "5"]}`, `false`},                  // non-string → false
		{`{"ends_with": [{"var": "email"}, {"var": "missing"}]}`, `false`}, // dynamic affix
		{`{"ends_with": [{"var": "email"}, {"cat": ["@example", ".com"]}]}`, `true`},
	}
	for _, c := range cases {
		if got := toJSON(evalRule(t, c.rule, ctx)); got != c.want {
			t.Errorf("%s = %s, want %s", c.rule, got, c.want)
		}
	}
}

func TestSemVerOperator(t *testing.T) {
	ctx := `{"version": "1.2.3", "pre": "2.0.0-alpha.1", "bad": "one.two"}`
	cases := []struct{ rule, want string }{
		{`{"sem_ver": ["1.1.2", ">=", "1.0.0"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "=", "1.2.3"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "=", "v1.2.3"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "!=", "1.2.4"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "<", "1.10.0"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "<=", "1.2.3"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, ">", "1.2.3"]}`, `false`},
		{`{"sem_ver": [{"var": "version"}, "^", "1.9.0"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "^", "2.0.0"]}`, `false`},
		{`{"sem_ver": [{"var": "version"}, "~", "1.2.9"]}`, `true`},
		{`{"sem_ver": [{"var": "version"}, "~", "1.3.0"]}`, `false`},
		{`{"sem_ver": [{"var": "pre"}, "<", "2.0.0"]}`, `true`},
		{`{"sem_ver": [{"var": "pre"}, ">", "2.0.0-alpha"]}`, `true`},
		{`{"sem_ver": [{"var": "pre"}, "<", "2.0.0-alpha.beta"]}`, `true`},
		{`{"sem_ver": ["1.0.0-alpha.2", "<", "1.0.0-alpha.10"]}`, `true`},
		{`{"sem_ver": ["1.0.0+build.5", "=", "1.0.0"]}`, `true`},
		{`{"sem_ver": ["1.2", "=", "1.2.0"]}`, `true`},
		// Not a version: null, which makes the whole targeting null (the default variant).
		{`{"sem_ver": [{"var": "bad"}, ">", "1.0.0"]}`, `null`},
		{`{"sem_ver": [{"var": "missing"}, ">", "1.0.0"]}`, `null`},
	}
	for _, c := range cases {
		if got := toJSON(evalRule(t, c.rule, ctx)); got != c.want {
			t.Errorf("%s = %s, want %s", c.rule, got, c.want)
		}
	}
}

func TestRuleCompileErrorsNameThePath(t *testing.T) {
	cases := []struct{ rule, want string }{
		{`{"nope": [1]}`, `rule.nope: unknown operator "nope"`},
		{`{"and": [true], "or": [false]}`, `rule: a rule object must have exactly one operator, got 2 keys (and, or)`},
		{`{"$ref": "nowhere"}`, `rule.$ref: $ref "nowhere": no such entry in $evaluators`},
	}
	for _, c := range cases {
		var r any
		mustUnmarshal(t, c.rule, &r)
		comp := &ruleCompiler{flagKey: "flag", evaluators: map[string]any{}}
		_, err := comp.compile(r, "rule")
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %s", c.rule, err, c.want)
		}
	}
}
