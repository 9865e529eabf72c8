package controlplane

import (
	"context"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/triggers"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// evaluateTriggers measures the rollout's rollbackTriggers and returns the rollback the
// engine should carry out (nil when none fires). While a revision rolls out, the canary is
// compared with the stable; after it completes, the triggers stay armed for the watch
// window, comparing the new stable with the one it replaced.
func (cp *ControlPlane) evaluateTriggers(ctx context.Context, l *loaded, now time.Time) *rollout.RollbackRequest {
	specs := l.rollout.Spec.RollbackTriggers
	if len(specs) == 0 || cp.opts.TriggerProvider == nil {
		return nil
	}
	st := l.rec.Engine
	revision, baseline := st.CurrentPodHash, st.StableRS
	var completedAt *time.Time
	if revision == "" || revision == baseline {
		// Completed: watch the new stable against the previous one.
		if len(st.History) == 0 || l.rec.CompletedAt == nil {
			return nil
		}
		baseline = st.History[len(st.History)-1]
		completedAt = l.rec.CompletedAt
	}
	info := analysis.RunInfo{
		Name:      l.row.Name + "-rollback-triggers",
		Namespace: l.rollout.Namespace,
		Labels: map[string]string{
			analysis.LabelService: mainService(l.rollout), analysis.LabelRevision: revision, analysis.LabelStableRevision: baseline,
		},
		StartedAt: now.Add(-10 * time.Minute),
	}
	req, state, err := triggers.Step(ctx, specs, triggers.Options{}, l.rec.Triggers, cp.opts.TriggerProvider, info, completedAt, now)
	if err != nil {
		cp.log.Warn("rollback triggers", "rollout", l.row.Name, "err", err)
	}
	l.rec.Triggers = state
	return req
}
