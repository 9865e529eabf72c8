package flags

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const colorVariants = `{"red": "#FF0000", "blue": "#0000FF", "green": "#00FF00", "yellow": "#FFFF00"}`

// flagd's shared test-suite (flagd-testbed, evaluator/gherkin/fractional.feature, the
// "v2" bucketing: (hash × totalWeight) >> 32) pins the hashing with exact MurmurHash3
// preimages and with the shorthand form's expected variants.
func TestFractionalMatchesFlagdTestbed(t *testing.T) {
	preimages := map[string]uint32{"ejOoVL": 0, "bY9fO-": 1, "SI7p-": 2147483647, "6LvT0": 2147483648, "ceQdGm": 4294967295}
	for key, want := range preimages {
		if got := murmur3String(key); got != want {
			t.Errorf("murmur3(%q) = %d, want %d", key, got, want)
		}
	}
	set := mustCompile(t, `{"flags": {
	  "fractional-hash-edge-flag": {"state": "ENABLED", "defaultVariant": "lower", "variants": {"lower": "lower", "upper": "upper"},
	    "targeting": {"fractional": [{"var": "targetingKey"}, ["lower", 50], ["upper", 50]]}},
	  "fractional-flag-shorthand": {"state": "ENABLED", "defaultVariant": "heads", "variants": {"heads": "heads", "tails": "tails"},
	    "targeting": {"fractional": [["heads", 50], ["tails", 50]]}}
	}}`)
	cases := []struct{ flag, tk, want string }{
		{"fractional-hash-edge-flag", "ejOoVL", "lower"},
		{"fractional-hash-edge-flag", "bY9fO-", "lower"},
		{"fractional-hash-edge-flag", "SI7p-", "lower"},
		{"fractional-hash-edge-flag", "6LvT0", "upper"},
		{"fractional-hash-edge-flag", "ceQdGm", "upper"},
		{"fractional-flag-shorthand", "jon@company.com", "heads"},
		{"fractional-flag-shorthand", "jane@company.com", "tails"},
	}
	for _, c := range cases {
		r := set.Evaluate(c.flag, &Context{TargetingKey: c.tk})
		if r.Variant != c.want || r.Reason != ReasonSplit {
			t.Errorf("%s %s: got %s (%s %s), want %s (SPLIT)", c.flag, c.tk, r.Variant, r.Reason, r.ErrorDetails, c.want)
		}
	}
}

// The bucketing expression forms: a var, a cat (streamed into the hash), a missing value
// (null: the targeting is null and the default variant wins, as in flagd), weights
// defaulting to 1.
func TestFractionalBucketingExpressions(t *testing.T) {
	set := mustCompile(t, `{"flags": {
	  "byEmail": {"state": "ENABLED", "defaultVariant": "a", "variants": {"a": "a", "b": "b"},
	    "targeting": {"fractional": [{"var": "email"}, ["a", 50], ["b", 50]]}},
	  "byCat": {"state": "ENABLED", "defaultVariant": "a", "variants": {"a": "a", "b": "b"},
	    "targeting": {"fractional": [{"cat": ["seed-", {"var": "email"}]}, ["a", 50], ["b", 50]]}},
	  "unweighted": {"state": "ENABLED", "defaultVariant": "a", "variants": {"a": "a", "b": "b"},
	    "targeting": {"fractional": [{"var": "email"}, ["a"], ["b"]]}},
	  "numberBucket": {"state": "ENABLED", "defaultVariant": "a", "variants": {"a": "a", "b": "b"},
	    "targeting": {"fractional": [{"var": "n"}, ["a", 50], ["b", 50]]}}
	}}`)
	pick := func(h uint32) string {
		if uint64(h)*100>>32 < 50 {
			return "a"
		}
		return "b"
	}
	for _, email := range []string{"ann@x.org", "bob@y.org", "cy@z.org", "dee@w.org"} {
		ctx := Context{TargetingKey: "tk-" + email, Attrs: []Attr{{Name: "email", Value: String(email)}}}
		if r := set.Evaluate("byEmail", &ctx); r.Variant != pick(murmur3String(email)) {
			t.Errorf("byEmail %s: %s", email, r.Variant)
		}
		if r := set.Evaluate("byCat", &ctx); r.Variant != pick(murmur3String("seed-"+email)) {
			t.Errorf("byCat %s: %s", email, r.Variant)
		}
		h := murmur3String(email)
		want := "a"
		if uint64(h)*2>>32 >= 1 {
			want = "b"
		}
		if r := set.Evaluate("unweighted", &ctx); r.Variant != want {
			t.Errorf("unweighted %s: %s want %s", email, r.Variant, want)
		}
		noEmail := Context{TargetingKey: "tk-" + email}
		if r := set.Evaluate("byEmail", &noEmail); r.Variant != "a" || r.Reason != ReasonDefault {
			t.Errorf("byEmail without email %s: %+v, want the default variant (reason DEFAULT)", email, r)
		}
	}
	numeric := Context{TargetingKey: "t", Attrs: []Attr{{Name: "n", Value: Number(5)}}}
	if r := set.Evaluate("numberBucket", &numeric); r.Reason != ReasonDefault || r.Variant != "a" {
		t.Errorf("non-string bucketing value: %+v, want the default variant (flagd returns null)", r)
	}
}

