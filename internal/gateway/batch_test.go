package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const batchAnswer = `{"model_version":"v1","outputs":[{"name":"probability","datatype":"FP32","shape":[3,1],"data":[[0.9],[0.2],[0.7]]},{"name":"label","datatype":"INT64","shape":[3],"data":[1, 0, 1]}]}`

func TestPredictionItemsReadsEveryItemOfABatch(t *testing.T) {
	it := newPredictionItems([]byte(batchAnswer))
	var got []prediction
	for p, ok := it.next(); ok; p, ok = it.next() {
		got = append(got, p)
	}
	want := []prediction{{label: 1, prob: 0.9, hasLabel: true, hasProb: true}, {label: 0, prob: 0.2, hasLabel: true, hasProb: true}, {label: 1, prob: 0.7, hasLabel: true, hasProb: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items %+v, want %+v", got, want)
	}
	// Probabilities alone imply labels; a shorter label list leaves later labels implied.
	it = newPredictionItems([]byte(`{"outputs":[{"name":"score","data":[0.1,0.6]}]}`))
	if p, _ := it.next(); p.label != 0 || !p.hasLabel {
		t.Errorf("first %+v", p)
	}
	if p, _ := it.next(); p.label != 1 || !p.hasLabel {
		t.Errorf("second %+v", p)
	}
	if _, ok := it.next(); ok {
		t.Error("a third item out of two")
	}
}

// Every item of a batched answer is recorded and can be labelled by its index.
func TestBatchedRequestRecordsEveryItem(t *testing.T) {
	b := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, batchAnswer)
	}))
	g := New(Config{FeedbackKey: "k"}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(b.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	resp, _ := post(t, c, base+"/v2/models/detector/infer", `{"id":"batch-1","inputs":[]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s := g.Recorder().Window("detector", "stable", time.Minute)
	if s.Requests != 1 || s.Predictions[1] != 2 || s.Predictions[0] != 1 {
		t.Errorf("requests %d predictions %v, want 1 request, 2 ones and 1 zero", s.Requests, s.Predictions)
	}
	tok := FeedbackToken("k", "detector")
	for _, fb := range []struct{ body, want string }{
		{`[{"id":"batch-1","label":1},{"id":"batch-1","index":1,"label":1},{"id":"batch-1","index":2,"label":1}]`, `"joined","joined","joined"`},
		{`{"id":"batch-1","index":3,"label":1}`, "unknown"},
	} {
		if code, body := postFeedback(t, c, base, "application/json", tok, fb.body); code != http.StatusAccepted || !strings.Contains(body, fb.want) {
			t.Errorf("feedback %s: %d %s, want %s", fb.body, code, body, fb.want)
		}
	}
	if got := g.Recorder().Window("detector", "stable", time.Minute).Confusion; got != (ConfusionMatrix{TruePositive: 2, FalseNegative: 1}) {
		t.Errorf("confusion %+v", got)
	}
}
