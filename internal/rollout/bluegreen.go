package rollout

import (
	"time"
)

// blueGreen runs strategy.blueGreen: the new revision comes up behind the preview service
// (previewReplicaCount), pre-promotion analysis runs once it is available, promotion (manual,
// automatic, or after autoPromotionSeconds) scales it to full size and switches the active
// service at once, post-promotion analysis then runs with the old revision still up so a
// failure switches back instantly; the old revision goes away after scaleDownDelaySeconds.
func (r *reconciler) blueGreen() {
	b := r.spec.BlueGreen
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	if !r.st.inFlight() {
		r.st.BlueGreen.ActiveSelector, r.st.BlueGreen.PreviewSelector = stable, ""
		r.steady()
		return
	}
	if r.st.BlueGreen.ActiveSelector == "" {
		r.st.BlueGreen.ActiveSelector = stable
	}
	if r.st.Abort {
		r.blueGreenAborted()
		return
	}
	if r.st.BlueGreen.ActiveSelector == cur {
		r.blueGreenSwitched(b)
		return
	}
	R := r.spec.Replicas
	previewN := R
	if b.PreviewReplicaCount != nil && !r.st.BlueGreen.Promoted && !r.st.PromoteFull {
		previewN = min(*b.PreviewReplicaCount, R)
	}
	r.want(stable, R, RoleActive)
	r.weights[stable] = 100
	r.want(cur, previewN, RolePreview)
	r.preview = cur
	r.st.BlueGreen.PreviewSelector = cur
	c := r.rev(cur)
	if c.Available < previewN {
		return
	}
	if r.st.BlueGreen.PreviewAvailableAt == nil {
		r.st.BlueGreen.PreviewAvailableAt = ptr(r.now)
		r.st.BlueGreen.ScaleUpPreviewCheckPoint = true
		r.event(EventNormal, "PreviewAvailable", "preview %s has %d available replicas", cur, c.Available)
	}
	if !r.prePromotionPassed(b) || r.st.Abort {
		if r.st.Abort {
			r.blueGreenAborted()
		}
		return
	}
	if !r.promotionDecided(b) {
		return
	}
	r.want(cur, R, RolePreview)
	if c.Available < R {
		return
	}
	r.st.BlueGreen.ActiveSelector = cur
	r.st.clearPause(PauseBlueGreen)
	r.st.ControllerPause = false
	r.event(EventNormal, "SwitchedActive", "active service switched from %s to %s", stable, cur)
	r.blueGreenSwitched(b)
}

// prePromotionPassed runs prePromotionAnalysis against the available preview.
func (r *reconciler) prePromotionPassed(b *BlueGreenStrategy) bool {
	if b.PrePromotionAnalysis == nil || r.st.PromoteFull {
		return true
	}
	run := r.wantRun(AnalysisPrePromotion, 0, *b.PrePromotionAnalysis)
	if r.st.BlueGreen.PrePromotionAnalysisRunStatus == nil {
		r.event(EventNormal, "AnalysisRunStarted", "pre-promotion analysis %s started", run.Name)
	}
	r.st.BlueGreen.PrePromotionAnalysisRunStatus = runStatus(run)
	return r.gate(run, "pre-promotion analysis")
}

// promotionDecided applies autoPromotionEnabled / autoPromotionSeconds / promote.
func (r *reconciler) promotionDecided(b *BlueGreenStrategy) bool {
	if r.st.BlueGreen.Promoted || r.st.PromoteFull {
		return true
	}
	if r.userPaused() || r.st.hasPause(PauseInconclusive) {
		return false
	}
	auto := b.AutoPromotionEnabled == nil || *b.AutoPromotionEnabled
	if !auto {
		if !r.st.hasPause(PauseBlueGreen) {
			r.event(EventNormal, "RolloutPaused", "preview %s ready: paused until promoted", r.st.CurrentPodHash)
		}
		r.st.pauseSince(PauseBlueGreen, r.now)
		r.st.ControllerPause = true
		return false
	}
	if b.AutoPromotionSeconds > 0 {
		due := r.st.pauseSince(PauseBlueGreen, r.now).Add(time.Duration(b.AutoPromotionSeconds) * time.Second)
		if r.now.Before(due) {
			r.st.ControllerPause = true
			r.after(due.Sub(r.now))
			return false
		}
	}
	r.st.BlueGreen.Promoted = true
	r.st.clearPause(PauseBlueGreen)
	r.event(EventNormal, "Promoted", "preview %s promoted", r.st.CurrentPodHash)
	return true
}

// blueGreenSwitched is the state after the switch: the new revision is active; the old one
// stays at full scale until post-promotion analysis passes.
func (r *reconciler) blueGreenSwitched(b *BlueGreenStrategy) {
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	R := r.spec.Replicas
	r.want(cur, R, RoleActive)
	r.want(stable, R, RoleStable)
	r.st.BlueGreen.PreviewSelector = cur
	r.weights = map[string]int32{cur: 100}
	if cut, ok := r.stagedCut(); ok {
		r.weights[cur], r.weights[stable] = cut, 100-cut
	}
	if post := b.PostPromotionAnalysis; post != nil && !r.st.PromoteFull {
		prev := r.st.BlueGreen.PostPromotionAnalysisRunStatus
		if prev == nil || prev.Status != AnalysisSuccessful {
			run := r.wantRun(AnalysisPostPromotion, 0, *post)
			if prev == nil {
				r.event(EventNormal, "AnalysisRunStarted", "post-promotion analysis %s started", run.Name)
			}
			r.st.BlueGreen.PostPromotionAnalysisRunStatus = runStatus(run)
			switch {
			case failed(run.Phase):
				r.abort("AnalysisRunFailed", "post-promotion analysis "+verdictOf(run))
				r.wantRuns = r.wantRuns[:len(r.wantRuns)-1]
				r.blueGreenAborted()
				return
			case run.Phase == AnalysisInconclusive:
				if !r.st.hasPause(PauseInconclusive) {
					r.event(EventWarning, "AnalysisInconclusive", "post-promotion analysis %s inconclusive: paused until promoted", run.Name)
				}
				r.st.pauseSince(PauseInconclusive, r.now)
				return
			case run.Phase != AnalysisSuccessful:
				return
			}
			r.wantRuns = r.wantRuns[:len(r.wantRuns)-1]
		}
	}
	if r.st.Rollback != nil && !r.st.Rollback.Done {
		return // a staged rollback is observing: do not finish the promotion under it
	}
	r.promoteStable(secondsOr(b.ScaleDownDelaySeconds, defaultScaleDownDelay))
	r.roles[cur], r.roles[stable] = RoleActive, RoleOld
	r.weights = map[string]int32{cur: 100}
}

// blueGreenAborted switches the active service back to stable at once and scales the
// preview down after abortScaleDownDelaySeconds.
func (r *reconciler) blueGreenAborted() {
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	if r.st.BlueGreen.ActiveSelector != stable {
		r.st.BlueGreen.ActiveSelector = stable
		r.event(EventWarning, "SwitchedBack", "active service switched back from %s to %s", cur, stable)
	}
	r.st.BlueGreen.PreviewSelector = ""
	r.weights = map[string]int32{stable: 100}
	r.want(stable, r.spec.Replicas, RoleActive)
	immediate := r.st.Rollback != nil && r.st.Rollback.Action == RollbackImmediate
	r.want(cur, r.abortedReplicas(cur, immediate), RolePreview)
}
