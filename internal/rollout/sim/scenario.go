package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Scenario is what goes wrong (or not) in a simulated rollout of revision "v2" over "v1".
type Scenario struct {
	Name string
	// FailAtStep fails every analysis run once the canary reaches this step index (blue-green:
	// 0 fails pre-promotion, 1 post-promotion). -1: none.
	FailAtStep int32
	// FailAll fails every analysis run; Inconclusive makes them all inconclusive.
	FailAll, Inconclusive bool
	// NeverReady: the new revision's replicas never pass readiness; Crashloop: they crash.
	NeverReady, Crashloop bool
	// AbortAt, when set, has an operator abort at that time.
	AbortAt time.Duration
	// Rollback, when set, fires a rollback trigger from RollbackAt on.
	Rollback   rollout.RollbackAction
	RollbackAt time.Duration
	// NewRevisionAt, when set, ships revision "v3" at that time (mid-rollout).
	NewRevisionAt time.Duration
}

// ScenarioNames lists the scenarios ParseScenario knows, for help texts.
const ScenarioNames = "healthy | analysis-fails-at-step=N | analysis-fails | analysis-inconclusive | canary-never-ready | " +
	"canary-crashloop | abort-at=DURATION | rollback=immediate|staged|canary[@DURATION] | new-revision-at=DURATION"

// ParseScenario reads a --scenario value.
func ParseScenario(s string) (Scenario, error) {
	sc := Scenario{Name: s, FailAtStep: -1}
	key, val, hasVal := strings.Cut(s, "=")
	dur := func() (time.Duration, error) {
		d, err := time.ParseDuration(val)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("scenario %q: %q is not a duration such as 90s or 10m", s, val)
		}
		return d, nil
	}
	var err error
	switch {
	case s == "" || s == "healthy":
		sc.Name = "healthy"
	case s == "analysis-fails":
		sc.FailAll = true
	case s == "analysis-inconclusive":
		sc.Inconclusive = true
	case s == "canary-never-ready":
		sc.NeverReady = true
	case s == "canary-crashloop":
		sc.Crashloop = true
	case key == "analysis-fails-at-step" && hasVal:
		n, perr := strconv.ParseInt(val, 10, 32)
		if perr != nil || n < 0 {
			return sc, fmt.Errorf("scenario %q: step must be a step index >= 0", s)
		}
		sc.FailAtStep = int32(n)
	case key == "abort-at" && hasVal:
		sc.AbortAt, err = dur()
	case key == "new-revision-at" && hasVal:
		sc.NewRevisionAt, err = dur()
	case key == "rollback" && hasVal:
		action, at, hasAt := strings.Cut(val, "@")
		switch rollout.RollbackAction(action) {
		case rollout.RollbackImmediate, rollout.RollbackStaged, rollout.RollbackCanary:
			sc.Rollback = rollout.RollbackAction(action)
		default:
			return sc, fmt.Errorf("scenario %q: rollback action must be immediate, staged or canary", s)
		}
		sc.RollbackAt = 2 * time.Minute
		if hasAt {
			val = at
			sc.RollbackAt, err = dur()
		}
	default:
		return sc, fmt.Errorf("unknown scenario %q (want %s)", s, ScenarioNames)
	}
	return sc, err
}

// verdict is the scenario's analysis outcome for a run that has run its course.
func (sc Scenario) verdict(req rollout.AnalysisRequest, st rollout.Status) rollout.AnalysisPhase {
	switch {
	case sc.FailAll:
		return rollout.AnalysisFailed
	case sc.Inconclusive:
		return rollout.AnalysisInconclusive
	case sc.FailAtStep >= 0 && reachedStep(req, st, sc.FailAtStep):
		return rollout.AnalysisFailed
	case req.Kind == rollout.AnalysisBackground:
		return rollout.AnalysisRunning
	}
	return rollout.AnalysisSuccessful
}

func reachedStep(req rollout.AnalysisRequest, st rollout.Status, n int32) bool {
	switch req.Kind {
	case rollout.AnalysisPrePromotion:
		return n == 0
	case rollout.AnalysisPostPromotion:
		return n <= 1
	case rollout.AnalysisStep:
		return req.Step >= n
	}
	return st.CurrentStepIndex != nil && *st.CurrentStepIndex >= n
}
