package manifest

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

const baseTemplate = `apiVersion: shipsafe.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: errors
spec:
  args:
  - name: service
  - name: max
    value: "0.05"
  metrics:
  - name: error-rate
    interval: 30s
    count: 5
    failureLimit: 1
    successCondition: result <= {{args.max}}
    provider:
      builtin: {metric: error-rate, window: 1m, params: {service: "{{args.service}}"}}
  - name: prom
    interval: 1m
    failureCondition: result[0] > 0.1
    provider:
      prometheus: {address: "http://127.0.0.1:9090", query: "sum(rate(x[1m]))"}
  - name: web
    provider:
      web: {url: "http://127.0.0.1:8080/stats", jsonPath: "{$.ok}", timeoutSeconds: 5}
`

func TestValidateAnalysisTemplateRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *v1alpha1.AnalysisTemplateSpec)
		want string
	}{
		{"no metrics", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics = nil }, "spec.metrics: is required: at least one metric"},
		{"duplicate metric", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[1].Name = "error-rate" },
			`spec.metrics[1].name: must be unique, got duplicate "error-rate"`},
		{"bad interval", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Interval = "30 seconds" },
			`spec.metrics[0].interval: must be a Go duration such as "30s" or "5m", got "30 seconds"`},
		{"zero interval", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Interval = "0s" },
			`spec.metrics[0].interval: must be greater than 0, got "0s"`},
		{"negative initial delay", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].InitialDelay = "-1m" },
			`spec.metrics[0].initialDelay: must not be negative, got "-1m"`},
		{"count needs interval", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Interval = "" },
			"spec.metrics[0].interval: is required: needed when count is more than 1 (count is 5)"},
		{"failureLimit above count", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].FailureLimit = ptr(intstr.FromInt32(9)) },
			"spec.metrics[0].failureLimit: must not exceed count (5), got 9"},
		{"negative count", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Count = ptr(intstr.FromInt32(-1)) },
			"spec.metrics[0].count: must be greater than or equal to 0, got -1"},
		{"count junk string", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Count = ptr(intstr.FromString("many")) },
			`spec.metrics[0].count: must be an integer or an {{args.name}} reference, got "many"`},
		{"failureLimit below -1", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].FailureLimit = ptr(intstr.FromInt32(-2)) },
			"spec.metrics[0].failureLimit: must be greater than or equal to -1, got -2"},
		{"success condition syntax", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].SuccessCondition = "result <=" },
			"spec.metrics[0].successCondition: must compile"},
		{"failure condition not boolean", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[1].FailureCondition = "1 + 2" },
			"spec.metrics[1].failureCondition: must compile: expected bool"},
		{"undeclared argument", func(s *v1alpha1.AnalysisTemplateSpec) { s.Args = s.Args[1:] },
			`spec.metrics[0]: uses argument "service", which spec.args does not declare`},
		{"duplicate argument", func(s *v1alpha1.AnalysisTemplateSpec) { s.Args[1].Name = "service" },
			`spec.args[1].name: must be unique, got duplicate "service"`},
		{"value and valueFrom", func(s *v1alpha1.AnalysisTemplateSpec) {
			s.Args[1].ValueFrom = &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}
		}, "spec.args[1]: must set only one of value, valueFrom"},
		{"secret without key", func(s *v1alpha1.AnalysisTemplateSpec) {
			s.Args[0].ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s"}}
		}, "spec.args[0].valueFrom.secretKeyRef.key: is required"},
		{"no provider", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[2].Provider = v1alpha1.MetricProvider{} },
			`spec.metrics[2].provider: must set exactly one provider (builtin, prometheus, web, job, ...), got none`},
		{"two providers", func(s *v1alpha1.AnalysisTemplateSpec) {
			s.Metrics[2].Provider.Prometheus = &v1alpha1.PrometheusMetric{Query: "up"}
		},
			`spec.metrics[2].provider: must set exactly one provider (builtin, prometheus, web, job, ...), got prometheus, web`},
		{"builtin without metric", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Provider.Builtin.Metric = "" },
			"spec.metrics[0].provider.builtin.metric: is required"},
		{"builtin window", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[0].Provider.Builtin.Window = "1 minute" },
			`spec.metrics[0].provider.builtin.window: must be a Go duration`},
		{"prometheus query", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[1].Provider.Prometheus.Query = " " },
			"spec.metrics[1].provider.prometheus.query: is required"},
		{"web url", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[2].Provider.Web.URL = "" },
			"spec.metrics[2].provider.web.url: is required"},
		{"web method", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[2].Provider.Web.Method = "DELETE" },
			`spec.metrics[2].provider.web.method: must be one of "GET", "POST", "PUT", got "DELETE"`},
		{"web body with GET", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[2].Provider.Web.Body = "{}" },
			"spec.metrics[2].provider.web.method: must be POST or PUT when a body is set"},
		{"web jsonPath", func(s *v1alpha1.AnalysisTemplateSpec) { s.Metrics[2].Provider.Web.JSONPath = "$.ok" },
			`spec.metrics[2].provider.web.jsonPath: must be a JSONPath template in braces, such as "{$.data.ok}", got "$.ok"`},
		{"job without containers", func(s *v1alpha1.AnalysisTemplateSpec) {
			s.Metrics[2].Provider = v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{}}
		},
			"spec.metrics[2].provider.job.spec.template.spec.containers: is required"},
		{"dry-run regex", func(s *v1alpha1.AnalysisTemplateSpec) { s.DryRun = []v1alpha1.DryRun{{MetricName: "("}} },
			"spec.dryRun[0].metricName: must be a metric name or a regular expression"},
		{"retention limit", func(s *v1alpha1.AnalysisTemplateSpec) {
			s.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "x"}}
		},
			"spec.measurementRetention[0].limit: must be greater than 0, got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOne(t, baseTemplate)
			if errs := validateOne(o); len(errs) > 0 {
				t.Fatalf("base template invalid: %v", errs)
			}
			tc.edit(&o.AnalysisTemplate.Spec)
			errs := validateOne(o)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("want %q among errors:\n%s", tc.want, strings.Join(errs, "\n"))
			}
		})
	}
}

