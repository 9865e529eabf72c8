package rollout

import (
	"fmt"
	"strings"
)

// stepState is what the steps before an index have set up: the last setWeight, the last
// setCanaryScale and the header / mirror routes in force.
type stepState struct {
	weight  int32
	scale   *SetCanaryScale
	headers []HeaderRoute
	mirrors []MirrorRoute
}

// replay folds steps[0:upto] into the state they leave behind. Recomputing it from the spec
// (instead of storing it) keeps Status small and always consistent with the steps.
func replay(steps []CanaryStep, upto int) stepState {
	var s stepState
	for _, st := range steps[:min(upto, len(steps))] {
		// setCanaryScale, setHeaderRoute and setMirrorRoute may share one step (as in Argo).
		if st.SetWeight != nil {
			s.weight = *st.SetWeight
		}
		if st.SetCanaryScale != nil {
			s.scale = st.SetCanaryScale
			if st.SetCanaryScale.MatchTrafficWeight {
				s.scale = nil
			}
		}
		if st.SetHeaderRoute != nil {
			s.headers = upsertRoute(s.headers, *st.SetHeaderRoute, st.SetHeaderRoute.Name, len(st.SetHeaderRoute.Match) == 0,
				func(h HeaderRoute) string { return h.Name })
		}
		if st.SetMirrorRoute != nil {
			s.mirrors = upsertRoute(s.mirrors, *st.SetMirrorRoute, st.SetMirrorRoute.Name, len(st.SetMirrorRoute.Match) == 0,
				func(m MirrorRoute) string { return m.Name })
		}
	}
	return s
}

// upsertRoute replaces (or with remove, deletes) the route called name, keeping order.
func upsertRoute[T any](routes []T, v T, name string, remove bool, nameOf func(T) string) []T {
	out := make([]T, 0, len(routes)+1)
	found := false
	for _, r := range routes {
		if nameOf(r) != name {
			out = append(out, r)
			continue
		}
		found = true
		if !remove {
			out = append(out, v)
		}
	}
	if !found && !remove {
		out = append(out, v)
	}
	return out
}

// canaryReplicas is the canary's replica count for a step state: setCanaryScale when set,
// otherwise the traffic weight's share of spec.replicas, rounded up.
func (r *reconciler) canaryReplicas(s stepState) int32 {
	if s.scale != nil {
		switch {
		case s.scale.Replicas != nil:
			return *s.scale.Replicas
		case s.scale.Weight != nil:
			return percentOf(*s.scale.Weight, r.spec.Replicas)
		}
	}
	return percentOf(s.weight, r.spec.Replicas)
}

// servable is the weight the canary may have for a step state: the state's weight once the
// canary has the available replicas that state plans for it, otherwise no more than its
// available share of spec.replicas. Commands (promote, promote --full) move the step index
// ahead of the replicas; this keeps traffic behind ready capacity whatever the index says.
func (r *reconciler) servable(s stepState) int32 {
	avail := r.rev(r.st.CurrentPodHash).Available
	if avail >= r.canaryReplicas(s) || r.spec.Replicas <= 0 {
		return s.weight
	}
	return min(s.weight, int32(int64(avail)*100/int64(r.spec.Replicas)))
}

// percentOf is ceil(p% of n).
func percentOf(p, n int32) int32 {
	return int32((int64(p)*int64(n) + 99) / 100)
}

// canary runs strategy.canary.
func (r *reconciler) canary() {
	if !r.st.inFlight() {
		r.steady()
		return
	}
	if r.st.Abort {
		r.canaryAborted()
		return
	}
	if r.st.hasPause(PauseRollbackCanary) {
		r.canaryStopped()
		return
	}
	r.backgroundAnalysisVerdict()
	_, staged := r.stagedCut()
	if !r.st.Abort && !staged {
		r.advanceSteps()
	}
	switch {
	case r.st.Abort:
		r.canaryAborted()
	case staged:
		r.canaryAtStep() // hold where we are, at the cut weight, while the trigger is observed
		r.wantBackgroundAnalysis()
	case r.st.PromoteFull || int(r.st.stepIndex()) >= len(r.spec.Canary.Steps):
		r.canaryPromote()
	default:
		r.canaryAtStep()
		r.wantBackgroundAnalysis()
	}
}

// advanceSteps completes as many steps as the observation allows.
func (r *reconciler) advanceSteps() {
	steps := r.spec.Canary.Steps
	for range len(steps) + 1 {
		idx := int(r.st.stepIndex())
		if r.st.PromoteFull || idx >= len(steps) || r.st.Abort {
			return
		}
		if r.userPaused() || r.st.hasPause(PauseInconclusive) {
			return
		}
		if !r.completeStep(idx, steps[idx]) {
			return
		}
		r.st.setStepIndex(int32(idx + 1))
		r.st.Canary.CurrentStepAnalysisRunStatus = nil
		r.st.ControllerPause = false
		r.event(EventNormal, "StepCompleted", "step %d/%d completed (%s)", idx+1, len(steps), describeStep(steps[idx]))
	}
}

