package rollout

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"time"
)

// finish places revisions nobody placed, tracks the progress deadline, derives the phase and
// assembles the Result.
func (r *reconciler) finish() Result {
	r.applyScaleDowns()
	r.trackProgress()
	r.derivePhase()
	return r.result()
}

// applyScaleDowns keeps delayed old revisions up until their deadline and sends every other
// unplaced observed revision to zero.
func (r *reconciler) applyScaleDowns() {
	kept := r.st.ScaleDowns[:0:0]
	for _, s := range r.st.ScaleDowns {
		rv, observed := r.revs[s.Hash]
		if s.Hash == r.st.StableRS || s.Hash == r.st.CurrentPodHash || !observed || (rv.Replicas == 0 && !r.now.Before(s.At)) {
			continue
		}
		kept = append(kept, s)
		if r.now.Before(s.At) {
			r.after(s.At.Sub(r.now))
		}
		if _, placed := r.replicas[s.Hash]; placed {
			continue
		}
		if r.now.Before(s.At) {
			r.want(s.Hash, rv.Replicas, RoleOld)
		} else {
			r.want(s.Hash, 0, RoleOld)
		}
	}
	r.st.ScaleDowns = kept
	for _, h := range sortedKeys(r.revs) {
		if _, placed := r.replicas[h]; !placed {
			r.want(h, 0, RoleOld)
		}
	}
}

// trackProgress implements progressDeadlineSeconds: the deadline runs only while the engine
// waits for replicas of the revisions it rolls (not while paused or analysing) — during an
// update, and for a stable revision short of its replicas, which covers the first deploy
// (Argo and Kubernetes Deployments time that out too).
func (r *reconciler) trackProgress() {
	waiting := false
	for _, h := range []string{r.st.CurrentPodHash, r.st.StableRS} {
		if want, ok := r.replicas[h]; ok {
			rv := r.rev(h)
			if rv.Replicas != want || rv.Available < want {
				waiting = true
			}
		}
	}
	stableShort := r.st.StableRS != "" && r.rev(r.st.StableRS).Available < r.spec.Replicas
	if !(r.st.inFlight() || stableShort) || r.st.Abort || !waiting || len(r.st.PauseConditions) > 0 || r.spec.Paused {
		// Not waiting: the clock restarts when waiting does (the mark changes then). Left
		// unset rather than moved to now, so a rollout at rest has a status that does not
		// change from pass to pass (and costs no writes).
		r.st.LastProgressAt, r.st.ProgressMark, r.st.DeadlineExceeded = nil, "", false
		return
	}
	cur := r.rev(r.st.CurrentPodHash)
	mark := fmt.Sprintf("%s/%d/%d/%d/%d", r.st.CurrentPodHash, r.st.stepIndex(), cur.Replicas, cur.Available, r.rev(r.st.StableRS).Replicas)
	if mark != r.st.ProgressMark || r.st.LastProgressAt == nil {
		r.st.ProgressMark, r.st.LastProgressAt, r.st.DeadlineExceeded = mark, ptr(r.now), false
	}
	deadline := defaultProgressDeadline
	if r.spec.ProgressDeadlineSeconds > 0 {
		deadline = time.Duration(r.spec.ProgressDeadlineSeconds) * time.Second
	}
	due := r.st.LastProgressAt.Add(deadline)
	if r.now.Before(due) {
		r.after(due.Sub(r.now))
		return
	}
	if !r.st.DeadlineExceeded {
		r.st.DeadlineExceeded = true
		r.event(EventWarning, reasonProgressTimeout, "revision %s made no progress for %s", r.st.CurrentPodHash, deadline)
	}
	if r.spec.ProgressDeadlineAbort {
		r.abort(reasonProgressTimeout, fmt.Sprintf("no progress for %s", deadline))
		r.after(time.Second) // the abort takes effect on the next call
	}
}