func TestFractionalDistributionAndBucketFormula(t *testing.T) {
	set := mustCompile(t, `{"flags": {"f": {"state": "ENABLED", "defaultVariant": "a",
	  "variants": {"a": "a", "b": "b", "c": "c"},
	  "targeting": {"fractional": [["a", 10], ["b", 30], ["c", 60]]}}}}`)
	counts := map[string]int{}
	for i := 0; i < 20000; i++ {
		tk := fmt.Sprintf("subject-%d", i)
		r := set.Evaluate("f", &Context{TargetingKey: tk})
		counts[r.Variant]++
		// The documented formula, computed independently of the operator.
		bucket := uint64(murmur3String("f"+tk)) * 100 >> 32
		want := "c"
		if bucket < 10 {
			want = "a"
		} else if bucket < 40 {
			want = "b"
		}
		if r.Variant != want {
			t.Fatalf("%s: got %s want %s (bucket %d)", tk, r.Variant, want, bucket)
		}
	}
	for v, share := range map[string]float64{"a": 0.10, "b": 0.30, "c": 0.60} {
		got := float64(counts[v]) / 20000
		if got < share-0.015 || got > share+0.015 {
			t.Errorf("variant %s share %.3f, want about %.2f", v, got, share)
		}
	}
}

func TestReasons(t *testing.T) {
	set := mustCompile(t, `{"flags": {
	  "static":   {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
	  "emptyTargeting": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on", "targeting": {}},
	  "match":    {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	               "targeting": {"if": [{"ends_with": [{"var": "email"}, "@qa.org"]}, "on", null]}},
	  "boolResult": {"state": "ENABLED", "variants": {"true": 1, "false": 0}, "defaultVariant": "false",
	               "targeting": {"ends_with": [{"var": "email"}, "@qa.org"]}},
	  "split":    {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	               "targeting": {"fractional": [["on", 50], ["off", 50]]}},
	  "disabled": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
	  "noDefault": {"state": "ENABLED", "variants": {"on": true, "off": false},
	               "targeting": {"if": [{"var": "beta"}, "on", null]}}
	}}`)
	qa := Context{TargetingKey: "t1", Attrs: []Attr{{Name: "email", Value: String("x@qa.org")}}}
	other := Context{TargetingKey: "t1", Attrs: []Attr{{Name: "email", Value: String("x@else.org")}}}
	cases := []struct {
		flag    string
		ctx     *Context
		reason  Reason
		variant string
		value   any
	}{
		{"static", nil, ReasonStatic, "on", true},
		{"emptyTargeting", &qa, ReasonStatic, "on", true},
		{"match", &qa, ReasonTargetingMatch, "on", true},
		{"match", &other, ReasonDefault, "off", false},
		{"boolResult", &qa, ReasonTargetingMatch, "true", 1.0},
		{"boolResult", &other, ReasonTargetingMatch, "false", 0.0},
		{"split", &qa, ReasonSplit, "", nil},
		{"disabled", &qa, ReasonDisabled, "", nil},
		{"noDefault", &qa, ReasonDefault, "", nil},
	}
	for _, c := range cases {
		r := set.Evaluate(c.flag, c.ctx)
		if r.Reason != c.reason || r.ErrorCode != "" {
			t.Errorf("%s: reason %s (%s), want %s", c.flag, r.Reason, r.ErrorCode, c.reason)
		}
		if c.variant != "" && (r.Variant != c.variant || r.Value != c.value) {
			t.Errorf("%s: %s=%v, want %s=%v", c.flag, r.Variant, r.Value, c.variant, c.value)
		}
		if c.reason == ReasonDisabled && (r.Value != nil || r.Variant != "") {
			t.Errorf("%s: disabled flag resolved %s=%v, want no value", c.flag, r.Variant, r.Value)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	set := mustCompile(t, `{"flags": {
	  "badVariant": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	                 "targeting": {"if": [true, "purple", "off"]}},
	  "objectResult": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	                 "targeting": {"merge": [1, 2]}},
	  "split": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	                 "targeting": {"fractional": [["on", 50], ["off", 50]]}},
	  "rollout": {"enabled": true, "rollout_percentage": 50},
	  "str": {"state": "ENABLED", "variants": {"a": "A"}, "defaultVariant": "a"}
	}}`)
	check := func(name string, r Result, code ErrorCode, detail string) {
		t.Helper()
		if r.ErrorCode != code || r.Reason != ReasonError || !strings.Contains(r.ErrorDetails, detail) || r.Value != nil {
			t.Errorf("%s: got %s/%s %q value %v, want ERROR/%s containing %q", name, r.Reason, r.ErrorCode, r.ErrorDetails, r.Value, code, detail)
		}
	}
	check("not found", set.Evaluate("nope", nil), ErrFlagNotFound, `flag "nope" not found`)
	check("no such variant", set.Evaluate("badVariant", nil), ErrGeneral, `targeting returned "purple", which is not a variant`)
	check("no such variant (object)", set.Evaluate("objectResult", nil), ErrGeneral, "an array")
	check("type", set.EvaluateType("str", TypeBoolean, nil), ErrTypeMismatch, "is of type string, not boolean")
	check("targeting key", set.Evaluate("rollout", &Context{}), ErrTargetingKeyMissing, "needs a targetingKey")
	// flagd's own form buckets a subject without a targeting key as flagKey + "".
	if r := set.Evaluate("split", &Context{}); r.ErrorCode != "" || r.Variant != pickVariant("split", "", []string{"on", "off"}) {
		t.Errorf("fractional without a targeting key: %+v", r)
	}
	if r := set.EvaluateType("str", TypeString, nil); r.ErrorCode != "" || r.Value != "A" {
		t.Errorf("typed evaluation of the right type: %+v", r)
	}

	// INVALID_CONTEXT comes from converting a JSON context (the OFREP path).
	for _, raw := range []any{"a string", map[string]any{"targetingKey": 5.0}} {
		if _, err := ContextFromJSON(raw); err == nil || !errors.Is(err, errInvalidContext) {
			t.Errorf("ContextFromJSON(%v): %v, want invalid context", raw, err)
		}
	}

	// GENERAL: a rule that fails unexpectedly is contained, reported, and does not crash.
	boom := &flag{key: "boom", byName: map[string]int{}, defaultIdx: -1,
		targeting: func(*evalState) Value { panic("boom") }}
	set.flags["boom"] = boom
	check("general", set.Evaluate("boom", nil), ErrGeneral, "evaluation failed")
}

func TestRefSharedEvaluators(t *testing.T) {
	set := mustCompile(t, `{
	  "$evaluators": {
	    "emailWithFaas": {"in": ["@faas.com", {"var": ["email"]}]},
	    "faasAdult": {"and": [{"$ref": "emailWithFaas"}, {">=": [{"var": "age"}, 18]}]}
	  },
	  "flags": {
	    "fibAlgo": {"state": "ENABLED", "defaultVariant": "recursive",
	      "variants": {"recursive": "recursive", "binet": "binet"},
	      "targeting": {"if": [{"$ref": "emailWithFaas"}, "binet", null]}},
	    "nested": {"state": "ENABLED", "defaultVariant": "no", "variants": {"yes": true, "no": false},
	      "targeting": {"if": [{"$ref": "faasAdult"}, "yes", "no"]}}
	  }}`)
	faas := jsonContext(t, `{"email": "a@faas.com", "age": 30}`)
	young := jsonContext(t, `{"email": "a@faas.com", "age": 12}`)
	if r := set.Evaluate("fibAlgo", &faas); r.Variant != "binet" || r.Reason != ReasonTargetingMatch {
		t.Errorf("fibAlgo: %+v", r)
	}
	if r := set.Evaluate("nested", &faas); r.Variant != "yes" {
		t.Errorf("nested: %+v", r)
	}
	if r := set.Evaluate("nested", &young); r.Variant != "no" {
		t.Errorf("nested young: %+v", r)
	}
	cyclic, err := Compile([]byte(`{"$evaluators": {"a": {"$ref": "b"}, "b": {"!": {"$ref": "a"}}},
	  "flags": {"f": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "x", "targeting": {"$ref": "a"}}}}`), CompileOptions{})
	if err != nil {
		t.Fatalf("a $ref cycle rejected the document: %v", err)
	}
	if r := cyclic.Evaluate("f", nil); r.ErrorCode != ErrParse || !strings.Contains(r.ErrorDetails, "cycle through a → b → a") {
		t.Errorf("cyclic $ref: %+v, want PARSE_ERROR naming the cycle", r)
	}
}

func TestDocumentErrorsNameTheJSONPath(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`{"flags": {"a": {"state": "ON", "variants": {"x": 1}, "defaultVariant": "x"}}}`,
			`flags.a.state: must be "ENABLED" or "DISABLED", got "ON"`},
		{`{"flags": {"a": {"state": "ENABLED", "variants": {"x": 1, "y": "2"}, "defaultVariant": "x"}}}`,
			`flags.a.variants.y: all variants must have the same type: "y" is string but "x" is number`},
		{`{"flags": {"a": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "z"}}}`,
			`flags.a.defaultVariant: must name one of the variants ("x"), got "z"`},
		{`{"flags": {"a": {"state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "x", "colour": 1}}}`,
			`flags.a.colour: unknown field`},
		{`{"flags": {"a": {"enabled": true, "rollout_percentage": 150}}}`,
			`flags.a.rollout_percentage: must be a number between 0 and 100, got 150`},
		{`{"flags": {"a": {"enabled": true, "user_segments": ["vip"]}}}`,
			`flags.a.user_segments[0]: unknown segment "vip"`},
		{`{"flags": {"a": {"enabled": true, "override_conditions": [{"when": {"bogus": 1}, "variant": "on"}]}}}`,
			`flags.a.override_conditions[0].when.bogus: unknown operator "bogus"`},
		{"{\"flags\": {\n  \"a\": {,}}}", `line 2, column 9: invalid JSON`},
		{`{"flagz": {}}`, `flags: required field is missing`},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.doc), CompileOptions{})
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("doc %s:\n got  %v\n want %s", c.doc, err, c.want)
		}
	}
}

