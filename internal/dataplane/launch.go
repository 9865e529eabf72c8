package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Handle is a running data plane the control plane started or adopted.
type Handle struct {
	State  State
	Client *Client
	// Adopted is true when the data plane was already running.
	Adopted bool
}

// Ensure adopts the data plane described in dataDir's state file when it is alive and
// answers with token; otherwise it starts `exe dataplane ...` as a detached process group
// (it must outlive the control plane) and waits until it is healthy.
func Ensure(ctx context.Context, dataDir, exe, listen, token string) (*Handle, error) {
	if st, err := ReadState(dataDir); err == nil && processAlive(st.PID) {
		c := NewClient(st.Admin, token)
		if c.Healthy(ctx) == nil {
			if _, err := c.Routes(ctx); err == nil {
				return &Handle{State: st, Client: c, Adopted: true}, nil
			}
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	_ = os.Remove(filepath.Join(dataDir, StateFile))
	logf, err := os.OpenFile(filepath.Join(dataDir, "dataplane.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data plane log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "dataplane", "--data-dir", dataDir, "--listen", listen, "--flags", filepath.Join(dataDir, "flags.json"))
	cmd.Env = append(os.Environ(), "SHIPSAFE_DATAPLANE_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start data plane %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	// Reap it if it exits while we are alive; it is its own process group so signals to
	// the control plane do not reach it.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return nil, ctx.Err()
		case err := <-exited:
			return nil, fmt.Errorf("data plane exited during start-up (%v); see %s", err, filepath.Join(dataDir, "dataplane.log"))
		case <-deadline.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			return nil, fmt.Errorf("data plane did not become healthy within 15s; see %s", filepath.Join(dataDir, "dataplane.log"))
		case <-tick.C:
			st, err := ReadState(dataDir)
			if err != nil || st.PID != pid {
				continue
			}
			c := NewClient(st.Admin, token)
			if c.Healthy(ctx) == nil {
				return &Handle{State: st, Client: c}, nil
			}
		}
	}
}

// Stop asks the data plane to drain and exit, and waits up to timeout before killing it.
func (h *Handle) Stop(ctx context.Context, timeout time.Duration) error {
	pid := h.State.PID
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
