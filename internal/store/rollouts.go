package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AnyVersion as an expected resource version skips the optimistic-concurrency check.
const AnyVersion int64 = -1

// Rollout is a stored rollout: its spec and status as JSON (the api/v1alpha1 types
// encoded with encoding/json), with Kubernetes-style versioning.
type Rollout struct {
	Name   string          `json:"name"`
	Spec   json.RawMessage `json:"spec"`
	Status json.RawMessage `json:"status,omitempty"`
	// Generation starts at 1 and increases whenever the spec changes.
	Generation int64 `json:"generation"`
	// ResourceVersion starts at 1 and increases on every write (spec or status); pass
	// it back as expectedVersion to detect concurrent changes.
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// PutRollout creates or updates a rollout's spec (and its status when status is not
// nil). expectedVersion selects the check: 0 creates and fails with ErrConflict if the
// name exists; a positive value updates only if it equals the stored ResourceVersion
// (ErrNotFound if missing, ErrConflict if different); AnyVersion creates or updates
// unconditionally. spec and status may be json.RawMessage, []byte or any value
// encoding/json can marshal. Generation increases only when the spec changes.
func (s *Store) PutRollout(ctx context.Context, name string, spec, status any, expectedVersion int64) (Rollout, error) {
	out, err := s.PutRollouts(ctx, RolloutPut{Name: name, Spec: spec, Status: status, ExpectedVersion: expectedVersion})
	if err != nil {
		return Rollout{}, err
	}
	return out[0], nil
}

// RolloutPut is one write of PutRollouts, with PutRollout's arguments.
type RolloutPut struct {
	Name            string
	Spec, Status    any
	ExpectedVersion int64
}

// PutRollouts applies several PutRollout writes in one transaction: all are stored or none
// (a multi-document apply is never half-applied).
func (s *Store) PutRollouts(ctx context.Context, puts ...RolloutPut) ([]Rollout, error) {
	type encoded struct{ spec, status any }
	enc := make([]encoded, len(puts))
	for i, p := range puts {
		if p.Name == "" {
			return nil, fmt.Errorf("put rollout: name: must not be empty")
		}
		specJSON, err := toJSON(p.Spec)
		if err != nil {
			return nil, fmt.Errorf("put rollout %q: spec: %w", p.Name, err)
		}
		if specJSON == nil || specJSON == "null" {
			return nil, fmt.Errorf("put rollout %q: spec: must not be null", p.Name)
		}
		statusJSON, err := toJSON(p.Status)
		if err != nil {
			return nil, fmt.Errorf("put rollout %q: status: %w", p.Name, err)
		}
		enc[i] = encoded{specJSON, statusJSON}
	}
	out := make([]Rollout, len(puts))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, p := range puts {
			r, err := s.putRolloutTx(ctx, tx, p.Name, enc[i].spec, enc[i].status, p.ExpectedVersion)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) putRolloutTx(ctx context.Context, tx *sql.Tx, name string, specJSON, statusJSON any, expectedVersion int64) (Rollout, error) {
	cur, err := getRollout(ctx, tx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Rollout{}, err
	}
	switch {
	case expectedVersion == 0 && exists:
		return Rollout{}, fmt.Errorf("create rollout %q: %w: it already exists (resourceVersion %d)", name, ErrConflict, cur.ResourceVersion)
	case expectedVersion > 0 && !exists:
		return Rollout{}, fmt.Errorf("update rollout %q: %w", name, ErrNotFound)
	case expectedVersion > 0 && cur.ResourceVersion != expectedVersion:
		return Rollout{}, fmt.Errorf("update rollout %q: %w: resourceVersion is %d, expected %d", name, ErrConflict, cur.ResourceVersion, expectedVersion)
	}
	now := s.now().UnixNano()
	if !exists {
		_, err := tx.ExecContext(ctx, `INSERT INTO rollouts (name, spec, status, generation, resource_version, created_at, updated_at)
VALUES (?, ?, ?, 1, 1, ?, ?)`, name, specJSON, statusJSON, now, now)
		if err != nil {
			return Rollout{}, fmt.Errorf("insert rollout %q: %w", name, err)
		}
	} else {
		gen := cur.Generation
		if string(cur.Spec) != specJSON.(string) {
			gen++
		}
		_, err := tx.ExecContext(ctx, `UPDATE rollouts SET spec = ?, status = COALESCE(?, status), generation = ?,
resource_version = resource_version + 1, updated_at = ? WHERE name = ?`, specJSON, statusJSON, gen, now, name)
		if err != nil {
			return Rollout{}, fmt.Errorf("update rollout %q: %w", name, err)
		}
	}
	return getRollout(ctx, tx, name)
}

// UpdateStatus replaces a rollout's status, leaving spec and generation alone, and
// appends events in the same transaction (so a reconcile's status and its events are
// stored together or not at all). expectedVersion is a ResourceVersion to match, or
// AnyVersion.
func (s *Store) UpdateStatus(ctx context.Context, name string, status any, expectedVersion int64, events ...Event) (Rollout, error) {
	statusJSON, err := toJSON(status)
	if err != nil {
		return Rollout{}, fmt.Errorf("update status of rollout %q: %w", name, err)
	}
	var out Rollout
	err = s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := getRollout(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		if expectedVersion != AnyVersion && cur.ResourceVersion != expectedVersion {
			return fmt.Errorf("update status of rollout %q: %w: resourceVersion is %d, expected %d", name, ErrConflict, cur.ResourceVersion, expectedVersion)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET status = ?, resource_version = resource_version + 1, updated_at = ?
WHERE name = ?`, statusJSON, s.now().UnixNano(), name); err != nil {
			return fmt.Errorf("update status of rollout %q: %w", name, err)
		}
		if _, err := s.appendEvents(ctx, tx, events); err != nil {
			return err
		}
		out, err = getRollout(ctx, tx, name)
		return err
	})
	return out, err
}

// DeleteRollout removes a rollout (its events, runs, history and audit stay as records).
// expectedVersion is a ResourceVersion to match, or AnyVersion.
func (s *Store) DeleteRollout(ctx context.Context, name string, expectedVersion int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := getRollout(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if expectedVersion != AnyVersion && cur.ResourceVersion != expectedVersion {
			return fmt.Errorf("delete rollout %q: %w: resourceVersion is %d, expected %d", name, ErrConflict, cur.ResourceVersion, expectedVersion)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rollouts WHERE name = ?`, name); err != nil {
			return fmt.Errorf("delete rollout %q: %w", name, err)
		}
		return nil
	})
}

// GetRollout returns one rollout, or an error wrapping ErrNotFound.
func (s *Store) GetRollout(ctx context.Context, name string) (Rollout, error) {
	return getRollout(ctx, s.db, name)
}

// ListRollouts returns every rollout sorted by name.
func (s *Store) ListRollouts(ctx context.Context) ([]Rollout, error) {
	return queryAll(ctx, s.db, "list rollouts", scanRollout, `SELECT `+rolloutColumns+` FROM rollouts ORDER BY name`)
}

const rolloutColumns = `name, spec, status, generation, resource_version, created_at, updated_at`

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRollout(ctx context.Context, q querier, name string) (Rollout, error) {
	r, err := scanRollout(q.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Rollout{}, fmt.Errorf("rollout %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Rollout{}, fmt.Errorf("get rollout %q: %w", name, err)
	}
	return r, nil
}

func scanRollout(row scanner) (Rollout, error) {
	var r Rollout
	var spec string
	var status sql.NullString
	var created, updated sql.NullInt64
	if err := row.Scan(&r.Name, &spec, &status, &r.Generation, &r.ResourceVersion, &created, &updated); err != nil {
		return Rollout{}, err
	}
	r.Spec = json.RawMessage(spec)
	r.Status = fromJSON(status)
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, nil
}
