package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Step is one turn of a control loop: restore the evaluator from stored (the JSON of a
// State; empty for a new rollout), mark the rollout completed at completedAt (nil while it
// rolls out), poll provider for the run described by info, evaluate, and return the
// rollback to put in the engine's Observation (nil when none) with the state to store.
// A measurement error is returned with a valid result: the other triggers still count.
func Step(ctx context.Context, specs []v1alpha1.RollbackTrigger, opts Options, stored json.RawMessage,
	provider analysis.Provider, info analysis.RunInfo, completedAt *time.Time, now time.Time) (*rollout.RollbackRequest, json.RawMessage, error) {
	var st *State
	if len(stored) > 0 {
		st = &State{}
		if err := json.Unmarshal(stored, st); err != nil {
			return nil, stored, fmt.Errorf("rollback triggers: decode stored state: %w", err)
		}
	}
	e, err := New(specs, opts, st)
	if err != nil {
		return nil, stored, err
	}
	if completedAt != nil {
		e.RolloutCompleted(*completedAt)
	}
	pollErr := e.Poll(ctx, provider, info, now)
	req := e.Evaluate(now)
	out, err := json.Marshal(e.State())
	if err != nil {
		return req, stored, fmt.Errorf("rollback triggers: encode state: %w", err)
	}
	return req, out, pollErr
}
