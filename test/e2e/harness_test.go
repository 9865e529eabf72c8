// Package e2e runs shipsafe end to end: the real binary (`shipsafe up`) as a process, its
// data plane and detector replicas as processes, real HTTP on 127.0.0.1 and real SQLite.
// Every test stops what it started; a cleanup kills any recorded pid left behind.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
)

// binary is the shipsafe binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shipsafe-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "shipsafe")
	build := exec.Command("go", "build", "-o", binary, "github.com/shipsafe/shipsafe/cmd/shipsafe")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build shipsafe:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is one `shipsafe up` and its data dir.
type cluster struct {
	t       *testing.T
	dir     string
	api     string
	gateway string
	cmd     *exec.Cmd
	log     *lockedBuffer
	token   string
	starts  int
	extra   []string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster runs `shipsafe up` in a fresh data dir.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t)
}

// startClusterWith runs `shipsafe up` with extra flags in a fresh data dir.
func startClusterWith(t *testing.T, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), api: freeAddr(t), gateway: freeAddr(t), extra: extra}
	t.Cleanup(c.cleanup)
	c.start()
	return c
}

// start (re)starts the control plane process on the same data dir and addresses.
func (c *cluster) start() {
	c.t.Helper()
	// One log across restarts, so a failure shows every control plane's output.
	if c.log == nil {
		c.log = &lockedBuffer{}
	}
	c.starts++
	fmt.Fprintf(c.log, "=== shipsafe up, start %d ===\n", c.starts)
	c.cmd = exec.Command(binary, append([]string{"up", "--data-dir", c.dir, "--api", c.api, "--listen", c.gateway}, c.extra...)...)
	c.cmd.Dir = c.dir
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + c.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("shipsafe up did not serve its API within 30s:\n%s", c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(c.dir, "token"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.token = strings.TrimSpace(string(tok))
}

// kill9 kills the control plane process only (the data plane and replicas keep running).
func (c *cluster) kill9() {
	c.t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// stop asks `up` to stop everything and waits.
func (c *cluster) stop() {
	if c.cmd == nil || c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// cleanup stops everything and kills any recorded process that survived (data plane,
// replicas), so no test leaves a process running.
func (c *cluster) cleanup() {
	c.stop()
	for _, pid := range append(c.recordedPIDs(), c.liveReplicaProcs()...) {
		if syscall.Kill(pid, 0) == nil {
			c.t.Logf("killing leftover process %d", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if c.t.Failed() {
		c.t.Logf("shipsafe up output:\n%s", c.log)
	}
}

// recordedPIDs reads the data plane's and the replicas' pids from the data dir.
func (c *cluster) recordedPIDs() []int {
	var pids []int
	var dp struct{ PID int }
	if b, err := os.ReadFile(filepath.Join(c.dir, "dataplane.json")); err == nil && json.Unmarshal(b, &dp) == nil && dp.PID > 0 {
		pids = append(pids, dp.PID)
	}
	pids = append(pids, c.replicaPIDs("")...)
	return pids
}

// replicaPIDs lists the pids of the replicas of one revision hash ("" for all).
func (c *cluster) replicaPIDs(revision string) []int {
	var st struct {
		Services map[string]map[string]struct {
			Replicas []struct{ PID int }
		}
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "platform", "state.json"))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return nil
	}
	var pids []int
	for _, revs := range st.Services {
		for name, r := range revs {
			if revision != "" && name != revision {
				continue
			}
			for _, rep := range r.Replicas {
				if rep.PID > 0 {
					pids = append(pids, rep.PID)
				}
			}
		}
	}
	return pids
}

// call sends an API request with the token.
func (c *cluster) call(method, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequest(method, "http://"+c.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

func (c *cluster) apply(manifest string) {
	c.t.Helper()
	if _, err := c.call("POST", "/api/v1/apply", []byte(manifest), nil); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) view(name string) (apiservice.RolloutView, error) {
	var v apiservice.RolloutView
	_, err := c.call("GET", "/api/v1/rollouts/"+name, nil, &v)
	return v, err
}

// waitFor polls a rollout until cond holds.
func (c *cluster) waitFor(ctx context.Context, name, what string, cond func(apiservice.RolloutView) bool) apiservice.RolloutView {
	c.t.Helper()
	var v apiservice.RolloutView
	for {
		var err error
		v, err = c.view(name)
		if err == nil && cond(v) {
			return v
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("%s: not %s in time; last status %+v", name, what, v.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// healthyOn says the rollout is fully on the revision serving model.
func healthyOn(model string) func(apiservice.RolloutView) bool {
	return func(v apiservice.RolloutView) bool {
		if v.Status.Phase != "Healthy" || v.Status.StableRS == "" || v.Status.StableRS != v.Status.CurrentPodHash {
			return false
		}
		for _, r := range v.Revisions {
			if r.Hash == v.Status.StableRS {
				return r.Model == model && r.Ready >= r.Desired && r.Desired > 0
			}
		}
		return false
	}
}

// controlplaneView is the API's rollout view.
type controlplaneView = apiservice.RolloutView

// hashOf is the revision hash the control plane will give a manifest's template.
func hashOf(t *testing.T, manifest string) string {
	t.Helper()
	objs, err := apimanifest.Parse([]byte(manifest))
	if err != nil || len(objs) != 1 || objs[0].Rollout == nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return adapter.TemplateHash(objs[0].Rollout.Spec.Template)
}

// stableIs says the rollout is healthy with all traffic on the given revision.
func stableIs(hash string) func(apiservice.RolloutView) bool {
	return func(v apiservice.RolloutView) bool {
		if v.Status.Phase != "Healthy" || v.Status.StableRS != hash || v.Status.CurrentPodHash != hash {
			return false
		}
		for _, r := range v.Revisions {
			if r.Hash == hash {
				return r.Ready >= r.Desired && r.Desired > 0 && r.Weight == 100
			}
		}
		return false
	}
}

// lockedBuffer is the up processes' output: written by exec's copying goroutine, read by
// tests while the process runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
