package flagdtestbed

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const sample = `@feat
Feature: sample
  Background:
    Given an evaluator

  @outline
  Scenario Outline: Outline <key>
    Given a String-flag with key "<key>" and a fallback value "fb"
    When the flag was evaluated with details
    Then the resolved details value should be "<value>"

    @first
    Examples: one
      | key | value      |
      | a   | x \| y     |
    Examples: two
      | key | value |
      | b   | z     |

  Scenario: Plain
    Given a Integer-flag with key "n" and a fallback value "3"
    When the flag was evaluated with details
    Then the resolved metadata should contain
      | key | metadata_type | value |
      | k   | Integer       | 1     |
`

// TestParseFeatureExpandsOutlines: Background steps come first, each Examples row is a
// scenario with its block's tags, placeholders and \| escapes are handled, tables attach.
func TestParseFeatureExpandsOutlines(t *testing.T) {
	scs, err := ParseFeature("x.feature", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 3 {
		t.Fatalf("%d scenarios, want 3: %+v", len(scs), scs)
	}
	first := scs[0]
	if first.Name != "Outline a [a | x | y]" || first.Line != 15 || first.DefLine != 7 ||
		strings.Join(first.Tags, " ") != "@feat @outline @first" || len(first.Steps) != 4 ||
		first.Steps[0].Text != "an evaluator" || first.Steps[3].Text != `the resolved details value should be "x | y"` {
		t.Errorf("first row: %+v", first)
	}
	if scs[1].HasTag("@first") || !scs[1].HasTag("@outline") {
		t.Errorf("second block's tags: %v", scs[1].Tags)
	}
	if plain := scs[2]; len(plain.Steps[3].Table) != 2 || plain.Steps[3].Table[1][2] != "1" {
		t.Errorf("plain scenario table: %+v", plain.Steps)
	}
}

// TestStepsFailOnWrongAnswers: the runner is not vacuous. Against a fake OFREP server, a
// right expectation passes and wrong value, reason, error code, type or metadata fail.
func TestStepsFailOnWrongAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"key":"missing","errorCode":"FLAG_NOT_FOUND"}`))
			return
		}
		_, _ = w.Write([]byte(`{"key":"f","value":"hi","variant":"greeting","reason":"STATIC","metadata":{"k":1}}`))
	}))
	defer srv.Close()
	run := func(texts ...string) error {
		s := Scenario{File: "t.feature"}
		for i, st := range texts {
			s.Steps = append(s.Steps, Step{Text: st, Line: i + 1})
		}
		s.Steps[len(s.Steps)-1].Table = [][]string{{"key", "metadata_type", "value"}, {"k", "Integer", "1"}}
		w := &world{ctx: t.Context(), client: srv.Client(), evalCtx: map[string]any{},
			resolve: func(string) (string, error) { return srv.URL, nil }}
		return runSteps(w, s, steps())
	}
	base := []string{`an evaluator`, `a String-flag with key "f" and a fallback value "fb"`, `the flag was evaluated with details`}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	if err := run(with(`the resolved details value should be "hi"`, `the reason should be "STATIC"`,
		`the variant should be "greeting"`, `the error-code should be ""`, `the resolved metadata should contain`)...); err != nil {
		t.Errorf("right expectations failed: %v", err)
	}
	for _, wrong := range [][]string{
		with(`the resolved details value should be "bye"`),
		with(`the reason should be "DEFAULT"`),
		with(`the error-code should be "GENERAL"`),
		with(`the resolved metadata is empty`),
		{`an evaluator`, `a Boolean-flag with key "f" and a fallback value "false"`, `the flag was evaluated with details`, `the error-code should be ""`},
		{`an evaluator`, `a String-flag with key "missing" and a fallback value "fb"`, `the flag was evaluated with details`, `the resolved details value should be "hi"`},
		with(`a step nobody defined`),
	} {
		if err := run(wrong...); err == nil {
			t.Errorf("steps %q passed, want a failure", wrong[len(wrong)-1])
		}
	}
}