// flagd-testbed's @fractional-nested cases: variant names that are expressions.
func TestFractionalNestedVariantExpressions(t *testing.T) {
	set := mustCompile(t, `{"flags": {
	  "fractional-nested-if-flag": {"state": "ENABLED", "defaultVariant": "standard",
	    "variants": {"premium": "premium", "standard": "standard"},
	    "targeting": {"fractional": [{"var": "targetingKey"},
	      [{"if": [{"==": [{"var": "tier"}, "premium"]}, "premium", "standard"]}, 50], ["standard", 50]]}},
	  "fractional-nested-var-flag": {"state": "ENABLED", "defaultVariant": "blue",
	    "variants": {"red": "red", "green": "green", "blue": "blue"},
	    "targeting": {"fractional": [{"var": "targetingKey"}, [{"var": "color"}, 50], ["blue", 50]]}}
	}}`)
	cases := []struct{ flag, tk, attr, val, want string }{
		{"fractional-nested-if-flag", "jon@company.com", "tier", "premium", "premium"},
		{"fractional-nested-if-flag", "jon@company.com", "tier", "basic", "standard"},
		{"fractional-nested-if-flag", "user1", "tier", "premium", "standard"},
		{"fractional-nested-if-flag", "user1", "tier", "basic", "standard"},
		{"fractional-nested-var-flag", "jon@company.com", "color", "red", "red"},
		{"fractional-nested-var-flag", "jon@company.com", "color", "green", "green"},
		{"fractional-nested-var-flag", "user1", "color", "red", "blue"},
		{"fractional-nested-var-flag", "jon@company.com", "color", "yellow", ""}, // not a variant
		{"fractional-nested-var-flag", "jon@company.com", "color", "", ""},
	}
	for _, c := range cases {
		ctx := Context{TargetingKey: c.tk, Attrs: []Attr{{Name: c.attr, Value: String(c.val)}}}
		r := set.Evaluate(c.flag, &ctx)
		if r.Variant != c.want || (c.want == "" && r.ErrorCode != ErrGeneral) {
			t.Errorf("%s %s %s=%q: got %q (%s %s), want %q", c.flag, c.tk, c.attr, c.val, r.Variant, r.Reason, r.ErrorCode, c.want)
		}
	}
}

type failingAudit struct{}

func (failingAudit) Record(context.Context, string, string, string, string) error {
	return errors.New("audit store down")
}

func TestChangeRefusedWhenAuditFails(t *testing.T) {
	persisted := false
	s := NewStore(StoreOptions{Audit: failingAudit{}, Persist: func(context.Context, []byte) error { persisted = true; return nil }})
	if _, err := s.Load(t.Context(), []byte(docV1), "file", "", "load"); err != nil {
		t.Fatal(err)
	}
	_, err := s.DeleteFlag(t.Context(), "alice", "banner")
	if err == nil || !strings.Contains(err.Error(), "audit store down") {
		t.Fatalf("delete with a failing audit log: %v", err)
	}
	if persisted || s.Current().Version() != 1 {
		t.Errorf("an unaudited change was applied (persisted=%v, version %d)", persisted, s.Current().Version())
	}
}
