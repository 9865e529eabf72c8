package rollout_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

// chooser picks a number in [0, n): math/rand in the property test, fuzz bytes in FuzzReconcile.
type chooser func(n int) int

func (c chooser) pick(n int) int {
	if n <= 1 {
		return 0
	}
	return c(n)
}

func (c chooser) chance(percent int) bool { return c.pick(100) < percent }

// bytesChooser reads choices from fuzz input; once exhausted every choice is 0.
func bytesChooser(data []byte) chooser {
	i := 0
	return func(n int) int {
		if i >= len(data) {
			return 0
		}
		v := int(data[i])
		i++
		return v % n
	}
}

func randomIOP(c chooser) *rollout.IntOrPercent {
	switch c.pick(4) {
	case 0:
		return nil
	case 1:
		return &rollout.IntOrPercent{Value: int32(c.pick(4))}
	default:
		return &rollout.IntOrPercent{Value: int32(c.pick(60)), Percent: true}
	}
}

func randomAnalysis(c chooser) *rollout.AnalysisSpec {
	if c.chance(50) {
		return nil
	}
	return analysis(fmt.Sprintf("t%d", c.pick(3)))
}

func randomStep(c chooser) rollout.CanaryStep {
	switch c.pick(9) {
	case 0, 1:
		return weight(int32(c.pick(101)))
	case 2:
		return pauseFor(time.Duration(c.pick(300)) * time.Second)
	case 3:
		return pauseForever()
	case 4:
		return rollout.CanaryStep{Analysis: analysis("a")}
	case 5:
		sc := &rollout.SetCanaryScale{}
		switch c.pick(3) {
		case 0:
			sc.Replicas = i32(int32(c.pick(12)))
		case 1:
			sc.Weight = i32(int32(c.pick(101)))
		default:
			sc.MatchTrafficWeight = true
		}
		return rollout.CanaryStep{SetCanaryScale: sc}
	case 6:
		hr := &rollout.HeaderRoute{Name: fmt.Sprintf("h%d", c.pick(2))}
		if c.chance(70) {
			hr.Match = []rollout.HeaderMatch{{HeaderName: "x", HeaderValue: rollout.StringMatch{Exact: "1"}}}
		}
		return rollout.CanaryStep{SetHeaderRoute: hr}
	case 7:
		return rollout.CanaryStep{Pause: &rollout.PauseStep{Analysis: &rollout.PauseAnalysis{SuccessCondition: "result > 0.5"}}}
	default:
		if c.chance(20) {
			return rollout.CanaryStep{Experiment: true}
		}
		return rollout.CanaryStep{SetMirrorRoute: &rollout.MirrorRoute{Name: "m", Percentage: int32(c.pick(101)),
			Match: []rollout.RouteMatch{{Path: &rollout.StringMatch{Prefix: "/"}}}}}
	}
}

func randomSpec(c chooser) rollout.Spec {
	s := rollout.Spec{Name: "ro", Replicas: int32(c.pick(11)), TemplateHash: "r0", ProgressDeadlineSeconds: int32(c.pick(3) * 120),
		ProgressDeadlineAbort: c.chance(30)}
	switch c.pick(3) {
	case 0:
		cs := &rollout.CanaryStrategy{MaxSurge: randomIOP(c), MaxUnavailable: randomIOP(c)}
		for range c.pick(7) {
			cs.Steps = append(cs.Steps, randomStep(c))
		}
		if a := randomAnalysis(c); a != nil {
			cs.Analysis = &rollout.BackgroundAnalysis{AnalysisSpec: *a, StartingStep: int32(c.pick(3))}
		}
		if c.chance(30) {
			cs.AbortScaleDownDelaySeconds = i32(int32(c.pick(40)))
		}
		s.Canary = cs
	case 1:
		b := &rollout.BlueGreenStrategy{ActiveService: "a", PrePromotionAnalysis: randomAnalysis(c), PostPromotionAnalysis: randomAnalysis(c),
			AutoPromotionSeconds: int32(c.pick(3) * 30)}
		if c.chance(50) {
			b.PreviewReplicaCount = i32(int32(c.pick(6)))
		}
		if c.chance(50) {
			auto := c.chance(50)
			b.AutoPromotionEnabled = &auto
		}
		if c.chance(50) {
			b.ScaleDownDelaySeconds = i32(int32(c.pick(60)))
		}
		s.BlueGreen = b
	default:
		s.Rolling = &rollout.RollingStrategy{MaxSurge: randomIOP(c), MaxUnavailable: randomIOP(c)}
	}
	return s
}

