// Package controlplane is shipsafe's reconcile loop: for every rollout it observes the
// platform and the analysis runs, asks the pure engine (internal/rollout) what to do, then
// sets traffic on the data plane, replicas on the platform, starts and stops analysis runs,
// and persists status, events and history — one worker per rollout, idempotent, resumable
// from the stored status after a crash.
package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/backoff"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/traffic"
	"github.com/shipsafe/shipsafe/internal/workload"
)

// Options configure a ControlPlane.
type Options struct {
	Store    store.Store
	Platform platform.Platform
	Router   traffic.Router
	Analysis *analysis.Executor
	// Model names the model a pod template serves, for history, audit and `status`
	// (default workload.FromAnnotations).
	Model workload.Identify
	// TriggerProvider measures the rollouts' rollbackTriggers (the builtin provider); nil
	// disables triggers.
	TriggerProvider analysis.Provider
	// Now defaults to time.Now.
	Now func() time.Time
	// Tick is the longest a worker waits between reconciles of a rollout that is moving
	// (default 500ms).
	Tick time.Duration
	// IdleResync is the longest a worker waits while its rollout is idle: a pass that
	// changed nothing, with nothing scheduled and no rollback triggers. Idle waits double
	// from Tick up to it; Wake and WakeAll (an apply, a command, a platform change) end
	// them at once. Default 30s.
	IdleResync time.Duration
	Log        *slog.Logger
}

// ControlPlane runs the reconcile loop.
type ControlPlane struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	workers map[string]*worker
}

type worker struct {
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// New checks opts and returns a ControlPlane.
func New(opts Options) (*ControlPlane, error) {
	if opts.Store == nil || opts.Platform == nil || opts.Router == nil || opts.Analysis == nil {
		return nil, errors.New("controlplane: Store, Platform, Router and Analysis are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 500 * time.Millisecond
	}
	if opts.IdleResync <= 0 {
		opts.IdleResync = 30 * time.Second
	}
	opts.IdleResync = max(opts.IdleResync, opts.Tick)
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Model == nil {
		opts.Model = workload.FromAnnotations
	}
	return &ControlPlane{opts: opts, log: opts.Log, workers: map[string]*worker{}}, nil
}

// Run starts a worker for every stored rollout (resuming each from its stored status) and
// keeps the set of workers in step with the store until ctx is cancelled.
//
// Applies and commands start their workers through Wake; the periodic list (every
// IdleResync) only catches rollouts stored by someone else, so it need not be frequent —
// with 1,000 rollouts each list reads every row.
func (cp *ControlPlane) Run(ctx context.Context) error {
	t := time.NewTicker(cp.opts.IdleResync)
	defer t.Stop()
	for {
		if err := cp.syncWorkers(ctx); err != nil {
			cp.log.Error("list rollouts", "err", err)
		}
		select {
		case <-ctx.Done():
			cp.stopAll()
			return nil
		case <-t.C:
		}
	}
}

func (cp *ControlPlane) syncWorkers(ctx context.Context) error {
	rows, err := cp.opts.Store.ListRollouts(ctx)
	if err != nil {
		return err
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, r := range rows {
		if _, ok := cp.workers[r.Name]; !ok {
			cp.startWorkerLocked(ctx, r.Name)
		}
	}
	return nil
}

// Wake makes the rollout's worker reconcile now (after an apply or a command), starting it
// if needed.
func (cp *ControlPlane) Wake(ctx context.Context, name string) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	w, ok := cp.workers[name]
	if !ok {
		cp.startWorkerLocked(ctx, name)
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// WakeAll makes every worker reconcile now (the platform saw a replica change).
func (cp *ControlPlane) WakeAll() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, w := range cp.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (cp *ControlPlane) startWorkerLocked(ctx context.Context, name string) {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	cp.workers[name] = w
	go func() {
		defer close(w.done)
		cp.runWorker(wctx, name, w)
		cp.mu.Lock()
		if cp.workers[name] == w {
			delete(cp.workers, name)
		}
		cp.mu.Unlock()
	}()
}

func (cp *ControlPlane) stopAll() {
	cp.mu.Lock()
	ws := make([]*worker, 0, len(cp.workers))
	for _, w := range cp.workers {
		w.cancel()
		ws = append(ws, w)
	}
	cp.mu.Unlock()
	for _, w := range ws {
		<-w.done
	}
}

// runWorker reconciles one rollout until ctx ends or the rollout is deleted.
func (cp *ControlPlane) runWorker(ctx context.Context, name string, w *worker) {
	log := cp.log.With("rollout", name)
	failures, idle := 0, 0
	// The first pass checks that the data plane serves what the stored status says (it
	// may have restarted while no control plane ran).
	verify := true
	for {
		p, err := cp.reconcile(ctx, name, verify)
		next := p.next
		switch {
		case ctx.Err() != nil:
			return
		case p.gone:
			log.Info("rollout deleted; worker stops")
			return
		case err != nil:
			failures, idle = failures+1, 0
			log.Warn("reconcile failed; will retry", "err", err, "failures", failures)
			next = min(time.Duration(failures)*cp.opts.Tick, 10*time.Second)
		default:
			failures = 0
			verify = false
			if p.quiet && next <= 0 {
				idle++
			} else {
				idle = 0
			}
		}
		next = waitAfter(next, idle, cp.opts.Tick, cp.opts.IdleResync)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// waitAfter is how long a worker waits before its next pass: what the pass asked for, at
// most tick; after idle consecutive quiet passes, tick doubled per pass up to resync, so an
// idle rollout costs (almost) nothing until a wake-up says something changed.
func waitAfter(next time.Duration, idle int, tick, resync time.Duration) time.Duration {
	if idle > 0 {
		return backoff.Doubling(tick, resync, idle)
	}
	if next <= 0 || next > tick {
		return tick
	}
	return next
}
