package local

import (
	"syscall"
	"time"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// terminate stops the process like the kubelet: out of the endpoints, drain (DrainDelay
// plus preStop sleep), SIGTERM to the group, SIGKILL after the grace period. It returns
// false when the platform detached meanwhile: the replica stays recorded (as terminating
// when scaled down) and the next Open finishes the job, so Detach never waits out a
// grace period.
func (r *replica) terminate(h *process) bool {
	tpl, _ := r.template()
	c := &tpl.Spec.Containers[0]
	r.mu.Lock()
	r.st.Ready = false
	r.st.ReadySince = time.Time{}
	if r.stopping {
		r.st.Phase = platform.PhaseTerminating
	}
	r.mu.Unlock()
	grace := 30 * time.Second
	if g := tpl.Spec.TerminationGracePeriodSeconds; g != nil && *g >= 0 {
		grace = time.Duration(*g) * time.Second
	}
	grace = min(grace, r.p.opts.MaxGracePeriod)
	drain := r.p.opts.DrainDelay
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		drain += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	drain = min(drain, grace)
	start := r.p.clock.Now()
	if drain > 0 {
		select {
		case <-h.done:
		case <-r.p.base.Done():
			return false
		case <-r.p.clock.After(drain):
		}
	}
	if err := signalGroup(h.pid, syscall.SIGTERM); err != nil {
		r.p.log.Warn("terminate replica", "replica", r.id, "err", err)
	}
	select {
	case <-h.done:
	case <-r.p.base.Done():
		return false
	case <-r.p.clock.After(max(grace-r.p.clock.Now().Sub(start), 0)):
		r.p.log.Warn("replica ignored SIGTERM for its grace period; killing", "replica", r.id, "grace", grace)
		_ = signalGroup(h.pid, syscall.SIGKILL)
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			r.p.log.Error("replica process did not die after SIGKILL", "replica", r.id, "pid", h.pid)
		}
	}
	r.reapGroup(h.pid)
	r.p.log.Info("replica stopped", "replica", r.id, "pid", h.pid)
	return true
}

// reapGroup kills whatever is left in the replica's process group once its leader has
// exited (children it forked), so nothing outlives the replica.
func (r *replica) reapGroup(pgid int) {
	for range 40 {
		members, err := groupMembers(r.p.opts.ProcRoot, pgid)
		if err != nil || len(members) == 0 {
			return
		}
		_ = signalGroup(pgid, syscall.SIGKILL)
		time.Sleep(25 * time.Millisecond) // the kernel needs a moment to tear them down
	}
	r.p.log.Error("replica process group still has members after SIGKILL", "replica", r.id, "pgid", pgid)
}
