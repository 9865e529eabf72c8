package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/memory"
	"github.com/shipsafe/shipsafe/internal/traffic/none"
)

// readyPlatform makes every desired replica ready at once; onApply runs inside Apply,
// i.e. in the middle of a reconcile pass.
type readyPlatform struct {
	mu      sync.Mutex
	desired map[string]map[string]int
	onApply func()
}

func (p *readyPlatform) Type() string { return "fake" }

func (p *readyPlatform) Apply(_ context.Context, svc string, revs []platform.Revision) error {
	p.mu.Lock()
	m := map[string]int{}
	for _, r := range revs {
		m[r.Name] = r.Replicas
	}
	p.desired[svc] = m
	hook := p.onApply
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (p *readyPlatform) Observe(_ context.Context, svc string) ([]platform.RevisionState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []platform.RevisionState
	for name, n := range p.desired[svc] {
		if n == 0 {
			continue
		}
		st := platform.RevisionState{Name: name, Desired: n, Replicas: n, Ready: n, Available: n}
		for i := range n {
			st.Endpoints = append(st.Endpoints, fmt.Sprintf("127.0.0.1:%d", 20000+i))
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *readyPlatform) Usage(context.Context, string, string) (platform.Usage, error) {
	return platform.Usage{}, nil
}

func testRollout(flag string) string {
	return `apiVersion: shipsafe.dev/v1alpha1
kind: Rollout
metadata:
  name: hist
spec:
  replicas: 2
  selector:
    matchLabels: {app: hist}
  template:
    metadata:
      labels: {app: hist}
    spec:
      containers:
      - name: detector
        image: shipsafe/detector
        command: ["shipsafe", "detector", "serve", "--model", "v1", "--addr", "127.0.0.1:$(PORT)"` + flag + `]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
`
}

// TestInterruptedPassOpensOneHistoryEntry: a pass that opened the history entry of a new
// revision but could not persist its status (a control plane killed there, or a command
// stored concurrently) must not leave a second, never-closed entry behind when the next
// pass runs from the stored status.
func TestInterruptedPassOpensOneHistoryEntry(t *testing.T) {
	ctx := context.Background()
	st := memory.New(nil)
	reg, err := analysis.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := analysis.NewExecutor(analysis.Options{Providers: reg})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	plat := &readyPlatform{desired: map[string]map[string]int{}}
	cp, err := New(Options{Store: st, Platform: plat, Router: none.Router{}, Analysis: exec, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pass := func() error {
		now = now.Add(time.Second)
		_, _, err := cp.reconcile(ctx, "hist", false)
		return err
	}
	// Stored directly, not through Apply: Apply would start a worker, and this test runs
	// the passes itself.
	put := func(manifest string) {
		objs, err := apimanifest.Parse([]byte(manifest))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutRollouts(ctx, []store.RolloutPut{{Name: "hist", Spec: objs[0].Rollout, ExpectedVersion: store.AnyVersion}}); err != nil {
			t.Fatal(err)
		}
	}
	put(testRollout(""))
	for range 5 {
		if err := pass(); err != nil {
			t.Fatal(err)
		}
	}
	put(testRollout(`, "--max-batch", "512"`))
	// The first pass on the new revision loses its status write: something else writes
	// the rollout's status in the middle of it, as a concurrent command does.
	plat.mu.Lock()
	plat.onApply = func() {
		row, err := st.GetRollout(ctx, "hist")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := st.UpdateStatus(ctx, store.StatusWrite{Name: "hist", Status: row.Status, ExpectedVersion: row.ResourceVersion}); err != nil {
			t.Error(err)
		}
	}
	plat.mu.Unlock()
	if err := pass(); err == nil {
		t.Fatal("the interrupted pass persisted its status; the test needs it not to")
	}
	plat.mu.Lock()
	plat.onApply = nil
	plat.mu.Unlock()
	for range 3 {
		if err := pass(); err != nil {
			t.Fatal(err)
		}
	}
	row, err := st.GetRollout(ctx, "hist")
	if err != nil {
		t.Fatal(err)
	}
	l, err := decodeRow(row)
	if err != nil {
		t.Fatal(err)
	}
	current := l.rec.Engine.CurrentPodHash
	hs, err := st.ListHistory(ctx, "hist", 0)
	if err != nil {
		t.Fatal(err)
	}
	var open []store.HistoryEntry
	for _, h := range hs {
		if h.Revision == current {
			open = append(open, h)
		}
	}
	if len(open) != 1 || open[0].ID != l.rec.HistoryID {
		t.Fatalf("revision %s has %d history entries %+v; want exactly the one the status points to (%d)", current, len(open), open, l.rec.HistoryID)
	}
}
