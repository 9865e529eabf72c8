package rollout

import "fmt"

// rolling runs shipsafe's rolling update: the new revision replaces the old one a few
// replicas at a time, bounded by maxSurge and maxUnavailable and gated on availability
// (readiness held for minReadySeconds). A revision whose replicas fail readiness or liveness
// halts the update and rolls it back.
func (r *reconciler) rolling() {
	if !r.st.inFlight() {
		r.steady()
		return
	}
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	R := r.spec.Replicas
	if f := r.rev(cur).Failed; f > 0 && !r.st.Abort {
		r.abort("ReplicasFailing", fmt.Sprintf("%d replicas of %s fail readiness or liveness: update halted and rolled back", f, cur))
	}
	if r.st.Abort {
		if r.st.Rollback != nil && r.st.Rollback.Action == RollbackImmediate {
			r.want(stable, R, RoleStable)
			r.want(cur, 0, RoleCanary)
			r.weights[stable] = 100
			return
		}
		r.moveReplicas(r.canarySurge(), []target{{stable, R, RoleStable}, {cur, 0, RoleCanary}})
		return
	}
	if r.userPaused() || r.st.hasPause(PauseRollbackCanary) {
		r.freeze()
		if r.st.hasPause(PauseRollbackCanary) {
			r.want(cur, 0, RoleCanary)
			r.want(stable, R, RoleStable)
		}
		return
	}
	newT := R
	if cut, ok := r.stagedCut(); ok {
		newT = percentOf(cut, R)
	}
	r.moveReplicas(r.canarySurge(), []target{{cur, newT, RoleCanary}, {stable, R - newT, RoleStable}})
	if newT == R && r.settled(cur) {
		r.promoteStable(0)
		r.roles[cur] = RoleStable
	}
}

// freeze keeps every revision at its observed replica count (a paused rolling update).
func (r *reconciler) freeze() {
	for h, rv := range r.revs {
		role := RoleOld
		switch h {
		case r.st.CurrentPodHash:
			role = RoleCanary
		case r.st.StableRS:
			role = RoleStable
		}
		r.want(h, rv.Replicas, role)
	}
	r.effectiveWeights = true
}