// derivePhase sets Phase, Message, Conditions and the replica counts.
func (r *reconciler) derivePhase() {
	st := &r.st
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	for _, rv := range r.revs {
		st.Replicas += rv.Replicas
		st.ReadyReplicas += rv.Ready
		st.AvailableReplicas += rv.Available
	}
	st.UpdatedReplicas = r.rev(st.CurrentPodHash).Replicas
	stableOK := r.rev(st.StableRS).Available >= r.spec.Replicas
	switch {
	case st.Blocked != "":
		st.Phase, st.Message = PhaseDegraded, st.Blocked
	case st.Abort:
		st.Phase, st.Message = PhaseDegraded, "RolloutAborted: "+st.AbortMessage
	case st.DeadlineExceeded:
		st.Phase, st.Message = PhaseDegraded, fmt.Sprintf("%s: revision %s made no progress", reasonProgressTimeout, st.CurrentPodHash)
	case len(st.PauseConditions) > 0 || r.spec.Paused:
		reasons := []string{}
		for _, p := range st.PauseConditions {
			reasons = append(reasons, p.Reason)
		}
		if r.spec.Paused {
			reasons = append(reasons, "SpecPaused")
		}
		st.Phase, st.Message = PhasePaused, "paused: "+fmt.Sprint(reasons)
	case st.inFlight():
		st.Phase, st.Message = PhaseProgressing, r.progressMessage()
	case !stableOK:
		st.Phase, st.Message = PhaseProgressing, fmt.Sprintf("waiting for %d available replicas of %s", r.spec.Replicas, st.StableRS)
	default:
		st.Phase, st.Message = PhaseHealthy, ""
	}
	progressing, reason := "True", "ReplicaSetUpdated"
	switch st.Phase {
	case PhaseDegraded:
		progressing, reason = "False", cmp.Or(map[bool]string{true: "RolloutAborted"}[st.Abort], reasonProgressTimeout)
		if st.Blocked != "" {
			reason = "RolloutBlocked"
		}
	case PhasePaused:
		progressing, reason = "Unknown", "RolloutPaused"
	case PhaseHealthy:
		reason = "NewReplicaSetAvailable"
	}
	st.setCondition("Progressing", progressing, reason, st.Message, r.now)
	st.setCondition("Available", map[bool]string{true: "True", false: "False"}[stableOK], "", "", r.now)
	st.setCondition("Paused", map[bool]string{true: "True", false: "False"}[st.Phase == PhasePaused], "", "", r.now)
}

func (r *reconciler) progressMessage() string {
	switch {
	case r.spec.Canary != nil:
		return fmt.Sprintf("revision %s at step %d/%d", r.st.CurrentPodHash, r.st.stepIndex(), len(r.spec.Canary.Steps))
	case r.spec.BlueGreen != nil:
		return fmt.Sprintf("revision %s: preview, active is %s", r.st.CurrentPodHash, r.st.BlueGreen.ActiveSelector)
	}
	return fmt.Sprintf("revision %s: %d of %d replicas updated", r.st.CurrentPodHash, r.rev(r.st.CurrentPodHash).Available, r.spec.Replicas)
}

// result assembles the Plan from the decisions, making traffic safe on the way.
func (r *reconciler) result() Result {
	weights := r.safeWeights()
	r.st.Canary.Weights = weights
	ready := func(h string) bool { return r.rev(h).Ready > 0 }
	plan := Plan{Traffic: Traffic{Weights: weights}, RequeueAfter: r.requeue}
	for _, h := range sortedKeys(r.replicas) {
		plan.Revisions = append(plan.Revisions, DesiredRevision{Hash: h, Replicas: r.replicas[h], Role: r.roles[h]})
	}
	for _, hr := range r.headers {
		if ready(hr.Revision) {
			plan.Traffic.HeaderRoutes = append(plan.Traffic.HeaderRoutes, hr)
		}
	}
	for _, m := range r.mirrors {
		if ready(m.Revision) {
			plan.Traffic.Mirrors = append(plan.Traffic.Mirrors, m)
		}
	}
	if r.preview != "" && ready(r.preview) {
		plan.Traffic.Preview = r.preview
	}
	seen := map[string]bool{}
	for _, w := range r.wantRuns {
		if !seen[w.Name] {
			seen[w.Name] = true
			plan.StartAnalysis = append(plan.StartAnalysis, w)
		}
	}
	plan.StopAnalysis = r.stopRuns()
	if r.st.Undo != nil {
		plan.SetTemplate = r.st.Undo.Target
	}
	return Result{Plan: plan, Status: r.st, Events: r.events, Acknowledged: r.acked}
}

