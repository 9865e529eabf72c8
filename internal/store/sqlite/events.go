package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/store"
)

// AppendEvent stores e (Time defaults to now) and returns it with its ID.
func (s *Store) AppendEvent(ctx context.Context, e store.Event) (store.Event, error) {
	var out []store.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendEvents(ctx, tx, []store.Event{e})
		return err
	})
	if err != nil {
		return store.Event{}, err
	}
	return out[0], nil
}

// AppendEvents stores several events in one transaction, returning them with IDs.
func (s *Store) AppendEvents(ctx context.Context, events []store.Event) ([]store.Event, error) {
	var out []store.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendEvents(ctx, tx, events)
		return err
	})
	return out, err
}

func (s *Store) appendEvents(ctx context.Context, tx *sql.Tx, events []store.Event) ([]store.Event, error) {
	out := make([]store.Event, 0, len(events))
	for i, e := range events {
		if e.Rollout == "" || e.Reason == "" {
			return nil, fmt.Errorf("append event %d: rollout and reason: must not be empty", i)
		}
		if e.Type == "" {
			e.Type = "Normal"
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		data, err := toJSON(e.Data)
		if err != nil {
			return nil, fmt.Errorf("append event %d: data: %w", i, err)
		}
		var name any
		if e.Name != "" {
			name = e.Name
		}
		// OR IGNORE: a named event already stored is the same event written again.
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO events (rollout, time, type, reason, message, revision, data, name)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.Rollout, e.Time.UnixNano(), e.Type, e.Reason, e.Message, e.Revision, data, name)
		if err != nil {
			return nil, fmt.Errorf("append event for rollout %q: %w", e.Rollout, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			continue
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("append event for rollout %q: %w", e.Rollout, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// ListEvents returns the events q selects, oldest first.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	return queryAll(ctx, s.db, "list events", scanEvent, `SELECT id, rollout, time, type, reason, message, revision, data, COALESCE(name, '')
FROM events WHERE id > ? AND (? = '' OR rollout = ?) ORDER BY id LIMIT ?`, q.SinceID, q.Rollout, q.Rollout, limitOrAll(q.Limit))
}

func scanEvent(row scanner) (store.Event, error) {
	var e store.Event
	var t sql.NullInt64
	var data sql.NullString
	if err := row.Scan(&e.ID, &e.Rollout, &t, &e.Type, &e.Reason, &e.Message, &e.Revision, &data, &e.Name); err != nil {
		return store.Event{}, err
	}
	e.Time, e.Data = fromNanos(t), fromJSON(data)
	return e, nil
}

// LastEventID returns the highest event ID (0 when none): a stream that starts "now"
// passes it as SinceID.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last event id: %w", err)
	}
	return id, nil
}
