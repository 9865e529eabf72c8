package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Handle is a running data plane the control plane started or adopted, and supervises
// (Supervise): a data plane that exits is started again on the same traffic socket.
type Handle struct {
	// State is the data plane as Ensure found or started it. Listen never changes across
	// restarts; Current has the running process's pid and admin address.
	State  State
	Client *Client
	// Adopted is true when the data plane was already running.
	Adopted bool

	dataDir, exe, token string

	// runMu serialises starting and stopping the process, so Stop never races a restart.
	runMu sync.Mutex
	mu    sync.Mutex
	cur   State
	proc  *proc
	// ln is the traffic socket, held by the control plane so that connections made while
	// the data plane restarts wait in its backlog instead of being refused (nil for an
	// adopted data plane until its first restart).
	ln       *os.File
	stopping bool
	status   Status
}

// proc is one data plane process.
type proc struct {
	pid     int
	started time.Time
	// exited is closed when the process has exited; err says how.
	exited chan struct{}
	err    error
}

// errStopping: the data plane is being stopped on purpose; nothing is restarted.
var errStopping = errors.New("data plane is stopping")

// Ensure adopts the data plane described in dataDir's state file when it is alive and
// answers with token; otherwise it starts `exe dataplane ...` as a detached process group
// (it must outlive the control plane) on a traffic socket bound here, and waits until it
// is healthy.
func Ensure(ctx context.Context, dataDir, exe, listen, token string) (*Handle, error) {
	h := &Handle{dataDir: dataDir, exe: exe, token: token}
	if st, err := ReadState(dataDir); err == nil && processAlive(st.PID) {
		c := NewClient(st.Admin, token)
		if c.Healthy(ctx) == nil {
			if _, err := c.Routes(ctx); err == nil {
				h.State, h.cur, h.Client, h.Adopted = st, st, c, true
				h.status = Status{Up: true, PID: st.PID, Since: time.Now()}
				return h, nil
			}
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	st, p, err := h.spawn(ctx, listen)
	if err != nil {
		h.release()
		return nil, err
	}
	h.State, h.cur, h.proc, h.Client = st, st, p, NewClient(st.Admin, token)
	h.status = Status{Up: true, PID: st.PID, Since: time.Now()}
	return h, nil
}

// Current is the running data plane as last started or adopted.
func (h *Handle) Current() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// spawn starts a data plane serving on the held traffic socket (bound to listen first when
// none is held) and waits until it answers.
func (h *Handle) spawn(ctx context.Context, listen string) (State, *proc, error) {
	if h.ln == nil {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", listen)
		if err != nil {
			return State{}, nil, fmt.Errorf("data plane: listen %s: %w", listen, err)
		}
		f, err := l.(*net.TCPListener).File()
		l.Close() // f is a duplicate of the socket; the socket stays bound and listening
		if err != nil {
			return State{}, nil, fmt.Errorf("data plane: traffic socket: %w", err)
		}
		h.ln = f
	}
	// The control plane's table, when it has one, is what a restart must serve.
	if h.Client != nil {
		if t, ok := h.Client.Desired(); ok && len(t.Services) > 0 {
			if err := WriteRoutes(h.dataDir, t); err != nil {
				return State{}, nil, fmt.Errorf("data plane: store routes for the restart: %w", err)
			}
		}
	}
	_ = os.Remove(filepath.Join(h.dataDir, StateFile))
	logPath := filepath.Join(h.dataDir, "dataplane.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return State{}, nil, fmt.Errorf("open data plane log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(h.exe, "dataplane", "--data-dir", h.dataDir, "--listen", "fd:3", "--flags", filepath.Join(h.dataDir, "flags.json"))
	cmd.Env = append(os.Environ(), "SHIPSAFE_DATAPLANE_TOKEN="+h.token)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{h.ln} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return State{}, nil, fmt.Errorf("start data plane %s: %w", h.exe, err)
	}
	p := &proc{pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{})}
	// Reap it when it exits while we are alive; it is its own process group so signals to
	// the control plane do not reach it.
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	// Short ticks: a restart is waited for while clients queue in the backlog.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			return State{}, nil, ctx.Err()
		case <-p.exited:
			return State{}, nil, fmt.Errorf("data plane exited during start-up (%v); see %s", p.err, logPath)
		case <-deadline.C:
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			return State{}, nil, fmt.Errorf("data plane did not become healthy within 15s; see %s", logPath)
		case <-tick.C:
			st, err := ReadState(h.dataDir)
			if err != nil || st.PID != p.pid {
				continue
			}
			if NewClient(st.Admin, h.token).Healthy(ctx) == nil {
				return st, p, nil
			}
		}
	}
}

// Stop asks the data plane to drain and exit, and waits up to timeout before killing it.
// Nothing restarts it afterwards, and the traffic socket is closed.
func (h *Handle) Stop(ctx context.Context, timeout time.Duration) error {
	h.runMu.Lock()
	defer h.runMu.Unlock()
	h.mu.Lock()
	h.stopping = true
	pid := h.cur.PID
	h.mu.Unlock()
	defer h.release()
	if !processAlive(pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for processAlive(pid) {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return ctx.Err()
		case <-t.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return fmt.Errorf("data plane pid %d did not exit within %s; killed", pid, timeout)
		case <-tick.C:
		}
	}
	return nil
}

// Release closes the control plane's copy of the traffic socket, leaving the data plane
// serving on its own (a control plane that exits and leaves it running).
func (h *Handle) Release() {
	h.runMu.Lock()
	defer h.runMu.Unlock()
	h.release()
}

func (h *Handle) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		_ = h.ln.Close()
		h.ln = nil
	}
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state field follows the ")" closing the command name.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2] != 'Z'
		}
	}
	return true
}
