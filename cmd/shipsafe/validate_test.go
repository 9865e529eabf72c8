package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	writeValidateFixture(t, good, `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}]}}
`)
	writeValidateFixture(t, bad, `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web2}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
  strategy:
    canary:
      steps:
      - setWeight: 150
`)
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
	}{
		{"valid file", []string{"validate", "-f", good}, "", 0, []string{"valid: 1 object(s) in 1 file(s): 1 Rollout"}},
		{"invalid file", []string{"validate", "-f", bad}, "", 1,
			[]string{bad + ":10: Rollout/web2: spec.strategy.canary.steps[0].setWeight: must be between 0 and 100, got 150"}},
		{"directory", []string{"validate", "--filename", dir}, "", 1, []string{"bad.yaml:10:"}},
		{"stdin", []string{"validate", "-f", "-"}, "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec: {replicas: x}\n", 1,
			[]string{`-:3: Rollout/: spec.replicas: must be an integer, got "x"`}},
		{"missing file", []string{"validate", "-f", filepath.Join(dir, "nope.yaml")}, "", 1, nil},
		{"no flag", []string{"validate"}, "", 2, nil},
		{"examples", []string{"validate", "-f", filepath.Join("..", "..", "examples")}, "", 0, []string{"valid: 9 object(s)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newRootCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetIn(strings.NewReader(tc.stdin))
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)\n%s", code, tc.wantCode, err, out.String())
			}
			var ee *exitError
			if tc.wantCode != 0 && !errors.As(err, &ee) {
				t.Errorf("error %v is not an exitError", err)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func writeValidateFixture(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
