// Package simulate is the canary-analysis simulation benchmark behind
// `shipsafe analysis simulate`: it streams synthetic per-second traffic for a stable and a
// canary version and measures, for the production judge and for two common baselines, how
// often a good canary is rolled back and how many requests a bad canary serves first.
package simulate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Scenario is one canary error rate to simulate.
type Scenario struct {
	// Name is the key in results: "aa", "2x", "5x".
	Name string
	// CanaryErrorRate is the canary's per-request error probability.
	CanaryErrorRate float64
	// Bad says whether the canary is really worse (a rollback is a detection, not a false one).
	Bad bool
}

// Config is one simulation. DefaultConfig gives the setting.
type Config struct {
	Runs              int
	Seed              uint64
	RequestsPerSecond int
	CanaryShare       float64
	StableErrorRate   float64
	// HorizonSeconds bounds every run: a canary not rolled back by then counts as kept, so
	// that detection rate and false-rollback rate are defined.
	HorizonSeconds int
	Scenarios      []Scenario
	// Workers bounds parallel runs (0: min(2, GOMAXPROCS)). Results do not depend on it.
	Workers int
	// Methods builds the decision rules compared; nil selects DefaultMethods().
	Methods []MethodFactory
}

// DefaultConfig is the setting of issue 5: 50 req/s, 5% canary, stable error rate 1%, canary
// 1% (A/A), 2% and 5%, checks every second, a 30-minute horizon, 1000 runs each.
func DefaultConfig() Config {
	return Config{
		Runs:              1000,
		Seed:              1,
		RequestsPerSecond: 50,
		CanaryShare:       0.05,
		StableErrorRate:   0.01,
		HorizonSeconds:    30 * 60,
		Scenarios: []Scenario{
			{Name: "aa", CanaryErrorRate: 0.01},
			{Name: "2x", CanaryErrorRate: 0.02, Bad: true},
			{Name: "5x", CanaryErrorRate: 0.05, Bad: true},
		},
	}
}

// Summary is what one method did in one scenario.
type Summary struct {
	// FalseRollbackRate is the fraction of runs rolled back when the canary was not worse
	// (always 0 for a bad canary).
	FalseRollbackRate float64 `json:"false_rollback_rate"`
	// DetectionRate is the fraction of runs rolled back when the canary was worse (always 0
	// for a good canary).
	DetectionRate float64 `json:"detection_rate"`
	// MedianRequests is the median number of requests the canary served before rollback,
	// counting a run that was never rolled back at its horizon total.
	MedianRequests float64 `json:"median_requests"`
	// MedianRequestsDetected is the same median over rolled-back runs only (NaN if none).
	MedianRequestsDetected float64 `json:"-"`
	Runs                   int     `json:"-"`
}

// Results maps method name → scenario name → summary.
type Results map[string]map[string]Summary

// runOutcome is what one method did in one run.
type runOutcome struct {
	rolledBack bool
	requests   int64
}

