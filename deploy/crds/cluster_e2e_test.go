package crds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/deploy/crds"
	"github.com/shipsafe/shipsafe/internal/k8stest"
)

var env k8stest.Env

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// TestCRDsInstallAndServeExamples loads deploy/crds into a real kube-apiserver (server-side dry
// run first, as `kubectl apply --dry-run=server` would, then for real), waits for each CRD to
// be Established, and creates and reads back every Rollout of examples/: its spec must come back
// unchanged, so the schema prunes none of the fields shipsafe's examples use.
func TestCRDsInstallAndServeExamples(t *testing.T) {
	c := env.Cluster(t)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	objs, err := crds.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		name := obj.GetName()
		if _, err := dyn.Resource(crds.Resource).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("%s: server-side dry run: %v", name, err)
		}
		if _, err := dyn.Resource(crds.Resource).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: create: %v", name, err)
		}
		if err := crds.WaitEstablished(ctx, dyn, name); err != nil {
			t.Fatal(err)
		}
	}

	ns := c.Namespace(t)
	rollouts := v1alpha1.SchemeGroupVersion.WithResource("rollouts")
	files, err := filepath.Glob("../../examples/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(b, []byte("\n---")) {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if u.GetKind() != v1alpha1.KindRollout {
				continue
			}
			// shipsafe.dev/v1alpha1 is an alias in manifests; the cluster serves argoproj.io.
			u.SetAPIVersion(v1alpha1.ArgoGroupVersion)
			u.SetNamespace(ns)
			if _, err := dyn.Resource(rollouts).Namespace(ns).Create(ctx, &u, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s: create rollout %s: %v", file, u.GetName(), err)
			}
			got, err := dyn.Resource(rollouts).Namespace(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: get rollout %s: %v", file, u.GetName(), err)
			}
			for _, lost := range lostFields(normalize(t, got.Object["spec"]), normalize(t, u.Object["spec"]), "spec") {
				t.Errorf("%s: rollout %s: %s was pruned or changed by the API server", file, u.GetName(), lost)
			}
			created++
		}
	}
	if created < 3 {
		t.Errorf("created %d example rollouts, want one per example (at least 3)", created)
	}
}

// lostFields names the values of want that got lacks or holds differently; fields only got has
// (defaults the schema adds, such as a port's protocol) are allowed.
func lostFields(got, want any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path}
		}
		var lost []string
		for k, v := range w {
			lost = append(lost, lostFields(g[k], v, path+"."+k)...)
		}
		return lost
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path}
		}
		var lost []string
		for i := range w {
			lost = append(lost, lostFields(g[i], w[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return lost
	}
	if !reflect.DeepEqual(got, want) {
		return []string{path}
	}
	return nil
}

// normalize gives both sides the same JSON number types before comparing.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
