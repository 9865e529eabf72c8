package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
)

// Commands and results: docs/store.md.

func benchStore(b *testing.B, sync string) *Store {
	b.Helper()
	s, err := OpenWithOptions(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Synchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

type benchStatus struct {
	Phase   string         `json:"phase"`
	Step    int            `json:"step"`
	Weights map[string]int `json:"weights"`
	Message string         `json:"message"`
}

// BenchmarkUpdateStatus is one reconcile's durable write: the status plus one event.
func BenchmarkUpdateStatus(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			s := benchStore(b, sync)
			ctx := context.Background()
			if _, err := s.PutRollout(ctx, "det", map[string]any{"replicas": 3}, nil, 0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				st := benchStatus{Phase: "Progressing", Step: i % 8, Weights: map[string]int{"stable": 80, "canary": 20}, Message: "analysis running"}
				if _, err := s.UpdateStatus(ctx, store.StatusWrite{Name: "det", Status: st, ExpectedVersion: store.AnyVersion, Events: []store.Event{{Rollout: "det", Reason: "Step", Message: fmt.Sprint(i)}}}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkListEventsSince is one SSE poll that finds 10 new events among 10k.
func BenchmarkListEventsSince(b *testing.B) {
	s := benchStore(b, "NORMAL")
	ctx := context.Background()
	batch := make([]store.Event, 0, 1000)
	for i := range 10000 {
		batch = append(batch, store.Event{Rollout: fmt.Sprint("ro", i%10), Reason: "Tick", Message: fmt.Sprint(i)})
		if len(batch) == cap(batch) {
			if _, err := s.AppendEvents(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	last, err := s.LastEventID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ev, err := s.ListEvents(ctx, store.EventQuery{SinceID: last - 10})
		if err != nil || len(ev) != 10 {
			b.Fatalf("%d events, %v", len(ev), err)
		}
	}
}
