package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot finds the module root from this test file's directory.
func flagsRepoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestOFREPWithCurl builds the real binary, serves bench/flags/flags.json on a free
// loopback port and runs bench/flags/ofrep_curl.sh, in which curl (not our code) is the
// OFREP client.
func TestOFREPWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	root := flagsRepoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "shipsafe")
	build := exec.Command("go", "build", "-o", bin, "./cmd/shipsafe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The change API writes back to the file, so serve a copy.
	src, err := os.ReadFile(filepath.Join(root, "bench", "flags", "flags.json"))
	if err != nil {
		t.Fatal(err)
	}
	flagsFile := filepath.Join(dir, "flags.json")
	if err := os.WriteFile(flagsFile, src, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "flags", "serve", "--file", flagsFile, "--listen", "127.0.0.1:0")
	srv.Env = append(os.Environ(), "SHIPSAFE_FLAGS_ADMIN_TOKENS=ci=test-admin-token")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	srv.Cancel = func() error { return syscall.Kill(-srv.Process.Pid, syscall.SIGKILL) }
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		_ = srv.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not print its URL: %v\n%s", err, stderr.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("unexpected URL line %q", line)
	}

	script := exec.CommandContext(ctx, "bash", filepath.Join(root, "bench", "flags", "ofrep_curl.sh"), base, "test-admin-token")
	out, err := script.CombinedOutput()
	t.Logf("ofrep_curl.sh:\n%s", out)
	if err != nil {
		t.Fatalf("ofrep_curl.sh failed: %v\nserver log:\n%s", err, stderr.String())
	}
	if !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatalf("script did not report success")
	}
}
