package embedded

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/dataplane"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/memory"
)

type countWaker struct{ n int }

func (w *countWaker) WakeAll() { w.n++ }

// TestDataplaneOutageIsToldToEveryRollout: a down data plane gives every rollout a
// Warning with the reason, its return a Normal event and a reconcile of every rollout;
// a reason that changes while it is down writes nothing more.
func TestDataplaneOutageIsToldToEveryRollout(t *testing.T) {
	ctx := context.Background()
	st := memory.New(time.Now)
	for _, n := range []string{"a", "b"} {
		if _, err := st.PutRollouts(ctx, []store.RolloutPut{{Name: n, Spec: map[string]any{"replicas": 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	w := &countWaker{}
	d := &dataplaneEvents{store: st, control: w, log: slog.New(slog.DiscardHandler), up: true}
	t0 := time.Unix(100, 0)
	d.changed(ctx, dataplane.Status{Up: false, Reason: "data plane exited (signal: killed); restarting", Since: t0})
	d.changed(ctx, dataplane.Status{Up: false, Reason: "data plane exited (signal: killed); restart failed: boom", Since: t0})
	d.changed(ctx, dataplane.Status{Up: true, PID: 42, Down: 35 * time.Millisecond, Restarts: 1, Since: t0.Add(time.Second)})
	for _, n := range []string{"a", "b"} {
		evs, err := st.ListEvents(ctx, store.EventQuery{Rollout: n})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Type+" "+e.Reason+": "+e.Message)
		}
		if len(got) != 2 || !strings.HasPrefix(got[0], "Warning DataPlaneDown: data plane exited (signal: killed)") ||
			!strings.HasPrefix(got[1], "Normal DataPlaneRestarted: data plane restarted (pid 42) after 35ms") {
			t.Fatalf("rollout %s events %q", n, got)
		}
	}
	if w.n != 1 {
		t.Fatalf("woke every rollout %d times, want once (when it was back)", w.n)
	}
}
