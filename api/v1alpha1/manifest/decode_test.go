package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// minimalRollout is a valid rollout used as the base of decoding tests.
const minimalRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example/web:1
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {duration: 10m}
`

// decodeErrors decodes data and returns the rendered errors (nil when there are none).
func decodeErrors(t *testing.T, data string) ([]Object, []string) {
	t.Helper()
	objs, err := Decode([]byte(data))
	if err == nil {
		return objs, nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Decode error is %T, want ErrorList: %v", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return objs, out
}

func wantErrors(t *testing.T, got []string, want ...string) {
	t.Helper()
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("errors do not contain %q; got:\n%s", w, joined)
		}
	}
	if len(want) == 0 && len(got) > 0 {
		t.Errorf("unexpected errors:\n%s", joined)
	}
}

func TestDecodeValidRollout(t *testing.T) {
	objs, errs := decodeErrors(t, minimalRollout)
	wantErrors(t, errs)
	if len(objs) != 1 || objs[0].Rollout == nil {
		t.Fatalf("got %d objects, want one Rollout", len(objs))
	}
	r := objs[0].Rollout
	if *r.Spec.Replicas != 2 || len(r.Spec.Strategy.Canary.Steps) != 2 || r.Name != "web" {
		t.Fatalf("decoded rollout wrong: %+v", r.Spec)
	}
	d, ok, err := r.Spec.Strategy.Canary.Steps[1].Pause.PauseDuration()
	if err != nil || !ok || d.Minutes() != 10 {
		t.Fatalf("pause duration = %v %v %v, want 10m", d, ok, err)
	}
}

func TestDecodeStrictErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown step field", strings.Replace(minimalRollout, "- setWeight: 20", "- setWeight: 20\n        bogus: 1", 1),
			[]string{"line 20: Rollout/web: spec.strategy.canary.steps[0].bogus: unknown field"}},
		{"case mismatch suggests", strings.Replace(minimalRollout, "setWeight: 20", "setweight: 20", 1),
			[]string{`spec.strategy.canary.steps[0].setweight: unknown field (did you mean "setWeight"?)`}},
		{"unknown container field", strings.Replace(minimalRollout, "image: example/web:1", "image: example/web:1\n        imagePolicy: x", 1),
			[]string{"spec.template.spec.containers[0].imagePolicy: unknown field"}},
		{"type error", strings.Replace(minimalRollout, "replicas: 2", "replicas: two", 1),
			[]string{`line 6: Rollout/web: spec.replicas: must be an integer, got "two"`}},
		{"int32 overflow", strings.Replace(minimalRollout, "replicas: 2", "replicas: 3000000000", 1),
			[]string{"spec.replicas: must fit in a 32-bit integer, got 3000000000"}},
		{"fraction for integer", strings.Replace(minimalRollout, "replicas: 2", "replicas: 2.5", 1),
			[]string{"spec.replicas: must be an integer, got 2.5"}},
		{"string field given a number", strings.Replace(minimalRollout, "image: example/web:1", "image: 12", 1),
			[]string{"spec.template.spec.containers[0].image: must be a string (quote it), got 12"}},
		{"bad quantity", strings.Replace(minimalRollout, "image: example/web:1", "image: x\n        resources: {limits: {cpu: lots}}", 1),
			[]string{"spec.template.spec.containers[0].resources.limits[cpu]: quantities must match"}},
		{"object expected", strings.Replace(minimalRollout, "  selector:\n    matchLabels: {app: web}", "  selector: web", 1),
			[]string{`spec.selector: must be an object, got "web"`}},
		{"list expected", strings.Replace(minimalRollout, "      steps:\n      - setWeight: 20\n      - pause: {duration: 10m}", "      steps: 3", 1),
			[]string{"spec.strategy.canary.steps: must be a list, got 3"}},
		{"duplicate key", strings.Replace(minimalRollout, "  replicas: 2", "  replicas: 2\n  replicas: 3", 1),
			[]string{"line 7: spec.replicas: duplicate field"}},
		{"several errors in one pass", strings.NewReplacer("replicas: 2", "replicas: x", "setWeight: 20", "setWait: 20").Replace(minimalRollout),
			[]string{"spec.replicas: must be an integer", "spec.strategy.canary.steps[0].setWait: unknown field"}},
		{"missing apiVersion", strings.Replace(minimalRollout, "apiVersion: argoproj.io/v1alpha1\n", "", 1),
			[]string{"apiVersion: is required"}},
		{"wrong kind in our group", strings.Replace(minimalRollout, "kind: Rollout", "kind: Rolout", 1),
			[]string{`kind: must be one of "Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", got "Rolout"`}},
		{"typo in our apiVersion", strings.Replace(minimalRollout, "argoproj.io/v1alpha1", "argoproj.io/v1alpa1", 1),
			[]string{`apiVersion: must be one of "argoproj.io/v1alpha1", "shipsafe.dev/v1alpha1", "apps/v1", got "argoproj.io/v1alpa1"`}},
		{"not an object", "- a\n- b\n", []string{"a document must be an object with apiVersion and kind"}},
		{"yaml syntax", "apiVersion: [\n", []string{"not valid YAML or JSON"}},
		{"NaN number", strings.Replace(minimalRollout, "replicas: 2", "replicas: .nan", 1),
			[]string{"spec.replicas: number \".nan\" cannot be represented in JSON"}},
		{"unquoted placeholder", strings.Replace(minimalRollout, "labels: {app: web}\n    spec:", "labels: {app: web}\n      annotations:\n        x: {{args.y}}\n    spec:", 1),
			[]string{"mapping keys must be strings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := decodeErrors(t, tc.doc)
			if len(errs) == 0 {
				t.Fatalf("no errors, want %q", tc.want)
			}
			wantErrors(t, errs, tc.want...)
		})
	}
}

func TestDecodeMultiDocumentAndJSON(t *testing.T) {
	tmpl := `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  metrics:
  - name: m
    provider: {prometheus: {query: up}}
