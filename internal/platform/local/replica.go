package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// replica is one slot of a revision: a supervisor goroutine that starts its process,
// probes it, restarts it with backoff and stops it. The ID, port and log survive
// restarts of the process, like a pod's across container restarts.
type replica struct {
	p       *Platform
	rv      *revision
	id      string
	seq     int
	ports   replicaPorts
	logPath string
	ctx     context.Context // cancelled by requestStop and by Detach
	cancel  context.CancelFunc

	mu         sync.Mutex
	st         platform.ReplicaState
	stopping   bool
	startTicks uint64
	streak     int
	nextStart  time.Time
}

// supervision ends in one of these ways.
type endKind int

const (
	endExited   endKind = iota // the process exited by itself
	endLiveness                // the liveness probe failed
	endStop                    // the replica is being scaled down
	endDetach                  // the platform detached; leave the process running
)

// newReplicaLocked creates a replica slot with fresh ports; p.mu must be held.
func (p *Platform) newReplicaLocked(rv *revision) *replica {
	seq := rv.nextSeq
	rv.nextSeq++
	id := fmt.Sprintf("%s-%s-%d", rv.svc, rv.name, seq)
	ports := replicaPorts{Main: p.allocPortLocked()}
	for _, cp := range extraContainerPorts(&rv.spec.Template.Spec.Containers[0]) {
		if ports.Extra == nil {
			ports.Extra = map[int32]int{}
		}
		ports.Extra[cp] = p.allocPortLocked()
	}
	r := p.replicaFromRecord(rv, replicaRecord{
		ID: id, Seq: seq, Ports: ports,
		// Not <id>.log: the ID repeats the service name, which may be 253 bytes long.
		LogPath: filepath.Join(p.dataDir, "logs", rv.svc, rv.name, fmt.Sprintf("%s-%d.log", rv.name, seq)),
	})
	r.st.Phase = platform.PhaseStarting
	r.st.Message = "starting process"
	rv.replicas[id] = r
	return r
}

// replicaFromRecord builds a replica from its persisted record (no goroutine yet).
func (p *Platform) replicaFromRecord(rv *revision, rec replicaRecord) *replica {
	ctx, cancel := context.WithCancel(p.base)
	r := &replica{
		p: p, rv: rv, id: rec.ID, seq: rec.Seq, ports: rec.Ports, logPath: rec.LogPath,
		ctx: ctx, cancel: cancel, startTicks: rec.StartTicks, streak: rec.Streak,
	}
	r.st = platform.ReplicaState{
		ID: rec.ID, PID: rec.PID, Endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(rec.Ports.Main)),
		Restarts: rec.Restarts, LastTermination: rec.LastTermination, StartedAt: rec.StartedAt,
		LogPath: rec.LogPath,
	}
	return r
}

// allocPortLocked picks a free loopback port not used by any replica of this platform.
func (p *Platform) allocPortLocked() int {
	used := map[int]bool{}
	for _, s := range p.services {
		for _, rv := range s.revisions {
			for _, r := range rv.replicas {
				used[r.ports.Main] = true
				for _, hp := range r.ports.Extra {
					used[hp] = true
				}
			}
		}
	}
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			// Out of ports or sockets: hand out an unlikely port; the replica will crash
			// loop visibly rather than the whole Apply failing.
			p.log.Error("allocate replica port", "err", err)
			return 1
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !used[port] {
			return port
		}
	}
}

func (p *Platform) startSupervisor(r *replica, adopted *process) {
	p.wg.Add(1)
	go r.run(adopted)
}

func (r *replica) snapshot() platform.ReplicaState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

func (r *replica) stopRequested() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

// requestStop marks the replica terminating (out of the endpoints at once) and tells
// its supervisor to stop the process.
func (r *replica) requestStop() {
	r.mu.Lock()
	r.stopping = true
	r.st.Phase = platform.PhaseTerminating
	r.st.Ready = false
	r.st.ReadySince = time.Time{}
	r.st.Message = "terminating"
	r.mu.Unlock()
	r.cancel()
	r.p.notify()
}

// killNow SIGKILLs the current process group (Shutdown past its deadline).
func (r *replica) killNow() {
	r.mu.Lock()
	pid := r.st.PID
	r.mu.Unlock()
	if pid > 0 {
		_ = signalGroup(pid, syscall.SIGKILL)
	}
}

// template returns the revision's current pod template and working dir. Apply replaces
// rv.spec with a deep copy and never mutates it, so the returned value is safe to read.
func (r *replica) template() (corev1.PodTemplateSpec, string) {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.rv.spec.Template, r.rv.workDir
}

