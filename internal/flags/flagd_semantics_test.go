package flags

import (
	"strings"
	"testing"
)

// semanticsDoc holds one flag per flagd evaluation rule of issue #11 item 5, next to a
// good flag: a bad targeting rule must not take the rest of the file down with it.
const semanticsDoc = `{
  "$evaluators": {"isAdmin": {"==": [{"var": "role"}, "admin"]}},
  "flags": {
    "good": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "unknownOp": {"state": "ENABLED", "variants": {"a": "a", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"bogus": [1, 2]}, "a", "fb"]}},
    "twoOps": {"state": "ENABLED", "variants": {"a": "a", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"and": [true], "or": [false]}, "a", "fb"]}},
    "missingRef": {"state": "ENABLED", "variants": {"a": "a", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"$ref": "nowhere"}, "a", "fb"]}},
    "startsWithArgs": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"starts_with": ["abc"]}, "true", "false"]}},
    "endsWithArgs": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"ends_with": [{"var": "id"}, "x", "y"]}, "true", "false"]}},
    "startsWithNumber": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"starts_with": [{"var": "num"}, "abc"]}, "true", "false"]}},
    "endsWithNumberAffix": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"ends_with": [{"var": "id"}, 3]}, "true", "false"]}},
    "semverEqEq": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"sem_ver": [{"var": "version"}, "==", "1.0.0"]}, "true", "false"]}},
    "semverFourParts": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"sem_ver": [{"var": "version"}, "=", "2.0.0.0"]}, "true", "false"]}},
    "semverContext": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"sem_ver": [{"var": "version"}, "=", "1.0.0"]}, "true", "false"]}},
    "semverArgs": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"sem_ver": [{"var": "version"}, "="]}, "true", "false"]}},
    "zeroWeights": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"fractional": [{"var": "targetingKey"}, ["one", 0], ["two", 0]]}, "true", "false"]}},
    "negativeWeight": {"state": "ENABLED", "variants": {"one": "one", "two": "two", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"fractional": [{"var": "targetingKey"}, ["one", -50], ["two", 100]]}},
    "stringWeight": {"state": "ENABLED", "variants": {"one": "one", "two": "two", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"fractional": [{"var": "targetingKey"}, ["one", "50"], ["two", 50]]}},
    "nullBucketKey": {"state": "ENABLED", "variants": {"true": "true", "false": "false", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"if": [{"fractional": [{"var": "missing_key"}, ["one", 50], ["two", 50]]}, "true", "false"]}},
    "dynamicWeight": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue", "fb": "fb"}, "defaultVariant": "fb",
      "targeting": {"fractional": [{"var": "targetingKey"},
        ["red", {"if": [{"==": [{"var": "tier"}, "premium"]}, 100, 0]}], ["blue", 10]]}},
    "noSuchVariant": {"state": "ENABLED", "variants": {"one": 1, "two": 2}, "defaultVariant": "two",
      "targeting": {"if": [true, "three", "one"]}},
    "nullTargeting": {"state": "ENABLED", "variants": {"one": 1, "two": 2}, "defaultVariant": "two",
      "targeting": {"if": [true, null, "one"]}},
    "eqOneArg": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "a",
      "targeting": {"if": [{"==": [1]}, "a", "b"]}}
  }
}`

// TestBadTargetingRuleLoadsAndEvaluatesAsFlagd: a file with bad targeting rules loads; the
// good flag serves; each bad flag evaluates as flagd does.
func TestBadTargetingRuleLoadsAndEvaluatesAsFlagd(t *testing.T) {
	set, err := Compile([]byte(semanticsDoc), CompileOptions{})
	if err != nil {
		t.Fatalf("a file with bad targeting rules was refused: %v", err)
	}
	if r := set.Evaluate("good", nil); r.Variant != "on" || r.Reason != ReasonStatic {
		t.Errorf("good flag next to bad ones: %+v", r)
	}
	ctx := func(tk string, kv ...any) *Context {
		c := &Context{TargetingKey: tk}
		for i := 0; i+1 < len(kv); i += 2 {
			c.Set(kv[i].(string), FromJSON(kv[i+1]))
		}
		return c
	}
	cases := []struct {
		flag    string
		ctx     *Context
		variant string // "" for an error or no value
		reason  Reason
		code    ErrorCode
		detail  string
	}{
		{"unknownOp", nil, "", ReasonError, ErrParse, `unknown operator "bogus"`},
		{"twoOps", nil, "", ReasonError, ErrParse, "exactly one operator"},
		{"missingRef", nil, "", ReasonError, ErrParse, `$ref "nowhere": no such entry in $evaluators`},
		{"startsWithArgs", nil, "fb", ReasonDefault, "", ""},
		{"endsWithArgs", ctx("", "id", "x"), "fb", ReasonDefault, "", ""},
		{"startsWithNumber", ctx("", "num", 123.0), "fb", ReasonDefault, "", ""},
		{"endsWithNumberAffix", ctx("", "id", "abc3"), "fb", ReasonDefault, "", ""},
		{"semverEqEq", ctx("", "version", "1.0.0"), "fb", ReasonDefault, "", ""},
		{"semverFourParts", ctx("", "version", "2.0.0"), "fb", ReasonDefault, "", ""},
		{"semverContext", ctx("", "version", "not-a-version"), "fb", ReasonDefault, "", ""},
		{"semverContext", ctx("", "version", "2.0.0.0"), "fb", ReasonDefault, "", ""},
		{"semverContext", ctx("", "version", "1.0.0"), "true", ReasonTargetingMatch, "", ""},
		{"semverContext", ctx("", "version", "1.0.1"), "false", ReasonTargetingMatch, "", ""},
		{"semverArgs", ctx("", "version", "1.0.0"), "fb", ReasonDefault, "", ""},
		{"zeroWeights", ctx("any-user"), "fb", ReasonDefault, "", ""},
		{"negativeWeight", ctx("any-user"), "two", ReasonSplit, "", ""},
		{"stringWeight", ctx("any-user"), "fb", ReasonDefault, "", ""},
		{"nullBucketKey", nil, "fb", ReasonDefault, "", ""},
		{"nullBucketKey", ctx("someone"), "fb", ReasonDefault, "", ""},
		{"dynamicWeight", ctx("jon@company.com", "tier", "premium"), "red", ReasonSplit, "", ""},
		{"dynamicWeight", ctx("jon@company.com", "tier", "basic"), "blue", ReasonSplit, "", ""},
		{"dynamicWeight", ctx("user1", "tier", "premium"), "red", ReasonSplit, "", ""},
		{"noSuchVariant", nil, "", ReasonError, ErrGeneral, `targeting returned "three", which is not a variant`},
		{"nullTargeting", nil, "two", ReasonDefault, "", ""},
		{"eqOneArg", nil, "b", ReasonTargetingMatch, "", ""}, // 1 == null is false, as in JSON Logic
	}
	for _, c := range cases {
		r := set.Evaluate(c.flag, c.ctx)
		if r.Variant != c.variant || r.Reason != c.reason || r.ErrorCode != c.code || !strings.Contains(r.ErrorDetails, c.detail) {
			t.Errorf("%s: got variant %q reason %s code %q %q; want %q %s %q %q",
				c.flag, r.Variant, r.Reason, r.ErrorCode, r.ErrorDetails, c.variant, c.reason, c.code, c.detail)
		}
		if c.code != "" && r.Value != nil {
			t.Errorf("%s: an error carries value %v", c.flag, r.Value)
		}
	}
}

