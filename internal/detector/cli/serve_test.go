package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/models"
)

// buildDetector compiles cmd/detector once for the process tests.
func buildDetector(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "detector")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/shipsafe/shipsafe/cmd/detector")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var listenRe = regexp.MustCompile(`listening on (http://\S+)`)

// startServe runs "detector serve" on an ephemeral loopback port and returns its base URL.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	})
	var log strings.Builder
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u, &log
	case <-time.After(20 * time.Second):
		t.Fatalf("detector did not start; log:\n%s", log.String())
	}
	return nil, "", nil
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServeProcessCorruptArtifactStaysNotReady(t *testing.T) {
	bin := buildDetector(t)
	data, _, err := models.Open("v1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "truncated.ssmodel")
	if err := os.WriteFile(path, data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	_, url, _ := startServe(t, bin, "--model", path)
	if code, _ := getJSON(t, url+"/v2/health/live"); code != 200 {
		t.Errorf("live: %d", code)
	}
	code, out := getJSON(t, url+"/v2/health/ready")
	if code != 503 || !strings.Contains(out["reason"].(string), "truncated or corrupt") {
		t.Errorf("ready: %d %v", code, out)
	}
}

func TestServeProcessSIGTERMDrainsInFlight(t *testing.T) {
	bin := buildDetector(t)
	cmd, url, log := startServe(t, bin, "--model", "v1", "--inject-latency", "700ms", "--drain-delay", "300ms")
	if code, _ := getJSON(t, url+"/v2/health/ready"); code != 200 {
		t.Fatalf("not ready before SIGTERM")
	}
	_, md := getJSON(t, url+"/v2")
	if _, ok := md["fault_injection"]; !ok {
		t.Errorf("/v2 does not show fault injection: %v", md)
	}
	body := `{"id":"inflight","inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":[` + strings.TrimSuffix(strings.Repeat("0,", 784), ",") + `]}]}`
	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/v2/models/pneumonia-detector/infer", "application/json", strings.NewReader(body))
		if err != nil {
			done <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(150 * time.Millisecond) // the request is now in flight (it takes 700ms)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if code, out := getJSON(t, url+"/v2/health/ready"); code != 503 || !strings.Contains(out["reason"].(string), "draining") {
		t.Errorf("ready during drain: %d %v", code, out)
	}
	if code := <-done; code != 200 {
		t.Errorf("in-flight request finished with %d, want 200", code)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	select {
	case err := <-waitc:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, log.String())
		}
	case <-ctx.Done():
		t.Fatalf("did not exit within 15s of SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
}