`
	service := "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n"
	data := "# leading comment\n---\n" + minimalRollout + "---\n" + service + "---\n---\n" + tmpl
	objs, skipped, err := DecodeAll([]byte(data), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].Rollout == nil || objs[1].AnalysisTemplate == nil {
		t.Fatalf("got %d objects, want Rollout and AnalysisTemplate", len(objs))
	}
	if objs[1].Index != 2 || objs[1].Line != 30 {
		t.Errorf("template index/line = %d/%d, want 2/30", objs[1].Index, objs[1].Line)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "skipped v1 Service") {
		t.Errorf("skipped = %v, want the Service", skipped)
	}

	jsonDoc := `{"apiVersion":"shipsafe.dev/v1alpha1","kind":"Rollout","metadata":{"name":"j"},
"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},
"spec":{"containers":[{"name":"c","image":"i"}]}},"strategy":{"rolling":{"maxSurge":"50%"}}}}`
	objs, errs := decodeErrors(t, jsonDoc)
	wantErrors(t, errs)
	if len(objs) != 1 || objs[0].Rollout.Spec.Strategy.Rolling.MaxSurge.StrVal != "50%" {
		t.Fatalf("JSON rollout not decoded: %+v", objs)
	}
	_, errs = decodeErrors(t, `{"apiVersion":"shipsafe.dev/v1alpha1","kind":"Rollout","spec":{"replicas":"x"}}`)
	wantErrors(t, errs, `spec.replicas: must be an integer, got "x"`)
}

func TestDecodeEmptyInputs(t *testing.T) {
	for _, in := range []string{"", "   \n", "# only a comment\n", "---\n---\n", "null\n"} {
		_, errs := decodeErrors(t, in)
		wantErrors(t, errs, "the file contains no documents")
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		limits := DefaultLimits()
		limits.MaxBytes = 100
		_, err := DecodeWithLimits([]byte(minimalRollout), limits)
		if err == nil || !strings.Contains(err.Error(), "more than the limit of 100 bytes") {
			t.Fatalf("err = %v, want size limit", err)
		}
	})
	t.Run("alias bomb", func(t *testing.T) {
		// Each level doubles; 40 levels would expand to 2^40 nodes without a budget.
		var b strings.Builder
		b.WriteString("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  annotations:\n    a0: &a0 [x, x]\n")
		for i := 1; i < 40; i++ {
			fmt.Fprintf(&b, "    a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
		}
		_, errs := decodeErrors(t, b.String())
		wantErrors(t, errs, "alias expansion produces more than 100000 nodes")
	})
	t.Run("deep nesting", func(t *testing.T) {
		doc := "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
		_, errs := decodeErrors(t, doc)
		wantErrors(t, errs, "nesting deeper than 100 levels")
	})
	t.Run("many documents", func(t *testing.T) {
		limits := DefaultLimits()
		limits.MaxDocuments = 3
		doc := strings.Repeat("apiVersion: v1\nkind: ConfigMap\n---\n", 5)
		_, _, err := DecodeAll([]byte(doc), limits)
		if err == nil || !strings.Contains(err.Error(), "more than 3 documents") {
			t.Fatalf("err = %v, want document limit", err)
		}
	})
}

// TestDecodeExactlyMaxDocuments: the limit is "more than MaxDocuments"; a file with exactly
// that many documents (the default 10,000 included) is accepted.
func TestDecodeExactlyMaxDocuments(t *testing.T) {
	limits := DefaultLimits()
	doc := strings.Repeat("apiVersion: v1\nkind: ConfigMap\n---\n", limits.MaxDocuments)
	if _, _, err := DecodeAll([]byte(doc), limits); err != nil {
		t.Fatalf("%d documents: %v, want accepted", limits.MaxDocuments, err)
	}
	limits.MaxDocuments = 3
	if _, _, err := DecodeAll([]byte(strings.Repeat("apiVersion: v1\nkind: ConfigMap\n---\n", 3)), limits); err != nil {
		t.Fatalf("3 documents with MaxDocuments 3: %v, want accepted", err)
	}
	_, _, err := DecodeAll([]byte(strings.Repeat("apiVersion: v1\nkind: ConfigMap\n---\n", 4)), limits)
	if err == nil || !strings.Contains(err.Error(), "more than 3 documents") {
		t.Fatalf("4 documents with MaxDocuments 3: err = %v, want document limit", err)
	}
}

func TestDecodeAliasesAndMergeKeys(t *testing.T) {
	doc := `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  labels: &labels {app: web}
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
      - &base {name: web, image: "example/web:1"}
      - <<: *base
        name: sidecar
  strategy:
    canary: {}
