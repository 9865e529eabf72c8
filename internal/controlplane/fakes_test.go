package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/memory"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// fakeClock is the control plane's clock; tests move it by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakePlatform makes desired replicas ready at once (or never, for revisions in stuck), and
// fails when told to.
type fakePlatform struct {
	mu        sync.Mutex
	desired   map[string]map[string]int
	stuck     map[string]bool // revision hashes whose replicas never become ready
	failApply error
	failObs   error
	// unrunnable maps a revision's model (its image tag) to the reason it cannot run.
	unrunnable map[string]string
	applyCalls int
	// onApply runs at the end of Apply, i.e. in the middle of a reconcile pass.
	onApply func()
}

func newFakePlatform() *fakePlatform {
	return &fakePlatform{desired: map[string]map[string]int{}, stuck: map[string]bool{}}
}

func (p *fakePlatform) Type() string { return "fake" }

func (p *fakePlatform) Apply(_ context.Context, svc string, revs []platform.Revision) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applyCalls++
	if p.failApply != nil {
		return p.failApply
	}
	for _, r := range revs {
		if reason, ok := p.unrunnable[r.Template.Spec.Containers[0].Image]; ok {
			return &platform.UnrunnableError{Revision: r.Name, Err: errors.New(reason)}
		}
	}
	m := map[string]int{}
	for _, r := range revs {
		m[r.Name] = r.Replicas
	}
	p.desired[svc] = m
	if hook := p.onApply; hook != nil {
		p.mu.Unlock()
		hook()
		p.mu.Lock()
	}
	return nil
}

func (p *fakePlatform) Observe(_ context.Context, svc string) ([]platform.RevisionState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failObs != nil {
		return nil, p.failObs
	}
	var out []platform.RevisionState
	for i, name := range sortedKeys(p.desired[svc]) {
		n := p.desired[svc][name]
		if n == 0 {
			continue
		}
		st := platform.RevisionState{Name: name, Desired: n, Replicas: n}
		if !p.stuck[name] {
			st.Ready, st.Available = n, n
			for j := range n {
				st.Endpoints = append(st.Endpoints, fmt.Sprintf("127.0.0.1:%d", 20000+100*i+j))
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *fakePlatform) Usage(context.Context, string, string) (platform.Usage, error) {
	return platform.Usage{}, nil
}

func (p *fakePlatform) replicas(svc string) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.desired[svc] {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fakeRouter records the traffic it is given; a push is a SetTraffic whose desired state
// differs from the rollout's last one (what a real router writes to its data plane).
type fakeRouter struct {
	mu        sync.Mutex
	routing   bool
	last      map[traffic.Ref]traffic.Desired
	pushes    int
	removed   []traffic.Ref
	fail      error
	verifyAns bool
	verified  int
}

func newFakeRouter() *fakeRouter {
	return &fakeRouter{routing: true, last: map[traffic.Ref]traffic.Desired{}, verifyAns: true}
}

func (r *fakeRouter) Type() string            { return "fake" }
func (r *fakeRouter) HasTrafficRouting() bool { return r.routing }

func (r *fakeRouter) SetTraffic(_ context.Context, ref traffic.Ref, d traffic.Desired) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if prev, ok := r.last[ref]; !ok || fmt.Sprint(prev) != fmt.Sprint(d) {
		r.pushes++
	}
	r.last[ref] = d
	return nil
}

func (r *fakeRouter) Verify(_ context.Context, _ traffic.Ref, _ traffic.Desired) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verified++
	return r.verifyAns, nil
}

func (r *fakeRouter) Remove(_ context.Context, ref traffic.Ref) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, ref)
	r.removed = append(r.removed, ref)
	return nil
}

func (r *fakeRouter) weights(name string) map[string]int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int32{}
	for _, w := range r.last[traffic.Ref{Rollout: name}].Traffic.Weights {
		out[w.Hash] = w.Weight
	}
	return out
}

func (r *fakeRouter) pushCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pushes
}

// nopWaker: the tests run passes themselves.
type nopWaker struct{}

func (nopWaker) Wake(context.Context, string) {}

// harness is a control plane on fakes, driven pass by pass.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	store  *memory.Store
	plat   *fakePlatform
	router *fakeRouter
	cp     *ControlPlane
	api    *apiservice.Service
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, plat: newFakePlatform(), router: newFakeRouter()}
	h.store = memory.New(h.clock.Now)
	reg, err := analysis.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := analysis.NewExecutor(analysis.Options{Providers: reg})
	if err != nil {
		t.Fatal(err)
	}
	h.cp, err = New(Options{Store: h.store, Platform: h.plat, Router: h.router, Analysis: exec, Now: h.clock.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.api, err = apiservice.New(apiservice.Options{Store: h.store, Waker: nopWaker{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// apply stores a manifest through the API service, as `shipsafe apply` does.
func (h *harness) apply(manifest string) {
	h.t.Helper()
	if _, err := h.api.Apply(h.t.Context(), "test", []byte(manifest)); err != nil {
		h.t.Fatal(err)
	}
}

// pass runs one reconcile of the rollout a second after the last, then checks the stored
// status is its own encoding (one record, nothing lost between the engine and the store).
func (h *harness) pass(name string) error {
	h.clock.Advance(time.Second)
	_, err := h.cp.reconcile(h.t.Context(), name, false)
	if row, gerr := h.store.GetRollout(h.t.Context(), name); gerr == nil && len(row.Status) > 0 {
		_, rec, derr := progress.Decode(row)
		if derr != nil {
			h.t.Fatal(derr)
		}
		again, _ := json.Marshal(progress.Encode(rec, rec.ObservedGeneration()))
		if string(again) != string(row.Status) {
			h.t.Fatalf("the stored status is not a fixed point of decode+encode:\n%s\n%s", row.Status, again)
		}
	}
	return err
}

// passes runs n passes that must all succeed.
func (h *harness) passes(name string, n int) {
	h.t.Helper()
	for i := range n {
		if err := h.pass(name); err != nil {
			h.t.Fatalf("pass %d: %v", i+1, err)
		}
	}
}

// engine returns the stored engine status.
func (h *harness) engine(name string) rollout.Status {
	h.t.Helper()
	l := h.loaded(name)
	return l.rec.Engine
}

func (h *harness) loaded(name string) *loaded {
	h.t.Helper()
	row, err := h.store.GetRollout(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	l, err := decodeRow(row)
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

func (h *harness) command(name, kind string) {
	h.t.Helper()
	if err := h.api.Command(h.t.Context(), "test", name, apiservice.Command{Kind: kind}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) reasons(name string) []string {
	h.t.Helper()
	evs, err := h.store.ListEvents(h.t.Context(), store.EventQuery{Rollout: name})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return out
}

// rolloutYAML is a detector rollout with the given strategy block and model.
func rolloutYAML(name, model, strategy string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: ` + name + `
spec:
  replicas: 2
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: detector
        image: shipsafe/detector:` + model + `
        command: ["shipsafe", "detector", "serve", "--model", "` + model + `"]
  strategy:
` + strategy
}

// parsed checks a manifest parses (fixtures that do not are test bugs).
func parsed(t *testing.T, manifest string) {
	t.Helper()
	if _, err := apimanifest.Parse([]byte(manifest)); err != nil {
		t.Fatalf("fixture does not parse: %v", err)
	}
}

var errInjected = errors.New("injected failure")
