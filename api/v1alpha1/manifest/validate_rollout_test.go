package manifest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// baseCanary is a valid shipsafe canary rollout that rule tests break one field at a time.
const baseCanary = `apiVersion: shipsafe.dev/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example/web:1
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /health/ready, port: http}}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        gateway: {}
        managedRoutes: [{name: hdr}, {name: mirror}]
      analysis:
        templates: [{templateName: errors}]
        args: [{name: service, value: web}]
      steps:
      - setWeight: 10
      - pause: {duration: 30}
      - setHeaderRoute: {name: hdr, match: [{headerName: x-canary, headerValue: {exact: "1"}}]}
      - setMirrorRoute: {name: mirror, percentage: 50, match: [{path: {prefix: /v2}}]}
      - setCanaryScale: {weight: 20}
      - pause: {analysis: {successCondition: "result >= 0.9"}}
      - analysis: {templates: [{templateName: errors}], args: [{name: service, value: web}]}
      - experiment: {templates: [{name: c, specRef: canary}]}
      - setWeight: 100
  rollbackTriggers:
  - {name: errors, metric: error-rate, threshold: 0.1, for: 2m, action: immediate}
`

func decodeOne(t *testing.T, doc string) *Object {
	t.Helper()
	objs, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("base document does not decode: %v", err)
	}
	return &objs[0]
}

func validateOne(o *Object) []string {
	var out []string
	for _, e := range ValidateObject(o) {
		out = append(out, FormatFieldError(e))
	}
	return out
}

func i32(v int32) *int32 { return &v }

func TestBaseExamplesAreValid(t *testing.T) {
	for name, doc := range map[string]string{"canary": baseCanary, "bluegreen": baseBlueGreen} {
		if errs := validateOne(decodeOne(t, doc)); len(errs) > 0 {
			t.Errorf("%s base has errors: %v", name, errs)
		}
	}
}

