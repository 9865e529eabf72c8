package main

import (
	"bytes"
	"context"
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
