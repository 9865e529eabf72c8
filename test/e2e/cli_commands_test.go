package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliPauseCanary waits for a promote at its first pause, so commands have an update to act on.
const cliPauseCanary = `    canary:
      stableService: s
      canaryService: c
      trafficRouting:
        plugins: {shipsafe/gateway: {}}
      scaleDownDelaySeconds: 0
      steps:
      - setWeight: 50
      - pause: {}`

// shipsafeCLI runs the binary against the cluster's data dir and returns its combined
// output and exit code.
func (c *cluster) shipsafeCLI(ctx context.Context, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, binary, append(args, "--data-dir", c.dir)...)
	cmd.Env = append(os.Environ(), "SHIPSAFE_SERVER=", "SHIPSAFE_TOKEN=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		c.t.Fatalf("shipsafe %v: %v\n%s", args, err, out)
	}
	return string(out), 0
}

// Issue 11.7, 11.10, 11.13 through the real binary: commands the engine rejects exit 1 with
// its reason, applied ones say so; events lists and follows what happened; up logs to its
// data dir; delete removes the rollout.
func TestCLICommandsEventsAndDelete(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const name = "cli-verdict"
	c.apply(detectorRollout(name, 1, "v1", "", cliPauseCanary))
	c.waitFor(ctx, name, "healthy on v1", healthyOn("v1"))

	// up logs to the data dir and says so.
	if !strings.Contains(c.log.String(), "logging to "+filepath.Join(c.dir, "shipsafe.log")) {
		t.Errorf("up did not print its log file:\n%s", c.log)
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "shipsafe.log")); err != nil || len(b) == 0 {
		t.Errorf("shipsafe.log: %v (%d bytes)", err, len(b))
	}

	for _, kind := range []string{"abort", "promote", "retry"} {
		out, code := c.shipsafeCLI(ctx, kind, name)
		if code == 0 || strings.Contains(out, "accepted") || !strings.Contains(out, kind+" "+name+": rejected: ") {
			t.Errorf("%s on a Healthy rollout: exit %d, want non-zero with the engine's reason:\n%s", kind, code, out)
		}
	}
	if out, code := c.shipsafeCLI(ctx, "abort", name); !strings.Contains(out, "no update in flight") || code != 1 {
		t.Errorf("abort: exit %d:\n%s", code, out)
	}
	if out, code := c.shipsafeCLI(ctx, "abort", name, "--no-wait"); code != 0 || !strings.Contains(out, "abort queued (command ") {
		t.Errorf("abort --no-wait: exit %d:\n%s", code, out)
	}

	// -f sees a new revision's events as they happen.
	fctx, stopFollow := context.WithCancel(ctx)
	follow := exec.CommandContext(fctx, binary, "events", "-f", name, "--data-dir", c.dir)
	follow.Cancel = func() error { return follow.Process.Signal(syscall.SIGINT) }
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	c.apply(detectorRollout(name, 1, "v2", "", cliPauseCanary))
	c.waitFor(ctx, name, "paused at step 1", func(v controlplaneView) bool {
		return v.Status.Phase == "Paused" && v.Status.CurrentStepIndex != nil && *v.Status.CurrentStepIndex == 1
	})
	if out, code := c.shipsafeCLI(ctx, "pause", name); code != 0 || out != name+": pause applied\n" {
		t.Errorf("pause: exit %d:\n%s", code, out)
	}
	if out, code := c.shipsafeCLI(ctx, "resume", name); code != 0 || out != name+": resume applied\n" {
		t.Errorf("resume: exit %d:\n%s", code, out)
	}
	if out, code := c.shipsafeCLI(ctx, "promote", name, "--full"); code != 0 || out != name+": promote-full applied\n" {
		t.Errorf("promote --full: exit %d:\n%s", code, out)
	}
	c.waitFor(ctx, name, "healthy on v2", healthyOn("v2"))

	// The follower saw the pause being applied.
	sawPause := false
	deadline := time.After(30 * time.Second)
	for !sawPause {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("events -f ended early")
			}
			sawPause = strings.Contains(l, "CommandApplied") && strings.Contains(l, "pause (")
		case <-deadline:
			t.Fatal("events -f did not print the pause's CommandApplied within 30s")
		}
	}
	stopFollow()
	if err := follow.Wait(); err != nil && fctx.Err() == nil {
		t.Errorf("events -f: %v", err)
	}

	out, code := c.shipsafeCLI(ctx, "events", name)
	for _, want := range []string{"CommandRejected", "abort (", "CommandApplied", "promote-full ("} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("events %s lacks %q (exit %d):\n%s", name, want, code, out)
		}
	}

	if out, code := c.shipsafeCLI(ctx, "delete", name); code != 0 || out != "rollout "+name+" deleted\n" {
		t.Errorf("delete: exit %d:\n%s", code, out)
	}
	if out, code := c.shipsafeCLI(ctx, "get", name); code == 0 || !strings.Contains(out, "404") {
		t.Errorf("get after delete: exit %d:\n%s", code, out)
	}
	if out, code := c.shipsafeCLI(ctx, "delete", name); code == 0 {
		t.Errorf("delete again: exit 0:\n%s", out)
	}
}