// safeWeights turns the strategy's weights into the plan's: without a router they follow
// ready replicas; a revision with no ready replica never gets traffic while another has one;
// weights are 0..100 and sum to 100.
func (r *reconciler) safeWeights() []RevisionWeight {
	w := map[string]int32{}
	if r.effectiveWeights {
		w = proportional(r.revs)
	} else {
		for h, v := range r.weights {
			if v > 0 && h != "" {
				w[h] = min(v, 100)
			}
		}
	}
	receiver := r.receiver(w)
	if receiver != "" {
		for h, v := range w {
			if h != receiver && r.rev(h).Ready == 0 {
				delete(w, h)
				w[receiver] += v
			}
		}
	}
	sum := int32(0)
	for _, v := range w {
		sum += v
	}
	if sum != 100 {
		fallback := cmp.Or(receiver, r.st.StableRS, r.spec.TemplateHash)
		if sum > 100 || fallback == "" {
			w = map[string]int32{}
			sum = 0
		}
		if fallback != "" {
			w[fallback] += 100 - sum
		}
	}
	out := make([]RevisionWeight, 0, len(w))
	for _, h := range sortedKeys(w) {
		if w[h] > 0 {
			out = append(out, RevisionWeight{Hash: h, Weight: w[h]})
		}
	}
	slices.SortStableFunc(out, func(a, b RevisionWeight) int { // stable first, for readers
		return cmp.Compare(boolRank(a.Hash != r.st.StableRS), boolRank(b.Hash != r.st.StableRS))
	})
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// receiver is the revision that takes traffic away from unready ones: the stable revision
// when it has a ready replica, else the ready revision with the most weight, then most ready
// replicas. Empty when no revision is ready (nothing can serve; weights are left alone).
func (r *reconciler) receiver(w map[string]int32) string {
	if r.rev(r.st.StableRS).Ready > 0 {
		return r.st.StableRS
	}
	best := ""
	for _, h := range sortedKeys(r.revs) {
		rv := r.rev(h)
		if rv.Ready == 0 {
			continue
		}
		if best == "" || w[h] > w[best] || (w[h] == w[best] && rv.Ready > r.rev(best).Ready) {
			best = h
		}
	}
	return best
}

// proportional splits 100 by ready replicas (largest remainder, ties by hash).
func proportional(revs map[string]RevisionState) map[string]int32 {
	var total int64
	for _, rv := range revs {
		total += int64(rv.Ready)
	}
	w := map[string]int32{}
	if total == 0 {
		return w
	}
	type rem struct {
		h string
		r int64
	}
	var rems []rem
	left := int32(100)
	for _, h := range sortedKeys(revs) {
		n := int64(revs[h].Ready) * 100
		w[h] = int32(n / total)
		left -= w[h]
		rems = append(rems, rem{h, n % total})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for i := 0; left > 0; i++ {
		w[rems[i%len(rems)].h]++
		left--
	}
	return w
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// stepsHash fingerprints the canary steps so a change to them restarts the update.
func stepsHash(s Spec) string {
	if s.Canary == nil {
		return ""
	}
	b, err := json.Marshal(s.Canary.Steps)
	if err != nil {
		return ""
	}
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}
