package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// trackHistory keeps the deployment history in step with the engine: an entry opens when a
// new revision starts rolling out and closes when it is promoted, rolled back or replaced,
// with the requests it served (from the data plane) and, for rollbacks, the measurement that
// caused it.
func (cp *ControlPlane) trackHistory(ctx context.Context, l *loaded, prev, st rollout.Status, now time.Time) []rollout.Event {
	var events []rollout.Event
	rec := &l.rec
	inFlight := st.CurrentPodHash != "" && st.CurrentPodHash != st.StableRS
	// Close the open entry when its revision is done one way or another.
	if rec.HistoryID != 0 {
		outcome := ""
		switch {
		case st.StableRS == rec.HistoryRevision:
			outcome = "Promoted"
			rec.CompletedAt = &now
		case st.CurrentPodHash != rec.HistoryRevision:
			outcome = "Superseded"
		case st.Abort && !prev.Abort:
			outcome = "RolledBack"
		}
		if outcome != "" {
			h := store.HistoryEntry{ID: rec.HistoryID, Rollout: l.row.Name, Revision: rec.HistoryRevision, ModelDigest: rec.HistoryModel,
				Strategy: progress.Strategy(l.rollout), StartedAt: rec.HistoryStartedAt, EndedAt: now, Outcome: outcome}
			served := cp.served(ctx, mainService(l.rollout), rec.HistoryRevision, h.StartedAt)
			h.RequestsServed, h.Errors = served.Requests, served.Errors
			if outcome == "RolledBack" {
				cause := cp.rollbackCause(ctx, l, st)
				rec.RollbackCause = cause
				h.Detail = mustJSON(map[string]string{"cause": cause, "message": st.AbortMessage})
				events = append(events, rollout.Event{Type: rollout.EventWarning, Reason: "RolledBack",
					Message: fmt.Sprintf("revision %s (%s) rolled back after serving %d requests: %s", rec.HistoryRevision, cp.modelName(l, rec.HistoryRevision), served.Requests, cause)})
				// Audited with the pass's status write, so a lost write does not audit the
				// same rollback twice.
				l.audits = append(l.audits, store.AuditEntry{Actor: "controller", Action: "rollback", Target: "rollout/" + l.row.Name, Revision: rec.HistoryRevision, ModelDigest: cp.modelDigest(l, rec.HistoryRevision), Detail: h.Detail})
			}
			if _, err := cp.opts.Store.RecordHistory(ctx, h); err != nil {
				cp.log.Warn("record history", "err", err)
			}
			rec.HistoryID, rec.HistoryRevision, rec.HistoryStartedAt, rec.HistoryModel = 0, "", time.Time{}, ""
		}
	}
	if inFlight && rec.HistoryID == 0 && !st.Abort && st.CurrentPodHash != prev.CurrentPodHash {
		h, ok := cp.orphanedHistory(ctx, l.row.Name, st.CurrentPodHash)
		if !ok {
			var err error
			h, err = cp.opts.Store.RecordHistory(ctx, store.HistoryEntry{Rollout: l.row.Name, Revision: st.CurrentPodHash, ModelDigest: cp.modelDigest(l, st.CurrentPodHash), Strategy: progress.Strategy(l.rollout), StartedAt: now})
			ok = err == nil
		}
		if ok {
			rec.HistoryID, rec.HistoryRevision, rec.HistoryStartedAt, rec.HistoryModel = h.ID, h.Revision, h.StartedAt, h.ModelDigest
		}
	}
	return events
}

// orphanedHistory finds the entry a pass opened for revision but whose status write was
// lost (the control plane killed before persisting, or a concurrent command won the
// write): the rollout's newest entry, for that revision, still open. Adopting it keeps
// one entry per deployment instead of leaving one open forever.
func (cp *ControlPlane) orphanedHistory(ctx context.Context, rolloutName, revision string) (store.HistoryEntry, bool) {
	hs, err := cp.opts.Store.ListHistory(ctx, rolloutName, 1)
	if err != nil || len(hs) == 0 || hs[0].Revision != revision || hs[0].Outcome != "" {
		return store.HistoryEntry{}, false
	}
	return hs[0], true
}

// served asks the data plane how many requests a revision answered since a time (zero
// when the router cannot count).
func (cp *ControlPlane) served(ctx context.Context, svc, revision string, since time.Time) traffic.Served {
	c, ok := cp.opts.Router.(traffic.Counter)
	if !ok {
		return traffic.Served{}
	}
	s, err := c.Served(ctx, svc, revision, since)
	if err != nil {
		cp.log.Warn("count served requests", "service", svc, "revision", revision, "err", err)
		return traffic.Served{}
	}
	return s
}

// rollbackCause names the failed measurement of the revision's failed analysis run.
func (cp *ControlPlane) rollbackCause(ctx context.Context, l *loaded, st rollout.Status) string {
	for i := len(l.rec.Runs) - 1; i >= 0; i-- {
		ref := l.rec.Runs[i]
		stored, err := cp.opts.Store.GetAnalysisRun(ctx, ref.Name)
		if err != nil || (stored.Phase != "Failed" && stored.Phase != "Error" && stored.Phase != "Inconclusive") {
			continue
		}
		if run, err := decodeRun(stored); err == nil {
			return fmt.Sprintf("analysis run %s %s: %s", ref.Name, stored.Phase, failedMeasurement(run))
		}
	}
	if st.AbortMessage != "" {
		return st.AbortMessage
	}
	return "aborted"
}
