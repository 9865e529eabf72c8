// Package apiservice is what shipsafe's API serves, apart from the HTTP layer: apply, get,
// list, delete, commands, events, history and analysis runs, over the store interfaces. It
// returns typed views and domain errors (errors.go) that internal/server maps to HTTP codes.
// It never reconciles: it stores intent and wakes the control loop.
package apiservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/workload"
)

// Waker makes the control loop reconcile a rollout now (after an apply, delete or command).
type Waker interface {
	Wake(ctx context.Context, name string)
}

// Options configure a Service.
type Options struct {
	Store store.Store
	Waker Waker
	// Model names the model a pod template serves, for the audit log (default
	// workload.FromAnnotations).
	Model workload.Identify
	Log   *slog.Logger
}

// Service is the API's backend.
type Service struct {
	st    store.Store
	waker Waker
	model workload.Identify
	log   *slog.Logger
}

// New checks opts and returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Waker == nil {
		return nil, errors.New("apiservice: Store and Waker are required")
	}
	if opts.Model == nil {
		opts.Model = workload.FromAnnotations
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Service{st: opts.Store, waker: opts.Waker, model: opts.Model, log: opts.Log}, nil
}

func (s *Service) wake(ctx context.Context, name string) {
	s.waker.Wake(context.WithoutCancel(ctx), name)
}

// getRow reads a rollout, turning a missing one into a NotFoundError.
func (s *Service) getRow(ctx context.Context, name string) (store.Rollout, error) {
	if name == "" || strings.Contains(name, "/") {
		return store.Rollout{}, &NotFoundError{What: fmt.Sprintf("rollout %q", name)}
	}
	row, err := s.st.GetRollout(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return row, &NotFoundError{What: fmt.Sprintf("rollout %q", name)}
	}
	if err != nil {
		return row, fmt.Errorf("read rollout %q: %w", name, err)
	}
	return row, nil
}

func view(row store.Rollout) (RolloutView, error) {
	ro, rec, err := progress.Decode(row)
	if err != nil {
		return RolloutView{}, err
	}
	v := RolloutView{Name: row.Name, Generation: row.Generation, Strategy: progress.Strategy(ro), Status: rec.Status,
		Revisions: rec.Revisions, Analysis: rec.Runs, PendingCommands: rec.Commands, RollbackCause: rec.RollbackCause, Traffic: rec.Traffic, Spec: row.Spec}
	if c := ro.Spec.Strategy.Canary; c != nil {
		v.Steps = len(c.Steps)
	}
	return v, nil
}

// List returns every rollout's view.
func (s *Service) List(ctx context.Context) ([]RolloutView, error) {
	rows, err := s.st.ListRollouts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	out := make([]RolloutView, 0, len(rows))
	for _, r := range rows {
		v, err := view(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Get returns one rollout's view.
func (s *Service) Get(ctx context.Context, name string) (RolloutView, error) {
	row, err := s.getRow(ctx, name)
	if err != nil {
		return RolloutView{}, err
	}
	return view(row)
}

// Delete removes a rollout with its audit entry; its worker then removes its routes and
// replicas.
func (s *Service) Delete(ctx context.Context, actor, name string) error {
	if _, err := s.getRow(ctx, name); err != nil {
		return err
	}
	audit := store.AuditEntry{Actor: actor, Action: "delete", Target: "rollout/" + name}
	if err := s.st.DeleteRollout(ctx, name, store.AnyVersion, audit); err != nil {
		return fmt.Errorf("delete rollout %q: %w", name, err)
	}
	s.wake(ctx, name)
	return nil
}

// History returns the rollout's deployment history, newest first.
func (s *Service) History(ctx context.Context, name string) ([]store.HistoryEntry, error) {
	if _, err := s.getRow(ctx, name); err != nil {
		return nil, err
	}
	hs, err := s.st.ListHistory(ctx, name, 100)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", name, err)
	}
	if hs == nil {
		hs = []store.HistoryEntry{}
	}
	return hs, nil
}

// AnalysisRuns returns the rollout's analysis runs with every measurement.
func (s *Service) AnalysisRuns(ctx context.Context, name string) ([]AnalysisRunView, error) {
	runs, err := s.st.ListAnalysisRuns(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("analysis runs of %q: %w", name, err)
	}
	out := []AnalysisRunView{}
	for _, r := range runs {
		ms, err := s.st.ListMeasurements(ctx, r.Name)
		if err != nil {
			return nil, fmt.Errorf("measurements of %q: %w", r.Name, err)
		}
		out = append(out, AnalysisRunView{AnalysisRun: r, Measurements: ms})
	}
	return out, nil
}

// Events returns stored events with id > after (of rollout, or all when empty), oldest
// first.
func (s *Service) Events(ctx context.Context, rollout string, after int64, limit int) ([]Event, error) {
	evs, err := s.st.ListEvents(ctx, store.EventQuery{Rollout: rollout, SinceID: after, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, Event{ID: e.ID, Rollout: e.Rollout, Time: e.Time, Type: e.Type, Reason: e.Reason, Message: e.Message})
	}
	return out, nil
}
