package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/store"
)

// PutAnalysisRun creates or replaces the run named run.Name and appends the given new
// measurements to it, in one transaction.
func (s *Store) PutAnalysisRun(ctx context.Context, run store.AnalysisRun, newMeasurements ...store.Measurement) error {
	if run.Name == "" || run.Rollout == "" || run.Phase == "" {
		return fmt.Errorf("put analysis run %q: name, rollout and phase: must not be empty", run.Name)
	}
	spec, err := toJSON(run.Spec)
	if err != nil {
		return fmt.Errorf("put analysis run %q: spec: %w", run.Name, err)
	}
	status, err := toJSON(run.Status)
	if err != nil {
		return fmt.Errorf("put analysis run %q: status: %w", run.Name, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO analysis_runs (name, rollout, revision, phase, spec, status, started_at, finished_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET rollout = excluded.rollout, revision = excluded.revision, phase = excluded.phase,
	spec = excluded.spec, status = excluded.status, started_at = excluded.started_at,
	finished_at = excluded.finished_at, updated_at = excluded.updated_at`,
			run.Name, run.Rollout, run.Revision, run.Phase, spec, status,
			toNanos(run.StartedAt), toNanos(run.FinishedAt), s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("put analysis run %q: %w", run.Name, err)
		}
		return s.addMeasurements(ctx, tx, run.Name, newMeasurements)
	})
}

// AddMeasurements appends measurements to an existing run.
func (s *Store) AddMeasurements(ctx context.Context, run string, ms ...store.Measurement) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.addMeasurements(ctx, tx, run, ms) })
}

func (s *Store) addMeasurements(ctx context.Context, tx *sql.Tx, run string, ms []store.Measurement) error {
	for i, m := range ms {
		if m.Metric == "" || m.Phase == "" {
			return fmt.Errorf("measurement %d of run %q: metric and phase: must not be empty", i, run)
		}
		data, err := toJSON(m.Data)
		if err != nil {
			return fmt.Errorf("measurement %d of run %q: data: %w", i, run, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO measurements (run, metric, phase, value, message, started_at, finished_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, run, m.Metric, m.Phase, m.Value, m.Message,
			toNanos(m.StartedAt), toNanos(m.FinishedAt), data); err != nil {
			return fmt.Errorf("measurement %d of run %q: %w", i, run, err)
		}
	}
	return nil
}

const analysisRunColumns = `name, rollout, revision, phase, spec, status, started_at, finished_at, updated_at`

// GetAnalysisRun returns one run, or an error wrapping store.ErrNotFound.
func (s *Store) GetAnalysisRun(ctx context.Context, name string) (store.AnalysisRun, error) {
	r, err := scanAnalysisRun(s.db.QueryRowContext(ctx, `SELECT `+analysisRunColumns+` FROM analysis_runs WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AnalysisRun{}, fmt.Errorf("analysis run %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.AnalysisRun{}, fmt.Errorf("get analysis run %q: %w", name, err)
	}
	return r, nil
}

// ListAnalysisRuns returns the runs of rollout (all when empty), oldest first.
func (s *Store) ListAnalysisRuns(ctx context.Context, rollout string) ([]store.AnalysisRun, error) {
	return queryAll(ctx, s.db, "list analysis runs", scanAnalysisRun, `SELECT `+analysisRunColumns+` FROM analysis_runs
WHERE (? = '' OR rollout = ?) ORDER BY COALESCE(started_at, updated_at), name`, rollout, rollout)
}

func scanAnalysisRun(row scanner) (store.AnalysisRun, error) {
	var r store.AnalysisRun
	var spec, status sql.NullString
	var started, finished, updated sql.NullInt64
	if err := row.Scan(&r.Name, &r.Rollout, &r.Revision, &r.Phase, &spec, &status, &started, &finished, &updated); err != nil {
		return store.AnalysisRun{}, err
	}
	r.Spec, r.Status = fromJSON(spec), fromJSON(status)
	r.StartedAt, r.FinishedAt, r.UpdatedAt = fromNanos(started), fromNanos(finished), fromNanos(updated)
	return r, nil
}

// ListMeasurements returns every measurement of run in the order they were added.
func (s *Store) ListMeasurements(ctx context.Context, run string) ([]store.Measurement, error) {
	return queryAll(ctx, s.db, fmt.Sprintf("list measurements of run %q", run), scanMeasurement,
		`SELECT id, run, metric, phase, value, message, started_at, finished_at, data FROM measurements WHERE run = ? ORDER BY id`, run)
}

func scanMeasurement(row scanner) (store.Measurement, error) {
	var m store.Measurement
	var started, finished sql.NullInt64
	var data sql.NullString
	if err := row.Scan(&m.ID, &m.Run, &m.Metric, &m.Phase, &m.Value, &m.Message, &started, &finished, &data); err != nil {
		return store.Measurement{}, err
	}
	m.StartedAt, m.FinishedAt, m.Data = fromNanos(started), fromNanos(finished), fromJSON(data)
	return m, nil
}
