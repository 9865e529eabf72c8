package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/store"
)

type fakeBackend struct{ calls []string }

func (f *fakeBackend) Apply(_ context.Context, actor string, m []byte) (apiservice.ApplyResult, error) {
	f.calls = append(f.calls, "apply")
	if strings.Contains(string(m), "bad") {
		return apiservice.ApplyResult{}, &apiservice.ValidationError{Errors: []string{"spec.replicas: must be >= 0, got -1"}}
	}
	return apiservice.ApplyResult{Applied: []string{"Rollout/x"}}, nil
}
func (f *fakeBackend) List(context.Context) ([]apiservice.RolloutView, error) { return nil, nil }
func (f *fakeBackend) Get(_ context.Context, n string) (apiservice.RolloutView, error) {
	switch n {
	case "missing":
		return apiservice.RolloutView{}, &apiservice.NotFoundError{What: "rollout \"missing\""}
	case "busy":
		return apiservice.RolloutView{}, &apiservice.ConflictError{Msg: "busy"}
	}
	return apiservice.RolloutView{Name: n}, nil
}
func (f *fakeBackend) Delete(context.Context, string, string) error {
	f.calls = append(f.calls, "delete")
	return nil
}
func (f *fakeBackend) Command(_ context.Context, _, _ string, c apiservice.Command) error {
	f.calls = append(f.calls, c.Kind)
	if c.Kind == "undo" && c.Revision == "nope" {
		return &apiservice.InvalidError{Msg: "undo: no revision nope"}
	}
	return nil
}
func (f *fakeBackend) History(context.Context, string) ([]store.HistoryEntry, error) {
	return []store.HistoryEntry{}, nil
}
func (f *fakeBackend) AnalysisRuns(context.Context, string) ([]apiservice.AnalysisRunView, error) {
	return []apiservice.AnalysisRunView{}, nil
}
func (f *fakeBackend) Events(context.Context, string, int64, int) ([]apiservice.Event, error) {
	return nil, nil
}

func TestDomainErrorsMapToStatusCodes(t *testing.T) {
	srv := httptest.NewServer(New(&fakeBackend{}, "secret", nil).Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/rollouts/missing", http.StatusNotFound},
		{"GET", "/api/v1/rollouts/busy", http.StatusConflict},
		{"GET", "/api/v1/rollouts/det", http.StatusOK},
		{"POST", "/api/v1/rollouts/det/undo?revision=nope", http.StatusBadRequest},
		{"POST", "/api/v1/apply", http.StatusUnprocessableEntity},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("bad"))
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

func TestEveryMutatingRouteNeedsTheToken(t *testing.T) {
	fb := &fakeBackend{}
	srv := httptest.NewServer(New(fb, "secret", nil).Handler())
	defer srv.Close()
	for _, route := range MutatingRoutes() {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, "{name}", "demo")
		for _, auth := range []string{"", "Bearer wrong", "secret", "Bearer secret"} {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("kind: Rollout"))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			authorized := auth == "Bearer secret"
			if !authorized && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with auth %q: status %d, want 401", route, auth, resp.StatusCode)
			}
			if authorized && resp.StatusCode/100 != 2 {
				t.Errorf("%s with the token: status %d, want 2xx", route, resp.StatusCode)
			}
		}
	}
	if len(fb.calls) != len(MutatingRoutes()) {
		t.Errorf("backend saw %v; only authorised calls may reach it", fb.calls)
	}
}

func TestErrorsMapToStatusCodes(t *testing.T) {
	srv := httptest.NewServer(New(&fakeBackend{}, "secret", nil).Handler())
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/apply", strings.NewReader("bad"))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Errors []string `json:"errors"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || len(body.Errors) != 1 || !strings.Contains(body.Errors[0], "spec.replicas") {
		t.Errorf("apply of bad manifest: %d %v", resp.StatusCode, body.Errors)
	}
	resp, err = http.Get(srv.URL + "/api/v1/rollouts/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("get missing: %d, want 404", resp.StatusCode)
	}
}
