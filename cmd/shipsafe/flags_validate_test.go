package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A flagd file with one bad targeting rule validates (flagd loads it): the rule is a
// warning naming its JSON path; --strict makes it an error (exit 1).
func TestFlagsValidateWarnsOnBadTargetingAndStrictFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flags.json")
	doc := `{"flags": {
	  "ok": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a"},
	  "banner": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
	    "targeting": {"if": [{"sem_ver": [{"var": "v"}, "==", "1.0.0"]}, "on", {"bogus": 1}]}}}}`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		cmd := newFlagsCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append([]string{"validate"}, args...))
		err := cmd.Execute()
		return out.String(), errOut.String(), err
	}
	out, stderr, err := run(file)
	if err != nil {
		t.Fatalf("validate refused a file flagd loads: %v", err)
	}
	if !strings.Contains(out, "2 flag(s) valid (2 warning(s)): banner, ok") {
		t.Errorf("stdout: %q", out)
	}
	for _, want := range []string{
		`warning: flags.banner.targeting.if[0].sem_ver[1]: sem_ver operator must be one of =, !=, <, <=, >, >=, ^, ~; got "=="; the targeting evaluates to null (the default variant)`,
		`warning: flags.banner.targeting.if[2].bogus: unknown operator "bogus"; the flag evaluates to PARSE_ERROR`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	_, _, err = run("--strict", file)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "2 targeting rule(s) would not run as written") ||
		!strings.Contains(err.Error(), "flags.banner.targeting.if[0].sem_ver[1]") {
		t.Errorf("--strict: %v, want exit 1 naming the first rule's path", err)
	}
}
