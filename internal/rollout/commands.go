package rollout

import (
	"fmt"
	"slices"
)

// applyCommands applies each not yet processed command once, in order, and acknowledges it.
// A command that makes no sense in the current state is rejected with a Warning event and
// acknowledged all the same, so it is not retried forever.
func (r *reconciler) applyCommands() {
	for _, c := range r.obs.Commands {
		if c.ID == "" {
			r.event(EventWarning, "CommandRejected", "%s command without an id ignored: ids make commands idempotent", c.Kind)
			continue
		}
		if !r.st.processed(c.ID) {
			if err := r.applyCommand(c); err != nil {
				r.event(EventWarning, "CommandRejected", "%s (%s): %v", c.Kind, c.ID, err)
			} else {
				r.event(EventNormal, "CommandApplied", "%s (%s)", c.Kind, c.ID)
			}
			r.st.markProcessed(c.ID)
		}
		if !slices.Contains(r.acked, c.ID) {
			r.acked = append(r.acked, c.ID)
		}
	}
}

func (r *reconciler) applyCommand(c Command) error {
	switch c.Kind {
	case CommandPause:
		r.st.pauseSince(PauseUserCommand, r.now)
		return nil
	case CommandResume:
		r.st.clearPause(PauseUserCommand)
		r.acceptInconclusive()
		r.resumeFromRollbackCanary()
		r.st.LastProgressAt = ptr(r.now) // paused time does not count against the deadline
		return nil
	case CommandUndo:
		return r.undo(c)
	}
	if !r.st.inFlight() {
		return fmt.Errorf("no update in flight (revision %s is stable)", r.st.StableRS)
	}
	switch c.Kind {
	case CommandPromote:
		return r.promoteOneStep()
	case CommandPromoteFull:
		if r.st.Abort {
			return fmt.Errorf("update of %s was aborted: retry it first", r.st.CurrentPodHash)
		}
		r.st.PromoteFull = true
		r.clearStepPauses()
		r.st.BlueGreen.Promoted = true
		return nil
	case CommandAbort:
		if r.st.Abort {
			return fmt.Errorf("already aborted")
		}
		r.abort("AbortCommand", "aborted by user")
		return nil
	case CommandRetry:
		if !r.st.Abort {
			return fmt.Errorf("update of %s is not aborted", r.st.CurrentPodHash)
		}
		attempt := r.st.Attempt + 1
		r.resetProgress()
		r.st.Attempt = attempt
		r.st.setStepIndex(0)
		r.st.ScaleDowns = slices.DeleteFunc(r.st.ScaleDowns, func(s ScaleDown) bool { return s.Hash == r.st.CurrentPodHash })
		return nil
	}
	return fmt.Errorf("unknown command kind %q (want promote, promote-full, abort, retry, undo, pause or resume)", c.Kind)
}

// promoteOneStep completes the current step (a pause, an analysis, a blocked experiment, or
// a setWeight not yet reached) or, for blue-green, the promotion.
func (r *reconciler) promoteOneStep() error {
	if r.st.Abort {
		return fmt.Errorf("update of %s was aborted: retry it first", r.st.CurrentPodHash)
	}
	r.resumeFromRollbackCanary()
	r.acceptInconclusive()
	switch {
	case r.spec.Canary != nil:
		idx := r.st.stepIndex()
		r.clearStepPauses()
		if int(idx) < len(r.spec.Canary.Steps) {
			r.st.setStepIndex(idx + 1)
			r.st.Canary.CurrentStepAnalysisRunStatus = nil
		}
	case r.spec.BlueGreen != nil:
		r.clearStepPauses()
		if r.st.BlueGreen.Promoted && r.st.BlueGreen.ActiveSelector == r.st.CurrentPodHash {
			r.st.BlueGreen.PostPromotionAnalysisRunStatus = &AnalysisRunStatus{Name: "skipped-by-promote", Status: AnalysisSuccessful}
		}
		r.st.BlueGreen.Promoted = true
	default:
		return fmt.Errorf("the rolling strategy has no steps to promote")
	}
	return nil
}

// acceptInconclusive ends an inconclusive pause: every run of the current revision observed
// Inconclusive now counts as passed, so the next pass goes on (pre-promotion to the switch,
// which still runs post-promotion analysis) instead of pausing again on the same verdict.
func (r *reconciler) acceptInconclusive() {
	if !r.st.hasPause(PauseInconclusive) {
		return
	}
	r.st.clearPause(PauseInconclusive)
	for _, a := range r.obs.Analysis {
		if a.Phase == AnalysisInconclusive && !slices.Contains(r.st.AcceptedInconclusive, a.Name) {
			r.st.AcceptedInconclusive = append(r.st.AcceptedInconclusive, a.Name)
		}
	}
	if n := len(r.st.AcceptedInconclusive); n > maxProcessedCommands { // bounded like command IDs
		r.st.AcceptedInconclusive = slices.Clone(r.st.AcceptedInconclusive[n-maxProcessedCommands:])
	}
}

func (r *reconciler) clearStepPauses() {
	for _, reason := range []string{PauseCanaryStep, PauseBlueGreen, PauseAnalysisCond, PauseInconclusive} {
		r.st.clearPause(reason)
	}
	r.st.ControllerPause = false
}

// undo asks the caller to put an earlier revision's template back into the spec.
func (r *reconciler) undo(c Command) error {
	target := c.Revision
	if target == "" {
		switch {
		case r.st.inFlight():
			target = r.st.StableRS
		case len(r.st.History) > 0:
			target = r.st.History[len(r.st.History)-1]
		default:
			return fmt.Errorf("no previous revision to undo to")
		}
	}
	_, observed := r.revs[target]
	if target != r.st.StableRS && !slices.Contains(r.st.History, target) && !observed {
		return fmt.Errorf("revision %q is not in the history %v", target, append(slices.Clone(r.st.History), r.st.StableRS))
	}
	if target == r.spec.TemplateHash {
		return fmt.Errorf("revision %s is already the spec's revision", target)
	}
	r.st.Undo = &UndoStatus{CommandID: c.ID, From: r.spec.TemplateHash, Target: target}
	return nil
}

// abort stops the update: all traffic back to stable, the new revision scaled down.
func (r *reconciler) abort(reason, msg string) {
	if r.st.Abort || !r.st.inFlight() {
		return
	}
	r.st.Abort, r.st.AbortedAt, r.st.AbortMessage = true, ptr(r.now), msg
	r.st.PauseConditions = slices.DeleteFunc(r.st.PauseConditions, func(p PauseCondition) bool { return p.Reason != PauseUserCommand })
	r.st.ControllerPause, r.st.PromoteFull = false, false
	r.event(EventWarning, reason, "update of %s aborted: %s", r.st.CurrentPodHash, msg)
}
