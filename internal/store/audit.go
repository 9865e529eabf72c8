package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry records who did what, when, to which target, revision and model digest.
// Targets are "rollout/<name>", "flag/<key>", ... so flag changes share the log.
type AuditEntry struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Actor       string    `json:"actor"`  // token owner, "controller", "cli"
	Action      string    `json:"action"` // apply, promote, abort, retry, undo, pause, resume, rollback, flag.set, ...
	Target      string    `json:"target"`
	Revision    string    `json:"revision,omitempty"`
	ModelDigest string    `json:"modelDigest,omitempty"`
	// Detail is optional structured detail (request body summary, reason).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// AuditQuery selects audit entries: of Target and of Actor (each: all when empty), with
// ID > SinceID, oldest first, at most Limit (all when 0).
type AuditQuery struct {
	Target  string
	Actor   string
	SinceID int64
	Limit   int
}

// Audit appends e (Time defaults to now) and returns it with its ID.
func (s *Store) Audit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if e.Actor == "" || e.Action == "" || e.Target == "" {
		return AuditEntry{}, fmt.Errorf("audit: actor, action and target: must not be empty (got %q, %q, %q)", e.Actor, e.Action, e.Target)
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	detail, err := toJSON(e.Detail)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("audit %s %s: detail: %w", e.Action, e.Target, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, revision, model_digest, detail)
VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Time.UnixNano(), e.Actor, e.Action, e.Target, e.Revision, e.ModelDigest, detail)
		if err != nil {
			return fmt.Errorf("audit %s %s: %w", e.Action, e.Target, err)
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return AuditEntry{}, err
	}
	if e.Detail != nil {
		e.Detail = json.RawMessage(detail.(string))
	}
	return e, nil
}

// ListAudit returns the entries q selects, oldest first.
func (s *Store) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	return queryAll(ctx, s.db, "list audit", scanAudit, `SELECT id, time, actor, action, target, revision, model_digest, detail
FROM audit WHERE id > ? AND (? = '' OR target = ?) AND (? = '' OR actor = ?) ORDER BY id LIMIT ?`,
		q.SinceID, q.Target, q.Target, q.Actor, q.Actor, limitOrAll(q.Limit))
}

func scanAudit(row scanner) (AuditEntry, error) {
	var e AuditEntry
	var t sql.NullInt64
	var detail sql.NullString
	if err := row.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.Revision, &e.ModelDigest, &detail); err != nil {
		return AuditEntry{}, err
	}
	e.Time, e.Detail = fromNanos(t), fromJSON(detail)
	return e, nil
}
