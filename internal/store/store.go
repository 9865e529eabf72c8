// Package store defines what the control plane persists, by role: rollouts with optimistic
// concurrency, analysis templates, analysis runs with their measurements, events, deployment
// history and the audit log. Implementations live one per folder (SQLite for the embedded
// runtime in store/sqlite, an in-memory one for tests in store/memory); the control plane
// and the API service see only these interfaces.
//
// What an implementation guarantees beyond the method contracts is stated by its
// Capabilities, not assumed: the embedded SQLite store commits a status with its events and
// audit entries in one transaction, a Kubernetes store (status subresource, Events objects)
// cannot, and relies on event names to make a repeated write harmless.
package store

import "context"

// Rollouts stores rollouts (and the templates applied with them) with Kubernetes-style
// versioning: every write bumps ResourceVersion, a spec change bumps Generation.
type Rollouts interface {
	// GetRollout returns one rollout, or an error wrapping ErrNotFound.
	GetRollout(ctx context.Context, name string) (Rollout, error)
	// ListRollouts returns every rollout (never a template), sorted by name.
	ListRollouts(ctx context.Context) ([]Rollout, error)
	// PutRollouts stores the puts and audits; with Capabilities().AtomicApply all of them
	// are stored or none.
	PutRollouts(ctx context.Context, puts []RolloutPut, audits ...AuditEntry) ([]Rollout, error)
	// UpdateStatus replaces a rollout's status, leaving spec and generation alone, and
	// stores the write's events and audit entries (atomically with
	// Capabilities().AtomicStatus; otherwise status first, then events by name).
	UpdateStatus(ctx context.Context, w StatusWrite) (Rollout, error)
	// DeleteRollout removes a rollout (its events, runs, history and audit stay). The
	// audits are stored with the delete.
	DeleteRollout(ctx context.Context, name string, expectedVersion int64, audits ...AuditEntry) error
}

// Templates reads the analysis templates stored by PutRollouts.
type Templates interface {
	// GetTemplate returns the stored template of kind (KindAnalysisTemplate or
	// KindClusterAnalysisTemplate), or an error wrapping ErrNotFound.
	GetTemplate(ctx context.Context, kind, name string) (Rollout, error)
}

// AnalysisRuns stores analysis runs and every measurement they took.
type AnalysisRuns interface {
	// PutAnalysisRun creates or replaces the run and appends the new measurements.
	PutAnalysisRun(ctx context.Context, run AnalysisRun, newMeasurements ...Measurement) error
	GetAnalysisRun(ctx context.Context, name string) (AnalysisRun, error)
	// ListAnalysisRuns returns a rollout's runs, oldest first.
	ListAnalysisRuns(ctx context.Context, rollout string) ([]AnalysisRun, error)
	// ListMeasurements returns every measurement of a run, in the order taken.
	ListMeasurements(ctx context.Context, run string) ([]Measurement, error)
}

// Events stores and lists events; IDs increase strictly so a stream resumes after an ID.
type Events interface {
	// AppendEvents stores the events (skipping any whose Name is already stored) and
	// returns the stored ones with their IDs.
	AppendEvents(ctx context.Context, events []Event) ([]Event, error)
	ListEvents(ctx context.Context, q EventQuery) ([]Event, error)
}

// History stores the deployment history.
type History interface {
	// RecordHistory inserts h when h.ID is 0 and otherwise replaces that entry.
	RecordHistory(ctx context.Context, h HistoryEntry) (HistoryEntry, error)
	// ListHistory returns a rollout's entries, newest first, at most limit (all when 0).
	ListHistory(ctx context.Context, rollout string, limit int) ([]HistoryEntry, error)
}

// Audit stores the audit log.
type Audit interface {
	Audit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// Capabilities say which atomicity an implementation gives.
type Capabilities struct {
	// AtomicApply: PutRollouts stores every put and audit entry, or none.
	AtomicApply bool
	// AtomicStatus: UpdateStatus stores the status, its events and its audit entries in
	// one transaction. Without it the status is stored first; events and audits may be
	// lost by a crash right after it (never stored twice: events are named).
	AtomicStatus bool
}

// Store is everything the control plane and the API service persist.
type Store interface {
	Rollouts
	Templates
	AnalysisRuns
	Events
	History
	Audit
	Capabilities() Capabilities
}