func TestValidateCrossReferences(t *testing.T) {
	objs, err := Decode([]byte(baseCanary + "---\n" + baseTemplate))
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := Validate(objs)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("base pair: err %v, warnings %v", err, warnings)
	}

	// A template the rollout needs an argument for.
	tmpl := strings.Replace(baseTemplate, "  - name: max\n    value: \"0.05\"\n", "  - name: max\n", 1)
	objs, _ = Decode([]byte(baseCanary + "---\n" + tmpl))
	_, err = Validate(objs)
	if err == nil || !strings.Contains(err.Error(),
		`spec.strategy.canary.analysis.args: is required: argument "max" is needed by template "errors"`) {
		t.Errorf("missing argument not reported: %v", err)
	}

	// pause.analysis.metricName must name a background metric.
	ro := strings.Replace(baseCanary, `{successCondition: "result >= 0.9"}`, `{successCondition: "result >= 0.9", metricName: accuracy}`, 1)
	objs, _ = Decode([]byte(ro + "---\n" + baseTemplate))
	_, err = Validate(objs)
	if err == nil || !strings.Contains(err.Error(),
		`spec.strategy.canary.steps[5].pause.analysis.metricName: must name a metric of the background analysis templates, got "accuracy"`) {
		t.Errorf("unknown pause metric not reported: %v", err)
	}

	// A template that is not in the set is a warning, not an error.
	objs, _ = Decode([]byte(baseCanary))
	warnings, err = Validate(objs)
	if err != nil || len(warnings) != 2 || !strings.Contains(warnings[0].Error(), `AnalysisTemplate "errors" is not among the validated files`) {
		t.Errorf("missing template: err %v, warnings %v", err, warnings)
	}

	// Two objects of one kind with one name.
	objs, _ = Decode([]byte(baseTemplate + "---\n" + baseTemplate))
	_, err = Validate(objs)
	if err == nil || !strings.Contains(err.Error(), `metadata.name: must be unique, got duplicate "errors"`) {
		t.Errorf("duplicate names not reported: %v", err)
	}
}

func TestParseAppliesDefaultsAndResolvesWorkloadRef(t *testing.T) {
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: holder}
spec:
  replicas: 0
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec: {containers: [{name: w, image: x}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: w}
spec:
  replicas: 3
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: holder}
  strategy:
    blueGreen: {activeService: w-active}
`
	objs, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want the rollout only (the Deployment is its template)", len(objs))
	}
	r := objs[0].Rollout
	if len(r.Spec.Template.Spec.Containers) != 1 || r.Spec.Selector == nil {
		t.Errorf("workloadRef template not resolved: %+v", r.Spec)
	}
	bg := r.Spec.Strategy.BlueGreen
	if *r.Spec.RevisionHistoryLimit != 10 || *r.Spec.ProgressDeadlineSeconds != 600 || !*bg.AutoPromotionEnabled ||
		*bg.ScaleDownDelaySeconds != 30 || *bg.AbortScaleDownDelaySeconds != 30 || *r.Spec.Analysis.SuccessfulRunHistoryLimit != 5 {
		t.Errorf("defaults not applied: %+v %+v", r.Spec, bg)
	}
}

func TestSetDefaults(t *testing.T) {
	r := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m", Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "/"}}}}}},
	}}}}
	v1alpha1.SetDefaultsRollout(r)
	c := r.Spec.Strategy.Canary
	if *r.Spec.Replicas != 1 || c.MaxSurge.StrVal != "25%" || c.MaxUnavailable.StrVal != "25%" ||
		c.ScaleDownDelaySeconds != nil || *c.Steps[0].SetMirrorRoute.Percentage != 100 {
		t.Errorf("canary defaults wrong: %+v", c)
	}
	r2 := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{}}}}}
	v1alpha1.SetDefaultsRollout(r2)
	if *r2.Spec.Strategy.Canary.ScaleDownDelaySeconds != 30 {
		t.Error("canary with a router should get scaleDownDelaySeconds 30")
	}
	spec := &v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "u"}}}}}
	v1alpha1.SetDefaultsAnalysisTemplateSpec(spec)
	m := spec.Metrics[0]
	if m.ConsecutiveErrorLimit.IntVal != 4 || m.FailureLimit.IntVal != 0 || m.Provider.Web.Method != "GET" || m.Provider.Web.TimeoutSeconds != 10 {
		t.Errorf("metric defaults wrong: %+v", m)
	}
	if !v1alpha1.IsDryRun([]v1alpha1.DryRun{{MetricName: "lat.*"}}, "latency") || v1alpha1.IsDryRun([]v1alpha1.DryRun{{MetricName: "lat"}}, "latency") {
		t.Error("IsDryRun must match whole names or anchored patterns")
	}
}
