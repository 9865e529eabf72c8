package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/store"
)

// PutRollout creates or updates one rollout (see store.RolloutPut for expectedVersion).
func (s *Store) PutRollout(ctx context.Context, name string, spec, status any, expectedVersion int64) (store.Rollout, error) {
	out, err := s.PutRollouts(ctx, []store.RolloutPut{{Name: name, Spec: spec, Status: status, ExpectedVersion: expectedVersion}})
	if err != nil {
		return store.Rollout{}, err
	}
	return out[0], nil
}

// PutRollouts stores every put and audit entry in one transaction: all or none (a
// multi-document apply is never half-applied, and never applied without its audit).
func (s *Store) PutRollouts(ctx context.Context, puts []store.RolloutPut, audits ...store.AuditEntry) ([]store.Rollout, error) {
	type encoded struct {
		key          string
		spec, status any
	}
	enc := make([]encoded, len(puts))
	for i, p := range puts {
		if p.Name == "" {
			return nil, fmt.Errorf("put rollout: name: must not be empty")
		}
		key, err := store.ObjectKey(p.Kind, p.Name)
		if err != nil {
			return nil, err
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
		enc[i] = encoded{key, specJSON, statusJSON}
	}
	out := make([]store.Rollout, len(puts))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, p := range puts {
			r, err := s.putRolloutTx(ctx, tx, enc[i].key, enc[i].spec, enc[i].status, p.ExpectedVersion)
			if err != nil {
				return err
			}
			r.Name = p.Name
			out[i] = r
		}
		return s.auditTx(ctx, tx, audits)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetTemplate returns a stored analysis template of kind.
func (s *Store) GetTemplate(ctx context.Context, kind, name string) (store.Rollout, error) {
	if kind != store.KindAnalysisTemplate && kind != store.KindClusterAnalysisTemplate {
		return store.Rollout{}, fmt.Errorf("get template %q: kind %q: must be AnalysisTemplate or ClusterAnalysisTemplate", name, kind)
	}
	r, err := getRollout(ctx, s.db, kind+"/"+name)
	if err != nil {
		return store.Rollout{}, err
	}
	r.Name = name
	return r, nil
}

func (s *Store) putRolloutTx(ctx context.Context, tx *sql.Tx, name string, specJSON, statusJSON any, expectedVersion int64) (store.Rollout, error) {
	cur, err := getRollout(ctx, tx, name)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Rollout{}, err
	}
	switch {
	case expectedVersion == 0 && exists:
		return store.Rollout{}, fmt.Errorf("create rollout %q: %w: it already exists (resourceVersion %d)", name, store.ErrConflict, cur.ResourceVersion)
	case expectedVersion > 0 && !exists:
		return store.Rollout{}, fmt.Errorf("update rollout %q: %w", name, store.ErrNotFound)
	case expectedVersion > 0 && cur.ResourceVersion != expectedVersion:
		return store.Rollout{}, fmt.Errorf("update rollout %q: %w: resourceVersion is %d, expected %d", name, store.ErrConflict, cur.ResourceVersion, expectedVersion)
	}
	now := s.now().UnixNano()
	if !exists {
		_, err := tx.ExecContext(ctx, `INSERT INTO rollouts (name, spec, status, generation, resource_version, created_at, updated_at)
VALUES (?, ?, ?, 1, 1, ?, ?)`, name, specJSON, statusJSON, now, now)
		if err != nil {
			return store.Rollout{}, fmt.Errorf("insert rollout %q: %w", name, err)
		}
	} else {
		gen := cur.Generation
		if string(cur.Spec) != specJSON.(string) {
			gen++
		}
		_, err := tx.ExecContext(ctx, `UPDATE rollouts SET spec = ?, status = COALESCE(?, status), generation = ?,
resource_version = resource_version + 1, updated_at = ? WHERE name = ?`, specJSON, statusJSON, gen, now, name)
		if err != nil {
			return store.Rollout{}, fmt.Errorf("update rollout %q: %w", name, err)
		}
	}
	return getRollout(ctx, tx, name)
}

// UpdateStatus replaces a rollout's status, leaving spec and generation alone, and stores
// the write's events and audit entries in the same transaction (so a reconcile's status and
// its events are stored together or not at all).
func (s *Store) UpdateStatus(ctx context.Context, w store.StatusWrite) (store.Rollout, error) {
	name := w.Name
	statusJSON, err := toJSON(w.Status)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("update status of rollout %q: %w", name, err)
	}
	var out store.Rollout
	err = s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := getRollout(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		if w.ExpectedVersion != store.AnyVersion && cur.ResourceVersion != w.ExpectedVersion {
			return fmt.Errorf("update status of rollout %q: %w: resourceVersion is %d, expected %d", name, store.ErrConflict, cur.ResourceVersion, w.ExpectedVersion)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET status = ?, resource_version = resource_version + 1, updated_at = ?
WHERE name = ?`, statusJSON, s.now().UnixNano(), name); err != nil {
			return fmt.Errorf("update status of rollout %q: %w", name, err)
		}
		if _, err := s.appendEvents(ctx, tx, w.Events); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, w.Audits); err != nil {
			return err
		}
		out, err = getRollout(ctx, tx, name)
		return err
	})
	return out, err
}

// DeleteRollout removes a rollout (its events, runs, history and audit stay as records).
// expectedVersion is a ResourceVersion to match, or store.AnyVersion.
func (s *Store) DeleteRollout(ctx context.Context, name string, expectedVersion int64, audits ...store.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := getRollout(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if expectedVersion != store.AnyVersion && cur.ResourceVersion != expectedVersion {
			return fmt.Errorf("delete rollout %q: %w: resourceVersion is %d, expected %d", name, store.ErrConflict, cur.ResourceVersion, expectedVersion)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rollouts WHERE name = ?`, name); err != nil {
			return fmt.Errorf("delete rollout %q: %w", name, err)
		}
		return s.auditTx(ctx, tx, audits)
	})
}

// GetRollout returns one rollout, or an error wrapping store.ErrNotFound.
func (s *Store) GetRollout(ctx context.Context, name string) (store.Rollout, error) {
	return getRollout(ctx, s.db, name)
}

// ListRollouts returns every rollout sorted by name (templates, whose keys hold a '/', are
// not rollouts).
func (s *Store) ListRollouts(ctx context.Context) ([]store.Rollout, error) {
	return queryAll(ctx, s.db, "list rollouts", scanRollout, `SELECT `+rolloutColumns+` FROM rollouts WHERE instr(name, '/') = 0 ORDER BY name`)
}

const rolloutColumns = `name, spec, status, generation, resource_version, created_at, updated_at`

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRollout(ctx context.Context, q querier, name string) (store.Rollout, error) {
	r, err := scanRollout(q.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Rollout{}, fmt.Errorf("rollout %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Rollout{}, fmt.Errorf("get rollout %q: %w", name, err)
	}
	return r, nil
}

func scanRollout(row scanner) (store.Rollout, error) {
	var r store.Rollout
	var spec string
	var status sql.NullString
	var created, updated sql.NullInt64
	if err := row.Scan(&r.Name, &spec, &status, &r.Generation, &r.ResourceVersion, &created, &updated); err != nil {
		return store.Rollout{}, err
	}
	r.Spec = json.RawMessage(spec)
	r.Status = fromJSON(status)
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, nil
}
