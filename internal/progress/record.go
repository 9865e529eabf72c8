// Package progress is the record the control plane keeps in a rollout's stored status and
// the API service reads back: the Argo-compatible status plus what the loop needs to resume
// after a crash. It holds no behaviour beyond decoding, so both sides share one definition.
package progress

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
)

// Record is the control plane's working form of a rollout's progress. Everything the loop
// needs to resume after a crash is here: the engine's status (all progress), the template of
// every revision it may still run, the commands not yet applied, and the analysis runs it
// drives. It is stored once, as the Rollout's status (Encode: Argo's fields plus
// status.shipsafe); the JSON tags below only read data dirs written before that form.
type Record struct {
	// Status is the stored Argo-compatible status the record was read from (for views).
	Status v1alpha1.RolloutStatus `json:"status"`
	// Engine is the engine's own status: the source of truth for progress.
	Engine rollout.Status `json:"engine"`
	// Templates holds the pod template of each revision by hash.
	Templates map[string]corev1.PodTemplateSpec `json:"templates,omitempty"`
	// Commands are user commands waiting to be applied by the engine.
	Commands []rollout.Command `json:"commands,omitempty"`
	// Runs are the analysis runs the engine asked for and that are not yet stopped.
	Runs []RunRef `json:"runs,omitempty"`
	// Traffic is the routing last applied to the data plane.
	Traffic rollout.Traffic `json:"traffic"`
	// Revisions is the last observation of replicas per revision, for `get` and `status`.
	Revisions []RevisionView `json:"revisions,omitempty"`
	// HistoryID is the deployment-history entry of the revision in flight (0 when none).
	HistoryID int64 `json:"historyID,omitempty"`
	// HistoryRevision, HistoryStartedAt and HistoryModel are what HistoryID was opened with,
	// so closing it needs no lookup.
	HistoryRevision  string    `json:"historyRevision,omitempty"`
	HistoryStartedAt time.Time `json:"historyStartedAt,omitzero"`
	HistoryModel     string    `json:"historyModel,omitempty"`
	// RollbackCause says which measurement caused the last automatic rollback.
	RollbackCause string `json:"rollbackCause,omitempty"`
	// Triggers holds the rollback-trigger evaluator's state.
	Triggers json.RawMessage `json:"triggers,omitempty"`
	// CompletedAt is when the last revision became stable (rollback triggers stay armed
	// for a watch window after it).
	CompletedAt *time.Time `json:"completedAt,omitempty"`
}

// RunRef names an analysis run and why it runs.
type RunRef struct {
	Name     string               `json:"name"`
	Kind     rollout.AnalysisKind `json:"kind"`
	Revision string               `json:"revision"`
	Stable   string               `json:"stable"`
	Done     bool                 `json:"done,omitempty"`
	// Phase and Latest are the run's last known phase and each metric's latest value, for
	// `status`.
	Phase  string            `json:"phase,omitempty"`
	Latest map[string]string `json:"latest,omitempty"`
}

// RevisionView is one revision's replicas as last observed.
type RevisionView struct {
	Hash      string `json:"hash"`
	Role      string `json:"role,omitempty"`
	Desired   int    `json:"desired"`
	Replicas  int    `json:"replicas"`
	Ready     int    `json:"ready"`
	Available int    `json:"available"`
	Failed    int    `json:"failed,omitempty"`
	Weight    int32  `json:"weight"`
	Model     string `json:"model,omitempty"`
}

// HasRun reports whether the record drives the named run.
func (r *Record) HasRun(name string) bool {
	for _, ref := range r.Runs {
		if ref.Name == name {
			return true
		}
	}
	return false
}

// Decode reads a stored rollout: its manifest and its record (empty before the first pass).
func Decode(row store.Rollout) (*v1alpha1.Rollout, Record, error) {
	ro := &v1alpha1.Rollout{}
	var rec Record
	if err := json.Unmarshal(row.Spec, ro); err != nil {
		return nil, rec, fmt.Errorf("decode stored rollout %q: %w", row.Name, err)
	}
	if len(row.Status) > 0 && string(row.Status) != "null" {
		var legacy struct {
			Engine json.RawMessage `json:"engine"`
		}
		if err := json.Unmarshal(row.Status, &legacy); err != nil {
			return nil, rec, fmt.Errorf("decode stored status of %q: %w", row.Name, err)
		}
		if legacy.Engine != nil {
			// Written by a version that kept the engine's status beside Argo's.
			if err := json.Unmarshal(row.Status, &rec); err != nil {
				return nil, rec, fmt.Errorf("decode stored status of %q: %w", row.Name, err)
			}
		} else {
			var st v1alpha1.RolloutStatus
			if err := json.Unmarshal(row.Status, &st); err != nil {
				return nil, rec, fmt.Errorf("decode stored status of %q: %w", row.Name, err)
			}
			rec = fromStatus(st)
		}
	}
	if rec.Templates == nil {
		rec.Templates = map[string]corev1.PodTemplateSpec{}
	}
	return ro, rec, nil
}

// ObservedGeneration is the generation the stored status describes (0 before the first pass).
func (r *Record) ObservedGeneration() int64 {
	g, _ := strconv.ParseInt(r.Status.ObservedGeneration, 10, 64)
	return g
}

// Strategy names the rollout's strategy: canary, blueGreen or rolling.
func Strategy(ro *v1alpha1.Rollout) string {
	switch s := ro.Spec.Strategy; {
	case s.Canary != nil:
		return "canary"
	case s.BlueGreen != nil:
		return "blueGreen"
	}
	return "rolling"
}
