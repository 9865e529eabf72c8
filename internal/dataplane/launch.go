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
	ln *os.File
	// standby is a warm data plane process waiting to take over (nil when none).
	standby   *standby
	standbyAt time.Time
	stopping  bool
	status    Status
	// adoptErr says why the socket of an adopted data plane could not be taken.
	adoptErr error
}

// standby is a started data plane that waits for a byte on w before it serves.
type standby struct {
	p *proc
	w *os.File
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
				h.ln, h.adoptErr = takeListener(st)
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
	if err := h.holdListener(ctx, listen); err != nil {
		return State{}, nil, err
	}
	if err := h.storeDesired(); err != nil {
		return State{}, nil, err
	}
	p, _, err := h.startProcess(false)
	if err != nil {
		return State{}, nil, err
	}
	st, err := h.waitUp(ctx, p)
	return st, p, err
}

// holdListener binds the traffic socket unless one is held already.
func (h *Handle) holdListener(ctx context.Context, listen string) error {
	if h.ln != nil {
		return nil
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("data plane: listen %s: %w", listen, err)
	}
	f, err := l.(*net.TCPListener).File()
	l.Close() // f is a duplicate of the socket; the socket stays bound and listening
	if err != nil {
		return fmt.Errorf("data plane: traffic socket: %w", err)
	}
	h.mu.Lock()
	h.ln = f
	h.mu.Unlock()
	return nil
}

// storeDesired writes the control plane's route table, when it has one, for the next
// data plane to start with.
func (h *Handle) storeDesired() error {
	if h.Client == nil {
		return nil
	}
	if t, ok := h.Client.Desired(); ok && len(t.Services) > 0 {
		if err := WriteRoutes(h.dataDir, t); err != nil {
			return fmt.Errorf("data plane: store routes for the restart: %w", err)
		}
	}
	return nil
}

// startProcess starts `exe dataplane` on the held socket. A standby also gets the read
// end of a pipe it waits on; the write end is returned.
func (h *Handle) startProcess(standby bool) (*proc, *os.File, error) {
	logf, err := os.OpenFile(h.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open data plane log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(h.exe, "dataplane", "--data-dir", h.dataDir, "--listen", "fd:3", "--flags", filepath.Join(h.dataDir, "flags.json"))
	cmd.Env = append(os.Environ(), "SHIPSAFE_DATAPLANE_TOKEN="+h.token)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{h.ln} // fd 3
	var r, w *os.File
	if standby {
		if r, w, err = os.Pipe(); err != nil {
			return nil, nil, fmt.Errorf("data plane standby pipe: %w", err)
		}
		defer r.Close()                            // the child has its own copy
		cmd.ExtraFiles = append(cmd.ExtraFiles, r) // fd 4
		cmd.Env = append(cmd.Env, StandbyEnv+"=4")
	} else {
		// Do not pass on a standby setting of our own environment.
		cmd.Env = append(cmd.Env, StandbyEnv+"=")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		if w != nil {
			w.Close()
		}
		return nil, nil, fmt.Errorf("start data plane %s: %w", h.exe, err)
	}
	p := &proc{pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{})}
	// Reap it when it exits while we are alive; it is its own process group so signals to
	// the control plane do not reach it.
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, w, nil
}

func (h *Handle) logPath() string { return filepath.Join(h.dataDir, "dataplane.log") }

// waitUp waits until p has written the state file and answers its health check.
func (h *Handle) waitUp(ctx context.Context, p *proc) (State, error) {
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	// Short ticks: a restart is waited for while clients queue in the backlog.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			return State{}, ctx.Err()
		case <-p.exited:
			return State{}, fmt.Errorf("data plane exited during start-up (%v); see %s", p.err, h.logPath())
		case <-deadline.C:
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			return State{}, fmt.Errorf("data plane did not become healthy within 15s; see %s", h.logPath())
		case <-tick.C:
			st, err := ReadState(h.dataDir)
			if err != nil || st.PID != p.pid {
				continue
			}
			if NewClient(st.Admin, h.token).Healthy(ctx) == nil {
				return st, nil
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
	h.discardStandby()
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
	h.discardStandby()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		_ = h.ln.Close()
		h.ln = nil
	}
}

// startStandby starts a warm standby unless one is running or no socket is held.
// Callers hold runMu.
func (h *Handle) startStandby() error {
	if h.ln == nil || h.isStopping() {
		return nil
	}
	if sb := h.standby; sb != nil {
		select {
		case <-sb.p.exited:
			h.discardStandby()
		default:
			return nil
		}
	}
	p, w, err := h.startProcess(true)
	if err != nil {
		return fmt.Errorf("start a standby data plane: %w", err)
	}
	h.standby, h.standbyAt = &standby{p: p, w: w}, time.Now()
	return nil
}

// discardStandby closes the standby's pipe (it exits on EOF) and kills it to be sure.
func (h *Handle) discardStandby() {
	sb := h.standby
	if sb == nil {
		return
	}
	h.standby = nil
	_ = sb.w.Close()
	_ = syscall.Kill(-sb.p.pid, syscall.SIGKILL)
}

// errNoStandby: there is no live standby to activate; start a data plane cold.
var errNoStandby = errors.New("no standby data plane")

// activate hands the traffic socket to the standby: it restores the stored routes and
// serves. Callers hold runMu.
func (h *Handle) activate(ctx context.Context) (State, *proc, error) {
	sb := h.standby
	h.standby = nil
	if sb == nil {
		return State{}, nil, errNoStandby
	}
	select {
	case <-sb.p.exited:
		_ = sb.w.Close()
		return State{}, nil, errNoStandby
	default:
	}
	if err := h.storeDesired(); err != nil {
		h.standby = sb
		return State{}, nil, err
	}
	_, err := sb.w.Write([]byte{1})
	_ = sb.w.Close()
	if err != nil {
		_ = syscall.Kill(-sb.p.pid, syscall.SIGKILL)
		return State{}, nil, fmt.Errorf("activate the standby data plane: %w", err)
	}
	st, err := h.waitUp(ctx, sb.p)
	return st, sb.p, err
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
