package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func post(t *testing.T, c *http.Client, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProxyRecordsPredictionsAndJoinsFeedback(t *testing.T) {
	stable := startBackend(t, oipAnswer("stable", 1, 0.9))
	g := New(Config{FeedbackKey: "k"}, nil)
	tok := FeedbackToken("k", "detector")
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(stable.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()

	// With an id in the body, the same id comes back in the header.
	resp, body := post(t, c, base+"/v2/models/detector/infer", `{"id":"img-1","inputs":[]}`)
	if resp.StatusCode != 200 || resp.Header.Get(RequestIDHeader) != "img-1" || !strings.Contains(body, `"model_version":"stable"`) {
		t.Fatalf("status %d id %q body %s", resp.StatusCode, resp.Header.Get(RequestIDHeader), body)
	}
	// Without one, the gateway assigns one.
	resp, _ = post(t, c, base+"/svc/detector/v2/models/detector/infer", `{"inputs":[]}`)
	assigned := resp.Header.Get(RequestIDHeader)
	if assigned == "" {
		t.Fatal("no request id assigned")
	}
	for _, fb := range []struct{ body, want string }{
		{`{"id":"img-1","label":1}`, "joined"},
		{fmt.Sprintf(`{"id":%q,"label":0}`, assigned), "joined"},
		{`{"id":"never-seen","label":0}`, "unknown"},
		{`{"id":"img-1","label":1}`, "duplicate"},
	} {
		code, body := postFeedback(t, c, base, "application/json", tok, fb.body)
		if code != http.StatusAccepted || !strings.Contains(body, fb.want) {
			t.Errorf("feedback %s: %d %s, want %s", fb.body, code, body, fb.want)
		}
	}
	if code, _ := postFeedback(t, c, base, "application/json", tok, `{"id":"x","label":7}`); code != http.StatusBadRequest {
		t.Errorf("bad label accepted: %d", code)
	}
	snap := g.Recorder().Window("detector", "stable", time.Minute)
	if snap.Requests != 2 || snap.Predictions[1] != 2 || snap.Confusion != (ConfusionMatrix{TruePositive: 1, FalsePositive: 1}) {
		t.Errorf("snapshot %+v", snap)
	}
	if fs := g.Recorder().Feedback(); fs.Joined != 2 || fs.Unknown != 1 || fs.Duplicate != 1 || fs.Invalid != 1 {
		t.Errorf("feedback stats %+v", fs)
	}
	mresp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`shipsafe_requests_total{code="200",revision="stable",service="detector"} 2`,
		`shipsafe_predictions_total{label="1",revision="stable",service="detector"} 2`,
		`shipsafe_feedback_labels_total{actual="0",predicted="1",revision="stable",service="detector"} 1`,
		`shipsafe_request_duration_seconds_count{revision="stable",service="detector"} 2`,
	} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// load sends GET requests from workers until stop is closed, counting failures.
func load(t *testing.T, url string, workers int, stop <-chan struct{}) (ok, failed *atomic.Int64, wait func()) {
	ok, failed = new(atomic.Int64), new(atomic.Int64)
	c := testClient()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Post(url, "application/json", strings.NewReader(`{"inputs":[]}`))
				if err != nil {
					failed.Add(1)
					t.Logf("request error: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					t.Logf("status %d", resp.StatusCode)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	return ok, failed, wg.Wait
}

func TestHundredRouteSwapsUnderLoadFailNothing(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 0, 0.1))
	b := startBackend(t, oipAnswer("b", 1, 0.9))
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "a", Weight: 1, Endpoints: eps(a.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	stop := make(chan struct{})
	ok, failed, wait := load(t, base+"/v2/models/detector/infer", 8, stop)
	for i := 0; i < 100; i++ {
		w := i % 101
		tbl := oneService(
			Revision{Name: "a", Weight: 100 - w, Endpoints: eps(a.addr)},
			Revision{Name: "b", Weight: w + 1, Endpoints: eps(b.addr)},
		)
		if i%10 == 9 { // also swap a whole revision's endpoint set away and back
			tbl = oneService(Revision{Name: "b", Weight: 1, Endpoints: eps(b.addr)})
		}
		if err := g.SetRoutes(tbl); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wait()
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("across 100 swaps: %d ok, %d failed (want 0 failed)", ok.Load(), failed.Load())
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Errorf("hits a=%d b=%d", a.hits.Load(), b.hits.Load())
	}
}

func TestKilledBackendEjectedWithinOneSecondWithoutClientErrors(t *testing.T) {
	b1 := startBackend(t, oipAnswer("r1", 0, 0.1))
	b2 := startBackend(t, oipAnswer("r2", 0, 0.1))
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(b1.addr, b2.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	stop := make(chan struct{})
	ok, failed, wait := load(t, base+"/v2/models/detector/infer", 8, stop)
	time.Sleep(200 * time.Millisecond)
	before := b2.hits.Load()
	killed := time.Now()
	b1.kill()
	ep := g.endpoints[b1.addr]
	var ejectedAfter time.Duration
	for time.Since(killed) < 3*time.Second {
		if ep.ejectedUntil.Load() > time.Now().UnixNano() {
			ejectedAfter = time.Since(killed)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wait()
	if ejectedAfter == 0 || ejectedAfter > time.Second {
		t.Errorf("killed endpoint ejected after %v (0 = never), want <= 1s", ejectedAfter)
	}
	if failed.Load() != 0 {
		t.Errorf("%d client-visible errors after the kill (want 0); %d ok", failed.Load(), ok.Load())
	}
	if b2.hits.Load() == before {
		t.Error("survivor got no traffic after the kill")
	}
	t.Logf("ejected %v after kill; %d requests ok", ejectedAfter, ok.Load())
}

func TestMirrorAnswersNeverReachClients(t *testing.T) {
	stable := startBackend(t, oipAnswer("stable", 1, 0.9))
	shadow := startBackend(t, oipAnswer("shadow", 0, 0.2))
	tbl := oneService(
		Revision{Name: "stable", Weight: 1, Endpoints: eps(stable.addr)},
		Revision{Name: "canary", Weight: 0, Endpoints: eps(shadow.addr)},
	)
	svc := tbl.Services["detector"]
	svc.Mirror = &Mirror{Revision: "canary", Percent: 100}
	tbl.Services["detector"] = svc
	g := New(Config{FeedbackKey: "k"}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	const n = 50
	for i := 0; i < n; i++ {
		resp, body := post(t, c, base+"/v2/models/detector/infer", fmt.Sprintf(`{"id":"m%d","inputs":[]}`, i))
		if resp.Header.Get("X-Backend") != "stable" || strings.Contains(body, "shadow") {
			t.Fatalf("client saw the mirror's answer: %s %s", resp.Header.Get("X-Backend"), body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	var m MirrorStats
	for time.Now().Before(deadline) {
		if m = g.Recorder().Window("detector", "canary", time.Minute).Mirror; m.Sent == n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m.Sent != n || m.Compared != n || m.Disagreed != n || shadow.hits.Load() != n {
		t.Errorf("mirror stats %+v, shadow hits %d", m, shadow.hits.Load())
	}
	// Labels join both answers: stable said 1, canary said 0, truth 1.
	for i := 0; i < n; i++ {
		postFeedback(t, c, base, "application/json", FeedbackToken("k", "detector"), fmt.Sprintf(`{"id":"m%d","label":1}`, i))
	}
	if m = g.Recorder().Window("detector", "canary", time.Minute).Mirror; m.ServedRightMirrorWrong != n {
		t.Errorf("McNemar pairs %+v", m)
	}
}

func TestAdminAPIRequiresTokenAndSwapsRoutes(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 0, 0.1))
	b := startBackend(t, oipAnswer("b", 0, 0.1))
	g := New(Config{AdminToken: "s3cret"}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "a", Weight: 1, Endpoints: eps(a.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	put := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPut, base+"/admin/routes", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	newTable, _ := json.Marshal(oneService(Revision{Name: "b", Weight: 1, Endpoints: eps(b.addr)}))
	if code := put("wrong", string(newTable)); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	if code := put("s3cret", `services: {x: {revisions: []}}`); code != http.StatusBadRequest {
		t.Errorf("invalid table: %d", code)
	}
	if code := put("s3cret", string(newTable)); code != http.StatusNoContent {
		t.Errorf("valid table: %d", code)
	}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "b" {
		t.Errorf("after swap served by %q, want b", body)
	}
}

func TestStickyHeaderKeepsUserOnOneRevision(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 0, 0.1))
	b := startBackend(t, oipAnswer("b", 0, 0.1))
	tbl := oneService(
		Revision{Name: "a", Weight: 50, Endpoints: eps(a.addr)},
		Revision{Name: "b", Weight: 50, Endpoints: eps(b.addr)},
	)
	svc := tbl.Services["detector"]
	svc.Sticky = &Sticky{Parameter: "user"}
	tbl.Services["detector"] = svc
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	seen := map[string]bool{}
	for u := 0; u < 20; u++ {
		first := ""
		for i := 0; i < 5; i++ {
			resp, _ := post(t, c, base+"/v2/models/detector/infer", fmt.Sprintf(`{"inputs":[],"parameters":{"user":"u%d"}}`, u))
			got := resp.Header.Get("X-Backend")
			if first == "" {
				first = got
			} else if got != first {
				t.Fatalf("user u%d moved from %s to %s", u, first, got)
			}
		}
		seen[first] = true
	}
	if len(seen) != 2 {
		t.Errorf("20 users all landed on %v with a 50/50 split", seen)
	}
}

func TestHeaderRouteAndIDHeaderMatchAnyCase(t *testing.T) {
	a := startBackend(t, oipAnswer("a", 0, 0.1))
	b := startBackend(t, oipAnswer("b", 0, 0.1))
	tbl := oneService(
		Revision{Name: "a", Weight: 1, Endpoints: eps(a.addr)},
		Revision{Name: "b", Weight: 0, Endpoints: eps(b.addr)},
	)
	svc := tbl.Services["detector"]
	svc.HeaderRoutes = []HeaderRoute{{Header: "x-canary", Exact: "yes", Revision: "b"}}
	tbl.Services["detector"] = svc
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	for _, name := range []string{"x-canary", "X-Canary", "X-CANARY"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/v2/models/detector/infer", strings.NewReader(`{"inputs":[]}`))
		req.Header[name] = []string{"yes"} // bypass Go's canonicalisation
		req.Header["X-SHIPSAFE-REQUEST-ID"] = []string{"given-" + name}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Backend") != "b" || resp.Header.Get(RequestIDHeader) != "given-"+name {
			t.Errorf("%s: served by %q with id %q", name, resp.Header.Get("X-Backend"), resp.Header.Get(RequestIDHeader))
		}
	}
}