// run is the supervisor loop. adopted is a running process found by Open, or nil.
func (r *replica) run(h *process) {
	defer r.p.wg.Done()
	for {
		if h == nil {
			if !r.waitBackoff() {
				break
			}
			var err error
			if h, err = r.start(); err != nil {
				r.crashed("start failed: "+err.Error(), 0)
				r.p.saveStateLogged()
				continue
			}
			r.p.saveStateLogged()
		}
		reason, end := r.supervise(h)
		switch end {
		case endDetach:
			h.release()
			return
		case endStop:
			done := r.terminate(h)
			h.release()
			if done {
				r.finish()
			}
			return
		case endLiveness:
			if !r.terminate(h) {
				h.release()
				return
			}
		case endExited:
			r.reapGroup(h.pid)
		}
		h.release()
		r.crashed(reason, r.p.clock.Now().Sub(h.startedAt))
		h = nil
		r.p.saveStateLogged()
	}
	if r.p.base.Err() == nil {
		r.finish()
	}
}

// waitBackoff sleeps until the next start is due; false when the replica must stop.
func (r *replica) waitBackoff() bool {
	r.mu.Lock()
	wait := r.nextStart.Sub(r.p.clock.Now())
	r.mu.Unlock()
	if wait > 0 {
		select {
		case <-r.p.clock.After(wait):
		case <-r.ctx.Done():
		}
	}
	return r.ctx.Err() == nil
}

// start launches the process in a new session (so its own process group, and no
// controlling terminal whose hangup could reach it), appending to the replica's log.
func (r *replica) start() (*process, error) {
	r.ensurePortFree()
	tpl, workDir := r.template()
	launch, err := r.p.resolver.buildLaunch(&tpl, r.ports,
		podContext{ID: r.id, Namespace: r.p.opts.Namespace, Labels: tpl.Labels}, r.p.dataDir, workDir)
	if err != nil {
		return nil, err
	}
	logFile, err := r.openLog()
	if err != nil {
		return nil, err
	}
	now := r.p.clock.Now()
	r.mu.Lock()
	restarts := r.st.Restarts
	r.mu.Unlock()
	fmt.Fprintf(logFile, "--- shipsafe: %s start #%d at %s: %q\n", r.id, restarts, now.UTC().Format(time.RFC3339Nano), launch.Args)
	cmd := &exec.Cmd{
		Path: launch.Path, Args: launch.Args, Env: launch.Env, Dir: launch.Dir,
		Stdout: logFile, Stderr: logFile,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	_ = logFile.Close() // the child holds its own descriptor
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", launch.Path, err)
	}
	pid := cmd.Process.Pid
	st, err := readProcStat(r.p.opts.ProcRoot, pid)
	if err != nil {
		r.p.log.Warn("read start time of new replica process", "replica", r.id, "pid", pid, "err", err)
	}
	h := watchChild(cmd, st.StartTicks, now)
	r.mu.Lock()
	r.startTicks = st.StartTicks
	r.st.PID = pid
	r.st.StartedAt = now
	r.st.Phase = platform.PhaseStarting
	r.st.Ready = false
	r.st.ReadySince = time.Time{}
	r.st.Message = ""
	r.mu.Unlock()
	r.p.log.Info("replica started", "replica", r.id, "pid", pid, "port", r.ports.Main)
	return h, nil
}

// ensurePortFree moves the replica to a new port when something else took its port
// while it was down (ports are only reserved by the replica's own listener), so a
// restart does not crash-loop on "address already in use".
func (r *replica) ensurePortFree() {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.ports.Main)))
	if err == nil {
		_ = l.Close()
		return
	}
	r.p.mu.Lock()
	port := r.p.allocPortLocked()
	r.mu.Lock()
	old := r.ports.Main
	r.ports.Main = port
	r.st.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	r.mu.Unlock()
	r.p.mu.Unlock()
	r.p.log.Warn("replica port taken by another process; moving replica", "replica", r.id, "old", old, "new", port, "err", err)
}

func (r *replica) openLog() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(r.logPath), 0o700); err != nil {
		return nil, fmt.Errorf("replica log dir: %w", err)
	}
	if fi, err := os.Stat(r.logPath); err == nil && fi.Size() > r.p.opts.MaxLogBytes {
		_ = os.Rename(r.logPath, r.logPath+".1")
	}
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open replica log: %w", err)
	}
	// A log created by an older version keeps its 0644 otherwise; replicas log request
	// details, which only the data dir's owner should read.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("replica log mode: %w", err)
	}
	return f, nil
}

