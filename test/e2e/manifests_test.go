package e2e

import (
	"fmt"
	"strings"
)

// detectorRollout renders a rollout of the detector with a strategy block and extra serve
// args (a different flag makes a different revision of the same model).
func detectorRollout(name string, replicas int, model, extraArgs, strategy string) string {
	// The gateway serves a traffic-routed canary under its stableService name (/svc/<name>):
	// name it after the rollout so every rollout has its own path.
	strategy = strings.ReplaceAll(strategy, "stableService: s\n", "stableService: "+name+"\n")
	strategy = strings.ReplaceAll(strategy, "canaryService: c\n", "canaryService: "+name+"-canary\n")
	strategy = strings.ReplaceAll(strategy, "activeService: active\n", "activeService: "+name+"\n")
	strategy = strings.ReplaceAll(strategy, "previewService: preview\n", "previewService: "+name+"-preview\n")
	args := ""
	for _, a := range strings.Fields(extraArgs) {
		args += fmt.Sprintf(", %q", a)
	}
	return fmt.Sprintf(`apiVersion: shipsafe.dev/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: detector
        image: shipsafe/detector
        command: ["shipsafe", "detector", "serve", "--model", %[3]q, "--addr", "127.0.0.1:$(PORT)"%[4]s]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /v2/health/ready, port: 8080}
          periodSeconds: 1
        livenessProbe:
          httpGet: {path: /v2/health/live, port: 8080}
          periodSeconds: 1
          failureThreshold: 3
  strategy:
%[5]s
`, name, replicas, model, args, strategy)
}

const canaryStrategy = `    canary:
      stableService: s
      canaryService: c
      trafficRouting:
        plugins: {shipsafe/gateway: {}}
      scaleDownDelaySeconds: 2
      steps:
      - setWeight: 20
      - pause: {duration: 3s}
      - setWeight: 60
      - pause: {duration: 3s}`

const blueGreenStrategy = `    blueGreen:
      activeService: active
      previewService: preview
      autoPromotionSeconds: 3
      scaleDownDelaySeconds: 2`

const rollingStrategy = `    rolling:
      maxSurge: 1
      maxUnavailable: 0`

// shadowCanaryStrategy mirrors all traffic to the canary for 60s under the judge template.
const shadowCanaryStrategy = `    canary:
      stableService: s
      canaryService: c
      trafficRouting:
        plugins: {shipsafe/gateway: {}}
        managedRoutes: [{name: shadow}]
      abortScaleDownDelaySeconds: 0
      analysis:
        templates: [{templateName: judge}]
      steps:
      - setCanaryScale: {replicas: 1}
      - setMirrorRoute: {name: shadow, percentage: 100, match: [{method: {exact: POST}}]}
      - pause: {duration: 60s}`

// judgeTemplate is the sequential McNemar judge on labelled shadow pairs, checked every second.
const judgeTemplate = `apiVersion: shipsafe.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: judge
spec:
  metrics:
  - name: judge-accuracy
    interval: 1s
    failureCondition: result == 1
    failureLimit: 0
    inconclusiveLimit: 100000
    provider:
      builtin:
        metric: judge-accuracy
`
