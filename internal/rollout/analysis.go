package rollout

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/shipsafe/shipsafe/internal/condition"
)

// runName is the deterministic name of an analysis run:
// <rollout>-<revision>-<attempt>-<kind>. A retry bumps the attempt so it gets fresh runs.
func (r *reconciler) runName(kind AnalysisKind, step int) string {
	h := r.st.CurrentPodHash
	if len(h) > 10 {
		h = h[:10]
	}
	suffix := map[AnalysisKind]string{AnalysisBackground: "bg", AnalysisPrePromotion: "pre", AnalysisPostPromotion: "post"}[kind]
	if kind == AnalysisStep {
		suffix = "step" + strconv.Itoa(step)
	}
	return fmt.Sprintf("%s-%s-%d-%s", r.spec.Name, h, r.st.Attempt, suffix)
}

// wantRun asks for a run (idempotently, by name) and returns its observed state.
func (r *reconciler) wantRun(kind AnalysisKind, step int, spec AnalysisSpec) AnalysisState {
	name := r.runName(kind, step)
	r.wantRuns = append(r.wantRuns, AnalysisRequest{
		Name:      name,
		Kind:      kind,
		Step:      int32(step),
		Revision:  r.st.CurrentPodHash,
		Stable:    r.st.StableRS,
		Templates: spec.Templates,
		Args:      r.resolveArgs(spec.Args),
	})
	return r.observedRun(name)
}

// observedRun returns the observed state of a run; a run not observed yet is Pending.
func (r *reconciler) observedRun(name string) AnalysisState {
	for _, a := range r.obs.Analysis {
		if a.Name == name {
			if a.Phase == "" {
				a.Phase = AnalysisPending
			}
			if a.Phase == AnalysisInconclusive && slices.Contains(r.st.AcceptedInconclusive, name) {
				a.Phase, a.Message = AnalysisSuccessful, "Inconclusive, accepted by promote/resume"
			}
			return a
		}
	}
	return AnalysisState{Name: name, Phase: AnalysisPending}
}

// resolveArgs fills valueFrom.podTemplateHashValue with the revision hashes.
func (r *reconciler) resolveArgs(args []AnalysisArg) []AnalysisArg {
	out := make([]AnalysisArg, len(args))
	for i, a := range args {
		switch a.PodTemplateHashValue {
		case "Stable":
			a.Value, a.PodTemplateHashValue = r.st.StableRS, ""
		case "Latest":
			a.Value, a.PodTemplateHashValue = r.st.CurrentPodHash, ""
		}
		out[i] = a
	}
	return out
}

// verdictOf describes a finished run for messages: "name Failed" plus its message, if any.
func verdictOf(run AnalysisState) string {
	if run.Message == "" {
		return run.Name + " " + string(run.Phase)
	}
	return fmt.Sprintf("%s %s: %s", run.Name, run.Phase, run.Message)
}

func runStatus(a AnalysisState) *AnalysisRunStatus {
	return &AnalysisRunStatus{Name: a.Name, Status: a.Phase, Message: a.Message}
}

func failed(p AnalysisPhase) bool { return p == AnalysisFailed || p == AnalysisError }

// backgroundAnalysisVerdict aborts on a failed background run and pauses on an
// inconclusive one.
func (r *reconciler) backgroundAnalysisVerdict() {
	cur := r.st.Canary.CurrentBackgroundAnalysisRunStatus
	if cur == nil || r.spec.Canary.Analysis == nil {
		return
	}
	run := r.observedRun(cur.Name)
	r.st.Canary.CurrentBackgroundAnalysisRunStatus = runStatus(run)
	switch {
	case failed(run.Phase):
		r.abort("AnalysisRunFailed", "background analysis "+verdictOf(run))
	case run.Phase == AnalysisInconclusive && !r.st.hasPause(PauseInconclusive):
		r.st.pauseSince(PauseInconclusive, r.now)
		r.event(EventWarning, "AnalysisInconclusive", "background analysis %s inconclusive: paused until promoted", run.Name)
	}
}

// wantBackgroundAnalysis keeps the background run going from startingStep until promotion.
func (r *reconciler) wantBackgroundAnalysis() {
	bg := r.spec.Canary.Analysis
	if bg == nil || r.st.stepIndex() < bg.StartingStep {
		return
	}
	run := r.wantRun(AnalysisBackground, 0, bg.AnalysisSpec)
	if r.st.Canary.CurrentBackgroundAnalysisRunStatus == nil {
		r.event(EventNormal, "AnalysisRunStarted", "background analysis %s started", run.Name)
	}
	r.st.Canary.CurrentBackgroundAnalysisRunStatus = runStatus(run)
}

