package analysis

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

func str(s string) *string { return &s }

func TestBuildRunMergesTemplatesAndArgs(t *testing.T) {
	errs := Template{Name: "errors", Spec: v1alpha1.AnalysisTemplateSpec{
		Metrics: []v1alpha1.Metric{promMetric("error-rate", `rate{svc="{{args.service}}"}`)},
		Args:    []v1alpha1.Argument{{Name: "service"}, {Name: "threshold", Value: str("0.05")}},
		DryRun:  []v1alpha1.DryRun{{MetricName: "error-rate"}},
	}}
	lat := Template{Name: "latency", ClusterScope: true, Spec: v1alpha1.AnalysisTemplateSpec{
		Metrics: []v1alpha1.Metric{promMetric("p99", `p99{svc="{{args.service}}",ns="{{args.namespace}}"}`)},
		Args: []v1alpha1.Argument{{Name: "service"}, {Name: "namespace", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.namespace"}}},
			{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "prom", Key: "token"}}}},
	}}
	run, err := BuildRun(RunInput{
		Name: "detector-abc-1-bg", Namespace: "prod", Templates: []Template{errs, lat},
		Args:    []v1alpha1.Argument{{Name: "service", Value: str("detector")}, {Name: "unused", Value: str("x")}},
		Service: "detector", Revision: "abc", StableRevision: "def",
		FieldValue: func(p string) (string, error) {
			if p == "metadata.namespace" {
				return "prod", nil
			}
			return "", errors.New("unknown field")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Spec.Metrics) != 2 || run.Status.Phase != v1alpha1.AnalysisPhasePending || len(run.Spec.DryRun) != 1 {
		t.Fatalf("run %+v", run)
	}
	got := map[string]string{}
	for _, a := range run.Spec.Args {
		if a.Value != nil {
			got[a.Name] = *a.Value
		} else {
			got[a.Name] = "secret:" + a.ValueFrom.SecretKeyRef.Name
		}
	}
	want := map[string]string{"service": "detector", "threshold": "0.05", "namespace": "prod", "token": "secret:prom"}
	if len(got) != len(want) {
		t.Fatalf("args %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("args %v, want %v", got, want)
		}
	}
	if run.Labels[LabelService] != "detector" || run.Labels[LabelRevision] != "abc" || run.Labels[LabelStableRevision] != "def" {
		t.Fatalf("labels %v", run.Labels)
	}
	// The built run executes: the executor resolves the secret at measurement time.
	e, f := newExec(t, secrets{"prom/token": "t"})
	f.scripts["error-rate"] = []step{{value: 0.0}}
	f.scripts["p99"] = []step{{value: 0.1}}
	e.Reconcile(context.Background(), run, t0)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("phase %s: %s", run.Status.Phase, run.Status.Message)
	}
}

func TestBuildRunErrors(t *testing.T) {
	a := Template{Name: "a", Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{promMetric("m", "q")}, Args: []v1alpha1.Argument{{Name: "svc"}}}}
	b := Template{Name: "b", ClusterScope: true, Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{promMetric("m", "q")}}}
	cases := []struct {
		in   RunInput
		want string
	}{
		{RunInput{Name: "r"}, "at least one template"},
		{RunInput{Name: "r", Templates: []Template{a}}, `args[0] (svc): no value given`},
		{RunInput{Name: "r", Templates: []Template{a, b}, Args: []v1alpha1.Argument{{Name: "svc", Value: str("x")}}}, `ClusterAnalysisTemplate "b": metric "m" is also defined by AnalysisTemplate "a"`},
		{RunInput{Name: "r", Templates: []Template{a}, Args: []v1alpha1.Argument{{Name: "svc", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}}}}, "no field source"},
	}
	for _, c := range cases {
		_, err := BuildRun(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

// Run labels use the API group shipsafe.dev; runs stored with shipsafe.io/ keys still read.
func TestRunLabelUsesTheGroupAndReadsOldKeys(t *testing.T) {
	if LabelService != "shipsafe.dev/service" {
		t.Fatalf("LabelService = %q", LabelService)
	}
	if got := RunLabel(map[string]string{"shipsafe.io/revision": "abc"}, LabelRevision); got != "abc" {
		t.Fatalf("old key: %q", got)
	}
	if got := RunLabel(map[string]string{"shipsafe.io/revision": "old", LabelRevision: "new"}, LabelRevision); got != "new" {
		t.Fatalf("new key wins: %q", got)
	}
}
