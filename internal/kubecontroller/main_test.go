package kubecontroller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/deploy/crds"
	"github.com/shipsafe/shipsafe/internal/k8stest"
	"github.com/shipsafe/shipsafe/internal/kubecontroller"
)

// env is the package's test cluster (skipped without the binaries, failed with CI=true).
var env k8stest.Env

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

var (
	rolloutGVR = v1alpha1.SchemeGroupVersion.WithResource("rollouts")
)

// fixture is one test's namespace with the CRDs installed and clients on it.
type fixture struct {
	t   *testing.T
	ctx context.Context
	c   *k8stest.Cluster
	ns  string
	dyn dynamic.Interface
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	c := env.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	f := &fixture{t: t, ctx: ctx, c: c, ns: c.Namespace(t), dyn: dyn}
	if err := crds.Install(ctx, dyn); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitFor polls cond ("" when satisfied, else what is missing) until it holds or the test's
// context ends.
func (f *fixture) waitFor(what string, cond func() string) {
	f.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		last := cond()
		if last == "" {
			return
		}
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("waiting for %s: %v; last: %s", what, f.ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// canaryRollout is a canary without traffic routing (traffic follows replicas): 4 replicas,
// 25% then an indefinite pause, then 50% and a 1s pause.
func canaryRollout(name, image string) *unstructured.Unstructured {
	doc := fmt.Sprintf(`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  replicas: 4
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: server
        image: %[2]s
        ports: [{name: http, containerPort: 8080}]
  strategy:
    canary:
      stableService: %[1]s-stable
      canaryService: %[1]s-canary
      steps:
      - setWeight: 25
      - pause: {}
      - setWeight: 50
      - pause: {duration: 1}
`, name, image)
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		panic(err)
	}
	return &u
}

// createRollout creates the Rollout and its stable and canary Services.
func (f *fixture) createRollout(name, image string) {
	f.t.Helper()
	for _, svc := range []string{name + "-stable", name + "-canary"} {
		_, err := f.c.Client.CoreV1().Services(f.ns).Create(f.ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
		}, metav1.CreateOptions{})
		if err != nil {
			f.t.Fatalf("create service %s: %v", svc, err)
		}
	}
	if _, err := f.dyn.Resource(rolloutGVR).Namespace(f.ns).Create(f.ctx, canaryRollout(name, image), metav1.CreateOptions{}); err != nil {
		f.t.Fatalf("create rollout %s: %v", name, err)
	}
}

// setImage changes spec.template (a new revision).
func (f *fixture) setImage(name, image string) {
	f.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"server","image":%q,"ports":[{"name":"http","containerPort":8080}]}]}}}}`, image)
	if _, err := f.dyn.Resource(rolloutGVR).Namespace(f.ns).Patch(f.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		f.t.Fatalf("patch image of %s: %v", name, err)
	}
}

// promote is exactly what `kubectl argo rollouts promote` sends for a step pause.
func (f *fixture) promote(name string) {
	f.t.Helper()
	if _, err := f.dyn.Resource(rolloutGVR).Namespace(f.ns).Patch(f.ctx, name, types.MergePatchType,
		[]byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{}, "status"); err != nil {
		f.t.Fatalf("promote %s: %v", name, err)
	}
}

func (f *fixture) rollout(name string) *unstructured.Unstructured {
	f.t.Helper()
	u, err := f.dyn.Resource(rolloutGVR).Namespace(f.ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get rollout %s: %v", name, err)
	}
	return u
}

// status is the part of a Rollout's status the tests check, read as Argo's tooling reads it.
type status struct {
	Phase              string           `json:"phase"`
	Message            string           `json:"message"`
	ObservedGeneration string           `json:"observedGeneration"`
	CurrentPodHash     string           `json:"currentPodHash"`
	StableRS           string           `json:"stableRS"`
	CurrentStepIndex   *int             `json:"currentStepIndex"`
	PauseConditions    []map[string]any `json:"pauseConditions"`
	generation         int64
}

func (f *fixture) status(name string) status {
	f.t.Helper()
	u := f.rollout(name)
	var s status
	raw, _, _ := unstructured.NestedMap(u.Object, "status")
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &s); err != nil {
		f.t.Fatalf("decode status of %s: %v", name, err)
	}
	s.generation = u.GetGeneration()
	return s
}

// observed is "" when the status reports the current generation (what the kubectl plugin
// requires before it shows phase and message).
func (s status) observed() string {
	if s.ObservedGeneration != strconv.FormatInt(s.generation, 10) {
		return fmt.Sprintf("observedGeneration %q, generation %d", s.ObservedGeneration, s.generation)
	}
	return ""
}

// replicaSets maps each pod-template hash of the rollout's ReplicaSets to its ReplicaSet.
func (f *fixture) replicaSets(name string) map[string]appsv1.ReplicaSet {
	f.t.Helper()
	list, err := f.c.Client.AppsV1().ReplicaSets(f.ns).List(f.ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatalf("list replicasets: %v", err)
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.Kind == "Rollout" && ref.Name == name {
			out[rs.Labels["rollouts-pod-template-hash"]] = rs
		}
	}
	return out
}

// startController runs a controller on the fixture's namespace until the test ends and
// returns it with a stop function that cancels it and waits for Run to return.
func (f *fixture) startController(identity string, lease time.Duration) (*kubecontroller.Controller, func()) {
	f.t.Helper()
	ctl, err := kubecontroller.New(kubecontroller.Options{
		Config: f.c.Config, Namespace: f.ns, API: "127.0.0.1:0", ProbeAddr: "127.0.0.1:0", Token: "test-token",
		LeaseName: "shipsafe-controller", LeaseDuration: lease, Identity: identity, Tick: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(testWriter{f.t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("ctl", identity),
	})
	if err != nil {
		f.t.Fatalf("new controller: %v", err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				f.t.Errorf("controller %s: %v", identity, err)
			}
		case <-time.After(30 * time.Second):
			f.t.Errorf("controller %s did not stop in 30s", identity)
		}
	}
	f.t.Cleanup(stop)
	f.waitFor("controller "+identity+" serving", func() string {
		if ctl.ProbeAddr() == "" || ctl.APIAddr() == "" {
			return "not listening yet"
		}
		return ""
	})
	return ctl, stop
}

// readyz reads a controller's probe /readyz.
func (f *fixture) readyz(ctl *kubecontroller.Controller) kubecontroller.Readiness {
	f.t.Helper()
	var r kubecontroller.Readiness
	resp, err := http.Get("http://" + ctl.ProbeAddr() + "/readyz")
	if err != nil {
		f.t.Fatalf("readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		f.t.Fatalf("readyz %s: %v", b, err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}