// stepAnalysisDone runs an inline analysis step: success completes the step, failure aborts,
// inconclusive pauses.
func (r *reconciler) stepAnalysisDone(idx int, spec *AnalysisSpec) bool {
	run := r.wantRun(AnalysisStep, idx, *spec)
	if r.st.Canary.CurrentStepAnalysisRunStatus == nil || r.st.Canary.CurrentStepAnalysisRunStatus.Name != run.Name {
		r.event(EventNormal, "AnalysisRunStarted", "step %d analysis %s started", idx+1, run.Name)
	}
	r.st.Canary.CurrentStepAnalysisRunStatus = runStatus(run)
	return r.gate(run, fmt.Sprintf("step %d analysis", idx+1))
}

// gate applies the verdict of a run that gates progress: success passes (the run is no
// longer wanted), failure or error aborts, inconclusive pauses until promoted.
func (r *reconciler) gate(run AnalysisState, what string) bool {
	switch {
	case run.Phase == AnalysisSuccessful:
		r.wantRuns = r.wantRuns[:len(r.wantRuns)-1]
		return true
	case failed(run.Phase):
		r.abort("AnalysisRunFailed", what+" "+verdictOf(run))
	case run.Phase == AnalysisInconclusive:
		if !r.st.hasPause(PauseInconclusive) {
			r.event(EventWarning, "AnalysisInconclusive", "%s %s inconclusive: paused until promoted", what, run.Name)
		}
		r.st.pauseSince(PauseInconclusive, r.now)
	}
	return false
}

// pauseConditionMet holds a pause {analysis: {successCondition}} step until the condition is
// true of the running analysis' latest measurements; a failed run aborts.
func (r *reconciler) pauseConditionMet(idx int, pa *PauseAnalysis) bool {
	run, ok := r.runningAnalysis()
	r.st.pauseSince(PauseAnalysisCond, r.now)
	r.after(conditionPoll)
	if !ok {
		return false // no run started yet (the background run may start at a later step)
	}
	if failed(run.Phase) {
		r.abort("AnalysisRunFailed", fmt.Sprintf("analysis %s while paused at step %d", verdictOf(run), idx+1))
		return false
	}
	met, err := EvalCondition(pa.SuccessCondition, pa.MetricName, run.Latest)
	if err != nil {
		if ce := (*ConditionError)(nil); errors.As(err, &ce) {
			r.st.Blocked = fmt.Sprintf("spec.strategy.canary.steps[%d].pause.analysis.successCondition: %v", idx, err)
		}
		return false // no measurement yet, or one the condition cannot use: keep holding
	}
	if met {
		r.st.clearPause(PauseAnalysisCond)
	}
	return met
}

// runningAnalysis is the run a pause {analysis} step looks at: the background run, else the
// last step run.
func (r *reconciler) runningAnalysis() (AnalysisState, bool) {
	for _, s := range []*AnalysisRunStatus{r.st.Canary.CurrentBackgroundAnalysisRunStatus, r.lastStepRun()} {
		if s != nil {
			return r.observedRun(s.Name), true
		}
	}
	return AnalysisState{}, false
}

// lastStepRun finds the most recent analysis step before the current one.
func (r *reconciler) lastStepRun() *AnalysisRunStatus {
	steps := r.spec.Canary.Steps
	for i := min(int(r.st.stepIndex()), len(steps)) - 1; i >= 0; i-- {
		if steps[i].Analysis != nil {
			return &AnalysisRunStatus{Name: r.runName(AnalysisStep, i)}
		}
	}
	return nil
}

// EvalCondition evaluates a pause {analysis} successCondition against a run's latest
// measurements, with the names Argo gives conditions: result, asInt, asFloat, isNaN, isInf,
// isNil, default. With metric set, result is that metric's latest value; otherwise the
// condition must be true with result bound to each metric's latest value in turn. No
// measurement yet is never a pass.
func EvalCondition(cond, metric string, latest map[string]any) (bool, error) {
	var values []any
	if metric != "" {
		v, ok := latest[metric]
		if !ok {
			return false, fmt.Errorf("metric %q has no measurement yet", metric)
		}
		values = append(values, v)
	} else {
		for _, k := range sortedKeys(latest) {
			values = append(values, latest[k])
		}
	}
	if len(values) == 0 {
		return false, fmt.Errorf("no measurement yet")
	}
	c, err := condition.Compile(cond)
	if err != nil {
		return false, &ConditionError{Condition: cond, Err: err}
	}
	for _, v := range values {
		ok, err := c.Eval(v)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// ConditionError is a condition that does not compile (as opposed to one that cannot be
// evaluated yet for lack of a measurement).
type ConditionError struct {
	Condition string
	Err       error
}

func (e *ConditionError) Error() string { return fmt.Sprintf("compile %q: %v", e.Condition, e.Err) }
func (e *ConditionError) Unwrap() error { return e.Err }

// stopRuns lists observed runs still going that no longer are wanted.
func (r *reconciler) stopRuns() []string {
	wanted := map[string]bool{}
	for _, w := range r.wantRuns {
		wanted[w.Name] = true
	}
	var stop []string
	for _, a := range r.obs.Analysis {
		if !wanted[a.Name] && !a.Phase.Terminal() {
			stop = append(stop, a.Name)
		}
	}
	return stop
}
