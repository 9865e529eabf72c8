package controlplane

import (
	"testing"

	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/store"
)

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
	h := newHarness(t)
	ctx, st, plat := t.Context(), h.store, h.plat
	pass := func() error { return h.pass("hist") }
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
