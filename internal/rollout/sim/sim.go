// Package sim is a simulated world for the rollout engine: replicas that become ready after a
// delay, analysis runs that finish after a while with a scripted verdict, and a clock that only
// moves when told. `shipsafe plan` and the engine's tests drive Reconcile with it. It is pure
// (no I/O, no wall clock), like the engine.
package sim

import (
	"slices"
	"time"

	"github.com/shipsafe/shipsafe/internal/rollout"
)

// Behaviour scripts the simulated world. The zero value is a healthy world with instant
// readiness; set the fields to make it realistic or hostile.
type Behaviour struct {
	// ReadyAfter is how long a new replica takes to pass readiness.
	ReadyAfter time.Duration
	// MinReady is minReadySeconds: how long a ready replica takes to count as available.
	MinReady time.Duration
	// AnalysisTakes is how long an analysis run runs before its verdict.
	AnalysisTakes time.Duration
	// NeverReady lists revisions whose replicas never become ready.
	NeverReady map[string]bool
	// Failing lists revisions whose replicas crash-loop (never ready, counted Failed).
	Failing map[string]bool
	// Verdict decides a run's phase once it has run for AnalysisTakes (asked again at every
	// Advance while it answers Running). nil: background runs keep running until stopped,
	// every other run succeeds.
	Verdict func(req rollout.AnalysisRequest, status rollout.Status) rollout.AnalysisPhase
	// Metrics are the latest measurement values every run reports (for pause conditions).
	Metrics map[string]any
	// Router says a traffic router is present.
	Router bool
}

// replica is one simulated replica.
type replica struct{ created time.Time }

// run is one simulated analysis run.
type run struct {
	req     rollout.AnalysisRequest
	started time.Time
	phase   rollout.AnalysisPhase
}

// World is the simulated state. Not safe for concurrent use.
type World struct {
	B        Behaviour
	Now      time.Time
	Status   rollout.Status
	Commands []rollout.Command
	Rollback *rollout.RollbackRequest

	replicas map[string][]replica
	runs     map[string]*run
	order    []string // run names in start order
}

// New returns a world at time start with nothing running.
func New(b Behaviour, start time.Time) *World {
	return &World{B: b, Now: start, replicas: map[string][]replica{}, runs: map[string]*run{}}
}

// Observe reports the world as the engine sees it.
func (w *World) Observe() rollout.Observation {
	obs := rollout.Observation{HasTrafficRouter: w.B.Router, Commands: slices.Clone(w.Commands), Rollback: w.Rollback}
	for _, h := range sortedKeys(w.replicas) {
		rs := w.replicas[h]
		st := rollout.RevisionState{Hash: h, Replicas: int32(len(rs))}
		for _, r := range rs {
			switch {
			case w.B.Failing[h]:
				if w.Now.Sub(r.created) >= w.B.ReadyAfter {
					st.Failed++
				}
			case w.B.NeverReady[h]:
			case w.Now.Sub(r.created) >= w.B.ReadyAfter:
				st.Ready++
				if w.Now.Sub(r.created) >= w.B.ReadyAfter+w.B.MinReady {
					st.Available++
				}
			}
		}
		obs.Revisions = append(obs.Revisions, st)
	}
	for _, name := range w.order {
		r := w.runs[name]
		a := rollout.AnalysisState{Name: name, Phase: r.phase}
		if w.Now.Sub(r.started) >= w.B.AnalysisTakes { // the first measurement lands after AnalysisTakes
			a.Latest = w.B.Metrics
		}
		obs.Analysis = append(obs.Analysis, a)
	}
	return obs
}

// Step runs Reconcile once against the current world and applies its plan.
func (w *World) Step(spec rollout.Spec) rollout.Result {
	res := rollout.Reconcile(spec, w.Status, w.Observe(), w.Now)
	w.Apply(res)
	return res
}

// Apply stores the status, drops acknowledged commands and makes the plan real: replicas are
// created (now) or removed (unready and newest first), runs started or stopped.
func (w *World) Apply(res rollout.Result) {
	w.Status = res.Status
	w.Commands = slices.DeleteFunc(w.Commands, func(c rollout.Command) bool { return slices.Contains(res.Acknowledged, c.ID) })
	for _, d := range res.Plan.Revisions {
		rs := w.replicas[d.Hash]
		for int32(len(rs)) < d.Replicas {
			rs = append(rs, replica{created: w.Now})
		}
		if int32(len(rs)) > d.Replicas {
			rs = rs[:d.Replicas] // replicas are kept oldest first, so the newest (least ready) go
		}
		if len(rs) == 0 {
			delete(w.replicas, d.Hash)
		} else {
			w.replicas[d.Hash] = rs
		}
	}
	for _, req := range res.Plan.StartAnalysis {
		if _, ok := w.runs[req.Name]; !ok {
			w.runs[req.Name] = &run{req: req, started: w.Now, phase: rollout.AnalysisRunning}
			w.order = append(w.order, req.Name)
		}
	}
	for _, name := range res.Plan.StopAnalysis {
		if r, ok := w.runs[name]; ok && !r.phase.Terminal() {
			r.phase = rollout.AnalysisSuccessful // terminated runs end as Argo's: successful, stopped early
		}
	}
}

// Advance moves the clock and finishes the runs whose time has come.
func (w *World) Advance(d time.Duration) {
	w.Now = w.Now.Add(d)
	for _, name := range w.order {
		r := w.runs[name]
		if r.phase.Terminal() || w.Now.Sub(r.started) < w.B.AnalysisTakes {
			continue
		}
		switch {
		case w.B.Verdict != nil:
			r.phase = w.B.Verdict(r.req, w.Status)
		case r.req.Kind == rollout.AnalysisBackground:
			r.phase = rollout.AnalysisRunning
		default:
			r.phase = rollout.AnalysisSuccessful
		}
	}
}

// RunPhase returns a run's phase ("" when it never started).
func (w *World) RunPhase(name string) rollout.AnalysisPhase {
	if r, ok := w.runs[name]; ok {
		return r.phase
	}
	return ""
}

// Replicas returns the number of replicas a revision has.
func (w *World) Replicas(hash string) int { return len(w.replicas[hash]) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
