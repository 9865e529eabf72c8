package kubernetes_test

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
)

// TestConcurrentWritersLoseNoUpdate: writers doing read-modify-write of the status with the
// version they read (as the control plane and the API service do) conflict, retry, and lose
// no increment — optimistic concurrency on the API server's resourceVersion.
func TestConcurrentWritersLoseNoUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{})
	if _, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: canaryRollout("det", "m:2"), Status: map[string]any{"replicas": 0}}}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 5
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for done := 0; done < each; {
				r, err := f.s.GetRollout(f.ctx, "det")
				if err != nil {
					t.Error(err)
					return
				}
				var st struct {
					Replicas int `json:"replicas"`
				}
				_ = json.Unmarshal(r.Status, &st)
				_, err = f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: map[string]any{"replicas": st.Replicas + 1}, ExpectedVersion: r.ResourceVersion})
				switch {
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				case err != nil:
					t.Error(err)
					return
				default:
					done++
				}
			}
		})
	}
	wg.Wait()
	r, err := f.s.GetRollout(f.ctx, "det")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Status) != `{"replicas":20}` {
		t.Errorf("status %s after %d increments (%d conflicts), want replicas 20", r.Status, writers*each, conflicts.Load())
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// TestStatusWrittenWithoutTheAnnotationRecognisesNothing: a crash between the status write
// and the shipsafe.dev/written annotation (simulated by writing /status directly) leaves an
// annotation that does not describe the status: nothing is recognised, the status stands.
func TestStatusWrittenWithoutTheAnnotationRecognisesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, kubernetes.Options{ArgoCommands: true})
	out, err := f.s.PutRollouts(f.ctx, []store.RolloutPut{{Name: "det", Spec: canaryRollout("det", "m:2")}})
	if err != nil {
		t.Fatal(err)
	}
	rec := pausedRecord(time.Now().UTC().Truncate(time.Second))
	if _, err := f.s.UpdateStatus(f.ctx, store.StatusWrite{Name: "det", Status: progress.Encode(rec, 1), ExpectedVersion: out[0].ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	// shipsafe's next write — the engine aborted and moved on — lands without its annotation.
	rec.Engine.Abort, rec.Engine.AbortMessage, rec.Engine.PauseConditions = true, "analysis failed", nil
	u := f.get("det")
	b, _ := json.Marshal(progress.Encode(rec, 1))
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = st
	if _, err := f.dyn.Resource(rolloutsGVR).Namespace(f.ns).UpdateStatus(f.ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := kubernetes.RecognizeCommands(f.get("det"))
	if err != nil || !got.Stale || len(got.Commands) != 0 {
		t.Fatalf("recognised %+v (%v): want stale, no command (the abort was shipsafe's own)", got.Commands, err)
	}
	row, err := f.s.GetRollout(f.ctx, "det")
	if err != nil {
		t.Fatal(err)
	}
	if _, dec, _ := progress.Decode(row); !dec.Engine.Abort || len(dec.Commands) != 0 {
		t.Errorf("the store must hand back the status as written: abort %v, commands %+v", dec.Engine.Abort, dec.Commands)
	}
}
