package gateway

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// postFeedback posts body to /v1/feedback with a content type and, when token is set, a
// bearer token; it returns the status and body.
func postFeedback(t *testing.T, c *http.Client, base, contentType, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/feedback", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func twoServices(a, b string) RouteTable {
	return RouteTable{DefaultService: "detector", Services: map[string]Service{
		"detector": {Idempotent: true, Revisions: []Revision{{Name: "stable", Weight: 1, Endpoints: eps(a)}}},
		"other":    {Idempotent: true, Revisions: []Revision{{Name: "stable", Weight: 1, Endpoints: eps(b)}}},
	}}
}

// An attacker with only the traffic port cannot join a label: feedback needs the service's
// token, a JSON content type, and ids assigned by the gateway cannot be guessed.
func TestFeedbackNeedsServiceTokenAndJSON(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 1, 0.9))
	b := startBackend(t, oipAnswer("b", 1, 0.9))
	g := New(Config{FeedbackKey: "root-key"}, nil)
	if err := g.SetRoutes(twoServices(a.addr, b.addr)); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	resp, _ := post(t, c, base+"/svc/detector/v2/models/detector/infer", `{"inputs":[]}`)
	id := resp.Header.Get(RequestIDHeader)
	label := fmt.Sprintf(`{"id":%q,"label":1}`, id)
	tok := FeedbackToken("root-key", "detector")

	for _, tc := range []struct {
		name, ctype, token string
		want               int
	}{
		{"no token", "application/json", "", http.StatusUnauthorized},
		{"wrong token", "application/json", "guess", http.StatusUnauthorized},
		{"token derived from another key", "application/json", FeedbackToken("other-key", "detector"), http.StatusUnauthorized},
		{"text/plain (no CORS preflight)", "text/plain", tok, http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", tok, http.StatusUnsupportedMediaType},
		{"no content type", "", tok, http.StatusUnsupportedMediaType},
	} {
		if code, body := postFeedback(t, c, base, tc.ctype, tc.token, label); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	// Another service's token does not reveal or label this service's ids.
	if code, body := postFeedback(t, c, base, "application/json", FeedbackToken("root-key", "other"), label); code != http.StatusAccepted || !strings.Contains(body, "unknown") {
		t.Errorf("other service's token: %d %s, want 202 unknown", code, body)
	}
	if got := g.Recorder().Window("detector", "stable", time.Minute).Confusion.Total(); got != 0 {
		t.Fatalf("%d labels joined without the service's token", got)
	}
	if code, body := postFeedback(t, c, base, "application/json; charset=utf-8", tok, label); code != http.StatusAccepted || !strings.Contains(body, "joined") {
		t.Errorf("service token: %d %s, want 202 joined", code, body)
	}
	if code, body := postFeedback(t, c, base, "application/json", FeedbackToken("root-key", ""), fmt.Sprintf(`{"id":%q,"label":1}`, id)); code != http.StatusAccepted || !strings.Contains(body, "duplicate") {
		t.Errorf("all-services token, same label again: %d %s, want 202 duplicate", code, body)
	}
	if fs := g.Recorder().Feedback(); fs.Unauthorized != 3 || fs.Joined != 1 {
		t.Errorf("feedback stats %+v, want 3 unauthorized, 1 joined", fs)
	}

	// Without a key the traffic port takes no labels at all.
	g2 := New(Config{}, nil)
	if err := g2.SetRoutes(twoServices(a.addr, b.addr)); err != nil {
		t.Fatal(err)
	}
	base2 := startGateway(t, g2)
	if code, body := postFeedback(t, c, base2, "application/json", tok, label); code != http.StatusForbidden {
		t.Errorf("gateway without a feedback key: %d %s, want 403", code, body)
	}
}

func TestAssignedRequestIDsAreRandom(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 1, 0.9))
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(a.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	var prev []byte
	for i := 0; i < 20; i++ {
		resp, _ := post(t, c, base+"/v2/models/detector/infer", `{"inputs":[]}`)
		id := resp.Header.Get(RequestIDHeader)
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw)*8 < 96 {
			t.Fatalf("assigned id %q: want >= 96 random bits, hex encoded (%v)", id, err)
		}
		if prev != nil {
			same := 0
			for j := range raw {
				if raw[j] == prev[j] {
					same++
				}
			}
			if same > 4 {
				t.Fatalf("ids %x and %x share %d of %d bytes: not independent", prev, raw, same, len(raw))
			}
		}
		prev = raw
	}
}

