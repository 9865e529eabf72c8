package main

import (
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
)

// Issue 11.13: there was no delete command.
func TestDeleteCallsTheDeleteRoute(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		if r.URL.Path == "/api/v1/rollouts/missing" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"rollout \"missing\" not found"}`))
			return
		}
		_, _ = w.Write([]byte(`{"deleted":true}`))
	}))
	t.Cleanup(ts.Close)
	t.Setenv(envToken, "tok")
	out, err := runCLI(t, "", "delete", "web", "--server", ts.URL)
	if err != nil || out != "rollout web deleted\n" {
		t.Errorf("delete web: %q, %v", out, err)
	}
	if len(got) != 1 || got[0] != "DELETE /api/v1/rollouts/web Bearer tok" {
		t.Errorf("requests %q", got)
	}
	if _, err := runCLI(t, "", "delete", "missing", "--server", ts.URL); err == nil || !strings.Contains(err.Error(), `rollout "missing" not found`) {
		t.Errorf("delete missing: %v", err)
	}
}

// Issue 11.13: there was no version command or --version flag.
func TestVersionCommandAndFlag(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/shipsafe/shipsafe", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "9ce533a866617e2f0a1b"}, {Key: "vcs.time", Value: "2026-12-04T21:07:34Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionText(info, true), "v0.4.0 (commit 9ce533a86661, 2026-12-04T21:07:34Z, modified, go1.26.0)"; got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	if got := versionText(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true); !strings.Contains(got, "commit unknown") {
		t.Errorf("no VCS info: %q", got)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runCLI(t, "", args...)
		if err != nil || out != "shipsafe "+binaryVersion()+"\n" {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
}

// Issue 11.13: detector was hidden although every example runs it; undo's help did not say
// it runs the steps again.
func TestHelpListsDetectorAndUndoSaysItRerunsSteps(t *testing.T) {
	out, err := runCLI(t, "", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n  detector ", "\n  delete ", "\n  events ", "\n  version "} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "", "undo", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "steps, pauses and analysis run again") {
		t.Errorf("undo --help does not say it re-runs the steps:\n%s", out)
	}
}