func TestValidateRolloutRules(t *testing.T) {
	canary := func(r *v1alpha1.Rollout) *v1alpha1.CanaryStrategy { return r.Spec.Strategy.Canary }
	tests := []struct {
		name string
		edit func(r *v1alpha1.Rollout)
		want string
	}{
		{"setWeight above 100", func(r *v1alpha1.Rollout) { canary(r).Steps[0].SetWeight = i32(150) },
			"spec.strategy.canary.steps[0].setWeight: must be between 0 and 100, got 150"},
		{"setWeight above maxTrafficWeight", func(r *v1alpha1.Rollout) {
			canary(r).TrafficRouting.MaxTrafficWeight = i32(50)
			canary(r).Steps[8].SetWeight = i32(60)
		}, "spec.strategy.canary.steps[8].setWeight: must be between 0 and 50, got 60"},
		{"negative replicas", func(r *v1alpha1.Rollout) { r.Spec.Replicas = i32(-1) },
			"spec.replicas: must be greater than or equal to 0, got -1"},
		{"missing name", func(r *v1alpha1.Rollout) { r.Name = "" }, "metadata.name: is required"},
		{"bad name", func(r *v1alpha1.Rollout) { r.Name = "Web_1" }, `metadata.name: a lowercase RFC 1123 subdomain`},
		{"missing selector", func(r *v1alpha1.Rollout) { r.Spec.Selector = nil }, "spec.selector: is required"},
		{"bad label value", func(r *v1alpha1.Rollout) { r.Spec.Selector.MatchLabels["app"] = "web app" },
			`spec.selector.matchLabels: a valid label must be an empty string or consist of alphanumeric characters`},
		{"bad selector operator", func(r *v1alpha1.Rollout) {
			r.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, `spec.selector.matchExpressions[0].operator: not a valid selector operator, got "Near"`},
		{"selector does not match", func(r *v1alpha1.Rollout) { r.Spec.Template.Labels = map[string]string{"app": "other"} },
			`spec.template.metadata.labels: must match spec.selector (app=web), got "app=other"`},
		{"no containers", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers = nil },
			"spec.template.spec.containers: is required: at least one container"},
		{"container without image", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Image = "" },
			"spec.template.spec.containers[0].image: is required"},
		{"duplicate container", func(r *v1alpha1.Rollout) {
			c := r.Spec.Template.Spec.Containers
			r.Spec.Template.Spec.Containers = append(c, corev1.Container{Name: "web", Image: "x"})
		}, `spec.template.spec.containers[1].name: must be unique, got duplicate "web"`},
		{"port out of range", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			"spec.template.spec.containers[0].ports[0].containerPort: must be between 1 and 65535, got 70000"},
		{"probe names unknown port", func(r *v1alpha1.Rollout) {
			r.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromString("admin")
		}, `spec.template.spec.containers[0].readinessProbe.httpGet.port: must be a port number or the name of one of the container's ports, got "admin"`},
		{"probe without handler", func(r *v1alpha1.Rollout) {
			r.Spec.Template.Spec.Containers[0].LivenessProbe = &corev1.Probe{PeriodSeconds: 5}
		}, "spec.template.spec.containers[0].livenessProbe: must set exactly one of httpGet, tcpSocket, exec, grpc"},
		{"restartPolicy", func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			`spec.template.spec.restartPolicy: must be one of "Always", got "Never"`},
		{"progress deadline not above minReadySeconds", func(r *v1alpha1.Rollout) {
			r.Spec.MinReadySeconds = 30
			r.Spec.ProgressDeadlineSeconds = i32(30)
		}, "spec.progressDeadlineSeconds: must be greater than minReadySeconds (30), got 30"},
		{"no strategy", func(r *v1alpha1.Rollout) { r.Spec.Strategy = v1alpha1.RolloutStrategy{} },
			"spec.strategy: must set exactly one of blueGreen, canary, rolling"},
		{"two strategies", func(r *v1alpha1.Rollout) { r.Spec.Strategy.Rolling = &v1alpha1.RollingStrategy{} },
			"spec.strategy: must set exactly one of blueGreen, canary, rolling, got 2 strategies"},
		{"maxSurge percent", func(r *v1alpha1.Rollout) { canary(r).MaxSurge = ptr(intstr.FromString("150%")) },
			`spec.strategy.canary.maxSurge: percentage must be between 0% and 100%, got "150%"`},
		{"maxSurge junk", func(r *v1alpha1.Rollout) { canary(r).MaxSurge = ptr(intstr.FromString("lots")) },
			`spec.strategy.canary.maxSurge: must be an integer or a percentage such as "25%", got "lots"`},
		{"surge and unavailable zero", func(r *v1alpha1.Rollout) {
			canary(r).MaxSurge = ptr(intstr.FromInt32(0))
			canary(r).MaxUnavailable = ptr(intstr.FromString("0%"))
		}, "spec.strategy.canary.maxUnavailable: must not be 0 when maxSurge is 0"},
		{"same services", func(r *v1alpha1.Rollout) { canary(r).StableService = "web-canary" },
			`spec.strategy.canary.stableService: must differ from canaryService, got "web-canary"`},
		{"empty step", func(r *v1alpha1.Rollout) { canary(r).Steps[0] = v1alpha1.CanaryStep{} },
			"spec.strategy.canary.steps[0]: is required: one of setWeight, pause"},
		{"two step kinds", func(r *v1alpha1.Rollout) { canary(r).Steps[0].Pause = &v1alpha1.RolloutPause{} },
			"spec.strategy.canary.steps[0]: must set at most one of setWeight, pause, analysis, experiment, plugin"},
		{"bad pause duration", func(r *v1alpha1.Rollout) { canary(r).Steps[1].Pause.Duration = ptr(intstr.FromString("10 minutes")) },
			`spec.strategy.canary.steps[1].pause.duration: must be integer seconds or a Go duration such as "10m", got "10 minutes"`},
		{"negative pause", func(r *v1alpha1.Rollout) { canary(r).Steps[1].Pause.Duration = ptr(intstr.FromInt32(-5)) },
			"spec.strategy.canary.steps[1].pause.duration: must not be negative"},
		{"pause condition does not compile", func(r *v1alpha1.Rollout) { canary(r).Steps[5].Pause.Analysis.SuccessCondition = "result >=" },
			"spec.strategy.canary.steps[5].pause.analysis.successCondition: must compile"},
		{"pause condition unknown name", func(r *v1alpha1.Rollout) { canary(r).Steps[5].Pause.Analysis.SuccessCondition = "reslt > 1" },
			"spec.strategy.canary.steps[5].pause.analysis.successCondition: must compile: unknown name reslt"},
		{"pause analysis needs background", func(r *v1alpha1.Rollout) { canary(r).Analysis = nil },
			"spec.strategy.canary.steps[5].pause.analysis: needs a background analysis"},
		{"pause analysis before background starts", func(r *v1alpha1.Rollout) { canary(r).Analysis.StartingStep = i32(7) },
			"spec.strategy.canary.steps[5].pause.analysis: needs the background analysis running by this step, but it starts at step 7"},
		{"pause analysis with duration", func(r *v1alpha1.Rollout) { canary(r).Steps[5].Pause.Duration = ptr(intstr.FromInt32(5)) },
			"spec.strategy.canary.steps[5].pause.analysis: must not be set together with pause.duration"},
		{"startingStep out of range", func(r *v1alpha1.Rollout) { canary(r).Analysis.StartingStep = i32(9) },
			"spec.strategy.canary.analysis.startingStep: must be between 0 and 8 (a step index), got 9"},
		{"analysis without templates", func(r *v1alpha1.Rollout) { canary(r).Steps[6].Analysis.Templates = nil },
			"spec.strategy.canary.steps[6].analysis.templates: is required: at least one template"},
		{"duplicate analysis args", func(r *v1alpha1.Rollout) {
			canary(r).Analysis.Args = append(canary(r).Analysis.Args, v1alpha1.AnalysisRunArgument{Name: "service", Value: "x"})
		}, `spec.strategy.canary.analysis.args[1].name: must be unique, got duplicate "service"`},
		{"bad podTemplateHashValue", func(r *v1alpha1.Rollout) {
			h := v1alpha1.ValueFromPodTemplateHash("Newest")
			canary(r).Analysis.Args[0] = v1alpha1.AnalysisRunArgument{Name: "h", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &h}}
		}, `spec.strategy.canary.analysis.args[0].valueFrom.podTemplateHashValue: must be one of "Stable", "Latest", got "Newest"`},
		{"header route not managed", func(r *v1alpha1.Rollout) { canary(r).Steps[2].SetHeaderRoute.Name = "other" },
			`spec.strategy.canary.steps[2].setHeaderRoute.name: must be listed in spec.strategy.canary.trafficRouting.managedRoutes, got "other"`},
		{"header match two matchers", func(r *v1alpha1.Rollout) { canary(r).Steps[2].SetHeaderRoute.Match[0].HeaderValue.Prefix = "a" },
			"spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue: must set exactly one of exact, prefix, regex"},
		{"bad regex", func(r *v1alpha1.Rollout) {
			canary(r).Steps[2].SetHeaderRoute.Match[0].HeaderValue = &v1alpha1.StringMatch{Regex: "("}
		},
			"spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue.regex: must be a valid regular expression"},
		{"mirror percentage", func(r *v1alpha1.Rollout) { canary(r).Steps[3].SetMirrorRoute.Percentage = i32(101) },
			"spec.strategy.canary.steps[3].setMirrorRoute.percentage: must be between 0 and 100, got 101"},
		{"scale settings", func(r *v1alpha1.Rollout) { canary(r).Steps[4].SetCanaryScale.Replicas = i32(2) },
			"spec.strategy.canary.steps[4].setCanaryScale: must set exactly one of weight, replicas, matchTrafficWeight"},
		{"routes need a router", func(r *v1alpha1.Rollout) { canary(r).TrafficRouting = nil },
			"spec.strategy.canary.steps[4].setCanaryScale: needs spec.strategy.canary.trafficRouting"},
		{"scaleDownDelay needs a router", func(r *v1alpha1.Rollout) {
			canary(r).TrafficRouting = nil
			canary(r).ScaleDownDelaySeconds = i32(30)
		}, "spec.strategy.canary.scaleDownDelaySeconds: can only be used with trafficRouting"},
		{"argo router needs services", func(r *v1alpha1.Rollout) {
			canary(r).TrafficRouting.SMI = []byte(`{"rootService":"web"}`)
			canary(r).CanaryService = ""
		}, "spec.strategy.canary.canaryService: is required"},
		{"experiment specRef", func(r *v1alpha1.Rollout) { canary(r).Steps[7].Experiment.Templates[0].SpecRef = "latest" },
			`spec.strategy.canary.steps[7].experiment.templates[0].specRef: must be one of "stable", "canary", got "latest"`},
		{"trigger action", func(r *v1alpha1.Rollout) { r.Spec.RollbackTriggers[0].Action = "later" },
			`spec.rollbackTriggers[0].action: must be one of "immediate", "staged", "canary", got "later"`},
		{"trigger duration", func(r *v1alpha1.Rollout) { r.Spec.RollbackTriggers[0].For = "2 minutes" },
			`spec.rollbackTriggers[0].for: must be a Go duration such as "30s" or "5m", got "2 minutes"`},
		{"trigger operator", func(r *v1alpha1.Rollout) { r.Spec.RollbackTriggers[0].Operator = "=>" },
			`spec.rollbackTriggers[0].operator: must be one of ">", ">=", "<", "<=", got "=>"`},
		{"trigger metric", func(r *v1alpha1.Rollout) { r.Spec.RollbackTriggers[0].Metric = "" },
			"spec.rollbackTriggers[0].metric: is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOne(t, baseCanary)
			tc.edit(o.Rollout)
			errs := validateOne(o)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("want %q among errors:\n%s", tc.want, strings.Join(errs, "\n"))
			}
		})
	}
}