// completeStep reports whether step idx is done, starting what it needs otherwise.
func (r *reconciler) completeStep(idx int, step CanaryStep) bool {
	switch {
	case step.SetWeight != nil:
		return r.weightReached(idx)
	case step.Pause != nil:
		return r.pauseDone(idx, step.Pause)
	case step.Analysis != nil:
		return r.stepAnalysisDone(idx, step.Analysis)
	case step.Experiment:
		r.st.Blocked = fmt.Sprintf("spec.strategy.canary.steps[%d].experiment: experiment steps are not supported yet; promote to skip the step or abort", idx)
		return false
	default: // setCanaryScale, setHeaderRoute, setMirrorRoute take effect through replay
		return true
	}
}

// weightReached reports whether the canary has the replicas a setWeight step needs.
func (r *reconciler) weightReached(idx int) bool {
	next := replay(r.spec.Canary.Steps, idx+1)
	cur, stable := r.rev(r.st.CurrentPodHash), r.rev(r.st.StableRS)
	if r.router {
		need := r.canaryReplicas(next)
		return cur.Available >= need
	}
	newT, stableT := r.basicTargets(next.weight)
	return cur.Replicas == newT && cur.Available >= newT && stable.Replicas == stableT
}

// basicTargets splits spec.replicas between canary and stable for a weight (no router).
func (r *reconciler) basicTargets(weight int32) (canary, stable int32) {
	canary = min(percentOf(weight, r.spec.Replicas), r.spec.Replicas)
	return canary, r.spec.Replicas - canary
}

// pauseDone handles the three kinds of pause step.
func (r *reconciler) pauseDone(idx int, p *PauseStep) bool {
	switch {
	case p.Analysis != nil:
		return r.pauseConditionMet(idx, p.Analysis)
	case p.Duration != nil:
		end := r.st.pauseSince(PauseCanaryStep, r.now).Add(*p.Duration)
		if !r.now.Before(end) {
			r.st.clearPause(PauseCanaryStep)
			return true
		}
		r.after(end.Sub(r.now))
		return false
	default:
		if !r.st.hasPause(PauseCanaryStep) {
			r.event(EventNormal, "RolloutPaused", "paused at step %d until promoted", idx+1)
		}
		r.st.pauseSince(PauseCanaryStep, r.now)
		r.st.ControllerPause = true
		return false
	}
}

// canaryAtStep sets replicas and traffic for the current step.
func (r *reconciler) canaryAtStep() {
	steps := r.spec.Canary.Steps
	idx := int(r.st.stepIndex())
	applied := replay(steps, idx)
	pending := applied
	if idx < len(steps) && steps[idx].SetWeight != nil {
		pending = replay(steps, idx+1) // scale up ahead of the traffic shift
	}
	if cut, ok := r.stagedCut(); ok {
		applied.weight = min(applied.weight, cut)
		if !r.router { // without a router traffic can only be cut by replicas
			pending.weight = min(pending.weight, cut)
		}
	}
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	if r.router {
		r.want(stable, r.spec.Replicas, RoleStable)
		r.want(cur, r.canaryReplicas(pending), RoleCanary)
		w := r.servable(applied)
		r.weights[cur] = w
		r.weights[stable] += 100 - w
		for _, h := range applied.headers {
			r.headers = append(r.headers, HeaderRouteTarget{HeaderRoute: h, Revision: cur})
		}
		for _, m := range applied.mirrors {
			r.mirrors = append(r.mirrors, MirrorTarget{MirrorRoute: m, Revision: cur})
		}
		return
	}
	newT, stableT := r.basicTargets(pending.weight)
	r.moveReplicas(r.canarySurge(), []target{{cur, newT, RoleCanary}, {stable, stableT, RoleStable}})
}

// canaryPromote takes the canary to 100%: full scale first, then all traffic, then stable.
func (r *reconciler) canaryPromote() {
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	R := r.spec.Replicas
	if r.router {
		r.want(cur, R, RoleCanary)
		r.want(stable, R, RoleStable)
		c := r.rev(cur)
		if c.Available >= R {
			r.promoteStable(secondsOr(r.spec.Canary.ScaleDownDelaySeconds, defaultScaleDownDelay))
			r.roles[cur], r.roles[stable] = RoleStable, RoleOld
			r.weights[cur] = 100
			return
		}
		// Until the canary is fully available it keeps the weight of the steps it passed (as
		// Argo), and never more than its available replicas can serve.
		w := r.servable(replay(r.spec.Canary.Steps, int(r.st.stepIndex())))
		r.weights[cur], r.weights[stable] = w, 100-w
		return
	}
	r.moveReplicas(r.canarySurge(), []target{{cur, R, RoleCanary}, {stable, 0, RoleStable}})
	if r.settled(cur) {
		r.promoteStable(0)
		r.roles[cur] = RoleStable
	}
}

