package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/detector/server"
	"github.com/shipsafe/shipsafe/models"
)

// detector starts a real detector server with the embedded v1 model, recording request ids.
func detector(t *testing.T, opts server.Options) (*httptest.Server, *sync.Map) {
	t.Helper()
	m, err := models.Load("v1")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(opts)
	s.SetModel(m)
	h := s.Handler()
	var ids sync.Map
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-User") == "" {
			t.Errorf("sticky header missing")
		}
		body, _ := io.ReadAll(r.Body)
		var req struct{ ID string }
		_ = json.Unmarshal(body, &req)
		if _, dup := ids.LoadOrStore(req.ID, true); dup {
			t.Errorf("request id %q sent twice", req.ID)
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &ids
}

func sticky(i int) http.Header { return http.Header{"X-User": {"u" + string(rune('a'+i%5))}} }

func TestRunReportsPerVersionAndPostsFeedback(t *testing.T) {
	ts, ids := detector(t, server.Options{})
	var mu sync.Mutex
	var feedback []map[string]any
	fbSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("feedback body: %v", err)
		}
		mu.Lock()
		feedback = append(feedback, body)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(fbSrv.Close)

	imgs, labels, err := pneumoniamnist.Val()
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels = imgs[:40], labels[:40]
	rep, err := Run(context.Background(), Config{
		URL: ts.URL, Concurrency: 4, Count: 80, Images: imgs, Labels: labels,
		FeedbackURL: fbSrv.URL + "/v1/feedback", FeedbackDelay: 10 * time.Millisecond, Header: sticky,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 80 || rep.Errors != 0 {
		t.Fatalf("requests %d errors %d", rep.Requests, rep.Errors)
	}
	vr := rep.ByVersion["v1"]
	if vr == nil || vr.Requests != 80 || vr.Labelled != 80 || vr.P50 <= 0 || vr.P99 < vr.P50 {
		t.Fatalf("v1 report: %+v", vr)
	}
	// Accuracy must equal the model's own accuracy on the same images (each replayed twice).
	m, _ := models.Load("v1")
	correct := 0
	for i, img := range imgs {
		if m.PredictUint8(img, nil).Label == int(labels[i]) {
			correct++
		}
	}
	if want := float64(correct) / 40; vr.Accuracy != want {
		t.Errorf("accuracy %v, want %v", vr.Accuracy, want)
	}
	if vr.TP+vr.FP+vr.TN+vr.FN != 80 {
		t.Errorf("confusion matrix %d/%d/%d/%d does not sum to 80", vr.TP, vr.FP, vr.TN, vr.FN)
	}
	n := 0
	ids.Range(func(_, _ any) bool { n++; return true })
	if n != 80 {
		t.Errorf("%d distinct request ids, want 80", n)
	}
	if rep.FeedbackSent != 80 || len(feedback) != 80 {
		t.Fatalf("feedback sent %d, received %d", rep.FeedbackSent, len(feedback))
	}
	for _, fb := range feedback {
		id, _ := fb["id"].(string)
		label, ok := fb["label"].(float64)
		if len(fb) != 2 || !ok || (label != 0 && label != 1) {
			t.Fatalf("feedback body %v: want exactly {id, label 0|1}", fb)
		}
		if _, seen := ids.Load(id); !seen {
			t.Errorf("feedback for unknown id %q", id)
		}
	}
	var sb strings.Builder
	rep.Print(&sb)
	if !strings.Contains(sb.String(), "v1") || !strings.Contains(sb.String(), "80 requests") {
		t.Errorf("printed report:\n%s", sb.String())
	}
}

func TestRunAtRateCountsErrors(t *testing.T) {
	ts, _ := detector(t, server.Options{InjectErrorRate: 1})
	var prog strings.Builder
	rep, err := Run(context.Background(), Config{URL: ts.URL, Rate: 500, Count: 20, Header: sticky, Progress: &prog, ProgressEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 20 || rep.Errors != 20 || rep.ByVersion[NoVersion].Errors != 20 {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(prog.String(), "20 requests, 20 errors") {
		t.Errorf("progress output %q", prog.String())
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	ts, _ := detector(t, server.Options{})
	rep, err := Run(context.Background(), Config{URL: ts.URL, Rate: 50, Duration: 100 * time.Millisecond, Header: sticky})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Requests > 10 {
		t.Errorf("%d requests in 100ms at 50/s", rep.Requests)
	}
}

func TestConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://10.1.2.3:8080", Count: 1}, "not a loopback address"},
		{Config{URL: "http://example.com", Count: 1}, "not a loopback address"},
		{Config{URL: "http://127.0.0.1:1", Count: 1, FeedbackURL: "http://192.168.1.1/v1/feedback"}, "FeedbackURL"},
		{Config{URL: "http://127.0.0.1:1"}, "set Count or Duration"},
		{Config{URL: "ftp://127.0.0.1", Count: 1}, "scheme must be http"},
		{Config{Count: 1}, "URL is required"},
	} {
		_, err := Run(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if err := checkTarget("URL", "http://[::1]:80", false); err != nil {
		t.Errorf("::1 refused: %v", err)
	}
	if err := checkTarget("URL", "http://10.1.2.3", true); err != nil {
		t.Errorf("AllowRemote ignored: %v", err)
	}
}

func TestStopEndsSendingWithoutError(t *testing.T) {
	ts, _ := detector(t, server.Options{})
	stop := make(chan struct{})
	close(stop)
	rep, err := Run(context.Background(), Config{URL: ts.URL, Rate: 10, Duration: time.Minute, Stop: stop, Header: sticky})
	if err != nil {
		t.Fatalf("Run after Stop: %v", err)
	}
	if rep.Requests > 1 {
		t.Errorf("%d requests sent after Stop was closed", rep.Requests)
	}
}
