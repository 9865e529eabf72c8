package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one versioned schema change. Versions are applied in order, each once,
// recorded in schema_migrations in the same transaction as the change itself.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is append-only: never edit a released entry, add a new version.
func migrations() []migration {
	return []migration{
		{1, "rollouts", `
CREATE TABLE rollouts (
	name             TEXT PRIMARY KEY,
	spec             TEXT NOT NULL,
	status           TEXT,
	generation       INTEGER NOT NULL,
	resource_version INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);`},
		{2, "events", `
CREATE TABLE events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout  TEXT NOT NULL,
	time     INTEGER NOT NULL,
	type     TEXT NOT NULL,
	reason   TEXT NOT NULL,
	message  TEXT NOT NULL,
	revision TEXT NOT NULL DEFAULT '',
	data     TEXT
);
CREATE INDEX events_by_rollout ON events (rollout, id);`},
		{3, "analysis", `
CREATE TABLE analysis_runs (
	name        TEXT PRIMARY KEY,
	rollout     TEXT NOT NULL,
	revision    TEXT NOT NULL DEFAULT '',
	phase       TEXT NOT NULL,
	spec        TEXT,
	status      TEXT,
	started_at  INTEGER,
	finished_at INTEGER,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX analysis_runs_by_rollout ON analysis_runs (rollout, started_at);
CREATE TABLE measurements (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	run         TEXT NOT NULL REFERENCES analysis_runs (name) ON DELETE CASCADE,
	metric      TEXT NOT NULL,
	phase       TEXT NOT NULL,
	value       TEXT NOT NULL DEFAULT '',
	message     TEXT NOT NULL DEFAULT '',
	started_at  INTEGER,
	finished_at INTEGER,
	data        TEXT
);
CREATE INDEX measurements_by_run ON measurements (run, metric, id);`},
		{4, "history", `
CREATE TABLE history (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout         TEXT NOT NULL,
	revision        TEXT NOT NULL,
	model_digest    TEXT NOT NULL DEFAULT '',
	strategy        TEXT NOT NULL DEFAULT '',
	started_at      INTEGER NOT NULL,
	ended_at        INTEGER,
	outcome         TEXT NOT NULL DEFAULT '',
	requests_served INTEGER NOT NULL DEFAULT 0,
	errors          INTEGER NOT NULL DEFAULT 0,
	detail          TEXT
);
CREATE INDEX history_by_rollout ON history (rollout, started_at);`},
		{5, "audit", `
CREATE TABLE audit (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	time         INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	target       TEXT NOT NULL,
	revision     TEXT NOT NULL DEFAULT '',
	model_digest TEXT NOT NULL DEFAULT '',
	detail       TEXT
);
CREATE INDEX audit_by_target ON audit (target, id);`},
		{6, "event names", `
ALTER TABLE events ADD COLUMN name TEXT;
CREATE UNIQUE INDEX events_by_name ON events (name) WHERE name IS NOT NULL;`},
	}
}

// migrate applies every migration newer than the database's version in one
// transaction; running it again (or from two processes at once) changes nothing.
func (s *Store) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at INTEGER NOT NULL
)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		all := migrations()
		if latest := all[len(all)-1].version; current > latest {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", current, latest)
		}
		for _, m := range all {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, s.now().UnixNano()); err != nil {
				return fmt.Errorf("record migration %d: %w", m.version, err)
			}
		}
		return nil
	})
}

// SchemaVersion returns the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
