package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/store"
)

// RecordHistory inserts h when h.ID is 0 (StartedAt defaults to now) and otherwise
// replaces the entry with that ID (store.ErrNotFound if none). It returns the stored entry.
func (s *Store) RecordHistory(ctx context.Context, h store.HistoryEntry) (store.HistoryEntry, error) {
	if h.Rollout == "" || h.Revision == "" {
		return store.HistoryEntry{}, fmt.Errorf("record history: rollout and revision: must not be empty")
	}
	if h.StartedAt.IsZero() {
		h.StartedAt = s.now()
	}
	h.StartedAt = h.StartedAt.UTC()
	if !h.EndedAt.IsZero() {
		h.EndedAt = h.EndedAt.UTC()
	}
	detail, err := toJSON(h.Detail)
	if err != nil {
		return store.HistoryEntry{}, fmt.Errorf("record history of rollout %q: detail: %w", h.Rollout, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if h.ID == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO history (rollout, revision, model_digest, strategy, started_at, ended_at,
outcome, requests_served, errors, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				h.Rollout, h.Revision, h.ModelDigest, h.Strategy, toNanos(h.StartedAt), toNanos(h.EndedAt),
				h.Outcome, h.RequestsServed, h.Errors, detail)
			if err != nil {
				return fmt.Errorf("record history of rollout %q: %w", h.Rollout, err)
			}
			h.ID, err = res.LastInsertId()
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE history SET rollout = ?, revision = ?, model_digest = ?, strategy = ?,
started_at = ?, ended_at = ?, outcome = ?, requests_served = ?, errors = ?, detail = ? WHERE id = ?`,
			h.Rollout, h.Revision, h.ModelDigest, h.Strategy, toNanos(h.StartedAt), toNanos(h.EndedAt),
			h.Outcome, h.RequestsServed, h.Errors, detail, h.ID)
		if err != nil {
			return fmt.Errorf("update history %d: %w", h.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("update history %d: %w", h.ID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return store.HistoryEntry{}, err
	}
	if h.Detail != nil {
		h.Detail = json.RawMessage(detail.(string))
	}
	return h, nil
}

// ListHistory returns the deployments of rollout (all when empty), newest first, at
// most limit (all when 0).
func (s *Store) ListHistory(ctx context.Context, rollout string, limit int) ([]store.HistoryEntry, error) {
	return queryAll(ctx, s.db, "list history", scanHistory, `SELECT id, rollout, revision, model_digest, strategy, started_at,
ended_at, outcome, requests_served, errors, detail FROM history WHERE (? = '' OR rollout = ?)
ORDER BY started_at DESC, id DESC LIMIT ?`, rollout, rollout, limitOrAll(limit))
}

func scanHistory(row scanner) (store.HistoryEntry, error) {
	var h store.HistoryEntry
	var started, ended sql.NullInt64
	var detail sql.NullString
	if err := row.Scan(&h.ID, &h.Rollout, &h.Revision, &h.ModelDigest, &h.Strategy, &started, &ended,
		&h.Outcome, &h.RequestsServed, &h.Errors, &detail); err != nil {
		return store.HistoryEntry{}, err
	}
	h.StartedAt, h.EndedAt, h.Detail = fromNanos(started), fromNanos(ended), fromJSON(detail)
	return h, nil
}
