package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one thing that happened to a rollout, in the spirit of a Kubernetes Event.
// IDs increase strictly, so a live stream (SSE) resumes with ListEvents(SinceID).
type Event struct {
	ID       int64     `json:"id"`
	Rollout  string    `json:"rollout"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"` // "Normal" or "Warning"
	Reason   string    `json:"reason"`
	Message  string    `json:"message"`
	Revision string    `json:"revision,omitempty"`
	// Data is optional structured detail (JSON).
	Data json.RawMessage `json:"data,omitempty"`
}

// EventQuery selects events: those of Rollout (all when empty) with ID > SinceID, in ID
// order, at most Limit (all when 0).
type EventQuery struct {
	Rollout string
	SinceID int64
	Limit   int
}

// AppendEvent stores e (Time defaults to now) and returns it with its ID.
func (s *Store) AppendEvent(ctx context.Context, e Event) (Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendEvents(ctx, tx, []Event{e})
		return err
	})
	if err != nil {
		return Event{}, err
	}
	return out[0], nil
}

// AppendEvents stores several events in one transaction, returning them with IDs.
func (s *Store) AppendEvents(ctx context.Context, events []Event) ([]Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendEvents(ctx, tx, events)
		return err
	})
	return out, err
}

func (s *Store) appendEvents(ctx context.Context, tx *sql.Tx, events []Event) ([]Event, error) {
	out := make([]Event, 0, len(events))
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
		res, err := tx.ExecContext(ctx, `INSERT INTO events (rollout, time, type, reason, message, revision, data)
VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Rollout, e.Time.UnixNano(), e.Type, e.Reason, e.Message, e.Revision, data)
		if err != nil {
			return nil, fmt.Errorf("append event for rollout %q: %w", e.Rollout, err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("append event for rollout %q: %w", e.Rollout, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// ListEvents returns the events q selects, oldest first.
func (s *Store) ListEvents(ctx context.Context, q EventQuery) ([]Event, error) {
	return queryAll(ctx, s.db, "list events", scanEvent, `SELECT id, rollout, time, type, reason, message, revision, data
FROM events WHERE id > ? AND (? = '' OR rollout = ?) ORDER BY id LIMIT ?`, q.SinceID, q.Rollout, q.Rollout, limitOrAll(q.Limit))
}

func scanEvent(row scanner) (Event, error) {
	var e Event
	var t sql.NullInt64
	var data sql.NullString
	if err := row.Scan(&e.ID, &e.Rollout, &t, &e.Type, &e.Reason, &e.Message, &e.Revision, &data); err != nil {
		return Event{}, err
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
