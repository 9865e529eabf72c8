package flags

import (
	"encoding/json"
	"testing"
)

// mustCompile compiles a document or fails the test.
func mustCompile(t testing.TB, doc string) *FlagSet {
	t.Helper()
	set, err := Compile([]byte(doc), CompileOptions{Version: 1})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return set
}

// evalRule compiles a single JSON Logic rule and evaluates it against a JSON context.
func evalRule(t testing.TB, rule, ctxJSON string) any {
	t.Helper()
	var r any
	if err := json.Unmarshal([]byte(rule), &r); err != nil {
		t.Fatalf("rule %s: %v", rule, err)
	}
	c := &ruleCompiler{flagKey: "flag", evaluators: map[string]any{}}
	e, err := c.compile(r, "rule")
	if err != nil {
		t.Fatalf("compile %s: %v", rule, err)
	}
	ctx := jsonContext(t, ctxJSON)
	st := &evalState{ctx: &ctx, now: func() int64 { return 1700000000 }}
	v := e.fn(st)
	if st.errCode != "" {
		t.Fatalf("rule %s: %s %s", rule, st.errCode, st.errMsg)
	}
	return v.ToJSON()
}

func jsonContext(t testing.TB, ctxJSON string) Context {
	t.Helper()
	if ctxJSON == "" {
		return Context{}
	}
	var raw any
	if err := json.Unmarshal([]byte(ctxJSON), &raw); err != nil {
		t.Fatalf("context %s: %v", ctxJSON, err)
	}
	c, err := ContextFromJSON(raw)
	if err != nil {
		t.Fatalf("context %s: %v", ctxJSON, err)
	}
	return c
}

func toJSON(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func mustUnmarshal(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("unmarshal %s: %v", s, err)
	}
}

// pickVariant is the variant flagd's fractional chooses among equally weighted variants
// for flagKey + targetingKey (bucket = hash × n >> 32).
func pickVariant(flagKey, targetingKey string, variants []string) string {
	h := murmur3String(flagKey + targetingKey)
	return variants[uint64(h)*uint64(len(variants))>>32]
}
