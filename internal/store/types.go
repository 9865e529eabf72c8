package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers test with errors.Is; every implementation wraps these.
var (
	// ErrNotFound: no such rollout (or template, analysis run, history entry).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the expected resource version did not match (optimistic concurrency),
	// or a create found the name taken.
	ErrConflict = errors.New("conflict")
)

// AnyVersion as an expected resource version skips the optimistic-concurrency check.
const AnyVersion int64 = -1

// Object kinds a RolloutPut stores. Templates live beside rollouts so one apply can store
// both at once, but ListRollouts returns rollouts only.
const (
	KindRollout                 = "Rollout"
	KindAnalysisTemplate        = "AnalysisTemplate"
	KindClusterAnalysisTemplate = "ClusterAnalysisTemplate"
)

// AnalysisRun is the stored record of one analysis execution. Spec and Status hold the
// api/v1alpha1 AnalysisRun spec and status as JSON; every measurement is kept as its own
// row (see Measurement), so the record is complete even when the status trims them.
type AnalysisRun struct {
	Name       string          `json:"name"`
	Rollout    string          `json:"rollout"`
	Revision   string          `json:"revision,omitempty"`
	Phase      string          `json:"phase"`
	Spec       json.RawMessage `json:"spec,omitempty"`
	Status     json.RawMessage `json:"status,omitempty"`
	StartedAt  time.Time       `json:"startedAt,omitzero"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

// Measurement is one measurement of one metric of an analysis run.
type Measurement struct {
	ID         int64     `json:"id"`
	Run        string    `json:"run"`
	Metric     string    `json:"metric"`
	Phase      string    `json:"phase"` // Successful, Failed, Inconclusive, Error
	Value      string    `json:"value,omitempty"`
	Message    string    `json:"message,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Data is optional structured detail (e.g. the judge's statistics).
	Data json.RawMessage `json:"data,omitempty"`
}

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

// Event is one thing that happened to a rollout, in the spirit of a Kubernetes Event.
// IDs increase strictly, so a live stream (SSE) resumes with ListEvents(SinceID).
type Event struct {
	ID int64 `json:"id"`
	// Name, when set, identifies the event: storing an event whose name is already stored
	// changes nothing (as Kubernetes Events deduplicate), so a pass that is repeated after a
	// lost write does not record its events twice. The control plane derives it from the
	// rollout, the resource version the pass started from and the event's position.
	Name     string    `json:"name,omitempty"`
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

// HistoryEntry is one deployment of a revision by a rollout: when it started and ended,
// how it ended, and how much traffic it served meanwhile.
type HistoryEntry struct {
	ID          int64     `json:"id"`
	Rollout     string    `json:"rollout"`
	Revision    string    `json:"revision"`
	ModelDigest string    `json:"modelDigest,omitempty"`
	Strategy    string    `json:"strategy,omitempty"` // canary, blueGreen, rolling
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt,omitzero"`
	// Outcome is empty while in progress, then e.g. Promoted, RolledBack, Aborted, Superseded.
	Outcome        string `json:"outcome,omitempty"`
	RequestsServed int64  `json:"requestsServed"`
	Errors         int64  `json:"errors"`
	// Detail is optional structured detail (e.g. which measurement caused a rollback).
	Detail json.RawMessage `json:"detail,omitempty"`
}

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

// RolloutPut is one write of PutRollouts. Kind is KindRollout (the default),
// KindAnalysisTemplate or KindClusterAnalysisTemplate. Spec and Status may be
// json.RawMessage, []byte or any value encoding/json can marshal; a nil Status leaves the
// stored one. ExpectedVersion selects the check: 0 creates and fails with ErrConflict if
// the name exists; a positive value updates only if it equals the stored ResourceVersion
// (ErrNotFound if missing, ErrConflict if different); AnyVersion creates or updates
// unconditionally. Generation increases only when the spec changes.
type RolloutPut struct {
	Kind            string
	Name            string
	Spec, Status    any
	ExpectedVersion int64
}

// StatusWrite is one UpdateStatus: a rollout's new status, checked against
// ExpectedVersion (or AnyVersion), with the events and audit entries that go with it.
type StatusWrite struct {
	Name            string
	Status          any
	ExpectedVersion int64
	Events          []Event
	Audits          []AuditEntry
}

// ObjectKey is the one name a put is stored under: a rollout's own name, or "Kind/name" for
// a template (rollout names cannot contain '/'), so rollouts and templates share one
// keyspace and one apply can store both.
func ObjectKey(kind, name string) (string, error) {
	switch kind {
	case "", KindRollout:
		if strings.Contains(name, "/") {
			return "", fmt.Errorf("rollout name %q: must not contain '/'", name)
		}
		return name, nil
	case KindAnalysisTemplate, KindClusterAnalysisTemplate:
		return kind + "/" + name, nil
	}
	return "", fmt.Errorf("put %q: kind %q: must be Rollout, AnalysisTemplate or ClusterAnalysisTemplate", name, kind)
}
