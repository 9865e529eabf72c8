package manifest

import (
	"math"
	"strings"
	"testing"
)

func TestCompileConditionRejects(t *testing.T) {
	for _, src := range []string{
		"result >",    // syntax
		"reslt > 0.5", // unknown name
		"1 + 1",       // known non-boolean
		strings.Repeat("a", MaxConditionLength+1),
	} {
		if _, err := CompileCondition(src); err == nil {
			t.Errorf("CompileCondition(%q) = nil error, want an error", src)
		}
	}
}

func TestConditionEval(t *testing.T) {
	cases := []struct {
		src     string
		result  any
		want    bool
		wantErr bool
	}{
		{"result >= 0.95", 0.97, true, false},
		{"result >= 0.95", 0.90, false, false},
		{"result[0] < 0.01", []any{0.005}, true, false},
		{"asInt(result) == 3", "3", true, false},
		{"asFloat(result) > 1.5", "2.5", true, false},
		{"asInt(result) == 3", "x", false, true},
		{"isNaN(result)", math.NaN(), true, false},
		{"isInf(result)", math.Inf(1), true, false},
		{"isNil(result)", nil, true, false},
		{"default(result, 0) == 0", nil, true, false},
		{"default(result, 0) == 4", 4, true, false},
		{"result.ok == true", map[string]any{"ok": true}, true, false},
		{"result == true", true, true, false},
		{"result + 1", 1, false, true}, // not a boolean at run time
	}
	for _, c := range cases {
		cond, err := CompileCondition(c.src)
		if err != nil {
			t.Fatalf("CompileCondition(%q): %v", c.src, err)
		}
		got, err := cond.Eval(c.result)
		if (err != nil) != c.wantErr {
			t.Errorf("Eval(%q, %v) error = %v, wantErr %v", c.src, c.result, err, c.wantErr)
			continue
		}
		if got != c.want {
			t.Errorf("Eval(%q, %v) = %v, want %v", c.src, c.result, got, c.want)
		}
	}
}

func TestCompileConditionTemplate(t *testing.T) {
	if _, err := CompileConditionTemplate("result[0] <= {{args.max-error-rate}}"); err != nil {
		t.Fatalf("placeholder condition: %v", err)
	}
	if _, err := CompileConditionTemplate("result <= {{ args.max }} &&"); err == nil {
		t.Fatal("broken condition with placeholder compiled")
	}
}
