package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Defaults, as Argo Rollouts.
const (
	defaultProgressDeadline = 600 * time.Second
	defaultScaleDownDelay   = 30 * time.Second
	defaultHistoryLimit     = 10
	// conditionPoll is how often a pause {analysis} step re-evaluates while waiting.
	conditionPoll = 10 * time.Second
)

// reconciler is the working state of one Reconcile call.
type reconciler struct {
	spec   Spec
	obs    Observation
	now    time.Time
	router bool

	st     Status
	revs   map[string]RevisionState
	events []Event
	acked  []string

	// decided by the strategy:
	replicas map[string]int32
	roles    map[string]RevisionRole
	weights  map[string]int32
	headers  []HeaderRouteTarget
	mirrors  []MirrorTarget
	preview  string
	wantRuns []AnalysisRequest
	requeue  time.Duration
	// effectiveWeights: traffic follows ready replicas (no router), so weights are derived
	// from the observation instead of set.
	effectiveWeights bool
}

// Reconcile decides the next desired state of a rollout. It is pure: it reads only its
// arguments and never mutates them.
func Reconcile(spec Spec, status Status, obs Observation, now time.Time) Result {
	r := &reconciler{
		spec:     spec,
		obs:      obs,
		now:      now,
		router:   obs.HasTrafficRouter,
		st:       status.clone(),
		revs:     make(map[string]RevisionState, len(obs.Revisions)),
		replicas: map[string]int32{},
		roles:    map[string]RevisionRole{},
		weights:  map[string]int32{},
	}
	for _, rv := range obs.Revisions {
		if rv.Hash == "" {
			continue
		}
		if prev, ok := r.revs[rv.Hash]; ok { // duplicate entries: add them up
			rv.Replicas += prev.Replicas
			rv.Ready += prev.Ready
			rv.Available += prev.Available
			rv.Failed += prev.Failed
		}
		r.revs[rv.Hash] = sanitize(rv)
	}
	if err := checkSpec(spec); err != nil {
		return r.holdInvalid(err)
	}
	r.st.Blocked = ""
	r.normalize()
	r.syncRevision()
	r.applyCommands()
	r.applyRollback()
	switch {
	case spec.Canary != nil:
		r.canary()
	case spec.BlueGreen != nil:
		r.blueGreen()
	default:
		r.rolling()
	}
	return r.finish()
}

// sanitize clamps observed counts so the arithmetic below can trust them.
func sanitize(rv RevisionState) RevisionState {
	rv.Replicas = max(rv.Replicas, 0)
	rv.Ready = min(max(rv.Ready, 0), rv.Replicas)
	rv.Available = min(max(rv.Available, 0), rv.Ready)
	rv.Failed = min(max(rv.Failed, 0), rv.Replicas)
	return rv
}

// checkSpec rejects specs the engine cannot act on. Manifests are validated in api/v1alpha1;
// this guards direct callers (and fuzzers) so a bad spec changes nothing.
func checkSpec(s Spec) error {
	n := 0
	for _, set := range []bool{s.Canary != nil, s.BlueGreen != nil, s.Rolling != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("spec.strategy: exactly one of canary, blueGreen, rolling must be set, got %d", n)
	case s.TemplateHash == "":
		return fmt.Errorf("spec.template: revision hash must not be empty")
	case s.Replicas < 0:
		return fmt.Errorf("spec.replicas: must be >= 0, got %d", s.Replicas)
	}
	if s.Canary != nil {
		for i, st := range s.Canary.Steps {
			if err := checkStep(i, st); err != nil {
				return err
			}
		}
	}
	if b := s.BlueGreen; b != nil && b.PreviewReplicaCount != nil && *b.PreviewReplicaCount < 0 {
		return fmt.Errorf("spec.strategy.blueGreen.previewReplicaCount: must be >= 0, got %d", *b.PreviewReplicaCount)
	}
	return nil
}

