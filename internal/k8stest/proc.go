package k8stest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// spawner starts every child process from one goroutine locked to its OS thread. Children get
// Pdeathsig=SIGKILL, which the kernel delivers when the thread that forked them exits; keeping
// that thread alive until Stop means a test binary that dies (a panic in a test bypasses
// TestMain's defers) takes its cluster with it, and nothing else does.
type spawner struct {
	reqs chan spawnReq
	quit chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), quit: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread exits with the goroutine, which is what kills any child
		// still alive if Stop was never reached.
		close(ready)
		for {
			select {
			case r := <-s.reqs:
				r.done <- r.cmd.Start()
			case <-s.quit:
				return
			}
		}
	}()
	<-ready
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan error, 1)
	select {
	case s.reqs <- spawnReq{cmd: cmd, done: done}:
	case <-s.quit:
		return errors.New("spawner stopped")
	}
	return <-done
}

func (s *spawner) close() { close(s.quit) }

// process is one running component of the cluster.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error // valid after exited is closed
}

func (s *spawner) run(name, logPath, bin string, args ...string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Child processes inherit nothing from a developer's shell that could point them at a real cluster.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	if err := s.start(cmd); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: f, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs the group.
func (p *process) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// A child of the component that outlived it would still be in the group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	p.log.Close()
}

// alive reports an error when the process has exited.
func (p *process) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited: %v (log %s)", p.name, p.err, p.log.Name())
	default:
		return nil
	}
}

// waitFor polls cond until it returns nil, ctx ends, or one of procs exits.
func waitFor(ctx context.Context, what string, procs []*process, cond func(context.Context) error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		for _, p := range procs {
			if err := p.alive(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		if last = cond(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-t.C:
		}
	}
}
