// Package sqlite is the embedded implementation of shipsafe's store (internal/store): one SQLite file (pure-Go driver) in
// WAL mode holding rollouts with their status, analysis runs with every measurement,
// events, deployment history and the audit log. Every write is a transaction that is
// durable when the call returns (synchronous=FULL), so an acknowledged change survives
// kill -9 of the process and a power cut.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/shipsafe/shipsafe/internal/store"
)

// The SQLite store is the embedded runtime's store.Store.
var _ store.Store = (*Store)(nil)

// Store is a handle on the database; safe for concurrent use by many goroutines and by
// several processes on the same file.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Options tune Open; the zero value is the production setting.
type Options struct {
	// Now is the clock for timestamps the store assigns (default time.Now).
	Now func() time.Time
	// BusyTimeout is how long a writer waits for another writer's lock (default 10s).
	BusyTimeout time.Duration
	// Synchronous is the SQLite synchronous level: "FULL" (default: a commit survives
	// kill -9 and power loss) or "NORMAL" (survives kill -9 only; for benchmarks and
	// throwaway data).
	Synchronous string
}

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWithOptions(ctx, path, Options{})
}

// OpenWithOptions is Open with a clock and busy timeout.
func OpenWithOptions(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open store: path: must not be empty")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store: path %q: must not contain '?' or '#'", path)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	switch opts.Synchronous {
	case "":
		opts.Synchronous = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("open store: synchronous: must be FULL or NORMAL, got %q", opts.Synchronous)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store %q: %w", path, err)
		}
	}
	// The database holds specs with their env: readable by its owner only, whatever the
	// directory's mode (SQLite gives the -wal and -shm files the database file's mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	} else {
		_ = f.Close()
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(opts.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	// FULL: in WAL mode, NORMAL would already survive kill -9 (the WAL is in the page
	// cache), but not a power cut or kernel crash; the fsync per commit is cheap at the
	// control plane's write rate (see docs/store.md for the measured cost).
	q.Set("_synchronous", opts.Synchronous)
	q.Set("_foreign_keys", "1")
	// BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock on a
	// read-to-write upgrade (which busy_timeout cannot resolve).
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s := &Store{db: db, path: path, now: opts.Now}
	if err := s.check(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	return s, nil
}

// Capabilities: SQLite commits an apply, and a status with its events and audit entries,
// in one transaction each.
func (s *Store) Capabilities() store.Capabilities {
	return store.Capabilities{AtomicApply: true, AtomicStatus: true}
}

// check refuses a damaged database at start (PRAGMA quick_check), rather than serving
// empty answers from it later.
func (s *Store) check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed (the database is damaged; restore it from a backup or move it aside): %s", strings.Join(problems, "; "))
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// DB exposes the handle for read-only analytics queries; writes belong in this package.
func (s *Store) DB() *sql.DB { return s.db }

// tx runs fn in a write transaction and commits it.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// toJSON encodes v for a JSON column: nil becomes SQL NULL, json.RawMessage and []byte
// are stored as given (after validation), anything else through encoding/json.
func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return compactJSON(x)
	case []byte:
		return compactJSON(x)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
}

// compactJSON validates raw JSON and strips insignificant whitespace, so equal
// documents compare equal byte for byte.
func compactJSON(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return buf.String(), nil
}

// fromJSON turns a nullable JSON column back into a RawMessage (nil for NULL).
func fromJSON(ns sql.NullString) json.RawMessage {
	if !ns.Valid {
		return nil
	}
	return json.RawMessage(ns.String)
}

// Times are stored as Unix nanoseconds (INTEGER) so they sort and compare in SQL.
func toNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// limitOrAll returns a LIMIT value: n when positive, otherwise -1 (no limit in SQLite).
func limitOrAll(n int) int {
	if n > 0 {
		return n
	}
	return -1
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs query and scans every row with scan; what names the operation in errors.
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
