package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/server"
)

// authCanary stops at an indefinite pause so every command would visibly change it.
const authCanary = `    canary:
      steps:
      - setWeight: 50
      - pause: {}`

// TestEveryMutatingRouteNeedsTheToken walks server.MutatingRoutes() against the real
// `shipsafe up`: with no token and with wrong ones every route answers 401 and nothing
// changes; with the token none answers 401.
func TestEveryMutatingRouteNeedsTheToken(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	fi, err := os.Stat(filepath.Join(c.dir, server.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}

	// A rollout paused mid-canary: promote, abort, pause, resume, retry, undo, delete and
	// apply would all leave a mark on it.
	const name = "guarded"
	c.apply(detectorRollout(name, 1, "v1", "", authCanary))
	c.waitFor(ctx, name, "healthy on v1", healthyOn("v1"))
	c.apply(detectorRollout(name, 1, "v1", "--max-batch 512", authCanary))
	c.waitFor(ctx, name, "paused at the canary's pause step", func(v controlplaneView) bool {
		return v.Status.CurrentStepIndex != nil && *v.Status.CurrentStepIndex == 1 && len(v.Status.PauseConditions) > 0
	})
	before := c.mutableState(name)

	intruder := detectorRollout("intruder", 1, "v1", "", authCanary)
	wrong := map[string]string{
		"no header":          "",
		"wrong token":        "Bearer " + strings.Repeat("0", len(c.token)),
		"token with suffix":  "Bearer " + c.token + "x",
		"token prefix only":  "Bearer " + c.token[:len(c.token)/2],
		"token without type": c.token,
		"basic scheme":       "Basic " + c.token,
		"empty bearer":       "Bearer ",
	}
	routes := server.MutatingRoutes()
	if len(routes) == 0 {
		t.Fatal("server.MutatingRoutes() is empty")
	}
	for _, route := range routes {
		method, path := routeRequest(t, route, name)
		for what, auth := range wrong {
			code, body := c.raw(method, path, auth, []byte(intruder))
			if code != http.StatusUnauthorized {
				t.Errorf("%s with %s: got %d %s, want 401", route, what, code, body)
			}
		}
	}
	// Methods that change state on the read routes are not served at all (a route that
	// mutates must be in MutatingRoutes, behind the token).
	for _, path := range []string{"/api/v1/rollouts", "/api/v1/rollouts/" + name, "/api/v1/rollouts/" + name + "/history",
		"/api/v1/rollouts/" + name + "/analysisruns", "/api/v1/events", "/healthz"} {
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(routes, method+" "+strings.Replace(path, name, "{name}", 1)) {
				continue
			}
			if code, body := c.raw(method, path, "", []byte(intruder)); code != http.StatusMethodNotAllowed && code != http.StatusUnauthorized {
				t.Errorf("%s %s without a token: got %d %s, want 405 or 401", method, path, code, body)
			}
		}
	}
	// Give the worker a few passes to act on anything that slipped through.
	time.Sleep(1500 * time.Millisecond)
	if after := c.mutableState(name); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused requests changed state:\nbefore %+v\nafter  %+v", before, after)
	}
	t.Logf("%d routes × %d bad credentials: all 401, state unchanged", len(routes), len(wrong))

	// With the token every route gets past auth. Delete goes last, apply just before it.
	ordered := append([]string(nil), routes...)
	rank := func(r string) int {
		switch {
		case strings.HasPrefix(r, "DELETE"):
			return 2
		case strings.HasSuffix(r, "/apply"):
			return 1
		}
		return 0
	}
	for i := range ordered {
		for j := i + 1; j < len(ordered); j++ {
			if rank(ordered[j]) < rank(ordered[i]) {
				ordered[i], ordered[j] = ordered[j], ordered[i]
			}
		}
	}
	changed := false
	for _, route := range ordered {
		method, path := routeRequest(t, route, name)
		code, body := c.raw(method, path, "Bearer "+c.token, []byte(intruder))
		if code == http.StatusUnauthorized {
			t.Errorf("%s with the token: 401 %s", route, body)
		}
		t.Logf("%s with the token: %d", route, code)
		if !changed && strings.HasSuffix(route, "/promote") && code/100 == 2 {
			// The comparison above must be able to see a change: the promote moves the
			// rollout off its pause step.
			c.waitFor(ctx, name, "changed by the promote", func(controlplaneView) bool {
				return !reflect.DeepEqual(before, c.mutableState(name))
			})
			changed = true
		}
	}
	if !changed {
		t.Error("no authorised promote was seen to change the rollout")
	}
	if _, err := c.view("intruder"); err != nil {
		t.Errorf("the authorised apply did not create its rollout: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := c.raw("GET", "/api/v1/rollouts/"+name, "", nil)
		if code == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout %s still answers %d after an authorised delete", name, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routeRequest turns "METHOD /path/{name}/..." into a request line for rollout name.
func routeRequest(t *testing.T, route, name string) (string, string) {
	t.Helper()
	method, path, ok := strings.Cut(route, " ")
	if !ok {
		t.Fatalf("route %q: want \"METHOD /path\"", route)
	}
	path = strings.ReplaceAll(path, "{name}", name)
	if strings.Contains(path, "{") {
		t.Fatalf("route %q: unknown path parameter", route)
	}
	return method, path
}

// raw sends one API request with the given Authorization header ("" for none).
func (c *cluster) raw(method, path, auth string, body []byte) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.api+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// rolloutState is the part of the API's state a mutating call would change.
type rolloutState struct {
	Names          []string
	Generation     int64
	Spec           string
	Phase          string
	Abort          bool
	Paused         int
	Step           string
	Stable         string
	Current        string
	Pending        int
	HistoryEntries int
}

// mutableState reads what an unauthorised request must not change.
func (c *cluster) mutableState(name string) rolloutState {
	c.t.Helper()
	var list struct{ Items []controlplaneView }
	if _, err := c.call("GET", "/api/v1/rollouts", nil, &list); err != nil {
		c.t.Fatal(err)
	}
	var s rolloutState
	for _, v := range list.Items {
		s.Names = append(s.Names, v.Name)
	}
	v, err := c.view(name)
	if err != nil {
		c.t.Fatal(err)
	}
	var history []json.RawMessage
	if _, err := c.call("GET", "/api/v1/rollouts/"+name+"/history", nil, &history); err != nil {
		c.t.Fatal(err)
	}
	s.Generation, s.Spec, s.Phase = v.Generation, string(v.Spec), string(v.Status.Phase)
	s.Abort, s.Paused = v.Status.Abort, len(v.Status.PauseConditions)
	if v.Status.CurrentStepIndex != nil {
		s.Step = fmt.Sprint(*v.Status.CurrentStepIndex)
	}
	s.Stable, s.Current, s.Pending, s.HistoryEntries = v.Status.StableRS, v.Status.CurrentPodHash, len(v.PendingCommands), len(history)
	return s
}
