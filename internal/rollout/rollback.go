package rollout

import (
	"cmp"
	"fmt"
	"time"
)

// defaultStagedObserve is the staged rollback's observation window when none is given.
const defaultStagedObserve = 60 * time.Second

// applyRollback carries out the rollback action asked for by a firing trigger. It acts on the
// update in flight; with nothing in flight there is nothing to take back (use undo).
func (r *reconciler) applyRollback() {
	req, rb := r.obs.Rollback, r.st.Rollback
	if rb != nil && rb.Action == RollbackStaged && !rb.Done {
		r.stagedWindow(req, rb)
		return
	}
	if req == nil || !r.st.inFlight() || r.st.Abort || rb != nil {
		return
	}
	msg := fmt.Sprintf("rollback trigger %q fired (%s)", req.Trigger, cmp.Or(req.Reason, "no reason given"))
	nrb := &RollbackStatus{Action: req.Action, Trigger: req.Trigger, Reason: req.Reason, StartedAt: r.now, Done: true}
	switch req.Action {
	case RollbackStaged:
		cur := r.currentWeight()
		nrb.Done, nrb.RestoreWeight, nrb.CutWeight = false, cur, cur/2
		nrb.Until = r.now.Add(cmp.Or(max(req.ObserveFor, 0), defaultStagedObserve))
		r.st.Rollback = nrb
		r.after(nrb.Until.Sub(r.now))
		r.event(EventWarning, "RollbackStaged", "%s: %s cut from %d%% to %d%%, observing for %s", msg, r.st.CurrentPodHash, cur, cur/2, nrb.Until.Sub(r.now))
	case RollbackCanary:
		r.st.Rollback = nrb
		r.st.pauseSince(PauseRollbackCanary, r.now)
		r.event(EventWarning, "RollbackCanary", "%s: canary traffic stopped and canary scaled down; resume to retry the step", msg)
	default:
		if req.Action != RollbackImmediate {
			msg += fmt.Sprintf("; unknown action %q treated as immediate", req.Action)
			nrb.Action = RollbackImmediate
		}
		r.st.Rollback = nrb
		r.abort("RollbackImmediate", msg+": all traffic to stable")
	}
}

// stagedWindow ends a staged rollback's observation: still firing → complete the rollback;
// stopped → restore.
func (r *reconciler) stagedWindow(req *RollbackRequest, rb *RollbackStatus) {
	if !r.st.inFlight() || r.st.Abort {
		r.st.Rollback = nil
		return
	}
	if r.now.Before(rb.Until) {
		r.after(rb.Until.Sub(r.now))
		return
	}
	if req != nil && req.Trigger == rb.Trigger {
		rb.Done = true
		r.abort("RollbackCompleted", fmt.Sprintf("rollback trigger %q still firing after the staged window: rollback completed", rb.Trigger))
		return
	}
	r.st.Rollback = nil
	r.event(EventNormal, "RollbackRestored", "rollback trigger %q stopped firing: %s restored to %d%%", rb.Trigger, r.st.CurrentPodHash, rb.RestoreWeight)
}

// stagedCut returns the new revision's capped weight during a staged rollback window.
func (r *reconciler) stagedCut() (int32, bool) {
	rb := r.st.Rollback
	if rb == nil || rb.Action != RollbackStaged || rb.Done {
		return 0, false
	}
	return rb.CutWeight, true
}

// currentWeight is the new revision's weight as last planned.
func (r *reconciler) currentWeight() int32 {
	for _, w := range r.st.Canary.Weights {
		if w.Hash == r.st.CurrentPodHash {
			return w.Weight
		}
	}
	return 0
}

// resumeFromRollbackCanary ends the pause left by a "canary" rollback action.
func (r *reconciler) resumeFromRollbackCanary() {
	if r.st.hasPause(PauseRollbackCanary) {
		r.st.clearPause(PauseRollbackCanary)
		r.st.Rollback = nil
	}
}
