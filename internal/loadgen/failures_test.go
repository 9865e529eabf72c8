package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
)

// Issue 11.14: a run in which every request failed gave no reason.
func TestRunReportsTheFirstFailureOfEachKind(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Request-Id"), "0") {
			_, _ = w.Write([]byte(`{"model_name":"pneumonia-detector","outputs":[]}`))
			return
		}
		http.Error(w, "404 page not found", http.StatusNotFound)
	}))
	t.Cleanup(ts.Close)
	imgs, labels, err := pneumoniamnist.Val()
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{URL: ts.URL, Concurrency: 1, Count: 20, Images: imgs[:5], Labels: labels[:5], Progress: &progress, IDPrefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 20 || len(rep.Failures) != 2 {
		t.Fatalf("errors %d, failures %+v", rep.Errors, rep.Failures)
	}
	nolabel, notFound := rep.Failures[0], rep.Failures[1]
	if nolabel.Kind != "no label" || nolabel.Count != 2 || !strings.Contains(nolabel.First, `without a "label" output`) {
		t.Errorf("first kind %+v", nolabel)
	}
	if notFound.Kind != "HTTP 404" || notFound.Count != 18 || notFound.First != "POST "+ts.URL+"/v2/models/pneumonia-detector/infer: 404 Not Found: 404 page not found" {
		t.Errorf("second kind %+v", notFound)
	}
	if strings.Count(progress.String(), "loadgen: first ") != 2 || !strings.Contains(progress.String(), "loadgen: first HTTP 404 failure: POST ") {
		t.Errorf("progress does not announce each first failure once:\n%s", progress.String())
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !strings.Contains(out.String(), "18 × HTTP 404: POST ") {
		t.Errorf("report lacks the failures:\n%s", out.String())
	}
	if err := rep.CheckErrorRate(0.5); err == nil || !strings.Contains(err.Error(), "20 of 20 requests failed (100.0%), more than the allowed 50%") || !strings.Contains(err.Error(), "18 × HTTP 404, first: POST ") {
		t.Errorf("CheckErrorRate(0.5): %v", err)
	}
	if err := rep.CheckErrorRate(1); err != nil {
		t.Errorf("CheckErrorRate(1): %v", err)
	}
}

func TestRunNamesConnectionFailures(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more
	imgs, labels, _ := pneumoniamnist.Val()
	rep, err := Run(context.Background(), Config{URL: url, Concurrency: 1, Count: 3, Images: imgs[:1], Labels: labels[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Kind != "connection" || rep.Failures[0].Count != 3 || !strings.Contains(rep.Failures[0].First, "connection refused") {
		t.Errorf("failures %+v", rep.Failures)
	}
}
