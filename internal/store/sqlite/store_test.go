package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/store"
)

// fakeClock is a settable clock for the timestamps the store assigns.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shipsafe.db")
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := OpenWithOptions(context.Background(), path, Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

type spec struct {
	Replicas int    `json:"replicas"`
	Image    string `json:"image"`
}

func TestRolloutVersioningAndOptimisticConcurrency(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	r, err := s.PutRollout(ctx, "det", spec{3, "v1"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Generation != 1 || r.ResourceVersion != 1 || string(r.Spec) != `{"replicas":3,"image":"v1"}` || r.Status != nil {
		t.Fatalf("created %+v", r)
	}
	if _, err := s.PutRollout(ctx, "det", spec{3, "v1"}, nil, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want store.ErrConflict", err)
	}
	// Status-only write: resourceVersion moves, generation does not.
	r, err = s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]any{"phase": "Progressing"}, ExpectedVersion: r.ResourceVersion})
	if err != nil || r.Generation != 1 || r.ResourceVersion != 2 || string(r.Status) != `{"phase":"Progressing"}` {
		t.Fatalf("UpdateStatus: %+v, %v", r, err)
	}
	if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]any{"phase": "stale"}, ExpectedVersion: 1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale status write: %v, want store.ErrConflict", err)
	}
	// The same spec with different whitespace is not a spec change.
	r, err = s.PutRollout(ctx, "det", json.RawMessage(`{ "replicas": 3, "image": "v1" }`), nil, r.ResourceVersion)
	if err != nil || r.Generation != 1 || r.ResourceVersion != 3 || string(r.Status) != `{"phase":"Progressing"}` {
		t.Fatalf("same spec: %+v, %v", r, err)
	}
	r, err = s.PutRollout(ctx, "det", spec{3, "v2"}, nil, r.ResourceVersion)
	if err != nil || r.Generation != 2 || r.ResourceVersion != 4 {
		t.Fatalf("new spec: %+v, %v", r, err)
	}
	if _, err := s.PutRollout(ctx, "det", spec{3, "v3"}, nil, 3); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale spec write: %v, want store.ErrConflict", err)
	}
	if _, err := s.PutRollout(ctx, "nope", spec{}, nil, 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of missing: %v, want store.ErrNotFound", err)
	}
	if _, err := s.PutRollout(ctx, "other", spec{1, "x"}, json.RawMessage(`{"phase":"Healthy"}`), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRollout(ctx, "bad", json.RawMessage(`{"replicas":`), nil, store.AnyVersion); err == nil {
		t.Fatal("invalid JSON spec accepted")
	}
	if _, err := s.PutRollout(ctx, "bad", (*spec)(nil), nil, store.AnyVersion); err == nil || !strings.Contains(err.Error(), "spec: must not be null") {
		t.Fatalf("nil spec: %v", err)
	}
	list, err := s.ListRollouts(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "det" || list[1].Name != "other" || string(list[1].Status) != `{"phase":"Healthy"}` {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if !list[0].UpdatedAt.After(list[0].CreatedAt) {
		t.Fatalf("updatedAt %v not after createdAt %v", list[0].UpdatedAt, list[0].CreatedAt)
	}
	if err := s.DeleteRollout(ctx, "det", 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.DeleteRollout(ctx, "det", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRollout(ctx, "det"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestUpdateStatusStoresEventsAtomically(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	r, err := s.PutRollout(ctx, "det", spec{1, "v1"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := []store.Event{{Rollout: "det", Reason: "StepCompleted", Message: "setWeight 20"}, {Rollout: "det", Type: "Warning", Reason: "AnalysisFailed"}}
	if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]int{"step": 1}, ExpectedVersion: r.ResourceVersion, Events: ev}); err != nil {
		t.Fatal(err)
	}
	// A conflicting write stores neither its status nor its events.
	if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]int{"step": 9}, ExpectedVersion: r.ResourceVersion, Events: []store.Event{{Rollout: "det", Reason: "Lost"}}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	got, err := s.ListEvents(ctx, store.EventQuery{Rollout: "det"})
	if err != nil || len(got) != 2 || got[0].Type != "Normal" || got[1].Reason != "AnalysisFailed" || got[0].Time.IsZero() {
		t.Fatalf("events: %+v, %v", got, err)
	}
	if s, _ := s.GetRollout(ctx, "det"); string(s.Status) != `{"step":1}` {
		t.Fatalf("status %s", s.Status)
	}
}

func TestEventsSinceIDForStreaming(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := range 5 {
		ro := "a"
		if i%2 == 1 {
			ro = "b"
		}
		if _, err := s.AppendEvent(ctx, store.Event{Rollout: ro, Reason: fmt.Sprint("r", i), Data: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListEvents(ctx, store.EventQuery{})
	if err != nil || len(all) != 5 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	after, err := s.ListEvents(ctx, store.EventQuery{SinceID: all[1].ID})
	if err != nil || len(after) != 3 || after[0].ID != all[2].ID {
		t.Fatalf("since %d: %+v", all[1].ID, after)
	}
	onlyA, _ := s.ListEvents(ctx, store.EventQuery{Rollout: "a", Limit: 2})
	if len(onlyA) != 2 || onlyA[0].Reason != "r0" || onlyA[1].Reason != "r2" || string(onlyA[1].Data) != `{"i":2}` {
		t.Fatalf("rollout a, limit 2: %+v", onlyA)
	}
	if last, _ := s.LastEventID(ctx); last != all[4].ID {
		t.Fatalf("last id %d, want %d", last, all[4].ID)
	}
	if _, err := s.AppendEvent(ctx, store.Event{Rollout: "a"}); err == nil {
		t.Fatal("event without reason accepted")
	}
}

func TestAnalysisRunsKeepEveryMeasurement(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	run := store.AnalysisRun{Name: "det-v2-1", Rollout: "det", Revision: "v2", Phase: "Running", StartedAt: time.Unix(100, 0)}
	if err := s.PutAnalysisRun(ctx, run, store.Measurement{Metric: "error-rate", Phase: "Successful", Value: "0.001"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.AddMeasurements(ctx, run.Name, store.Measurement{Metric: "accuracy", Phase: "Successful", Value: fmt.Sprint(0.9 + float64(i)/100)}); err != nil {
			t.Fatal(err)
		}
	}
	run.Phase, run.FinishedAt, run.Status = "Successful", time.Unix(200, 0), json.RawMessage(`{"phase":"Successful"}`)
	if err := s.PutAnalysisRun(ctx, run, store.Measurement{Metric: "accuracy", Phase: "Failed", Value: "0.5", Data: json.RawMessage(`{"n":40}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMeasurements(ctx, "no-such-run", store.Measurement{Metric: "m", Phase: "Successful"}); err == nil {
		t.Fatal("measurement for a missing run accepted (foreign key)")
	}
	got, err := s.GetAnalysisRun(ctx, run.Name)
	if err != nil || got.Phase != "Successful" || !got.FinishedAt.Equal(time.Unix(200, 0)) || string(got.Status) != `{"phase":"Successful"}` {
		t.Fatalf("run: %+v, %v", got, err)
	}
	ms, err := s.ListMeasurements(ctx, run.Name)
	if err != nil || len(ms) != 5 || ms[0].Metric != "error-rate" || ms[4].Phase != "Failed" || string(ms[4].Data) != `{"n":40}` {
		t.Fatalf("measurements: %+v, %v", ms, err)
	}
	if err := s.PutAnalysisRun(ctx, store.AnalysisRun{Name: "other", Rollout: "x", Phase: "Running"}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListAnalysisRuns(ctx, "det")
	if err != nil || len(runs) != 1 || runs[0].Name != run.Name {
		t.Fatalf("runs of det: %+v, %v", runs, err)
	}
	if _, err := s.GetAnalysisRun(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}
}

func TestHistoryAndAudit(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	h, err := s.RecordHistory(ctx, store.HistoryEntry{Rollout: "det", Revision: "v2", ModelDigest: "sha256:aa", Strategy: "canary", StartedAt: time.Unix(10, 0)})
	if err != nil || h.ID == 0 {
		t.Fatalf("insert: %+v, %v", h, err)
	}
	h.EndedAt, h.Outcome, h.RequestsServed, h.Errors, h.Detail = time.Unix(70, 0), "RolledBack", 1234, 56, json.RawMessage(`{"metric":"accuracy"}`)
	if _, err := s.RecordHistory(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordHistory(ctx, store.HistoryEntry{ID: 999, Rollout: "det", Revision: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if _, err := s.RecordHistory(ctx, store.HistoryEntry{Rollout: "det", Revision: "v3", StartedAt: time.Unix(80, 0)}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.ListHistory(ctx, "det", 0)
	if err != nil || len(hist) != 2 || hist[0].Revision != "v3" || hist[1].Outcome != "RolledBack" || hist[1].RequestsServed != 1234 ||
		!hist[1].EndedAt.Equal(time.Unix(70, 0)) || string(hist[1].Detail) != `{"metric":"accuracy"}` {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	for _, e := range []store.AuditEntry{
		{Actor: "alice", Action: "apply", Target: "rollout/det", Revision: "v2", ModelDigest: "sha256:aa"},
		{Actor: "controller", Action: "rollback", Target: "rollout/det", Revision: "v3"},
		{Actor: "alice", Action: "flag.set", Target: "flag/model", Detail: json.RawMessage(`{"variant":"v2"}`)},
	} {
		if _, err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	byAlice, _ := s.ListAudit(ctx, store.AuditQuery{Actor: "alice"})
	onDet, _ := s.ListAudit(ctx, store.AuditQuery{Target: "rollout/det"})
	if len(byAlice) != 2 || len(onDet) != 2 || onDet[1].Action != "rollback" || string(byAlice[1].Detail) != `{"variant":"v2"}` {
		t.Fatalf("audit: alice %+v, det %+v", byAlice, onDet)
	}
	if _, err := s.Audit(ctx, store.AuditEntry{Action: "apply", Target: "x"}); err == nil {
		t.Fatal("audit without actor accepted")
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if _, err := s.PutRollout(ctx, "det", spec{1, "v1"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	// Reopen several times, some concurrently, as restarts and a CLI next to a server would.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s2, err := Open(ctx, path)
			if err == nil {
				err = s2.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(migrations()) {
		t.Fatalf("schema version %d, %v", v, err)
	}
	var rows int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(migrations()) {
		t.Fatalf("%d migration rows, %v", rows, err)
	}
	if r, err := s.GetRollout(ctx, "det"); err != nil || r.Generation != 1 {
		t.Fatalf("data after re-migration: %+v, %v", r, err)
	}
	var mode string
	if err := s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	var sync int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous %d (want 2 = FULL), %v", sync, err)
	}
}

func TestConcurrentWritersLoseNoUpdate(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	// A second handle stands in for a second process on the same file.
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s.PutRollout(ctx, "det", spec{1, "v1"}, map[string]int{"count": 0}, 0); err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		st := s
		if w%2 == 1 {
			st = s2
		}
		wg.Go(func() {
			for i := 0; i < perWriter; {
				// Read-modify-write with optimistic concurrency: retry on conflict.
				cur, err := st.GetRollout(ctx, "det")
				if err != nil {
					errs <- err
					return
				}
				var status struct{ Count int }
				if err := json.Unmarshal(cur.Status, &status); err != nil {
					errs <- err
					return
				}
				_, err = st.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: map[string]int{"count": status.Count + 1}, ExpectedVersion: cur.ResourceVersion,
					Events: []store.Event{{Rollout: "det", Reason: "Inc", Message: fmt.Sprint(w, i)}}})
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				i++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r, err := s.GetRollout(ctx, "det")
	if err != nil || string(r.Status) != fmt.Sprintf(`{"count":%d}`, writers*perWriter) || r.ResourceVersion != 1+writers*perWriter {
		t.Fatalf("after %d increments: %s rv %d, %v", writers*perWriter, r.Status, r.ResourceVersion, err)
	}
	events, _ := s.ListEvents(ctx, store.EventQuery{Rollout: "det"})
	if len(events) != writers*perWriter {
		t.Fatalf("%d events, want %d", len(events), writers*perWriter)
	}
}
