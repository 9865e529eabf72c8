package kubernetes_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"

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
	if err := crds.Install(ctx, dyn); err != nil {
		t.Fatal(err)
	}
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

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}
