package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/flags/flagdtestbed"
)

// TestFlagsServeFlagdTestbed runs flagd's conformance suite (both suites of flagd-testbed,
// internal/flags/testdata/flagd-testbed) through OFREP against the real binary: one
// `shipsafe flags serve --file F --listen 127.0.0.1:0` process per flag source the
// scenarios use. Every scenario that applies passes; the excluded ones are skipped with
// their reason (docs/flags.md lists them).
func TestFlagsServeFlagdTestbed(t *testing.T) {
	root := flagsRepoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "shipsafe")
	build := exec.Command("go", "build", "-o", bin, "./cmd/shipsafe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	var n atomic.Int32
	serve := func(source string, doc []byte) (string, error) {
		file := filepath.Join(dir, fmt.Sprintf("flags-%d.json", n.Add(1)))
		if err := os.WriteFile(file, doc, 0o644); err != nil {
			return "", err
		}
		return startFlagsServe(t, ctx, bin, file)
	}
	testbed := filepath.Join(root, "internal", "flags", "testdata", "flagd-testbed")
	for _, suite := range []string{flagdtestbed.EvaluatorSuite, flagdtestbed.ProviderSuite} {
		t.Run(suite, func(t *testing.T) {
			sum := flagdtestbed.Run(t, testbed, suite, serve)
			t.Log(sum)
			if sum.Failed > 0 || sum.Passed == 0 {
				t.Errorf("%s", sum)
			}
		})
	}
}

// startFlagsServe starts `shipsafe flags serve` for file on a free loopback port and
// returns its URL; the process group is killed when t ends.
func startFlagsServe(t *testing.T, ctx context.Context, bin, file string) (string, error) {
	srv := exec.CommandContext(ctx, bin, "flags", "serve", "--file", file, "--listen", "127.0.0.1:0")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	srv.Cancel = func() error { return syscall.Kill(-srv.Process.Pid, syscall.SIGKILL) }
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("stdout pipe: %w", err)
	}
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		_ = srv.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("flags serve --file %s printed no URL: %w\n%s", file, err, stderr.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		return "", fmt.Errorf("flags serve printed %q, want http://127.0.0.1:PORT", line)
	}
	return base, nil
}
