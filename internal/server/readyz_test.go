package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readyBackend is a backend with one readiness check.
type readyBackend struct {
	fakeBackend
	check Check
}

func (b *readyBackend) Readiness(context.Context) []Check { return []Check{b.check} }

func TestReadyzReportsFailingChecks(t *testing.T) {
	b := &readyBackend{check: Check{Name: "dataplane", OK: true}}
	srv := httptest.NewServer(New(b, "secret", nil).Handler())
	defer srv.Close()
	get := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, v
	}
	if code, v := get(); code != http.StatusOK || v["ready"] != true {
		t.Fatalf("ready data plane: %d %v", code, v)
	}
	b.check = Check{Name: "dataplane", Reason: "data plane exited (signal: killed); restarting"}
	code, v := get()
	if code != http.StatusServiceUnavailable || v["ready"] != false {
		t.Fatalf("down data plane: %d %v, want 503 not ready", code, v)
	}
	if rs, _ := v["reasons"].([]any); len(rs) != 1 || !strings.Contains(rs[0].(string), "dataplane: data plane exited") {
		t.Fatalf("reasons %v: want the data plane's", v["reasons"])
	}
}

func TestReadyzWithoutChecksIsReady(t *testing.T) {
	srv := httptest.NewServer(New(&fakeBackend{}, "secret", nil).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}