// Run simulates every scenario Runs times for every method. Each (scenario, run) pair has
// its own seeded random stream shared by all methods, so methods see identical traffic and
// results are reproducible for a given Seed regardless of Workers.
func Run(ctx context.Context, cfg Config) (Results, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	methods := cfg.Methods
	if methods == nil {
		methods = DefaultMethods()
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = min(2, runtime.GOMAXPROCS(0))
	}
	nS, nM := len(cfg.Scenarios), len(methods)
	outcomes := make([]runOutcome, nS*cfg.Runs*nM) // [scenario][run][method]
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				s, r := job/cfg.Runs, job%cfg.Runs
				out := outcomes[job*nM : (job+1)*nM]
				if err := simulateRun(cfg, cfg.Scenarios[s], uint64(s), uint64(r), methods, out); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var sendErr error
send:
	for job := range nS * cfg.Runs {
		select {
		case jobs <- job:
		case sendErr = <-errs:
			break send
		case <-ctx.Done():
			sendErr = ctx.Err()
			break send
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if sendErr == nil {
		sendErr = <-errs
	}
	if sendErr != nil {
		return nil, fmt.Errorf("simulate: %w", sendErr)
	}
	res := Results{}
	for m, f := range methods {
		res[f.Name] = map[string]Summary{}
		for s, sc := range cfg.Scenarios {
			runs := make([]runOutcome, cfg.Runs)
			for r := range cfg.Runs {
				runs[r] = outcomes[(s*cfg.Runs+r)*nM+m]
			}
			res[f.Name][sc.Name] = summarise(sc, runs)
		}
	}
	return res, nil
}

func validate(cfg Config) error {
	switch {
	case cfg.Runs < 1:
		return fmt.Errorf("simulate: runs must be >= 1, got %d", cfg.Runs)
	case cfg.RequestsPerSecond < 1:
		return fmt.Errorf("simulate: requestsPerSecond must be >= 1, got %d", cfg.RequestsPerSecond)
	case !(cfg.CanaryShare > 0 && cfg.CanaryShare < 1):
		return fmt.Errorf("simulate: canaryShare must be in (0, 1), got %v", cfg.CanaryShare)
	case !(cfg.StableErrorRate >= 0 && cfg.StableErrorRate <= 1):
		return fmt.Errorf("simulate: stableErrorRate must be in [0, 1], got %v", cfg.StableErrorRate)
	case cfg.HorizonSeconds < 1:
		return fmt.Errorf("simulate: horizonSeconds must be >= 1, got %d", cfg.HorizonSeconds)
	case len(cfg.Scenarios) == 0:
		return fmt.Errorf("simulate: at least one scenario is required")
	}
	for i, s := range cfg.Scenarios {
		if !(s.CanaryErrorRate >= 0 && s.CanaryErrorRate <= 1) {
			return fmt.Errorf("simulate: scenarios[%d].canaryErrorRate must be in [0, 1], got %v", i, s.CanaryErrorRate)
		}
	}
	return nil
}

// probThreshold turns a probability into a threshold on a uniform 32-bit integer.
func probThreshold(p float64) uint64 { return uint64(p * (1 << 32)) }

// simulateRun streams one run second by second to every method until all have rolled back
// or the horizon ends.
func simulateRun(cfg Config, sc Scenario, scenarioIdx, run uint64, factories []MethodFactory, out []runOutcome) error {
	rng := rand.New(rand.NewPCG(cfg.Seed, scenarioIdx<<40|run))
	methods := make([]Method, len(factories))
	for i, f := range factories {
		m, err := f.New()
		if err != nil {
			return fmt.Errorf("method %s: %w", f.Name, err)
		}
		methods[i] = m
	}
	shareT := probThreshold(cfg.CanaryShare)
	canaryErrT, stableErrT := probThreshold(sc.CanaryErrorRate), probThreshold(cfg.StableErrorRate)
	var served int64
	active := len(methods)
	for sec := 1; sec <= cfg.HorizonSeconds && active > 0; sec++ {
		var w Window
		for range cfg.RequestsPerSecond {
			u := rng.Uint64()
			route, fail := u>>32, u&0xffffffff
			if route < shareT {
				w.CanaryRequests++
				if fail < canaryErrT {
					w.CanaryErrors++
				}
			} else {
				w.StableRequests++
				if fail < stableErrT {
					w.StableErrors++
				}
			}
		}
		served += w.CanaryRequests
		for i, m := range methods {
			if out[i].rolledBack {
				continue
			}
			rollback, err := m.Observe(sec, w)
			if err != nil {
				return fmt.Errorf("method %s at second %d: %w", factories[i].Name, sec, err)
			}
			if rollback {
				out[i] = runOutcome{rolledBack: true, requests: served}
				active--
			}
		}
	}
	for i := range out {
		if !out[i].rolledBack {
			out[i].requests = served
		}
	}
	return nil
}

func summarise(sc Scenario, runs []runOutcome) Summary {
	all := make([]float64, 0, len(runs))
	var detected []float64
	for _, r := range runs {
		all = append(all, float64(r.requests))
		if r.rolledBack {
			detected = append(detected, float64(r.requests))
		}
	}
	rate := float64(len(detected)) / float64(len(runs))
	s := Summary{Runs: len(runs), MedianRequests: median(all), MedianRequestsDetected: median(detected)}
	if sc.Bad {
		s.DetectionRate = rate
	} else {
		s.FalseRollbackRate = rate
	}
	return s
}

// median returns the median of v (NaN when empty); v is reordered.
func median(v []float64) float64 {
	if len(v) == 0 {
		return nan()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
