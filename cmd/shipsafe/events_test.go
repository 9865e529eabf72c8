package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

func testEvent(id int64, reason, msg string) apiservice.Event {
	return apiservice.Event{ID: id, Rollout: "web", Time: time.Date(2026, 12, 4, 21, 0, int(id), 0, time.UTC), Type: "Normal", Reason: reason, Message: msg}
}

// Issue 11.10: events were only in up's stderr; `events NAME` lists them.
func TestEventsListsStoredEvents(t *testing.T) {
	var queries []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		items := []apiservice.Event{}
		if r.URL.Query().Get("after") == "" {
			items = append(items, testEvent(1, "RolloutCreated", "revision 5d8f is the first revision"),
				testEvent(2, reasonCommandRejected, "abort (c0ffee): no update in flight"))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
	}))
	t.Cleanup(ts.Close)
	out, err := runCLI(t, "", "events", "web", "--server", ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RolloutCreated", "revision 5d8f is the first revision", "CommandRejected", "abort (c0ffee): no update in flight"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(queries) != 2 || queries[0] != "follow=false&rollout=web" || queries[1] != "after=2&follow=false&rollout=web" {
		t.Errorf("queries %q: want one page, then one empty page after 2", queries)
	}
	out, err = runCLI(t, "", "events", "web", "--json", "--server", ts.URL)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"reason":"RolloutCreated"`) {
		t.Errorf("--json: %v\n%s", err, out)
	}
}

// Issue 11.10: -f follows the stream and resumes after the last event when it drops.
func TestEventsFollowReconnectsFromTheLastEvent(t *testing.T) {
	var mu sync.Mutex
	var afters []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		afters = append(afters, r.URL.Query().Get("after"))
		n := len(afters)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(e apiservice.Event) {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: rollout\ndata: %s\n\n", e.ID, b)
		}
		if n == 1 {
			send(testEvent(1, "StepCompleted", "step 1"))
			send(testEvent(2, "StepCompleted", "step 2"))
			return // the API went away
		}
		send(testEvent(3, "RolloutCompleted", "done"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []int64
	var stderr bytes.Buffer
	err := followEvents(ctx, newClient(apiTarget{base: ts.URL, source: "test"}), "web", &stderr, 0, func(e apiservice.Event) {
		got = append(got, e.ID)
		if e.ID == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3]" || fmt.Sprint(afters) != "[ 2]" {
		t.Errorf("events %v from streams after %q, want [1 2 3] from [\"\" \"2\"]", got, afters)
	}
	if !strings.Contains(stderr.String(), "reconnecting") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// Issue 11.10: up logs to a file in the data dir by default.
func TestUpLogsToTheDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	log, path, closeLog, err := openUpLog(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("control plane started", "rollouts", 2)
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, upLogFile) {
		t.Errorf("log path %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "control plane started") {
		t.Errorf("log file: %v %q", err, b)
	}
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", st.Mode())
	}
	var stderr bytes.Buffer
	log, path, _, err = openUpLog(dir, true, &stderr)
	if err != nil || path != "" {
		t.Fatal(path, err)
	}
	log.Info("to stderr")
	if !strings.Contains(stderr.String(), "to stderr") {
		t.Errorf("--log-stderr: %q", stderr.String())
	}
}
