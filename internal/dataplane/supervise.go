package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// Status is what the supervisor knows of the data plane, for readiness and events.
type Status struct {
	// Up is true while the data plane runs and answers its health check.
	Up bool `json:"up"`
	// Reason says why it is not up (empty when up).
	Reason string `json:"reason,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// Restarts counts restarts by this control plane.
	Restarts int `json:"restarts"`
	// Since is when Up last changed.
	Since time.Time `json:"since"`
	// Down is how long the last outage lasted (set when the data plane is back).
	Down time.Duration `json:"down,omitempty"`
}

// SuperviseOptions configure Supervise. Now and After are the clock (tests pass fakes).
type SuperviseOptions struct {
	Log     *slog.Logger
	Backoff Backoff
	// OnChange is called (from the supervisor's goroutine) whenever Up or Reason changes.
	OnChange func(Status)
	// ProbeInterval is how often a running data plane's health is checked (default 1s).
	ProbeInterval time.Duration
	// UnreadyAfter failed probes in a row mark it not up (default 3); KillAfter failed
	// probes kill it so that it is restarted, as a hung replica is (default 10).
	UnreadyAfter, KillAfter int
	Now                     func() time.Time
	After                   func(time.Duration) <-chan time.Time
}

func (o *SuperviseOptions) defaults() {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.OnChange == nil {
		o.OnChange = func(Status) {}
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = time.Second
	}
	if o.UnreadyAfter <= 0 {
		o.UnreadyAfter = 3
	}
	if o.KillAfter <= o.UnreadyAfter {
		o.KillAfter = max(10, o.UnreadyAfter+1)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
}

// Status returns the supervisor's view of the data plane.
func (h *Handle) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// Supervise keeps the data plane running until ctx ends or Stop is called: a process that
// exits (or stops answering its health check for KillAfter probes) is started again at
// once on the same traffic socket with the control plane's route table, with backoff when
// it keeps crashing.
func (h *Handle) Supervise(ctx context.Context, opts SuperviseOptions) {
	opts.defaults()
	h.mu.Lock()
	p := h.proc
	h.mu.Unlock()
	if p == nil {
		// Adopted: not our child, so watch its pid instead of waiting on it.
		p = watchPID(ctx, h.Current().PID, opts.Now())
		if h.adoptErr != nil {
			opts.Log.Warn("the adopted data plane's socket is not held; a crash refuses connections until its restart listens", "err", h.adoptErr)
		}
	}
	h.keepStandby(opts, 0)
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
		case <-opts.After(opts.ProbeInterval):
			failed = h.probe(ctx, opts, p, failed)
			h.keepStandby(opts, 5*time.Second)
			continue
		}
		failed = 0
		if h.isStopping() {
			return
		}
		downAt := opts.Now()
		reason := "data plane exited"
		if p.err != nil {
			reason = fmt.Sprintf("data plane exited (%v)", p.err)
		}
		ran := downAt.Sub(p.started)
		h.setStatus(opts, func(s *Status) { s.Up, s.Reason, s.PID = false, reason+"; restarting", 0 })
		opts.Log.Warn("the data plane exited; restarting it", "pid", p.pid, "ran", ran.Round(time.Millisecond), "err", p.err)
		for {
			if d := opts.Backoff.Next(ran); d > 0 {
				opts.Log.Warn("the data plane keeps exiting; waiting before the next start", "wait", d, "crashes", opts.Backoff.Crashes())
				select {
				case <-ctx.Done():
					return
				case <-opts.After(d):
				}
			}
			np, err := h.restart(ctx, opts.Log)
			if err == nil {
				p = np
				break
			}
			if errors.Is(err, errStopping) || ctx.Err() != nil {
				return
			}
			ran = 0
			h.setStatus(opts, func(s *Status) { s.Reason = fmt.Sprintf("%s; restart failed: %v", reason, err) })
			opts.Log.Warn("restart the data plane", "err", err)
		}
		down := opts.Now().Sub(downAt)
		h.setStatus(opts, func(s *Status) { s.Up, s.Reason, s.PID, s.Down = true, "", p.pid, down; s.Restarts++ })
		opts.Log.Info("the data plane is back", "pid", p.pid, "down", down.Round(time.Millisecond))
		h.keepStandby(opts, 0)
	}
}

// keepStandby starts a standby when none runs and the last one started at least every
// ago (a standby that keeps dying is not restarted in a loop).
func (h *Handle) keepStandby(opts SuperviseOptions, every time.Duration) {
	h.runMu.Lock()
	defer h.runMu.Unlock()
	if sb := h.standby; sb != nil {
		select {
		case <-sb.p.exited:
		default:
			return
		}
	}
	if time.Since(h.standbyAt) < every {
		return
	}
	if err := h.startStandby(); err != nil {
		opts.Log.Warn("no standby data plane; a restart starts one cold", "err", err)
	}
}

// probe checks a running data plane's health; failed counts failures in a row.
func (h *Handle) probe(ctx context.Context, opts SuperviseOptions, p *proc, failed int) int {
	pctx, cancel := context.WithTimeout(ctx, opts.ProbeInterval)
	err := h.Client.Healthy(pctx)
	cancel()
	if ctx.Err() != nil {
		return failed
	}
	if err == nil {
		if failed >= opts.UnreadyAfter {
			h.setStatus(opts, func(s *Status) { s.Up, s.Reason = true, "" })
			opts.Log.Info("the data plane answers its health check again", "pid", p.pid)
		}
		return 0
	}
	failed++
	switch failed {
	case opts.UnreadyAfter:
		h.setStatus(opts, func(s *Status) {
			s.Up, s.Reason = false, fmt.Sprintf("data plane pid %d does not answer its health check (%d in a row): %v", p.pid, failed, err)
		})
		opts.Log.Warn("the data plane does not answer its health check", "pid", p.pid, "failures", failed, "err", err)
	case opts.KillAfter:
		opts.Log.Warn("the data plane is hung; killing it to restart it", "pid", p.pid, "failures", failed)
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		_ = syscall.Kill(p.pid, syscall.SIGKILL) // an adopted one may not lead its group
	}
	return failed
}

// restart hands the traffic socket to the standby, or starts a new data plane on it when
// there is none (binding the address the last one served on when an adopted data plane
// left no socket).
func (h *Handle) restart(ctx context.Context, log *slog.Logger) (*proc, error) {
	h.runMu.Lock()
	defer h.runMu.Unlock()
	if h.isStopping() {
		return nil, errStopping
	}
	st, p, err := h.activate(ctx)
	if err != nil {
		if !errors.Is(err, errNoStandby) {
			log.Warn("the standby data plane did not take over; starting one cold", "err", err)
		}
		st, p, err = h.spawn(ctx, h.State.Listen)
	}
	if err != nil {
		return nil, err
	}
	h.Client.setAddr(st.Admin)
	h.mu.Lock()
	h.cur, h.proc = st, p
	h.mu.Unlock()
	return p, nil
}

func (h *Handle) isStopping() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopping
}

// setStatus changes the status and reports it when Up or Reason changed.
func (h *Handle) setStatus(opts SuperviseOptions, f func(*Status)) {
	h.mu.Lock()
	old := h.status
	f(&h.status)
	if h.status.Up != old.Up {
		h.status.Since = opts.Now()
	}
	s := h.status
	h.mu.Unlock()
	if s.Up != old.Up || s.Reason != old.Reason {
		opts.OnChange(s)
	}
}

// watchPID returns a proc that exits when pid does (polled: an adopted data plane is not
// our child, so there is nothing to wait on), or never when ctx ends first.
func watchPID(ctx context.Context, pid int, now time.Time) *proc {
	p := &proc{pid: pid, started: now, exited: make(chan struct{})}
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for processAlive(pid) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		p.err = errors.New("adopted process gone")
		close(p.exited)
	}()
	return p
}
