package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
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

	// Hot reload of the real process: a bad file is rejected with its JSON path and the last
	// good flags keep serving; a good file is then served.
	bad := strings.Replace(string(src), `"state": "DISABLED"`, `"state": "PAUSED"`, 1)
	if err := os.WriteFile(flagsFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	flagsWaitFor(t, ctx, func() bool {
		doc := flagsGetJSON(t, ctx, base+"/api/v1/flags", "test-admin-token")
		last, _ := doc["lastError"].(string)
		return strings.Contains(last, `flags.legacy-report.state: must be "ENABLED" or "DISABLED", got "PAUSED"`)
	})
	if r := flagsPostJSON(t, ctx, base+"/ofrep/v1/evaluate/flags/legacy-report", `{}`); r["reason"] != "DISABLED" {
		t.Errorf("after a bad file the last good set should serve: %v", r)
	}
	good := strings.Replace(string(src), `"state": "DISABLED"`, `"state": "ENABLED"`, 1)
	if err := os.WriteFile(flagsFile, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	flagsWaitFor(t, ctx, func() bool {
		r := flagsPostJSON(t, ctx, base+"/ofrep/v1/evaluate/flags/legacy-report", `{}`)
		return r["reason"] == "STATIC" && r["value"] == false
	})
}

// flagsWaitFor polls cond against the running server until it holds or ctx ends.
func flagsWaitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting for the server")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func flagsGetJSON(t *testing.T, ctx context.Context, url, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return flagsDoJSON(t, req)
}

func flagsPostJSON(t *testing.T, ctx context.Context, url, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	return flagsDoJSON(t, req)
}

func flagsDoJSON(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}