// settled reports whether hash has all spec.replicas available and no other revision has any.
func (r *reconciler) settled(hash string) bool {
	c := r.rev(hash)
	if c.Replicas != r.spec.Replicas || c.Available < r.spec.Replicas {
		return false
	}
	for h, rv := range r.revs {
		if h != hash && rv.Replicas > 0 {
			return false
		}
	}
	return true
}

// canaryAborted sends all traffic to stable and scales the canary down (after
// abortScaleDownDelaySeconds with a router, gated by maxUnavailable without one; at once for
// an immediate rollback).
func (r *reconciler) canaryAborted() {
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	immediate := r.st.Rollback != nil && r.st.Rollback.Action == RollbackImmediate
	if r.router || immediate {
		r.want(stable, r.spec.Replicas, RoleStable)
		r.weights[stable] = 100
		r.want(cur, r.abortedReplicas(cur, immediate), RoleCanary)
		return
	}
	r.moveReplicas(r.canarySurge(), []target{{stable, r.spec.Replicas, RoleStable}, {cur, 0, RoleCanary}})
}

// abortedReplicas keeps an aborted new revision's replicas until the abort delay has passed.
func (r *reconciler) abortedReplicas(hash string, immediate bool) int32 {
	if immediate || r.st.AbortedAt == nil {
		return 0
	}
	delay, forever := r.abortDelay()
	if forever {
		return r.rev(hash).Replicas
	}
	until := r.st.AbortedAt.Add(delay)
	if r.now.Before(until) {
		r.after(until.Sub(r.now))
		return r.rev(hash).Replicas
	}
	return 0
}

// canaryStopped is the state after a "canary" rollback action: no canary traffic, no canary
// replicas, paused until resumed.
func (r *reconciler) canaryStopped() {
	cur, stable := r.st.CurrentPodHash, r.st.StableRS
	r.want(stable, r.spec.Replicas, RoleStable)
	r.weights[stable] = 100
	r.want(cur, 0, RoleCanary)
}

// steady is the state with nothing in flight: the stable revision at full scale with all
// traffic; any other revision is scaled down (through the planner without a router).
func (r *reconciler) steady() {
	stable := r.st.StableRS
	r.weights[stable] = 100
	if (r.router && r.spec.Canary != nil) || r.spec.BlueGreen != nil {
		r.want(stable, r.spec.Replicas, RoleStable)
		if r.rev(stable).Available < r.spec.Replicas {
			// the stable is not (yet) serving at full size: keep what serves meanwhile
			for _, h := range sortedKeys(r.revs) {
				if h != stable {
					r.want(h, r.rev(h).Replicas, RoleOld)
				}
			}
		}
		return
	}
	r.moveReplicas(r.canarySurge(), []target{{stable, r.spec.Replicas, RoleStable}})
}

// canarySurge returns maxSurge / maxUnavailable of the strategy in use.
func (r *reconciler) canarySurge() [2]*IntOrPercent {
	switch {
	case r.spec.Canary != nil:
		return [2]*IntOrPercent{r.spec.Canary.MaxSurge, r.spec.Canary.MaxUnavailable}
	case r.spec.Rolling != nil:
		return [2]*IntOrPercent{r.spec.Rolling.MaxSurge, r.spec.Rolling.MaxUnavailable}
	}
	return [2]*IntOrPercent{}
}

// describeStep names a step for events and the plan timeline.
func describeStep(s CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil && s.Pause.Analysis != nil:
		return fmt.Sprintf("pause until %q", s.Pause.Analysis.SuccessCondition)
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause " + s.Pause.Duration.String()
	case s.Pause != nil:
		return "pause until promoted"
	case s.Analysis != nil:
		return "analysis"
	case s.SetCanaryScale != nil || s.SetHeaderRoute != nil || s.SetMirrorRoute != nil:
		var parts []string
		if s.SetCanaryScale != nil {
			parts = append(parts, "setCanaryScale")
		}
		if s.SetHeaderRoute != nil {
			parts = append(parts, "setHeaderRoute "+s.SetHeaderRoute.Name)
		}
		if s.SetMirrorRoute != nil {
			parts = append(parts, "setMirrorRoute "+s.SetMirrorRoute.Name)
		}
		return strings.Join(parts, " + ")
	case s.Experiment:
		return "experiment"
	}
	return "empty"
}

// DescribeStep names a step for timelines (used by `shipsafe plan`).
func DescribeStep(s CanaryStep) string { return describeStep(s) }