const baseBlueGreen = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bg
spec:
  replicas: 3
  selector: {matchLabels: {app: bg}}
  template:
    metadata: {labels: {app: bg}}
    spec: {containers: [{name: bg, image: "example/bg:1"}]}
  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 30
      prePromotionAnalysis: {templates: [{templateName: smoke}]}
`

func TestValidateBlueGreenAndRollingRules(t *testing.T) {
	bg := func(r *v1alpha1.Rollout) *v1alpha1.BlueGreenStrategy { return r.Spec.Strategy.BlueGreen }
	tests := []struct {
		name string
		edit func(r *v1alpha1.Rollout)
		want string
	}{
		{"no active service", func(r *v1alpha1.Rollout) { bg(r).ActiveService = "" }, "spec.strategy.blueGreen.activeService: is required"},
		{"same services", func(r *v1alpha1.Rollout) { bg(r).PreviewService = "bg-active" },
			`spec.strategy.blueGreen.previewService: must differ from activeService, got "bg-active"`},
		{"bad service name", func(r *v1alpha1.Rollout) { bg(r).ActiveService = "BG" }, `spec.strategy.blueGreen.activeService: a DNS-1035 label`},
		{"preview replicas", func(r *v1alpha1.Rollout) { bg(r).PreviewReplicaCount = i32(0) },
			"spec.strategy.blueGreen.previewReplicaCount: must be between 1 and 2147483647, got 0"},
		{"scale down delay", func(r *v1alpha1.Rollout) { bg(r).ScaleDownDelaySeconds = i32(-1) },
			"spec.strategy.blueGreen.scaleDownDelaySeconds: must be between 0 and 86400, got -1"},
		{"revision limit", func(r *v1alpha1.Rollout) {
			bg(r).ScaleDownDelayRevisionLimit = i32(5)
			r.Spec.RevisionHistoryLimit = i32(2)
		}, "spec.strategy.blueGreen.scaleDownDelayRevisionLimit: must not exceed revisionHistoryLimit (2), got 5"},
		{"pre-promotion template name", func(r *v1alpha1.Rollout) { bg(r).PrePromotionAnalysis.Templates[0].TemplateName = "" },
			"spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName: is required"},
		{"anti-affinity weight", func(r *v1alpha1.Rollout) {
			bg(r).AntiAffinity = &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 0}}
		}, "spec.strategy.blueGreen.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight: must be between 1 and 100, got 0"},
		{"rolling both zero", func(r *v1alpha1.Rollout) {
			r.Spec.Strategy = v1alpha1.RolloutStrategy{Rolling: &v1alpha1.RollingStrategy{MaxSurge: ptr(intstr.FromInt32(0)), MaxUnavailable: ptr(intstr.FromInt32(0))}}
		}, "spec.strategy.rolling.maxUnavailable: must not be 0 when maxSurge is 0, got 0"},
		{"rolling negative", func(r *v1alpha1.Rollout) {
			r.Spec.Strategy = v1alpha1.RolloutStrategy{Rolling: &v1alpha1.RollingStrategy{MaxSurge: ptr(intstr.FromInt32(-1))}}
		}, "spec.strategy.rolling.maxSurge: must be greater than or equal to 0, got -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOne(t, baseBlueGreen)
			o.APIVersion = v1alpha1.ShipsafeGroupVersion // the rolling strategy is an extension
			tc.edit(o.Rollout)
			errs := validateOne(o)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("want %q among errors:\n%s", tc.want, strings.Join(errs, "\n"))
			}
		})
	}
}

func TestValidateReportsAllErrorsInOnePass(t *testing.T) {
	o := decodeOne(t, baseCanary)
	c := o.Rollout.Spec.Strategy.Canary
	c.Steps[0].SetWeight = i32(150)
	c.Steps[1].Pause.Duration = ptr(intstr.FromString("soon"))
	o.Rollout.Spec.Replicas = i32(-2)
	if errs := validateOne(o); len(errs) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(errs), errs)
	}
}

func ptr[T any](v T) *T { return &v }

// Shipsafe extensions under argoproj.io/v1alpha1 are accepted with a warning naming the
// field (they were refused before: the seed's canary manifest did not validate).
func TestExtensionUnderArgoGroupIsAWarning(t *testing.T) {
	o := decodeOne(t, baseCanary)
	o.APIVersion = v1alpha1.ArgoGroupVersion
	warnings, err := Validate([]Object{*o})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	got := warnings.Error()
	for _, f := range []string{"spec.rollbackTriggers", "spec.strategy.canary.trafficRouting.gateway", "spec.strategy.canary.steps[5].pause.analysis"} {
		if want := f + ": is a shipsafe extension: this argoproj.io/v1alpha1 manifest no longer runs on Argo Rollouts"; !strings.Contains(got, want) {
			t.Errorf("no warning %q in:\n%s", want, got)
		}
	}
}
