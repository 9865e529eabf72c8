package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Issue 11.12: document-level errors printed "<nil>:" where a field path goes.
func TestValidateMessagesHaveNoNilPrefix(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"syntax.yaml": "a: [\n",
		"empty.yaml":  "",
		"svc.yaml":    "apiVersion: v1\nkind: Service\nmetadata: {name: echo-canary}\n",
	}
	want := map[string]string{
		"syntax.yaml": "syntax.yaml: not valid YAML or JSON: line 2: did not find expected node content",
		"empty.yaml":  "empty.yaml: the file contains no documents",
		"svc.yaml":    "svc.yaml:1: Service/echo-canary: skipped v1 Service: not a kind shipsafe reads",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		writeValidateFixture(t, p, content)
		out, _ := runCLI(t, "", "validate", "-f", p)
		if strings.Contains(out, "<nil>") {
			t.Errorf("%s: output has <nil>:\n%s", name, out)
		}
		if !strings.Contains(out, want[name]) {
			t.Errorf("%s: output lacks %q:\n%s", name, want[name], out)
		}
	}
}

// Issue 11.12: yaml.v3's parser errors carry a 0-based line.
func TestValidateYAMLSyntaxErrorLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.yaml")
	writeValidateFixture(t, p, "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: x\nspec:\n  replicas: [1\n")
	out, err := runCLI(t, "", "validate", "-f", p)
	if err == nil || !strings.Contains(out, "line 6: did not find expected ',' or ']'") {
		t.Errorf("want the error on line 6 (replicas: [1), got %v:\n%s", err, out)
	}
	writeValidateFixture(t, p, "a:\n  b: 1\n c: 2\n")
	if out, _ := runCLI(t, "", "validate", "-f", p); !strings.Contains(out, "line 3: did not find expected key") {
		t.Errorf("want line 3, got:\n%s", out)
	}
}

// Issue 11.12: "valid: 0 object(s) in 1 file(s): " ended in nothing.
func TestValidateSummaryWithOnlySkippedDocuments(t *testing.T) {
	p := filepath.Join(t.TempDir(), "svc.yaml")
	writeValidateFixture(t, p, "apiVersion: v1\nkind: Service\nmetadata: {name: echo}\n")
	out, err := runCLI(t, "", "validate", "-f", p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "valid: no Rollout, AnalysisTemplate or Deployment in 1 file(s); 1 document(s) of other kinds skipped"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "file(s): \n") {
		t.Errorf("dangling summary:\n%s", out)
	}
}

// Issue 11.12: pflag takes a `backticked` word in a usage as the value name, so
// "--leave-running up" and "--data-dir shipsafe up" appeared in --help.
func TestFlagUsagesHaveNoBackticks(t *testing.T) {
	walkCommands(newRootCmd(), func(c *cobra.Command) {
		eachFlag(c, func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				name, _ := pflag.UnquoteUsage(f)
				t.Errorf("%s --%s: usage has a backtick, shown as value name %q: %s", c.CommandPath(), f.Name, name, f.Usage)
			}
		})
	})
}

// Issue 11.12: JSON output must not HTML-escape ">" as "\u003e".
func TestGetJSONIsNotHTMLEscaped(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name":"web","spec":{"successCondition":"result[0] \u003e= 0.95 \u0026\u0026 x \u003c 1"}}`))
	}))
	t.Cleanup(ts.Close)
	out, err := runCLI(t, "", "get", "web", "--server", ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"result[0] >= 0.95 && x < 1"`) {
		t.Errorf("JSON output escaped:\n%s", out)
	}
}
