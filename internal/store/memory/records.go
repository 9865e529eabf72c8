package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/shipsafe/shipsafe/internal/store"
)

// PutAnalysisRun implements store.AnalysisRuns.
func (s *Store) PutAnalysisRun(_ context.Context, run store.AnalysisRun, newMeasurements ...store.Measurement) error {
	if err := s.begin("PutAnalysisRun"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if run.Name == "" {
		return fmt.Errorf("put analysis run: name: must not be empty")
	}
	run.UpdatedAt = s.now()
	s.runs[run.Name] = run
	for _, m := range newMeasurements {
		s.lastID++
		m.ID, m.Run = s.lastID, run.Name
		s.measures[run.Name] = append(s.measures[run.Name], m)
	}
	s.writes++
	return nil
}

// GetAnalysisRun implements store.AnalysisRuns.
func (s *Store) GetAnalysisRun(_ context.Context, name string) (store.AnalysisRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[name]
	if !ok {
		return store.AnalysisRun{}, fmt.Errorf("analysis run %q: %w", name, store.ErrNotFound)
	}
	return r, nil
}

// ListAnalysisRuns implements store.AnalysisRuns.
func (s *Store) ListAnalysisRuns(_ context.Context, rollout string) ([]store.AnalysisRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.AnalysisRun
	for _, r := range s.runs {
		if r.Rollout == rollout {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// ListMeasurements implements store.AnalysisRuns.
func (s *Store) ListMeasurements(_ context.Context, run string) ([]store.Measurement, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.measures[run]), nil
}

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(_ context.Context, events []store.Event) ([]store.Event, error) {
	if err := s.begin("AppendEvents"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := s.appendLocked(events)
	s.writes++
	return out, nil
}

func (s *Store) appendLocked(events []store.Event) []store.Event {
	var out []store.Event
	for _, e := range events {
		if e.Name != "" && s.names[e.Name] {
			continue
		}
		if e.Name != "" {
			s.names[e.Name] = true
		}
		if e.Type == "" {
			e.Type = "Normal"
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		s.lastID++
		e.ID = s.lastID
		s.events = append(s.events, e)
		out = append(out, e)
	}
	return out
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(_ context.Context, q store.EventQuery) ([]store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Event
	for _, e := range s.events {
		if e.ID > q.SinceID && (q.Rollout == "" || e.Rollout == q.Rollout) {
			out = append(out, e)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out, nil
}

// RecordHistory implements store.History.
func (s *Store) RecordHistory(_ context.Context, h store.HistoryEntry) (store.HistoryEntry, error) {
	if err := s.begin("RecordHistory"); err != nil {
		return store.HistoryEntry{}, err
	}
	defer s.mu.Unlock()
	s.writes++
	if h.ID == 0 {
		if h.StartedAt.IsZero() {
			h.StartedAt = s.now()
		}
		s.lastID++
		h.ID = s.lastID
		s.history = append(s.history, h)
		return h, nil
	}
	for i := range s.history {
		if s.history[i].ID == h.ID {
			s.history[i] = h
			return h, nil
		}
	}
	return store.HistoryEntry{}, fmt.Errorf("history entry %d: %w", h.ID, store.ErrNotFound)
}

// ListHistory implements store.History: newest first.
func (s *Store) ListHistory(_ context.Context, rollout string, limit int) ([]store.HistoryEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.HistoryEntry
	for i := len(s.history) - 1; i >= 0; i-- {
		if s.history[i].Rollout == rollout {
			out = append(out, s.history[i])
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Audit implements store.Audit.
func (s *Store) Audit(_ context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	if err := s.begin("Audit"); err != nil {
		return store.AuditEntry{}, err
	}
	defer s.mu.Unlock()
	if err := s.auditLocked([]store.AuditEntry{e}); err != nil {
		return store.AuditEntry{}, err
	}
	s.writes++
	return s.audit[len(s.audit)-1], nil
}

func checkAudit(e store.AuditEntry) error {
	if e.Actor == "" || e.Action == "" || e.Target == "" {
		return fmt.Errorf("audit: actor, action and target: must not be empty (got %q, %q, %q)", e.Actor, e.Action, e.Target)
	}
	return nil
}

// auditLocked appends entries, all or none.
func (s *Store) auditLocked(entries []store.AuditEntry) error {
	for _, e := range entries {
		if err := checkAudit(e); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		s.lastID++
		e.ID = s.lastID
		s.audit = append(s.audit, e)
	}
	return nil
}

// ListAudit implements store.Audit.
func (s *Store) ListAudit(_ context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.AuditEntry
	for _, e := range s.audit {
		if e.ID > q.SinceID && (q.Target == "" || e.Target == q.Target) && (q.Actor == "" || e.Actor == q.Actor) {
			out = append(out, e)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out, nil
}