func checkStep(i int, st CanaryStep) error {
	// As in Argo, setCanaryScale, setHeaderRoute and setMirrorRoute may share a step; every
	// other step type stands alone.
	n, routing := 0, st.SetCanaryScale != nil || st.SetHeaderRoute != nil || st.SetMirrorRoute != nil
	for _, set := range []bool{st.SetWeight != nil, st.Pause != nil, st.Analysis != nil, routing, st.Experiment} {
		if set {
			n++
		}
	}
	path := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
	if n != 1 {
		return fmt.Errorf("%s: exactly one step type must be set (setCanaryScale, setHeaderRoute and setMirrorRoute may combine), got %d", path, n)
	}
	if w := st.SetWeight; w != nil && (*w < 0 || *w > 100) {
		return fmt.Errorf("%s.setWeight: must be between 0 and 100, got %d", path, *w)
	}
	if p := st.Pause; p != nil && p.Duration != nil && *p.Duration < 0 {
		return fmt.Errorf("%s.pause.duration: must be >= 0, got %s", path, *p.Duration)
	}
	if c := st.SetCanaryScale; c != nil {
		if c.Weight != nil && (*c.Weight < 0 || *c.Weight > 100) {
			return fmt.Errorf("%s.setCanaryScale.weight: must be between 0 and 100, got %d", path, *c.Weight)
		}
		if c.Replicas != nil && *c.Replicas < 0 {
			return fmt.Errorf("%s.setCanaryScale.replicas: must be >= 0, got %d", path, *c.Replicas)
		}
	}
	if m := st.SetMirrorRoute; m != nil && (m.Percentage < 0 || m.Percentage > 100) {
		return fmt.Errorf("%s.setMirrorRoute.percentage: must be between 0 and 100, got %d", path, m.Percentage)
	}
	return nil
}

// holdInvalid reports an unusable spec and keeps the world as observed: same replicas, same
// weights as last planned (made safe).
func (r *reconciler) holdInvalid(err error) Result {
	r.st.Phase, r.st.Message, r.st.Blocked = PhaseDegraded, "InvalidSpec: "+err.Error(), err.Error()
	r.event(EventWarning, "InvalidSpec", "%s", err.Error())
	for h, rv := range r.revs {
		r.replicas[h] = rv.Replicas
		r.roles[h] = RoleOld
	}
	for _, w := range r.st.Canary.Weights {
		r.weights[w.Hash] += w.Weight
	}
	return r.result()
}