var commandKinds = []rollout.CommandKind{rollout.CommandPromote, rollout.CommandPromoteFull, rollout.CommandAbort,
	rollout.CommandRetry, rollout.CommandUndo, rollout.CommandPause, rollout.CommandResume}

var verdicts = []rollout.AnalysisPhase{rollout.AnalysisSuccessful, rollout.AnalysisSuccessful, rollout.AnalysisFailed,
	rollout.AnalysisError, rollout.AnalysisInconclusive}

// runSequence drives one random sequence of observations and commands and returns the first
// violated invariant.
func runSequence(c chooser, steps int, logf func(string, ...any)) error {
	spec := randomSpec(c)
	verdict := verdicts[c.pick(len(verdicts))]
	w := sim.New(sim.Behaviour{Router: c.chance(50), ReadyAfter: time.Duration(c.pick(20)) * time.Second,
		MinReady: time.Duration(c.pick(10)) * time.Second, AnalysisTakes: time.Duration(c.pick(120)) * time.Second,
		Metrics: map[string]any{"m": float64(c.pick(100)) / 100},
		Verdict: func(rollout.AnalysisRequest, rollout.Status) rollout.AnalysisPhase { return verdict },
	}, t0)
	revision := 0
	if c.chance(5) { // a stored status that is corrupt or from another spec must not crash it
		w.Status = rollout.Status{CurrentPodHash: []string{"r9", spec.TemplateHash}[c.pick(2)], StableRS: []string{"", "r0", "r9"}[c.pick(3)],
			CurrentStepIndex: i32(int32(c.pick(40)) - 20), Abort: c.chance(50), PromoteFull: c.chance(50),
			Canary:          rollout.CanaryStatus{Weights: []rollout.RevisionWeight{{Hash: "r0", Weight: int32(c.pick(300)) - 100}}},
			PauseConditions: []rollout.PauseCondition{{Reason: "Bogus", StartTime: t0}}}
	}
	for i := range steps {
		switch c.pick(12) {
		case 0:
			revision++
			spec.TemplateHash = fmt.Sprintf("r%d", revision)
		case 1:
			id := fmt.Sprintf("c%d", c.pick(6)) // ids repeat on purpose: replays must be no-ops
			cm := rollout.Command{ID: id, Kind: commandKinds[c.pick(len(commandKinds))]}
			if cm.Kind == rollout.CommandUndo && c.chance(50) {
				cm.Revision = fmt.Sprintf("r%d", c.pick(revision+1))
			}
			w.Commands = append(w.Commands, cm)
		case 2:
			if c.chance(50) {
				w.Rollback = nil
			} else {
				w.Rollback = &rollout.RollbackRequest{Action: []rollout.RollbackAction{rollout.RollbackImmediate, rollout.RollbackStaged,
					rollout.RollbackCanary, "bogus"}[c.pick(4)], Trigger: "t", ObserveFor: time.Duration(c.pick(90)) * time.Second}
			}
		case 3:
			h := fmt.Sprintf("r%d", c.pick(revision+1))
			w.B.NeverReady = map[string]bool{h: c.chance(50)}
			w.B.Failing = map[string]bool{h: c.chance(20)}
		case 4:
			verdict = verdicts[c.pick(len(verdicts))]
		case 5:
			spec.Replicas = int32(c.pick(11))
		case 6:
			w.B.Router = !w.B.Router
		}
		obs := w.Observe()
		if c.chance(10) && len(obs.Revisions) > 0 { // observations can lag or be odd
			j := c.pick(len(obs.Revisions))
			rv := &obs.Revisions[j]
			rv.Replicas = max(rv.Replicas+int32(c.pick(3))-1, 0)
			rv.Ready = min(rv.Ready, rv.Replicas)
			rv.Available = min(rv.Available, rv.Ready)
		}
		logf("step %d t=%s spec=%s/%d router=%v obs=%+v cmds=%+v rb=%+v", i, w.Now.Sub(t0), spec.TemplateHash, spec.Replicas, obs.HasTrafficRouter, obs.Revisions, obs.Commands, obs.Rollback)
		sampled := i%5 == 0 // the purity checks are costly: run them on every fifth step
		before := ""
		if sampled {
			before = cloneStatus(w.Status)
		}
		res := rollout.Reconcile(spec, w.Status, obs, w.Now)
		if sampled && before != cloneStatus(w.Status) {
			return fmt.Errorf("step %d: Reconcile mutated its input status", i)
		}
		if err := checkInvariants(spec, obs, res); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if err := checkStableCapacity(spec, w.Status, obs, res); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
		if sampled && !reflect.DeepEqual(rollout.Reconcile(spec, w.Status, obs, w.Now), res) {
			return fmt.Errorf("step %d: same inputs gave different results", i)
		}
		if len(obs.Commands) > 0 {
			if err := checkIdempotent(spec, obs, res, w.Now); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		logf("  -> phase=%s msg=%q plan=%+v weights=%+v events=%+v", res.Status.Phase, res.Status.Message, res.Plan.Revisions, res.Plan.Traffic.Weights, res.Events)
		w.Apply(res)
		w.Advance(time.Duration(c.pick(90)) * time.Second)
	}
	return nil
}

// cloneStatus deep-copies a status (through JSON) to detect mutation of Reconcile's input.
func cloneStatus(s rollout.Status) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// checkIdempotent: replaying the commands of obs on the status they produced must equal not
// replaying them.
func checkIdempotent(spec rollout.Spec, obs rollout.Observation, once rollout.Result, now time.Time) error {
	twice := rollout.Reconcile(spec, once.Status, obs, now)
	without := obs
	without.Commands = nil
	ref := rollout.Reconcile(spec, once.Status, without, now)
	twice.Acknowledged, ref.Acknowledged = nil, nil
	if !reflect.DeepEqual(twice, ref) {
		return fmt.Errorf("commands %+v not idempotent:\ntwice %+v\nonce  %+v", obs.Commands, twice, ref)
	}
	return nil
}

// checkStableCapacity: the stable revision is never scaled below what its traffic needs
// before the new one is ready. With weights set by a router (and blue-green), the stable keeps
// at least ceil(weight% of replicas); without one, no plan removes available replicas beyond
// maxUnavailable (immediate and canary rollback actions excepted: they remove the new
// revision at once).
func checkStableCapacity(spec rollout.Spec, prev rollout.Status, obs rollout.Observation, res rollout.Result) error {
	if spec.Replicas < 0 || res.Status.Blocked != "" && res.Status.Phase == rollout.PhaseDegraded && res.Status.CurrentPodHash == "" {
		return nil
	}
	stable := res.Status.StableRS
	newReady := false
	for _, r := range obs.Revisions {
		if r.Hash == res.Status.CurrentPodHash && r.Available >= spec.Replicas {
			newReady = true
		}
	}
	if newReady || stable == "" {
		return nil
	}
	planned := replicasOf(res.Plan, stable)
	if (obs.HasTrafficRouter && spec.Canary != nil) || spec.BlueGreen != nil {
		if w := weightOf(res.Plan, stable); w > 0 {
			need := min(spec.Replicas, (w*spec.Replicas+99)/100)
			if planned < need {
				return fmt.Errorf("stable %s planned %d replicas for %d%% of %d", stable, planned, w, spec.Replicas)
			}
		}
		return nil
	}
	if rb := res.Status.Rollback; rb != nil && (rb.Action == rollout.RollbackImmediate || rb.Action == rollout.RollbackCanary) {
		return nil // these actions take the new revision's replicas away at once, by design
	}
	var availNow, availAfter int32
	for _, r := range obs.Revisions {
		availNow += r.Available
		availAfter += min(replicasOf(res.Plan, r.Hash), r.Available)
	}
	_, unavailable := resolveForTest(spec)
	if floor := min(availNow, spec.Replicas-unavailable); availAfter < floor {
		return fmt.Errorf("plan leaves %d available replicas, floor %d (had %d): %+v", availAfter, floor, availNow, res.Plan.Revisions)
	}
	return nil
}

// resolveForTest mirrors maxSurge/maxUnavailable defaults (25%/25%, unavailable rounded down,
// both zero → unavailable 1).
func resolveForTest(spec rollout.Spec) (int32, int32) {
	var s, u *rollout.IntOrPercent
	if spec.Canary != nil {
		s, u = spec.Canary.MaxSurge, spec.Canary.MaxUnavailable
	} else if spec.Rolling != nil {
		s, u = spec.Rolling.MaxSurge, spec.Rolling.MaxUnavailable
	}
	val := func(v *rollout.IntOrPercent, up bool) int32 {
		if v == nil {
			v = &rollout.IntOrPercent{Value: 25, Percent: true}
		}
		if !v.Percent {
			return max(v.Value, 0)
		}
		p := max(v.Value, 0) * spec.Replicas
		if up {
			return (p + 99) / 100
		}
		return p / 100
	}
	sv, uv := val(s, true), val(u, false)
	if sv == 0 && uv == 0 {
		uv = 1
	}
	return sv, uv
}

func TestPropertyRandomSequences(t *testing.T) {
	for seed := range uint64(propertySequences) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		if err := runSequence(chooser(rng.IntN), propertySteps, func(string, ...any) {}); err != nil {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			_ = runSequence(chooser(rng.IntN), propertySteps, t.Logf) // replay with the steps logged
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}
