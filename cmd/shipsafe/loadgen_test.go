package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/detector/server"
	"github.com/shipsafe/shipsafe/models"
)

func TestLoadgenCommandReportsPerVersion(t *testing.T) {
	m, err := models.Load("v1")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Options{})
	s.SetModel(m)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	cmd := newLoadgenCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--url", ts.URL, "--count", "30", "--concurrency", "3", "--sticky-header", "X-User", "--quiet"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"30 requests, 0 errors", "model_version", "v1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	cmd = newLoadgenCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--url", "http://10.0.0.1:8080", "--count", "1"})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("remote target: %v", err)
	}
}

// Issue 11.14: loadgen exited 0 when every request failed, and its default URL was no
// route under shipsafe up.
func TestLoadgenFailsAboveTheErrorThreshold(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	out, err := runCLI(t, "", "loadgen", "--url", ts.URL, "--count", "10", "--concurrency", "1")
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("every request failed: err %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"10 of 10 requests failed", "HTTP 404, first: POST " + ts.URL + "/v2/models/pneumonia-detector/infer: 404 Not Found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !strings.Contains(out, "loadgen: first HTTP 404 failure") || !strings.Contains(out, "10 × HTTP 404") {
		t.Errorf("output does not name the failure:\n%s", out)
	}
	if out, err := runCLI(t, "", "loadgen", "--url", ts.URL, "--count", "3", "--max-error-rate", "1", "--quiet"); err != nil {
		t.Errorf("--max-error-rate 1: %v\n%s", err, out)
	}
}

func TestLoadgenTarget(t *testing.T) {
	_, err := runCLI(t, "", "loadgen", "--count", "1")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "/svc/<service>/") {
		t.Errorf("no target: %v", err)
	}
	if got, err := loadgenTarget("", "detector-canary", "127.0.0.1:9090", true); err != nil || got != "http://127.0.0.1:9090/svc/detector-canary" {
		t.Errorf("--service: %q, %v", got, err)
	}
	if _, err := loadgenTarget("http://127.0.0.1:1", "x", "127.0.0.1:8080", false); err == nil {
		t.Error("--url with --service accepted")
	}
}