// TestBadTargetingRulesAreWarningsWithTheirPath: what flagd loads but cannot run is
// reported with its JSON path (shipsafe flags validate prints these; --strict fails).
func TestBadTargetingRulesAreWarningsWithTheirPath(t *testing.T) {
	set := mustCompile(t, semanticsDoc)
	got := map[string]string{}
	for _, w := range set.Warnings() {
		got[w.Path] = w.Msg
	}
	want := map[string]string{
		"flags.unknownOp.targeting.if[0].bogus":            `unknown operator "bogus"; the flag evaluates to PARSE_ERROR`,
		"flags.twoOps.targeting.if[0]":                     "a rule object must have exactly one operator, got 2 keys (and, or)",
		"flags.missingRef.targeting.if[0].$ref":            `$ref "nowhere": no such entry in $evaluators`,
		"flags.startsWithArgs.targeting.if[0].starts_with": "starts_with needs 2 arguments (value, affix), got 1",
		"flags.endsWithArgs.targeting.if[0].ends_with":     "ends_with needs 2 arguments (value, affix), got 3",
		"flags.semverEqEq.targeting.if[0].sem_ver[1]":      `sem_ver operator must be one of =, !=, <, <=, >, >=, ^, ~; got "=="`,
		"flags.semverFourParts.targeting.if[0].sem_ver[2]": `not a semantic version: "2.0.0.0"`,
		"flags.semverArgs.targeting.if[0].sem_ver":         "sem_ver needs 3 arguments (version, operator, version), got 2",
		"flags.zeroWeights.targeting.if[0].fractional":     "sum of weights must be positive, got 0",
		"flags.negativeWeight.targeting.fractional[1][1]":  "negative weight -50 counts as 0",
		"flags.stringWeight.targeting.fractional[1][1]":    `weight must be a number, got "50"`,
		"flags.eqOneArg.targeting.if[0].==":                "== needs 2 arguments, got 1; JSON Logic treats missing arguments as null",
	}
	for path, msg := range want {
		if !strings.Contains(got[path], msg) {
			t.Errorf("warning at %s: %q, want it to contain %q", path, got[path], msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d warnings, want %d: %v", len(got), len(want), got)
	}
	for _, w := range set.Warnings() {
		if strings.Contains(w.Msg, "operator must be") && !strings.Contains(w.Msg, "default variant") {
			t.Errorf("warning does not say what evaluation does instead: %s", w)
		}
	}
}

// TestSeedRolloutStillNeedsTargetingKey: the seed form keeps TARGETING_KEY_MISSING for a
// rollout evaluated without a subject, while flagd's form hashes flagKey + "" as flagd does.
func TestSeedRolloutStillNeedsTargetingKey(t *testing.T) {
	set := mustCompile(t, `{"flags": {
	  "seed": {"enabled": true, "rollout_percentage": 50},
	  "single": {"state": "ENABLED", "variants": {"single": "single", "fb": "fb"}, "defaultVariant": "fb",
	    "targeting": {"fractional": [["single", 1]]}}}}`)
	if r := set.Evaluate("seed", &Context{}); r.ErrorCode != ErrTargetingKeyMissing {
		t.Errorf("seed rollout without a targeting key: %+v", r)
	}
	if r := set.Evaluate("single", &Context{}); r.Variant != "single" || r.ErrorCode != "" {
		t.Errorf("flagd fractional without a targeting key: %+v, want single", r)
	}
}
