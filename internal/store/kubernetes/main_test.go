package kubernetes_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/shipsafe/shipsafe/deploy/crds"
	"github.com/shipsafe/shipsafe/internal/k8stest"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
)

// env is the package's test cluster: started by the first test that needs it, stopped after
// the last. Without the binaries its tests skip, except with CI=true where they fail.
var env k8stest.Env

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// fixture is one test's namespace on the shared cluster (with the CRDs installed) and a
// store on it.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	dyn    dynamic.Interface
	client k8s.Interface
	s      *kubernetes.Store
}

func newFixture(t *testing.T, opts kubernetes.Options) *fixture {
	t.Helper()
	c := env.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	client, err := k8s.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	installCRDs(ctx, t, dyn)
	f := &fixture{t: t, ctx: ctx, ns: c.Namespace(t), dyn: dyn, client: client}
	opts.Dynamic, opts.Client, opts.Namespace = dyn, client, f.ns
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	if f.s, err = kubernetes.New(opts); err != nil {
		t.Fatalf("new store: %v", err)
	}
	return f
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs creates deploy/crds (idempotent: tests share the cluster) and waits for each to
// be Established.
func installCRDs(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	names, err := fs.Glob(crds.Files, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := crds.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create crd %s: %v", name, err)
		}
		for established := false; !established; {
			got, err := dyn.Resource(crdResource).Get(ctx, u.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get crd %s: %v", u.GetName(), err)
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
					established = true
				}
			}
			if !established {
				select {
				case <-ctx.Done():
					t.Fatalf("crd %s not Established: %v", u.GetName(), conds)
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}
