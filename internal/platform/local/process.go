package local

import (
	"errors"
	"os/exec"
	"sync"
	"time"
)

// process is a handle on a running replica process: our child, or one adopted from a
// previous platform and watched through /proc.
type process struct {
	pid        int
	startTicks uint64
	startedAt  time.Time
	done       chan struct{} // closed when the process has exited
	exitReason string        // valid after done is closed
	// readyOnAdoption: an adopted process that passed one readiness probe during Open.
	readyOnAdoption bool
	stopPoll        chan struct{}
	once            sync.Once
}

func (h *process) release() {
	h.once.Do(func() {
		if h.stopPoll != nil {
			close(h.stopPoll)
		}
	})
}

// watchChild reaps a child we started and records how it ended.
func watchChild(cmd *exec.Cmd, startTicks uint64, startedAt time.Time) *process {
	h := &process{pid: cmd.Process.Pid, startTicks: startTicks, startedAt: startedAt, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			h.exitReason = "exit status 0"
		case errors.As(err, &ee):
			h.exitReason = ee.String()
		default:
			h.exitReason = err.Error()
		}
		close(h.done)
	}()
	return h
}

// watchAdopted polls /proc for a process that is not our child (its exit status is
// unknowable; its parent is init or a subreaper).
func watchAdopted(procRoot string, pid int, startTicks uint64, startedAt time.Time, every time.Duration) *process {
	h := &process{pid: pid, startTicks: startTicks, startedAt: startedAt, done: make(chan struct{}), stopPoll: make(chan struct{})}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if !processAlive(procRoot, pid, startTicks) {
				h.exitReason = "exited (adopted process: exit status unknown)"
				close(h.done)
				return
			}
			select {
			case <-h.stopPoll:
				return
			case <-t.C:
			}
		}
	}()
	return h
}
