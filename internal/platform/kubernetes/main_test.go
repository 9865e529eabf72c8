package kubernetes_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipsafe/shipsafe/internal/k8stest"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/platform/kubernetes"
)

// env is the package's test cluster: started by the first test that needs it, stopped after
// the last. Without the binaries its tests skip, except with CI=true where they fail.
var env k8stest.Env

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// fixture is one test's namespace on the shared cluster, with a platform on it whose API
// writes are counted.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	c      *k8stest.Cluster
	ns     string
	client k8s.Interface
	p      *kubernetes.Platform
	writes *atomic.Int64 // requests other than GET (and LIST/WATCH, which are GETs)
	clock  *testClock
}

// newFixture gives t a namespace, a platform with opts (Client, Namespace and Now filled in)
// and a context bounding the whole test.
func newFixture(t *testing.T, timeout time.Duration, opts kubernetes.Options) *fixture {
	t.Helper()
	c := env.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, c: c, ns: c.Namespace(t), writes: &atomic.Int64{}, clock: &testClock{}}
	cfg := rest.CopyConfig(c.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, writes: f.writes}
	}
	client, err := k8s.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	f.client = client
	opts.Client, opts.Namespace = client, f.ns
	if opts.Now == nil {
		opts.Now = f.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	if f.p, err = kubernetes.New(opts); err != nil {
		t.Fatalf("new platform: %v", err)
	}
	return f
}

type countingTransport struct {
	next   http.RoundTripper
	writes *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet {
		c.writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

// testClock is real time plus an offset a test advances, to judge minReadySeconds without
// waiting for it.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}

// revision is a revision of one container serving on port 8080.
func revision(hash string, replicas int) platform.Revision {
	return platform.Revision{
		Name:     hash,
		Replicas: replicas,
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "model"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "server", Image: "example.invalid/model:" + hash,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}}},
		},
	}
}

// apply fails the test when Apply fails.
func (f *fixture) apply(svc string, revs ...platform.Revision) {
	f.t.Helper()
	if err := f.p.Apply(f.ctx, svc, revs); err != nil {
		f.t.Fatalf("apply %v: %v", names(revs), err)
	}
}

func names(revs []platform.Revision) []string {
	out := make([]string, len(revs))
	for i, r := range revs {
		out[i] = fmt.Sprintf("%s:%d", r.Name, r.Replicas)
	}
	return out
}

// waitObserve polls Observe until cond accepts it (returning "" when satisfied, else what is
// missing) or the test's context ends.
func (f *fixture) waitObserve(svc string, cond func([]platform.RevisionState) string) []platform.RevisionState {
	f.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		got, err := f.p.Observe(f.ctx, svc)
		if err != nil {
			f.t.Fatalf("observe: %v", err)
		}
		if last = cond(got); last == "" {
			return got
		}
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("waiting for %s: %v; last: %s; observed %+v", svc, f.ctx.Err(), last, got)
		case <-tick.C:
		}
	}
}

// counts is the condition "revision name has exactly these replicas, all ready and available".
func ready(want map[string]int) func([]platform.RevisionState) string {
	return func(got []platform.RevisionState) string {
		seen := map[string]bool{}
		for _, s := range got {
			seen[s.Name] = true
			n, ok := want[s.Name]
			if !ok {
				return fmt.Sprintf("unexpected revision %s", s.Name)
			}
			if s.Desired != n || s.Replicas != n || s.Ready != n || s.Available != n || len(s.Endpoints) != n || s.Terminating != 0 {
				return fmt.Sprintf("%s: desired %d replicas %d ready %d available %d endpoints %d terminating %d, want %d",
					s.Name, s.Desired, s.Replicas, s.Ready, s.Available, len(s.Endpoints), s.Terminating, n)
			}
		}
		for name := range want {
			if !seen[name] {
				return fmt.Sprintf("revision %s not observed", name)
			}
		}
		return ""
	}
}

func find(states []platform.RevisionState, name string) *platform.RevisionState {
	for i := range states {
		if states[i].Name == name {
			return &states[i]
		}
	}
	return nil
}
