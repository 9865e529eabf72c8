package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/store"
)

// Audit appends e (Time defaults to now) and returns it with its ID.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	var out []store.AuditEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendAudits(ctx, tx, []store.AuditEntry{e})
		return err
	})
	if err != nil {
		return store.AuditEntry{}, err
	}
	return out[0], nil
}

// auditTx appends entries inside a caller's transaction: a change and its audit commit
// together or not at all.
func (s *Store) auditTx(ctx context.Context, tx *sql.Tx, entries []store.AuditEntry) error {
	_, err := s.appendAudits(ctx, tx, entries)
	return err
}

func (s *Store) appendAudits(ctx context.Context, tx *sql.Tx, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	out := make([]store.AuditEntry, 0, len(entries))
	for _, e := range entries {
		if e.Actor == "" || e.Action == "" || e.Target == "" {
			return nil, fmt.Errorf("audit: actor, action and target: must not be empty (got %q, %q, %q)", e.Actor, e.Action, e.Target)
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		detail, err := toJSON(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("audit %s %s: detail: %w", e.Action, e.Target, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, revision, model_digest, detail)
VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Time.UnixNano(), e.Actor, e.Action, e.Target, e.Revision, e.ModelDigest, detail)
		if err != nil {
			return nil, fmt.Errorf("audit %s %s: %w", e.Action, e.Target, err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("audit %s %s: %w", e.Action, e.Target, err)
		}
		if e.Detail != nil {
			e.Detail = json.RawMessage(detail.(string))
		}
		out = append(out, e)
	}
	return out, nil
}

// ListAudit returns the entries q selects, oldest first.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return queryAll(ctx, s.db, "list audit", scanAudit, `SELECT id, time, actor, action, target, revision, model_digest, detail
FROM audit WHERE id > ? AND (? = '' OR target = ?) AND (? = '' OR actor = ?) ORDER BY id LIMIT ?`,
		q.SinceID, q.Target, q.Target, q.Actor, q.Actor, limitOrAll(q.Limit))
}

func scanAudit(row scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var t sql.NullInt64
	var detail sql.NullString
	if err := row.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.Revision, &e.ModelDigest, &detail); err != nil {
		return store.AuditEntry{}, err
	}
	e.Time, e.Detail = fromNanos(t), fromJSON(detail)
	return e, nil
}