func (r *reconciler) event(t EventType, reason, format string, args ...any) {
	r.events = append(r.events, Event{Type: t, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// after asks to be called again within d.
func (r *reconciler) after(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if r.requeue == 0 || d < r.requeue {
		r.requeue = d
	}
}

// want sets a revision's desired replicas and role.
func (r *reconciler) want(hash string, n int32, role RevisionRole) {
	if hash == "" {
		return
	}
	r.replicas[hash] = max(n, 0)
	r.roles[hash] = role
}

// rev returns the observed state of a revision (zero when unobserved).
func (r *reconciler) rev(hash string) RevisionState { return r.revs[hash] }

// syncRevision notices a new spec.template: the first revision becomes stable at once; going
// back to the stable revision ends the update; any other revision restarts from step 0.
func (r *reconciler) syncRevision() {
	h := r.spec.TemplateHash
	if u := r.st.Undo; u != nil && (h == u.Target || h != u.From) {
		r.st.Undo = nil // the caller rewrote the template (or the user changed it otherwise)
	}
	if sh := stepsHash(r.spec); r.st.CurrentStepHash != sh {
		if r.st.CurrentStepHash != "" && r.st.inFlight() && h == r.st.CurrentPodHash {
			r.restart("steps changed")
		}
		r.st.CurrentStepHash = sh
	}
	if h == r.st.CurrentPodHash {
		return
	}
	prev := r.st.CurrentPodHash
	switch {
	case r.st.StableRS == "":
		r.st.StableRS, r.st.CurrentPodHash = h, h
		r.resetProgress()
		r.st.setStepIndex(int32(r.stepCount()))
		r.st.BlueGreen.ActiveSelector = h
		r.event(EventNormal, "RolloutCreated", "revision %s is the first revision; deploying it directly", h)
	case h == r.st.StableRS:
		r.st.CurrentPodHash = h
		r.resetProgress()
		r.st.setStepIndex(int32(r.stepCount()))
		r.st.BlueGreen.ActiveSelector = h
		r.demote(prev, r.replacedDelay())
		r.event(EventNormal, "RolledBackToStable", "spec.template is the stable revision %s again; update of %s ended", h, prev)
	default:
		r.st.CurrentPodHash = h
		r.resetProgress()
		r.st.setStepIndex(0)
		if prev != r.st.StableRS {
			r.demote(prev, r.replacedDelay())
		}
		r.event(EventNormal, "RolloutUpdated", "new revision %s: rolling out from step 0 (stable %s)", h, r.st.StableRS)
	}
}

// normalize repairs a stored status that cannot be right for this spec (edited by hand, or
// written for other steps): the step index is clamped to the steps that exist.
func (r *reconciler) normalize() {
	if i := r.st.CurrentStepIndex; i != nil {
		r.st.setStepIndex(min(max(*i, 0), int32(r.stepCount())))
	}
}

// restart sends the current revision back to step 0 with fresh analysis.
func (r *reconciler) restart(why string) {
	r.resetProgress()
	r.st.setStepIndex(0)
	r.event(EventNormal, "RolloutRestarted", "%s: restarting revision %s from step 0", why, r.st.CurrentPodHash)
}

// resetProgress clears every per-revision progress field.
func (r *reconciler) resetProgress() {
	r.st.Attempt = 0
	r.st.PauseConditions = slices.DeleteFunc(r.st.PauseConditions, func(p PauseCondition) bool { return p.Reason != PauseUserCommand })
	r.st.Abort, r.st.AbortedAt, r.st.AbortMessage, r.st.PromoteFull = false, nil, "", false
	r.st.Canary.CurrentStepAnalysisRunStatus, r.st.Canary.CurrentBackgroundAnalysisRunStatus = nil, nil
	r.st.BlueGreen.PrePromotionAnalysisRunStatus, r.st.BlueGreen.PostPromotionAnalysisRunStatus = nil, nil
	r.st.BlueGreen.PreviewAvailableAt, r.st.BlueGreen.Promoted, r.st.BlueGreen.ScaleUpPreviewCheckPoint = nil, false, false
	r.st.Rollback, r.st.DeadlineExceeded, r.st.ControllerPause = nil, false, false
	r.st.AcceptedInconclusive = nil
	r.st.LastProgressAt, r.st.ProgressMark = ptr(r.now), ""
}

// demote schedules a revision that no longer serves to be scaled down after delay.
func (r *reconciler) demote(hash string, delay time.Duration) {
	if hash == "" || hash == r.spec.TemplateHash || hash == r.st.StableRS {
		return
	}
	for _, s := range r.st.ScaleDowns {
		if s.Hash == hash {
			return
		}
	}
	r.st.ScaleDowns = append(r.st.ScaleDowns, ScaleDown{Hash: hash, At: r.now.Add(delay)})
}

// promoteStable makes the current revision stable and remembers the old one for undo.
func (r *reconciler) promoteStable(delay time.Duration) {
	old := r.st.StableRS
	if old == r.st.CurrentPodHash {
		return
	}
	r.st.StableRS = r.st.CurrentPodHash
	if old != "" {
		r.st.History = slices.DeleteFunc(r.st.History, func(h string) bool { return h == old || h == r.st.StableRS })
		r.st.History = append(r.st.History, old)
		limit := int(cmp.Or(r.spec.RevisionHistoryLimit, defaultHistoryLimit))
		if len(r.st.History) > limit {
			r.st.History = slices.Clone(r.st.History[len(r.st.History)-limit:])
		}
		r.demote(old, delay)
	}
	r.st.PauseConditions = slices.DeleteFunc(r.st.PauseConditions, func(p PauseCondition) bool { return p.Reason != PauseUserCommand })
	r.st.PromoteFull, r.st.Rollback = false, nil
	// A completed update has passed every step, however it got there (promote --full
	// included), so the counter reads N/N as after a first deploy.
	r.st.setStepIndex(int32(r.stepCount()))
	r.event(EventNormal, "RolloutCompleted", "revision %s is now stable", r.st.StableRS)
}

func (r *reconciler) stepCount() int {
	if r.spec.Canary == nil {
		return 0
	}
	return len(r.spec.Canary.Steps)
}

// abortDelay is how long an aborted or replaced new revision keeps its replicas: needed only
// when traffic is routed by weight (the router may still send it requests).
// As in Argo, an explicit abortScaleDownDelaySeconds of 0 keeps it up until the next update.
func (r *reconciler) abortDelay() (delay time.Duration, forever bool) {
	var p *int32
	switch {
	case r.spec.Canary != nil && r.router:
		p = r.spec.Canary.AbortScaleDownDelaySeconds
	case r.spec.BlueGreen != nil:
		p = r.spec.BlueGreen.AbortScaleDownDelaySeconds
	default:
		return 0, false
	}
	if p != nil && *p == 0 {
		return 0, true
	}
	return secondsOr(p, defaultScaleDownDelay), false
}

// replacedDelay is how long a revision replaced mid-update keeps its replicas.
func (r *reconciler) replacedDelay() time.Duration {
	d, _ := r.abortDelay()
	return d
}

func secondsOr(p *int32, def time.Duration) time.Duration {
	if p == nil {
		return def
	}
	return time.Duration(max(*p, 0)) * time.Second
}

// paused reports whether something other than a step holds the rollout.
func (r *reconciler) userPaused() bool {
	return r.spec.Paused || r.st.hasPause(PauseUserCommand)
}
