package apiservice

import (
	"encoding/json"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
)

// Command is a user command on a rollout.
type Command struct {
	Kind     string `json:"kind"` // promote, promote-full, abort, retry, undo, pause, resume
	Revision string `json:"revision,omitempty"`
}

// ApplyResult lists what an apply created or changed.
type ApplyResult struct {
	Applied []string `json:"applied"`
	// Warnings are problems that do not stop the apply, e.g. shipsafe extensions in an
	// argoproj.io/v1alpha1 document.
	Warnings []string `json:"warnings,omitempty"`
}

// Event is one event in the stream.
type Event struct {
	ID      int64     `json:"id"`
	Rollout string    `json:"rollout"`
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}

// RolloutView is what `get` returns: the manifest, the Argo-compatible status and
// shipsafe's own view of revisions, traffic and analysis.
type RolloutView struct {
	Name            string                  `json:"name"`
	Generation      int64                   `json:"generation"`
	Strategy        string                  `json:"strategy"`
	Steps           int                     `json:"steps,omitempty"`
	Status          v1alpha1.RolloutStatus  `json:"status"`
	Revisions       []progress.RevisionView `json:"revisions,omitempty"`
	Analysis        []progress.RunRef       `json:"analysis,omitempty"`
	PendingCommands []rollout.Command       `json:"pendingCommands,omitempty"`
	RollbackCause   string                  `json:"rollbackCause,omitempty"`
	Traffic         rollout.Traffic         `json:"traffic"`
	Spec            json.RawMessage         `json:"spec"`
}

// AnalysisRunView is a stored analysis run with every measurement it took.
type AnalysisRunView struct {
	store.AnalysisRun
	Measurements []store.Measurement `json:"measurements"`
}