func TestFeedbackBodyOverLimitGets413(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 1, 0.9))
	g := New(Config{FeedbackKey: "k"}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(a.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	big := `[` + strings.Repeat(`{"id":"x","label":1},`, (5<<20)/21) + `{"id":"x","label":1}]`
	if code, body := postFeedback(t, testClient(), base, "application/json", FeedbackToken("k", "detector"), big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB feedback body: %d %.200s, want 413", code, body)
	}
}

// A second, different label for an id is a conflict: refused with 409, counted, and the
// first label is taken back, so whoever labels first does not win.
func TestConflictingLabelIsRefusedAndRetractsTheFirst(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(clk, time.Second, 7200)
	store := newPredictionStore(clk, time.Hour, 1000)
	served, mirror := rec.revision("d", "stable"), rec.revision("d", "canary")
	store.put([]byte("a"), 0, served, prediction{label: 1, hasLabel: true}, clk.Now())
	store.setMirror([]byte("a"), 0, mirror, prediction{label: 0, hasLabel: true})

	if res, _, _ := store.label("d", "a", 0, 0); res != feedbackJoined { // a forged label, first
		t.Fatalf("first label: %v", res)
	}
	clk.Advance(3 * time.Second)
	if res, _, _ := store.label("d", "a", 0, 1); res != feedbackConflict {
		t.Fatalf("different second label: %v, want conflict", res)
	}
	if res, _, _ := store.label("d", "a", 0, 0); res != feedbackConflict {
		t.Fatalf("label after a conflict: %v, want conflict", res)
	}
	for _, rr := range []string{"stable", "canary"} {
		s := rec.Window("d", rr, time.Hour)
		if s.Confusion.Total() != 0 || s.Mirror.BothRight+s.Mirror.BothWrong+s.Mirror.ServedRightMirrorWrong+s.Mirror.ServedWrongMirrorRight != 0 {
			t.Errorf("%s still counts the disputed label: %+v %+v", rr, s.Confusion, s.Mirror)
		}
	}
}

// A repeated id with a different answer (someone replaying a victim's id with another
// input) does not replace the prediction; the id is disputed and takes no label.
func TestRepeatedIDWithAnotherAnswerIsDisputed(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(clk, time.Second, 7200)
	store := newPredictionStore(clk, time.Hour, 1000)
	stable := rec.revision("d", "stable")
	store.put([]byte("v"), 0, stable, prediction{label: 1, hasLabel: true}, clk.Now())
	store.put([]byte("v"), 0, stable, prediction{label: 1, hasLabel: true}, clk.Now()) // a client retry
	if res, _, _ := store.label("d", "v", 0, 1); res != feedbackJoined {
		t.Fatalf("after an identical retry: %v, want joined", res)
	}
	store.put([]byte("w"), 0, stable, prediction{label: 1, hasLabel: true}, clk.Now())
	store.put([]byte("w"), 0, stable, prediction{label: 0, hasLabel: true}, clk.Now()) // replayed id, other answer
	if res, _, _ := store.label("d", "w", 0, 0); res != feedbackConflict {
		t.Fatalf("label for a replayed id: %v, want conflict", res)
	}
	if got := rec.Window("d", "stable", time.Hour).Confusion; got != (ConfusionMatrix{TruePositive: 1}) {
		t.Errorf("confusion %+v", got)
	}
}