`
	objs, errs := decodeErrors(t, doc)
	wantErrors(t, errs)
	cs := objs[0].Rollout.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[1].Name != "sidecar" || cs[1].Image != "example/web:1" {
		t.Fatalf("merge key not applied: %+v", cs)
	}
}

func TestDecodeDeployment(t *testing.T) {
	dep := `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 6
  selector: {matchLabels: {app: d}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 2, maxUnavailable: 1}
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: d, image: x}]}
`
	objs, errs := decodeErrors(t, dep)
	wantErrors(t, errs)
	r := objs[0].Rollout
	if objs[0].ConvertedFrom != ConvertedFromDeployment || r == nil || r.Spec.Strategy.Rolling == nil ||
		r.Spec.Strategy.Rolling.MaxSurge.IntVal != 2 || r.Spec.Strategy.Rolling.MaxUnavailable.IntVal != 1 || *r.Spec.Replicas != 6 {
		t.Fatalf("Deployment not converted to a rolling rollout: %+v", objs[0])
	}
	_, errs = decodeErrors(t, strings.Replace(dep, "type: RollingUpdate\n    rollingUpdate: {maxSurge: 2, maxUnavailable: 1}", "type: Recreate", 1))
	wantErrors(t, errs, `spec.strategy.type: must be one of "RollingUpdate", got "Recreate"`)
	// Other apps/v1 kinds belong to other tools: skipped, not errors.
	_, skipped, err := DecodeAll([]byte(strings.Replace(dep, "kind: Deployment", "kind: StatefulSet", 1)), DefaultLimits())
	if err != nil || len(skipped) != 1 {
		t.Fatalf("StatefulSet: err %v, skipped %v; want it skipped", err, skipped)
	}
}

func TestLineOf(t *testing.T) {
	objs, _ := decodeErrors(t, minimalRollout)
	o := &objs[0]
	for path, want := range map[string]int{
		"spec.replicas":                           6,
		"spec.strategy.canary.steps[1].pause":     20,
		"spec.template.metadata.labels[app]":      11,
		"spec.strategy.canary.steps[7].setWeight": 18, // falls back to the nearest parent
		"": 1,
	} {
		if got := o.LineOf(path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}
