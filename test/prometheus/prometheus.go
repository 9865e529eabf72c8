// Package promtest starts a real Prometheus server for end-to-end tests: its own
// process on a free loopback port, with a temporary config and data directory,
// scraping targets the test serves. The process is killed in t.Cleanup.
package promtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running Prometheus.
type Server struct {
	// Address is the base URL, e.g. "http://127.0.0.1:41234".
	Address string
	logPath string
}

// Binary finds the prometheus executable. When it is absent the test is skipped,
// unless the CI environment variable is set: in CI a missing binary is a failure.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("prometheus")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("prometheus binary not found on PATH and CI is set: install it (apt-get install -y prometheus; .ci/run does this): %v", err)
	}
	t.Skipf("prometheus binary not found on PATH (apt-get install -y prometheus); skipping the end-to-end Prometheus test outside CI: %v", err)
	return ""
}

// Start runs Prometheus scraping the given host:port targets every scrapeInterval
// (at least 1s is sensible) and waits until it answers /-/ready.
func Start(t testing.TB, scrapeInterval time.Duration, targets ...string) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
  - job_name: test
    scrape_interval: %s
    scrape_timeout: %s
    static_configs:
      - targets: [%s]
`, scrapeInterval, scrapeInterval, scrapeInterval, scrapeInterval, strings.Join(quoted, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write prometheus config: %v", err)
	}
	var lastErr error
	// A free port can be taken between probing it and Prometheus binding it; retry a few times.
	for attempt := 0; attempt < 3; attempt++ {
		srv, err := start(t, bin, dir, cfgPath, attempt)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("start prometheus: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, dir, cfgPath string, attempt int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group, so cleanup kills it and anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	// exited is closed once the process has been reaped; waitErr is set before.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); logFile.Close(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	srv := &Server{Address: "http://" + addr, logPath: logPath}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitReady(ctx, srv.Address, exited, &waitErr); err != nil {
		stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, srv.Log())
	}
	t.Cleanup(stop)
	return srv, nil
}

// Log returns what the process wrote so far, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(read log: %v)", err)
	}
	return string(b)
}

// WaitForSeries polls until query returns a non-empty vector, so tests start
// measuring only after the first scrape has landed.
func (s *Server) WaitForSeries(ctx context.Context, query string) error {
	for {
		n, err := s.seriesCount(ctx, query)
		if err == nil && n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %q to have data: %w (last error: %v)", query, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) seriesCount(ctx context.Context, query string) (int, error) {
	u := s.Address + "/api/v1/query?query=" + url.QueryEscape(query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("status %q", body.Status)
	}
	return len(body.Data.Result), nil
}

func waitReady(ctx context.Context, address string, exited <-chan struct{}, waitErr *error) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, address+"/-/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited before it was ready: %v", *waitErr)
		case <-ctx.Done():
			return errors.New("prometheus was not ready within the deadline")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