// supervise watches a running process until it exits, fails liveness, or the replica
// is stopped or detached, running the probes on their schedules meanwhile.
func (r *replica) supervise(h *process) (string, endKind) {
	tpl, _ := r.template()
	c := &tpl.Spec.Containers[0]
	readiness, liveness := c.ReadinessProbe, c.LivenessProbe
	rt, lt := newProbeTracker(readiness, false), newProbeTracker(liveness, true)
	rTiming, lTiming := timingOf(readiness), timingOf(liveness)
	nextReady := h.startedAt.Add(rTiming.initialDelay)
	nextLive := h.startedAt.Add(lTiming.initialDelay)
	if readiness == nil {
		if r.setReady(true, "") {
			r.p.saveStateLogged() // ReadySince, for availability after adoption
		}
	} else if h.readyOnAdoption {
		// Probed once by Open: keep serving through the control-plane restart.
		rt.passing = true
		nextReady = r.p.clock.Now().Add(rTiming.period)
	}
	for {
		var timer <-chan time.Time
		if readiness != nil || liveness != nil {
			due := nextReady
			if readiness == nil || (liveness != nil && nextLive.Before(due)) {
				due = nextLive
			}
			timer = r.p.clock.After(max(due.Sub(r.p.clock.Now()), 0))
		}
		select {
		case <-h.done:
			return h.exitReason, endExited
		case <-r.ctx.Done():
			if r.p.base.Err() != nil {
				return "", endDetach
			}
			return "", endStop
		case <-timer:
		}
		now := r.p.clock.Now()
		if readiness != nil && !now.Before(nextReady) {
			err := r.p.prober.run(r.ctx, readiness, c, r.ports, launchSpec{})
			if r.ctx.Err() != nil {
				continue
			}
			msg := ""
			if err != nil {
				msg = "readiness probe failed: " + err.Error()
			}
			if r.setReady(rt.record(err), msg) {
				r.p.saveStateLogged() // ReadySince, for availability after adoption
			}
			nextReady = now.Add(rTiming.period)
		}
		if liveness != nil && !now.Before(nextLive) {
			err := r.p.prober.run(r.ctx, liveness, c, r.ports, launchSpec{})
			if r.ctx.Err() != nil {
				continue
			}
			if !lt.record(err) {
				return "liveness probe failed: " + lt.lastError, endLiveness
			}
			nextLive = now.Add(lTiming.period)
		}
	}
}

// setReady records a readiness verdict and reports whether the replica just became ready.
func (r *replica) setReady(ready bool, msg string) (becameReady bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	if ready && !r.st.Ready {
		r.st.ReadySince = r.p.clock.Now()
		r.st.Phase = platform.PhaseRunning
		becameReady = true
	}
	if !ready {
		r.st.ReadySince = time.Time{}
	}
	if ready != r.st.Ready {
		r.p.notify()
	}
	r.st.Ready = ready
	r.st.Message = msg
	return becameReady
}

// crashed records an exit that was not asked for and schedules the restart.
func (r *replica) crashed(reason string, ran time.Duration) {
	now := r.p.clock.Now()
	r.mu.Lock()
	streak, delay := r.p.backoff.next(r.streak, ran)
	r.streak = streak
	r.nextStart = now.Add(delay)
	r.st.Restarts++
	r.st.LastTermination = reason
	r.st.PID = 0
	r.startTicks = 0
	r.st.Ready = false
	r.st.ReadySince = time.Time{}
	if !r.stopping {
		r.st.Phase = platform.PhaseCrashLoopBackOff
		r.st.Message = fmt.Sprintf("back-off %s restarting failed container", delay)
	}
	restarts := r.st.Restarts
	r.mu.Unlock()
	r.p.notify()
	r.p.log.Warn("replica exited; restarting after backoff", "replica", r.id, "reason", reason,
		"restarts", restarts, "backoff", delay)
}

// finish removes a stopped replica from its revision and records the change.
func (r *replica) finish() {
	r.cancel()
	r.p.mu.Lock()
	delete(r.rv.replicas, r.id)
	r.p.dropEmptyLocked(r.rv.svc)
	r.p.mu.Unlock()
	r.p.usage.mu.Lock()
	delete(r.p.usage.samples, r.id)
	r.p.usage.mu.Unlock()
	r.p.saveStateLogged()
	r.p.notify()
}
