package k8stest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Env is one test package's cluster, started on first use and stopped when the package's tests end:
//
//	var env k8stest.Env
//	func TestMain(m *testing.M) { os.Exit(env.Run(m)) }
//	func TestX(t *testing.T) { c := env.Cluster(t); ... }
type Env struct {
	// Options for Start (zero value: defaults).
	Options Options

	once    sync.Once
	cluster *Cluster
	err     error
}

// Run runs the package's tests and then stops the cluster if one was started. A test that
// panics kills the test binary before Run returns; the cluster's processes die with it
// (Pdeathsig), so nothing is left running either way.
func (e *Env) Run(m *testing.M) int {
	code := m.Run()
	if e.cluster != nil {
		e.cluster.Stop()
	}
	return code
}

// Cluster returns the package's cluster, starting it on first call. When the binaries are not
// built it skips the test, except with CI=true where it fails: in CI a missing dependency is a
// broken build, not a reason to pass. Any other start failure fails the test.
func (e *Env) Cluster(t testing.TB) *Cluster {
	t.Helper()
	e.once.Do(func() {
		opts := e.Options
		if opts.Log == nil {
			opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		e.cluster, e.err = Start(context.Background(), opts)
	})
	if e.err != nil {
		if errors.Is(e.err, ErrNoBinaries) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", e.err)
		}
		t.Fatalf("test cluster: %v", e.err)
	}
	if err := e.cluster.Alive(); err != nil {
		t.Fatalf("test cluster: %v", err)
	}
	return e.cluster
}

// Namespace creates a namespace for t, named after it, and deletes it when t ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, name)
	if len(name) > 50 {
		name = name[:50]
	}
	ctx := context.Background()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(name, "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Logf("delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// String names the cluster in logs.
func (c *Cluster) String() string {
	return fmt.Sprintf("k8stest cluster %s (%s)", c.Config.Host, c.Dir)
}
