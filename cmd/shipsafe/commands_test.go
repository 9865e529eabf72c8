package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// fakeCommandAPI answers a command with a receipt and streams verdict (if any) among the
// rollout's events after the receipt's cursor.
type fakeCommandAPI struct {
	mu      sync.Mutex
	posted  []string
	streams []string // the query of each event stream opened
	verdict *apiservice.Event
}

func (f *fakeCommandAPI) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/rollouts/{name}/{kind}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"no token"}`, http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		f.posted = append(f.posted, r.PathValue("kind")+"?"+r.URL.RawQuery)
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%q,"id":"c0ffee","eventsAfter":41}`, r.PathValue("kind"))
	})
	mux.HandleFunc("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.streams = append(f.streams, r.URL.RawQuery)
		verdict := f.verdict
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(e apiservice.Event) {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: rollout\ndata: %s\n\n", e.ID, b)
		}
		fmt.Fprint(w, ": keep-alive\n\n")
		// An earlier command's verdict, which must not be taken for this one.
		send(apiservice.Event{ID: 42, Rollout: "web", Reason: reasonCommandApplied, Message: "pause (0ther)"})
		if verdict != nil {
			send(*verdict)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	return mux
}

func startFakeCommandAPI(t *testing.T, verdict *apiservice.Event) (*fakeCommandAPI, string) {
	t.Helper()
	f := &fakeCommandAPI{verdict: verdict}
	ts := httptest.NewServer(f.handler(t))
	t.Cleanup(ts.Close)
	t.Setenv(envToken, "tok")
	return f, ts.URL
}

// Issue 11.7: a command the engine rejects printed "accepted" and exited 0.
func TestCommandRejectedByTheEngineExitsNonZeroWithItsReason(t *testing.T) {
	f, url := startFakeCommandAPI(t, &apiservice.Event{ID: 43, Rollout: "web", Type: "Warning", Reason: reasonCommandRejected,
		Message: "abort (c0ffee): no update in flight (revision 5d8f is stable)"})
	out, err := runCLI(t, "", "abort", "web", "--server", url)
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("abort rejected by the engine: err %v, want a non-zero exit\n%s", err, out)
	}
	if want := "abort web: rejected: no update in flight (revision 5d8f is stable)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(out, "accepted") || strings.Contains(out, "applied") {
		t.Errorf("output claims success:\n%s", out)
	}
	if len(f.streams) != 1 || !strings.Contains(f.streams[0], "after=41") || !strings.Contains(f.streams[0], "rollout=web") {
		t.Errorf("event streams opened: %q, want one for rollout web after 41", f.streams)
	}
}

func TestCommandAppliedWaitsForTheVerdict(t *testing.T) {
	f, url := startFakeCommandAPI(t, &apiservice.Event{ID: 43, Rollout: "web", Reason: reasonCommandApplied, Message: "promote-full (c0ffee)"})
	out, err := runCLI(t, "", "promote", "web", "--full", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	if out != "web: promote applied\n" {
		t.Errorf("output %q", out)
	}
	if len(f.posted) != 1 || f.posted[0] != "promote?full=true" {
		t.Errorf("posted %q", f.posted)
	}
}

func TestCommandNoWaitReturnsOnceQueued(t *testing.T) {
	f, url := startFakeCommandAPI(t, nil)
	out, err := runCLI(t, "", "retry", "web", "--no-wait", "--server", url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "web: retry queued (command c0ffee)") || len(f.streams) != 0 {
		t.Errorf("output %q, streams %q", out, f.streams)
	}
}

func TestCommandWithoutVerdictTimesOut(t *testing.T) {
	_, url := startFakeCommandAPI(t, nil)
	out, err := runCLI(t, "", "resume", "web", "--timeout", "20ms", "--server", url)
	if err == nil || !strings.Contains(err.Error(), "no verdict within --timeout 20ms") {
		t.Errorf("err %v\n%s", err, out)
	}
}
